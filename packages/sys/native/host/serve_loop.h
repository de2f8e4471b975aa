// The engine's network side: one reactor thread that owns every socket of the engine — the
// listener, the handshakes in progress (HandshakeServer) and the streams of every established link
// (LinkTransport) — and never blocks on any of them (docs/design/link-transport.md §1).
#ifndef DD_HOST_SERVE_LOOP_H_
#define DD_HOST_SERVE_LOOP_H_

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine_state.h"
#include "handshake_server.h"
#include "link_transport.h"
#include "reactor.h"

namespace dd::host {
class ServeLoop {
 public:
  explicit ServeLoop(EngineState &state);
  ~ServeLoop();
  ServeLoop(const ServeLoop &) = delete;
  ServeLoop &operator=(const ServeLoop &) = delete;

  bool Start(std::string &why);
  // Closes every connection and stops the thread; calls still waiting on a link finish.
  void Stop();

  // Serves `listener` (a listening socket bound to `address`) in place of the current listener.
  void AdoptListener(UniqueFd listener, const ListenAddress &address);
  void StopListening();
  std::optional<ListenAddress> listen_address() const;

  // Hands the connections of a link this side established to the reactor; the link can carry
  // transfers as soon as this returns.
  void AdoptLink(const std::shared_ptr<ClusterLink> &link, std::vector<UniqueFd> ours, std::vector<UniqueFd> theirs);

 private:
  class Listener;
  void Tick();
  void Forget(LinkTransport *transport);
  LinkLimits LimitsFor(const ClusterLink &link) const;

  EngineState &state_;
  Reactor reactor_;
  std::unique_ptr<HandshakeServer> handshakes_;
  std::unique_ptr<Listener> listener_;  // loop thread
  std::map<LinkTransport *, std::shared_ptr<LinkTransport>> transports_;  // loop thread
  mutable std::mutex address_mutex_;
  std::optional<ListenAddress> listen_address_;
};
}  // namespace dd::host

#endif  // DD_HOST_SERVE_LOOP_H_
