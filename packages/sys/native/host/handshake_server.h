// The server side of every handshake, on the reactor thread (docs/design/link-transport.md §5, §7):
// HELLO → CHALLENGE → PROOF → WELCOME on the connection a client opened, then one BIND per further
// connection of the link, or HELLO → CHALLENGE → PROOF → RESULT for an unlink request. Nothing is
// blocking and everything is bounded: every frame by dd.HandshakeMaxBytes (from its header, before
// anything is allocated), every handshake by dd.HandshakeTimeoutMs, and the handshakes in progress
// by dd.MaxPendingHandshakes (a new connection past it drops the oldest, unauthenticated ones
// first). With dd.AuthSecret the client proves the secret before the server says anything about
// its memory; a peer that cannot is refused with LLM_LINK_FAILED (LLM_UNLINK_FAILED) and a reason.
#ifndef DD_HOST_HANDSHAKE_SERVER_H_
#define DD_HOST_HANDSHAKE_SERVER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine_state.h"
#include "frame_assembler.h"
#include "output_queue.h"
#include "reactor.h"

namespace dd::host {
class ClusterLink;

class HandshakeServer {
 public:
  // What the serve loop does with a link this side accepted: `ours` carry our requests to the
  // client, `theirs` the client's requests to us.
  using CommitFn =
      std::function<void(const std::shared_ptr<ClusterLink> &link, std::vector<UniqueFd> ours, std::vector<UniqueFd> theirs)>;

  HandshakeServer(Reactor &reactor, EngineState &state, CommitFn commit);
  ~HandshakeServer();
  HandshakeServer(const HandshakeServer &) = delete;
  HandshakeServer &operator=(const HandshakeServer &) = delete;

  // A connection the listener accepted (non-blocking).
  void Accept(UniqueFd fd);
  // Ends handshakes past their deadline.
  void Tick(int64_t now_ms);
  // Drops every handshake in progress.
  void CloseAll();
  // Connections in a handshake now.
  size_t in_progress() const { return connections_.size(); }
  // Makes room for one more descriptor (the listener ran out): drops the oldest handshake.
  bool DropOldest();

 private:
  struct Connection;
  struct PendingLink;

  void OnIo(Connection &connection, uint32_t events);
  void OnFrame(Connection &connection);
  void OnHello(Connection &connection);
  void OnProof(Connection &connection);
  void OnBind(Connection &connection);
  void Commit(PendingLink &pending);
  // Sends `frame` and closes the connection once it is out (or at the handshake's deadline).
  void Refuse(Connection &connection, std::vector<uint8_t> frame);
  void RefuseWithResult(Connection &connection, ge::Status status, const std::string &detail);
  void Send(Connection &connection, std::vector<uint8_t> frame);
  void UpdateInterest(Connection &connection);
  // Drops the connection, and the pending link it belongs to with all its connections.
  void Drop(uint64_t id);
  void DropPending(uint64_t token);

  Reactor &reactor_;
  EngineState &state_;
  CommitFn commit_;
  uint64_t next_id_ = 1;
  std::map<uint64_t, std::unique_ptr<Connection>> connections_;  // by id: oldest first
  std::map<uint64_t, std::unique_ptr<PendingLink>> pending_;      // by bind token
};
}  // namespace dd::host

#endif  // DD_HOST_HANDSHAKE_SERVER_H_
