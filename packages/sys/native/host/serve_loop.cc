#include "serve_loop.h"

#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

namespace dd::host {
namespace {
int TickMs(const EngineState &state) { return std::clamp(state.options.heartbeat_ms / 4, 5, 250); }
}  // namespace

// The listening socket: accepts every connection that is waiting and hands it to the handshakes.
class ServeLoop::Listener final : public IoHandler {
 public:
  Listener(Reactor &reactor, HandshakeServer &handshakes, UniqueFd fd)
      : reactor_(reactor), handshakes_(handshakes), fd_(std::move(fd)) {
    reactor_.Watch(fd_.get(), EPOLLIN, this);
  }
  ~Listener() override { reactor_.Unwatch(fd_.get()); }
  Listener(const Listener &) = delete;
  Listener &operator=(const Listener &) = delete;

  void OnIo(uint32_t) override {
    for (int accepted = 0; accepted < 256; ++accepted) {
      const int fd = ::accept4(fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd >= 0) {
        handshakes_.Accept(UniqueFd(fd));
        continue;
      }
      if ((errno == EMFILE || errno == ENFILE) && handshakes_.DropOldest()) {
        continue;  // out of descriptors: the oldest handshake makes room
      }
      if (errno == EMFILE || errno == ENFILE) {
        // Nothing to drop: stop listening until the next tick rather than spin on the backlog.
        reactor_.Modify(fd_.get(), 0);
        paused_ = true;
      }
      return;
    }
  }
  void Resume() {
    if (paused_) {
      paused_ = false;
      reactor_.Modify(fd_.get(), EPOLLIN);
    }
  }

 private:
  Reactor &reactor_;
  HandshakeServer &handshakes_;
  UniqueFd fd_;
  bool paused_ = false;
};

ServeLoop::ServeLoop(EngineState &state) : state_(state) {}

ServeLoop::~ServeLoop() { Stop(); }

bool ServeLoop::Start(std::string &why) {
  handshakes_ = std::make_unique<HandshakeServer>(
      reactor_, state_,
      [this](const std::shared_ptr<ClusterLink> &link, std::vector<UniqueFd> ours, std::vector<UniqueFd> theirs) {
        AdoptLink(link, std::move(ours), std::move(theirs));
      });
  return reactor_.Start(TickMs(state_), [this] { Tick(); }, why);
}

void ServeLoop::Stop() {
  reactor_.Stop([this] {
    listener_.reset();
    handshakes_->CloseAll();
    std::vector<std::shared_ptr<LinkTransport>> open;
    for (const auto &[key, transport] : transports_) {
      open.push_back(transport);
    }
    for (const auto &transport : open) {
      transport->link().RecordBroken("the engine was finalized");
      transport->Close();
    }
    transports_.clear();
  });
  std::lock_guard<std::mutex> lock(address_mutex_);
  listen_address_.reset();
}

void ServeLoop::AdoptListener(UniqueFd listener, const ListenAddress &address) {
  auto fd = std::make_shared<UniqueFd>(std::move(listener));
  reactor_.RunSync([this, fd] {
    listener_.reset();
    listener_ = std::make_unique<Listener>(reactor_, *handshakes_, std::move(*fd));
  });
  std::lock_guard<std::mutex> lock(address_mutex_);
  listen_address_ = address;
}

void ServeLoop::StopListening() {
  reactor_.RunSync([this] { listener_.reset(); });
  std::lock_guard<std::mutex> lock(address_mutex_);
  listen_address_.reset();
}

std::optional<ListenAddress> ServeLoop::listen_address() const {
  std::lock_guard<std::mutex> lock(address_mutex_);
  return listen_address_;
}

LinkLimits ServeLoop::LimitsFor(const ClusterLink &link) const {
  const EngineOptions &options = state_.options;
  LinkLimits limits;
  limits.window_bytes = options.link_window_bytes;
  // A peer-declared deadline never exceeds our own (an own wait under 1 s, "0" included, still
  // serves peers for 1 s: the wait time bounds this engine's own transfers, A8).
  limits.serve_ms = std::min<int64_t>(link.peer().sync_wait_ms, std::max<int64_t>(options.sync_wait_ms, 1000));
  limits.heartbeat_ms = options.heartbeat_ms;
  // Below a second a few lost segments (TCP's minimum retransmission timeout is 200 ms) would end
  // healthy links.
  limits.dead_after_ms = std::max<int64_t>(3 * static_cast<int64_t>(link.peer().heartbeat_ms), 1000);
  return limits;
}

void ServeLoop::AdoptLink(const std::shared_ptr<ClusterLink> &link, std::vector<UniqueFd> ours,
                          std::vector<UniqueFd> theirs) {
  auto transport =
      std::make_shared<LinkTransport>(reactor_, state_, link, std::move(ours), std::move(theirs), LimitsFor(*link));
  link->SetTransport(transport);
  const bool posted = reactor_.Post([this, transport] {
    transports_[transport.get()] = transport;
    transport->Open([this](LinkTransport *closed) { Forget(closed); });
  });
  if (!posted) {
    link->RecordBroken("the engine was finalized");
  }
}

void ServeLoop::Forget(LinkTransport *transport) {
  const auto it = transports_.find(transport);
  if (it == transports_.end()) {
    return;
  }
  ClusterLink &link = transport->link();
  // D17: the accepting side gives a dead peer's slot back at once; the link stays filed.
  if (!link.initiated_locally() && !link.closed()) {
    state_.links.ReleaseDeadAccepted(&link);
  }
  transports_.erase(it);
}

void ServeLoop::Tick() {
  const int64_t now = SteadyNowMs();
  handshakes_->Tick(now);
  if (listener_ != nullptr) {
    listener_->Resume();
  }
  std::vector<std::shared_ptr<LinkTransport>> open;
  open.reserve(transports_.size());
  for (const auto &[key, transport] : transports_) {
    open.push_back(transport);
  }
  for (const auto &transport : open) {
    transport->Tick(now);
  }
}
}  // namespace dd::host
