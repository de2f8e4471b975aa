// One link to a peer engine as the API calls see it: the peer's identity, the caches bound to the
// link, the peer's cache table (fetched at this side's first transfer, v2-rules A23), the data
// paths, and the broken/closed state every operation checks. Its connections belong to a
// LinkTransport on the engine's reactor; calls reach them only through it.
#ifndef DD_HOST_CLUSTER_LINK_H_
#define DD_HOST_CLUSTER_LINK_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <vector>

#include "deadline.h"
#include "unique_fd.h"
#include "wire_format.h"

namespace dd::host {
class DataPath;
class LinkTransport;
struct TransferOutcome;

// What the peer told us about itself at the handshake.
struct PeerInfo {
  uint64_t cluster_id = 0;  // the id the peer reported in the handshake
  uint32_t sync_wait_ms = 1000;
  uint32_t heartbeat_ms = 1000;
  HostIdentity host;
  std::string address;  // "ip:port" the link was made to (initiating side), for messages otherwise
};

class ClusterLink {
 public:
  // `bound_local`: the ids of our caches registered when the link was made. `watch`: a duplicate
  // of the first connection, only ever polled to learn early that the peer hung up.
  ClusterLink(PeerInfo peer, bool initiated_locally, std::set<int64_t> bound_local, UniqueFd watch);
  ~ClusterLink();
  ClusterLink(const ClusterLink &) = delete;
  ClusterLink &operator=(const ClusterLink &) = delete;

  const PeerInfo &peer() const { return peer_; }
  bool initiated_locally() const { return initiated_locally_; }
  // The accepting side's filing order (initiating side only; 0 otherwise).
  uint64_t generation() const { return generation_; }
  void set_generation(uint64_t generation) { generation_ = generation; }

  void SetTransport(std::weak_ptr<LinkTransport> transport);
  std::shared_ptr<LinkTransport> transport() const;

  // Transfers hold it shared, so several run on one link at once; an unlink holds it exclusively,
  // so it waits for the transfers running on the link (v2-rules A24).
  std::shared_timed_mutex &use_mutex() { return use_mutex_; }

  // Data paths: the same-host one (null when the handshake did not grant it) and TCP.
  void SetDataPaths(std::unique_ptr<DataPath> same_host, std::unique_ptr<DataPath> tcp);
  // The path to use now (same host unless it proved unusable).
  DataPath &ActiveDataPath();
  DataPath &TcpDataPath() { return *tcp_path_; }
  // Called when the same-host path reported EPERM: fall back to TCP for good.
  void DisableSameHostPath();

  // The peer's cache table is fetched once, at this side's first transfer, and never refreshed
  // (A23); only revokes remove entries. The first transfer fetches it under `fetch_mutex`.
  bool peer_table_fetched() const { return peer_table_fetched_.load(std::memory_order_acquire); }
  std::timed_mutex &fetch_mutex() { return fetch_mutex_; }
  // Fetches the table over the link by `deadline` (kDone, kTimeout, kBroken or kRejected).
  TransferOutcome FetchPeerTable(const Deadline &deadline);

  // Peer cache lookup for an operation: copies the entry and marks an operation in flight, so a
  // revoke arriving meanwhile is answered only once no operation uses the peer's memory.
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

  // Broken: the peer vanished, dropped its side, stopped answering, or broke the protocol. The
  // first reason recorded stays; the connections close, and the link stays in the table until
  // unlinked or replaced. RecordBroken only records (true the first time).
  void MarkBroken(const std::string &reason);
  bool RecordBroken(const std::string &reason);
  bool broken() const { return broken_.load(std::memory_order_acquire); }
  // Whether the peer has closed its end of the first connection (a non-blocking look).
  bool PeerHungUp();
  std::string broken_reason();
  // Closed: removed from the table (unlinked); nothing may start on it any more.
  void MarkClosed();
  bool closed() const { return closed_.load(std::memory_order_acquire); }
  // This side is unlinking it: a transfer that fails meanwhile failed because of the unlink.
  void SetUnlinking(bool unlinking) { unlinking_.store(unlinking, std::memory_order_release); }
  bool unlinked() const { return closed() || unlinking_.load(std::memory_order_acquire); }
  // Drops what only a working link needs (the peer's table, the watch descriptor): a dead link
  // keeps its name and its reason, nothing else.
  void ReleaseResources();

 private:
  const PeerInfo peer_;
  const bool initiated_locally_;
  uint64_t generation_ = 0;
  std::weak_ptr<LinkTransport> transport_;
  std::shared_timed_mutex use_mutex_;

  std::unique_ptr<DataPath> same_host_path_;
  std::unique_ptr<DataPath> tcp_path_;
  std::atomic<bool> same_host_disabled_{false};

  const std::set<int64_t> bound_local_;
  std::atomic<bool> peer_table_fetched_{false};
  std::timed_mutex fetch_mutex_;
  std::mutex table_mutex_;
  std::map<int64_t, std::shared_ptr<const CacheTableEntry>> peer_table_;
  std::set<int64_t> revoked_;  // peer caches revoked so far (ids are never reused)
  std::set<int64_t> shared_with_peer_;
  int transfers_active_ = 0;
  std::vector<uint32_t> deferred_revoke_answers_;

  std::mutex watch_mutex_;
  UniqueFd watch_;

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
