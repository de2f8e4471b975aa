// One link to a peer engine: its identity, the caches bound to it, the peer's cache table (fetched
// at this side's first transfer, v2-rules A23), the two TCP connections (requests we send go out on
// `outbound`; requests the peer sends arrive on `inbound`, read by the serve loop), the data paths,
// and the broken/closed state every operation checks.
#ifndef DD_HOST_CLUSTER_LINK_H_
#define DD_HOST_CLUSTER_LINK_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "deadline.h"
#include "frame_assembler.h"
#include "socket_io.h"
#include "unique_fd.h"
#include "wire_format.h"

namespace dd::host {
class DataPath;

// The connection on which this side sends requests and reads their results, in order.
class OutboundChannel {
 public:
  explicit OutboundChannel(UniqueFd fd) : fd_(std::move(fd)) {}
  int fd() const { return fd_.get(); }

  // Callers hold the link's op mutex, so one exchange runs at a time.
  uint32_t NextRequestId() { return ++last_request_id_; }
  // Sends a whole frame plus an optional payload; a frame is never interleaved with a heartbeat.
  IoResult SendRequest(const std::vector<uint8_t> &frame, iovec *payload, size_t payload_count,
                       const Deadline &deadline, bool expects_result);
  // Sends a heartbeat unless a request is being written right now (then the peer sees traffic anyway).
  bool TrySendHeartbeat(std::string &why);
  // Reads the result of `request_id`, first discarding results of requests that were given up.
  // false with `why` on I/O failure, timeout (`timed_out`) or a protocol violation.
  bool ReadResult(uint32_t request_id, ResultMessage &out, const Deadline &deadline, bool &timed_out,
                  std::string &why);
  // Reads `len` payload bytes of the current result into `iov`; on failure the remainder is
  // discarded before the next result, never written into memory the caller has given up.
  bool ReadPayload(iovec *iov, size_t count, uint64_t len, const Deadline &deadline, bool &timed_out,
                   std::string &why);
  void Shutdown();

 private:
  bool Discard(const Deadline &deadline, bool &timed_out, std::string &why);

  UniqueFd fd_;
  std::mutex write_mutex_;
  uint32_t last_request_id_ = 0;
  uint32_t unanswered_ = 0;  // requests whose result frame has not been consumed
  uint64_t discard_ = 0;     // payload bytes of an abandoned result still to skip
  FrameAssembler rx_;
};

// The connection on which the peer's requests arrive; the serve loop reads it, and answers
// (serve loop or a finishing transfer sending a deferred revoke answer) are written under the mutex.
class InboundChannel {
 public:
  explicit InboundChannel(UniqueFd fd) : fd_(std::move(fd)) {}
  int fd() const { return fd_.get(); }
  std::mutex &write_mutex() { return write_mutex_; }
  void Shutdown();

 private:
  UniqueFd fd_;
  std::mutex write_mutex_;
};

// What the peer told us about itself at the handshake.
struct PeerInfo {
  uint64_t cluster_id = 0;  // the id the peer reported in the handshake
  uint32_t sync_wait_ms = 1000;
  uint32_t heartbeat_ms = 1000;
  HostIdentity host;
  std::string address;  // "ip:port" the link was made to (initiating side), for messages otherwise
};

struct TransferOutcome;

class ClusterLink {
 public:
  // `bound_local`: the ids of our caches registered when the link was made.
  ClusterLink(PeerInfo peer, bool initiated_locally, std::unique_ptr<OutboundChannel> outbound,
              std::shared_ptr<InboundChannel> inbound, std::set<int64_t> bound_local);
  ~ClusterLink();
  ClusterLink(const ClusterLink &) = delete;
  ClusterLink &operator=(const ClusterLink &) = delete;

  const PeerInfo &peer() const { return peer_; }
  bool initiated_locally() const { return initiated_locally_; }
  OutboundChannel &outbound() { return *outbound_; }
  const std::shared_ptr<InboundChannel> &inbound() const { return inbound_; }

  // Serialises this side's operations on the link (v2-rules A24: one lock per link).
  std::timed_mutex &op_mutex() { return op_mutex_; }

  // Data paths, chosen at the handshake; `same_host` is null when not usable.
  void SetDataPaths(std::unique_ptr<DataPath> same_host, std::unique_ptr<DataPath> tcp);
  // The path to use now (same host unless it proved unusable). Caller holds op_mutex.
  DataPath &ActiveDataPath();
  DataPath &TcpDataPath() { return *tcp_path_; }
  // Called when the same-host path reported EPERM: fall back to TCP for good.
  void DisableSameHostPath();

  // The peer's cache table is fetched once, at this side's first transfer, and never refreshed
  // (A23); only revokes remove entries. Caller holds op_mutex.
  bool peer_table_fetched() const { return peer_table_fetched_; }
  // Requests the peer's table on the outbound connection by `deadline` (kDone, kTimeout,
  // kBroken or kRejected).
  TransferOutcome FetchPeerTable(const Deadline &deadline);

  // Peer cache lookup for an operation: copies the entry and marks an operation in flight, so a
  // revoke arriving meanwhile is answered only once the operation has finished with the memory.
  std::shared_ptr<const CacheTableEntry> BeginTransfer(int64_t remote_cache_id);
  // Ends the operation and sends the revoke answers that waited for it.
  void EndTransfer();
  // The peer unregistered `cache_id`. Returns true when the answer can go out now.
  bool RevokeRemoteCache(int64_t cache_id, uint32_t request_id);

  // Whether our cache `cache_id` was registered before the link was made.
  bool BoundLocally(int64_t cache_id) const { return bound_local_.count(cache_id) != 0U; }

  // Our caches the peer knows about: the table it fetched from us, less what we revoked since.
  void ShareWithPeer(std::set<int64_t> cache_ids);
  bool SharedWithPeer(int64_t cache_id);
  void ForgetShared(int64_t cache_id);

  // Broken: the peer vanished, dropped its side, stopped answering, or broke the protocol. Sockets
  // are shut down so every waiter wakes; the link stays in the table until unlinked or replaced.
  void MarkBroken(const std::string &reason);
  bool broken() const { return broken_.load(std::memory_order_acquire); }
  // Whether the peer has closed its end of the request connection (a non-blocking look).
  bool PeerHungUp() const;
  std::string broken_reason();
  // Closed: removed from the table (unlinked); nothing may start on it any more.
  void MarkClosed();
  bool closed() const { return closed_.load(std::memory_order_acquire); }
  // This side is unlinking it: a transfer that fails meanwhile failed because of the unlink.
  void SetUnlinking(bool unlinking) { unlinking_.store(unlinking, std::memory_order_release); }
  bool unlinked() const { return closed() || unlinking_.load(std::memory_order_acquire); }

  // Liveness bookkeeping of the serve loop.
  std::atomic<int64_t> last_inbound_ms{0};
  std::atomic<int64_t> last_heartbeat_sent_ms{0};

 private:
  void SendRevokeAnswers(const std::vector<uint32_t> &request_ids);

  const PeerInfo peer_;
  const bool initiated_locally_;
  std::unique_ptr<OutboundChannel> outbound_;
  std::shared_ptr<InboundChannel> inbound_;
  std::timed_mutex op_mutex_;

  std::unique_ptr<DataPath> same_host_path_;
  std::unique_ptr<DataPath> tcp_path_;
  std::atomic<bool> same_host_disabled_{false};

  const std::set<int64_t> bound_local_;
  bool peer_table_fetched_ = false;
  std::vector<uint8_t> table_frame_;
  std::mutex table_mutex_;
  std::map<int64_t, std::shared_ptr<const CacheTableEntry>> peer_table_;
  std::set<int64_t> revoked_;  // peer caches revoked so far (ids are never reused)
  std::set<int64_t> shared_with_peer_;
  bool transfer_active_ = false;
  std::vector<uint32_t> deferred_revoke_answers_;

  std::atomic<bool> broken_{false};
  std::atomic<bool> closed_{false};
  std::atomic<bool> unlinking_{false};
  std::mutex reason_mutex_;
  std::string broken_reason_;
};

// Milliseconds on the steady clock, for liveness timestamps.
int64_t SteadyNowMs();
}  // namespace dd::host

#endif  // DD_HOST_CLUSTER_LINK_H_
