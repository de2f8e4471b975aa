// The engine's one background thread. It sleeps in epoll_wait and wakes for: new connections on
// the listen socket, handshakes and unlink requests (server side), requests a linked peer sends
// (cache table, block reads and writes, revokes, heartbeats), and a timer for heartbeats and
// expiries. It never spins: between events it sleeps at most a quarter of the heartbeat interval.
#ifndef DD_HOST_SERVE_LOOP_H_
#define DD_HOST_SERVE_LOOP_H_

#include <sys/uio.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "engine_state.h"
#include "link_table.h"
#include "frame_assembler.h"

namespace dd::host {
class ServeLoop {
 public:
  explicit ServeLoop(EngineState &state);
  ~ServeLoop();
  ServeLoop(const ServeLoop &) = delete;
  ServeLoop &operator=(const ServeLoop &) = delete;

  bool Start(std::string &why);
  // Stops the thread and drops every connection it owns.
  void Stop();

  // Serves `listener` (a listening socket bound to `address`) in place of the current listener.
  void AdoptListener(UniqueFd listener, const ListenAddress &address);
  void StopListening();
  std::optional<ListenAddress> listen_address() const;

  // Hands the inbound connection of a link established by this side to the loop.
  void AdoptInbound(const std::shared_ptr<ClusterLink> &link);

 private:
  enum class Role { kListener, kHandshake, kAwaitingBind, kInbound };

  struct Connection {
    uint64_t id = 0;
    Role role = Role::kHandshake;
    UniqueFd fd;                              // listener and handshake connections
    std::shared_ptr<InboundChannel> channel;  // awaiting-bind and inbound connections
    std::shared_ptr<ClusterLink> link;        // inbound connections
    FrameAssembler rx;
    int64_t expires_ms = 0;                   // handshake deadline
    int registered_fd = -1;                   // the descriptor epoll watches for this record
  };

  // A server-side link whose second connection has not arrived yet.
  struct PendingBind {
    uint64_t connection_id = 0;
    std::shared_ptr<InboundChannel> inbound;
    HelloMessage hello;
    SlotReservation slot;  // not held when the link replaces the one filed under the client's id
    uint8_t probe[kChallengeBytes] = {};          // the client's challenge, for it to read back
    uint8_t our_challenge[kChallengeBytes] = {};  // what we expect to read from the client
    bool same_host_to_us = false;
    int64_t expires_ms = 0;
  };

  void Run();
  uint64_t AddConnection(std::unique_ptr<Connection> connection);
  void RemoveConnection(uint64_t id);
  std::shared_ptr<Connection> FindConnection(uint64_t id);

  void OnListener(Connection &listener);
  void OnHandshake(const std::shared_ptr<Connection> &connection);
  void OnHello(const std::shared_ptr<Connection> &connection);
  // The server's verdict on a HELLO (v2-rules A1, A7, A21; D12), in V2's order.
  ge::Status Admit(const HelloMessage &hello, PendingBind &pending, std::string &why);
  void OnBind(const std::shared_ptr<Connection> &connection);
  // A non-force unlink from a peer (A20): drop the link filed under its id.
  void OnDisconnect(const std::shared_ptr<Connection> &connection);
  void OnInbound(const std::shared_ptr<Connection> &connection);
  // One request frame from a linked peer; false when the link must be dropped.
  bool ServeFrame(Connection &connection);
  bool ServeBlocks(Connection &connection, bool write);
  bool ServeTable(ClusterLink &link, uint32_t request_id);
  bool Answer(ClusterLink &link, uint32_t request_id, const ResultMessage &result);
  void Tick();

  EngineState &state_;
  UniqueFd epoll_;
  UniqueFd wake_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};

  mutable std::mutex mutex_;
  std::map<uint64_t, std::shared_ptr<Connection>> connections_;
  uint64_t next_connection_id_ = 1;
  uint64_t listener_id_ = 0;
  std::optional<ListenAddress> listen_address_;

  // Owned by the loop thread only.
  std::map<uint64_t, std::unique_ptr<PendingBind>> pending_binds_;
  BlockRequest request_;
  std::vector<iovec> iov_;
  std::vector<uint8_t> frame_;
  int64_t last_tick_ms_ = 0;
};
}  // namespace dd::host

#endif  // DD_HOST_SERVE_LOOP_H_
