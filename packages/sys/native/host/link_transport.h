// The reactor's side of one established link: its streams (connections), the request pipeline of
// this side's calls, the server of the peer's requests, heartbeats, and liveness by progress. It
// never blocks: a peer that stops reading or sending delays nobody but itself. A link is alive
// while bytes arrive from the peer on any stream: answers, requests, or heartbeats, which each side
// sends on the streams that carry its answers (the peer always reads those, so a heartbeat waits
// for at most the answer being written, never for back-pressure). A serving stream whose peer does
// not read its answers, or does not send the bytes it announced, is cut after the serving
// deadline. The first cause breaks the link and is the reason every pending and later call reports.
#ifndef DD_HOST_LINK_TRANSPORT_H_
#define DD_HOST_LINK_TRANSPORT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cluster_link.h"
#include "engine_state.h"
#include "link_stream.h"
#include "reactor.h"
#include "request_pipeline.h"
#include "request_server.h"

namespace dd::host {
// Limits one link runs under (docs/design/link-transport.md §7).
struct LinkLimits {
  uint64_t window_bytes = 32U << 20U;  // dd.LinkWindowBytes
  int64_t serve_ms = 1000;             // min(peer's wait, own wait): what one stalled stream may cost
  int64_t heartbeat_ms = 1000;         // own interval
  int64_t dead_after_ms = 3000;        // no byte from the peer for this long: gone
};

class LinkTransport : public std::enable_shared_from_this<LinkTransport> {
 public:
  // `ours`: connections that carry this side's requests; `theirs`: the peer's requests.
  LinkTransport(Reactor &reactor, EngineState &state, std::shared_ptr<ClusterLink> link, std::vector<UniqueFd> ours,
                std::vector<UniqueFd> theirs, LinkLimits limits);
  ~LinkTransport();
  LinkTransport(const LinkTransport &) = delete;
  LinkTransport &operator=(const LinkTransport &) = delete;

  // Loop thread. `on_closed` runs once, when the transport closed (to forget it).
  void Open(std::function<void(LinkTransport *)> on_closed);
  void Tick(int64_t now_ms);
  // Closes every stream and finishes every pending call; the link must be marked broken or closed.
  void Close();
  ClusterLink &link() { return *link_; }

  // Any thread. false when the reactor no longer runs (the call is never touched).
  bool Submit(std::shared_ptr<TransferCall> call);
  // Any thread: the caller of `call` gave up; returns once the reactor has let go of it.
  void Abandon(const std::shared_ptr<TransferCall> &call, TransferOutcome outcome);
  void PostRevokeAnswers(std::vector<uint32_t> request_ids);
  void PostClose();

 private:
  class StreamHandler;
  void OnIo(LinkStream &stream, uint32_t events);
  void ReadStream(LinkStream &stream, bool hung_up);
  void Flush(LinkStream &stream);
  void FlushAll();
  void UpdateInterest(LinkStream &stream);
  bool Reading(const LinkStream &stream) const;
  // Records the first cause and closes. `abortive`: the peer misbehaved; reset the connections so
  // the kernel drops what is queued for it at once.
  void Break(const std::string &reason, bool abortive = false);
  void Moved(LinkStream &stream, size_t bytes, bool from_peer);
  std::string Peer() const;

  Reactor &reactor_;
  EngineState &state_;
  const std::shared_ptr<ClusterLink> link_;
  const LinkLimits limits_;
  std::vector<std::unique_ptr<LinkStream>> streams_;
  std::vector<std::unique_ptr<StreamHandler>> handlers_;
  std::vector<LinkStream *> ours_;
  std::vector<LinkStream *> all_;
  RequestPipeline pipeline_;
  RequestServer server_;
  std::function<void(LinkTransport *)> on_closed_;
  bool open_ = false;
  bool abort_ = false;
  int64_t last_from_peer_ms_ = 0;  // a byte read from the peer, on any stream
  int64_t last_heartbeat_ms_ = 0;
};
}  // namespace dd::host

#endif  // DD_HOST_LINK_TRANSPORT_H_
