#include "serve_loop.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "error_detail.h"
#include "link_handshake.h"

namespace dd::host {
using namespace llm_datadist;

namespace {
constexpr uint64_t kWakeId = 0;
constexpr int64_t kHandshakeMs = 5000;
constexpr size_t kMaxHandshakes = 256;
constexpr int kFramesPerWakeup = 16;

uint32_t ClampHeartbeat(uint32_t ms) { return std::min<uint32_t>(std::max<uint32_t>(ms, 10U), 600000U); }

// How long serving one request may block on a slow or stalled peer: its own deadline (it gave up
// after that anyway), within sane bounds.
Deadline ServeDeadline(const EngineState &state, const ClusterLink &link) {
  const int64_t peer = std::min<int64_t>(link.peer().sync_wait_ms, 600000);
  return Deadline::AfterMs(std::max<int64_t>({peer, state.options.sync_wait_ms, 1000}));
}
}  // namespace

ServeLoop::ServeLoop(EngineState &state) : state_(state) {}

ServeLoop::~ServeLoop() { Stop(); }

bool ServeLoop::Start(std::string &why) {
  epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
  wake_.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!epoll_ || !wake_) {
    why = std::string("epoll/eventfd: ") + std::strerror(errno);
    return false;
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeId;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wake_.get(), &ev);
  stopping_ = false;
  thread_ = std::thread([this] { Run(); });
  return true;
}

void ServeLoop::Stop() {
  if (thread_.joinable()) {
    stopping_ = true;
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(wake_.get(), &one, sizeof(one));
    thread_.join();
  }
  pending_binds_.clear();
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto &[id, connection] : connections_) {
    if (epoll_) {
      ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, connection->registered_fd, nullptr);
    }
  }
  connections_.clear();
  listener_id_ = 0;
  listen_address_.reset();
}

uint64_t ServeLoop::AddConnection(std::unique_ptr<Connection> connection) {
  std::lock_guard<std::mutex> lock(mutex_);
  const uint64_t id = next_connection_id_++;
  connection->id = id;
  connection->registered_fd = connection->fd ? connection->fd.get() : connection->channel->fd();
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP;
  ev.data.u64 = id;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, connection->registered_fd, &ev);
  connections_[id] = std::move(connection);
  return id;
}

void ServeLoop::RemoveConnection(uint64_t id) {
  std::shared_ptr<Connection> removed;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = connections_.find(id);
    if (it == connections_.end()) {
      return;
    }
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, it->second->registered_fd, nullptr);
    removed = std::move(it->second);
    connections_.erase(it);
  }
  // `removed` closes its descriptor (if it owns one) outside the lock.
}

std::shared_ptr<ServeLoop::Connection> ServeLoop::FindConnection(uint64_t id) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = connections_.find(id);
  return it == connections_.end() ? nullptr : it->second;
}

void ServeLoop::AdoptListener(UniqueFd listener_fd, const ListenAddress &address) {
  auto listener = std::make_unique<Connection>();
  listener->role = Role::kListener;
  listener->fd = std::move(listener_fd);
  const uint64_t id = AddConnection(std::move(listener));
  uint64_t old = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    old = listener_id_;
    listener_id_ = id;
    listen_address_ = address;
  }
  if (old != 0U) {
    RemoveConnection(old);
  }
}

void ServeLoop::StopListening() {
  uint64_t old = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    old = listener_id_;
    listener_id_ = 0;
    listen_address_.reset();
  }
  if (old != 0U) {
    RemoveConnection(old);
  }
}

std::optional<ListenAddress> ServeLoop::listen_address() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return listen_address_;
}

void ServeLoop::AdoptInbound(const std::shared_ptr<ClusterLink> &link) {
  auto connection = std::make_unique<Connection>();
  connection->role = Role::kInbound;
  connection->channel = link->inbound();
  connection->link = link;
  AddConnection(std::move(connection));
  // Wake the loop so its sleep is recomputed against this link's heartbeat.
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(wake_.get(), &one, sizeof(one));
}

void ServeLoop::Run() {
  std::array<epoll_event, 64> events;
  const int tick_ms = std::clamp(state_.options.heartbeat_ms / 4, 5, 250);
  while (!stopping_.load()) {
    const int n = ::epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()), tick_ms);
    for (int i = 0; i < n; ++i) {
      const uint64_t id = events[static_cast<size_t>(i)].data.u64;
      if (id == kWakeId) {
        uint64_t value = 0;
        [[maybe_unused]] const ssize_t r = ::read(wake_.get(), &value, sizeof(value));
        continue;
      }
      const std::shared_ptr<Connection> connection = FindConnection(id);
      if (connection == nullptr) {
        continue;
      }
      switch (connection->role) {
        case Role::kListener: OnListener(*connection); break;
        case Role::kHandshake: OnHandshake(connection); break;
        case Role::kAwaitingBind: {
          // The client sends nothing here before the link is bound: bytes or EOF end the attempt.
          for (auto it = pending_binds_.begin(); it != pending_binds_.end(); ++it) {
            if (it->second->connection_id == id) {
              pending_binds_.erase(it);
              break;
            }
          }
          RemoveConnection(id);
          break;
        }
        case Role::kInbound: OnInbound(connection); break;
      }
    }
    Tick();
  }
}

void ServeLoop::OnListener(Connection &listener) {
  for (;;) {
    const int fd = ::accept4(listener.fd.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      return;  // EAGAIN, or a transient error: epoll reports the listener again if needed
    }
    UniqueFd accepted(fd);
    size_t handshakes = 0;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (const auto &[id, c] : connections_) {
        handshakes += (c->role == Role::kHandshake || c->role == Role::kAwaitingBind) ? 1U : 0U;
      }
    }
    if (handshakes >= kMaxHandshakes) {
      continue;  // too many half-open connections: refuse this one by closing it
    }
    ConfigureStream(accepted.get());
    auto connection = std::make_unique<Connection>();
    connection->role = Role::kHandshake;
    connection->fd = std::move(accepted);
    connection->expires_ms = SteadyNowMs() + kHandshakeMs;
    AddConnection(std::move(connection));
  }
}

void ServeLoop::OnHandshake(const std::shared_ptr<Connection> &connection) {
  std::string why;
  const FrameAssembler::State st = connection->rx.Pump(connection->fd.get(), why);
  if (st == FrameAssembler::State::kIncomplete) {
    return;
  }
  if (st != FrameAssembler::State::kComplete) {
    RemoveConnection(connection->id);
    return;
  }
  switch (connection->rx.header().type) {
    case FrameType::kHello: OnHello(connection); break;
    case FrameType::kBind: OnBind(connection); break;
    case FrameType::kDisconnect: OnDisconnect(connection); break;
    default: RemoveConnection(connection->id); break;
  }
}

ge::Status ServeLoop::Admit(const HelloMessage &hello, PendingBind &pending, std::string &why) {
  const bool hixl = state_.options.hixl();
  if ((hello.hixl != 0U) != hixl) {
    // Their handshakes have nothing in common: to each other they speak a foreign protocol (A14).
    why = "the two engines run different transfer backends";
    return LLM_FAILED;
  }
  bool replacing = false;
  if (!hixl) {
    std::string own;
    if (!state_.comm_res.Get(own)) {
      // A17: a listener started by SetRole alone has no comm resource to link with.
      why = "this engine has no llm.LocalCommRes (it gained its listener through SetRole and never linked out)";
      return LLM_PARAM_INVALID;
    }
    const ge::Status status = CheckCommResPair(state_, own, hello.comm_res, why);
    if (status != LLM_SUCCESS) {
      return status;
    }
    // A1/A21: a client without a link under the id it asked for forces a rebuild of ours.
    replacing = state_.links.Find(hello.cluster_id) != nullptr;
    if (replacing && hello.force_link == 0U) {
      why = "this engine already has a link to cluster " + std::to_string(hello.cluster_id);
      return LLM_ALREADY_LINK;
    }
  }
  if (!replacing) {
    pending.slot = SlotReservation(state_.links);
    if (!pending.slot.held()) {
      why = "this engine already holds " + std::to_string(state_.options.max_links) + " links (dd.MaxLinks)";
      return LLM_LINK_FAILED;
    }
  }
  return LLM_SUCCESS;
}

void ServeLoop::OnHello(const std::shared_ptr<Connection> &connection) {
  HelloMessage hello;
  std::string why;
  if (!DecodeHello(connection->rx.body().data(), connection->rx.body().size(), hello, why)) {
    RemoveConnection(connection->id);
    return;
  }
  WelcomeMessage welcome;
  welcome.cluster_id = state_.cluster_id;
  welcome.sync_wait_ms = static_cast<uint32_t>(state_.options.sync_wait_ms);
  welcome.heartbeat_ms = static_cast<uint32_t>(state_.options.heartbeat_ms);
  welcome.host = state_.identity;
  state_.comm_res.Get(welcome.comm_res);
  auto pending = std::make_unique<PendingBind>();
  welcome.status = Admit(hello, *pending, welcome.detail);
  if (welcome.status == LLM_SUCCESS) {
    RandomBytes(reinterpret_cast<uint8_t *>(&welcome.token), sizeof(welcome.token));
    std::memcpy(pending->probe, hello.challenge, sizeof(pending->probe));
    RandomBytes(pending->our_challenge, sizeof(pending->our_challenge));
    std::memcpy(welcome.challenge, pending->our_challenge, sizeof(welcome.challenge));
    welcome.probe_addr = state_.options.tcp_only ? 0U : reinterpret_cast<uintptr_t>(pending->probe);
  }
  std::vector<uint8_t> frame;
  EncodeWelcome(welcome, frame);
  const IoResult io = SendBuffer(connection->fd.get(), frame.data(), frame.size(), Deadline::AfterMs(1000));
  if (io.status != IoStatus::kOk || welcome.status != LLM_SUCCESS) {
    RemoveConnection(connection->id);
    return;
  }
  // This connection will carry the client's requests once the second one binds.
  connection->channel = std::make_shared<InboundChannel>(std::move(connection->fd));
  connection->role = Role::kAwaitingBind;
  pending->connection_id = connection->id;
  pending->inbound = connection->channel;
  pending->hello = std::move(hello);
  pending->expires_ms = SteadyNowMs() + kHandshakeMs;
  pending_binds_[welcome.token] = std::move(pending);
}

void ServeLoop::OnBind(const std::shared_ptr<Connection> &connection) {
  BindMessage bind;
  std::string why;
  if (!DecodeBind(connection->rx.body().data(), connection->rx.body().size(), bind, why)) {
    RemoveConnection(connection->id);
    return;
  }
  const auto found = pending_binds_.find(bind.token);
  ResultMessage answer;
  std::unique_ptr<PendingBind> pending;
  const bool hixl = state_.options.hixl();
  if (found == pending_binds_.end()) {
    answer.status = LLM_LINK_FAILED;
    answer.detail = "unknown or expired link token";
  } else {
    pending = std::move(found->second);
    pending_binds_.erase(found);
    if (!hixl && pending->hello.force_link == 0U && state_.links.Find(pending->hello.cluster_id) != nullptr) {
      answer.status = LLM_ALREADY_LINK;
      answer.detail = "this engine already has a link to cluster " + std::to_string(pending->hello.cluster_id);
    }
  }
  // The second connection leaves the loop: it becomes our request connection to the client.
  UniqueFd outbound = std::move(connection->fd);
  RemoveConnection(connection->id);
  if (pending == nullptr || answer.status != LLM_SUCCESS) {
    std::vector<uint8_t> frame;
    EncodeResult(0, answer, frame);
    SendBuffer(outbound.get(), frame.data(), frame.size(), Deadline::AfterMs(1000));
    if (pending != nullptr) {
      RemoveConnection(pending->connection_id);
    }
    return;
  }
  const HelloMessage &hello = pending->hello;
  const bool same_host = !state_.options.tcp_only &&
                         ProbeSameHost(state_.identity, hello.host, bind.probe_addr, pending->our_challenge);
  PeerInfo peer;
  peer.cluster_id = hello.cluster_id;
  peer.sync_wait_ms = hello.sync_wait_ms == 0U ? 1000U : hello.sync_wait_ms;
  peer.heartbeat_ms = hello.heartbeat_ms == 0U ? 1000U : hello.heartbeat_ms;
  peer.host = hello.host;
  peer.address = "pid " + std::to_string(hello.host.pid);
  const int outbound_fd = outbound.get();
  auto link = MakeLink(std::move(peer), false, std::move(outbound), pending->inbound,
                       RegisteredCacheIds(state_.registry), same_host);
  // The link is in the table before the client hears back, so both sides have it once
  // LinkLlmClusters returns; holding its op mutex keeps requests off the connection until then.
  std::unique_lock<std::timed_mutex> op(link->op_mutex());
  if (hixl) {
    // A1 (hixl): the accepting side serves the link but holds nothing a transfer could name.
    pending->slot.HandOver();
    state_.links.Keep(link);
  } else {
    const std::shared_ptr<ClusterLink> replaced =
        state_.links.File(hello.cluster_id, link, pending->slot.HandOver(), false);
    if (replaced != nullptr) {
      replaced->MarkClosed();
    }
  }
  const std::shared_ptr<Connection> inbound = FindConnection(pending->connection_id);
  if (inbound != nullptr) {
    inbound->role = Role::kInbound;
    inbound->link = link;
  }
  std::vector<uint8_t> frame;
  EncodeResult(0, ResultMessage{}, frame);
  const IoResult io = SendBuffer(outbound_fd, frame.data(), frame.size(), Deadline::AfterMs(1000));
  if (io.status != IoStatus::kOk) {
    link->MarkBroken(DescribeIo(io, "answering the bind"));
  }
}

void ServeLoop::OnDisconnect(const std::shared_ptr<Connection> &connection) {
  uint64_t cluster_id = 0;
  std::string why;
  if (!DecodeDisconnect(connection->rx.body().data(), connection->rx.body().size(), cluster_id, why)) {
    RemoveConnection(connection->id);
    return;
  }
  // Unknown id: nothing to drop, SUCCESS as in V2.
  const std::shared_ptr<ClusterLink> link = state_.links.Remove(cluster_id);
  if (link != nullptr) {
    link->MarkClosed();
  }
  std::vector<uint8_t> frame;
  EncodeResult(0, ResultMessage{}, frame);
  SendBuffer(connection->fd.get(), frame.data(), frame.size(), Deadline::AfterMs(1000));
  RemoveConnection(connection->id);
}

void ServeLoop::OnInbound(const std::shared_ptr<Connection> &connection) {
  ClusterLink &link = *connection->link;
  for (int i = 0; i < kFramesPerWakeup; ++i) {
    std::string why;
    const FrameAssembler::State st = connection->rx.Pump(connection->registered_fd, why);
    if (st == FrameAssembler::State::kIncomplete) {
      return;
    }
    if (st == FrameAssembler::State::kComplete) {
      link.last_inbound_ms = SteadyNowMs();
      if (ServeFrame(*connection)) {
        continue;
      }
      why = "peer broke the protocol";
    }
    if (!link.closed()) {
      link.MarkBroken(st == FrameAssembler::State::kClosed ? std::string("the peer closed the link") : why);
    }
    // A filed link stays until unlinked (its peer is gone: transfers time out); nothing can name an
    // unfiled one, so it goes.
    state_.links.DropIfUnfiled(&link);
    RemoveConnection(connection->id);
    return;
  }
}

bool ServeLoop::Answer(ClusterLink &link, uint32_t request_id, const ResultMessage &result) {
  std::vector<uint8_t> frame;
  EncodeResult(request_id, result, frame);
  std::lock_guard<std::mutex> lock(link.inbound()->write_mutex());
  return SendBuffer(link.inbound()->fd(), frame.data(), frame.size(), ServeDeadline(state_, link)).status ==
         IoStatus::kOk;
}

bool ServeLoop::ServeFrame(Connection &connection) {
  ClusterLink &link = *connection.link;
  const FrameHeader &header = connection.rx.header();
  const std::vector<uint8_t> &body = connection.rx.body();
  std::string why;
  switch (header.type) {
    case FrameType::kHeartbeat:
      return body.empty();
    case FrameType::kRead:
    case FrameType::kWrite:
      return ServeBlocks(connection, header.type == FrameType::kWrite);
    case FrameType::kRevoke: {
      int64_t cache_id = 0;
      if (!DecodeRevoke(body.data(), body.size(), cache_id, why)) {
        return false;
      }
      return !link.RevokeRemoteCache(cache_id, header.request_id) || Answer(link, header.request_id, ResultMessage{});
    }
    case FrameType::kTable:
      return body.empty() && ServeTable(link, header.request_id);
    default:
      return false;
  }
}

bool ServeLoop::ServeTable(ClusterLink &link, uint32_t request_id) {
  std::vector<CacheTableEntry> table;
  std::set<int64_t> ids;
  {
    std::lock_guard<std::mutex> sharing(state_.sharing_mutex);
    SnapshotCacheTable(state_.registry, link, table, ids);
    link.ShareWithPeer(std::move(ids));
  }
  std::vector<uint8_t> payload;
  EncodeCacheTable(table, payload);
  frame_.clear();
  EncodeResult(request_id, ResultMessage{0U, payload.size(), std::string()}, frame_);
  frame_.insert(frame_.end(), payload.begin(), payload.end());
  std::lock_guard<std::mutex> lock(link.inbound()->write_mutex());
  return SendBuffer(link.inbound()->fd(), frame_.data(), frame_.size(), ServeDeadline(state_, link)).status ==
         IoStatus::kOk;
}

bool ServeLoop::ServeBlocks(Connection &connection, bool write) {
  ClusterLink &link = *connection.link;
  const uint32_t request_id = connection.rx.header().request_id;
  std::string why;
  if (!DecodeBlockRequest(connection.rx.body().data(), connection.rx.body().size(), request_, why)) {
    return false;
  }
  // Every segment is checked against what this link may address before any byte is touched.
  ResultMessage refusal;
  LocalCacheRegistry::Lease lease;
  if (!link.SharedWithPeer(request_.cache_id)) {
    refusal.status = LLM_KV_CACHE_NOT_EXIST;
    refusal.detail = "cache " + std::to_string(request_.cache_id) + " is not in the table this link fetched";
  } else if (!(lease = state_.registry.Acquire(request_.cache_id))) {
    // D6: the live registry decides, whatever the peer's table says.
    refusal.status = LLM_KV_CACHE_NOT_EXIST;
    refusal.detail = "cache " + std::to_string(request_.cache_id) + " is no longer registered";
  } else if (!link.BoundLocally(request_.cache_id)) {
    // A23: memory registered after the link was made is not bound to it.
    refusal.status = LLM_FAILED;
    refusal.detail = "cache " + std::to_string(request_.cache_id) +
                     " was registered after the link was made, so the link cannot reach its memory";
  } else {
    const LocalCache &cache = *lease.get();
    for (const WireSegment &segment : request_.segments) {
      if (segment.tensor >= cache.geometry.num_tensors ||
          !RangeWithin(segment.offset, segment.len, cache.geometry.tensor_bytes)) {
        refusal.status = LLM_PARAM_INVALID;
        refusal.detail = "segment (tensor " + std::to_string(segment.tensor) + ", offset " +
                         std::to_string(segment.offset) + ", length " + std::to_string(segment.len) +
                         ") is outside cache " + std::to_string(cache.id);
        break;
      }
    }
  }
  const Deadline deadline = ServeDeadline(state_, link);
  const int fd = link.inbound()->fd();
  if (refusal.status != LLM_SUCCESS) {
    lease = LocalCacheRegistry::Lease();
    if (write) {
      // Skip the bytes that were meant for the refused segments, keeping the stream in step.
      std::array<uint8_t, 65536> scratch;
      uint64_t left = request_.total_len;
      while (left > 0U) {
        const size_t chunk = left < scratch.size() ? static_cast<size_t>(left) : scratch.size();
        if (RecvBuffer(fd, scratch.data(), chunk, deadline).status != IoStatus::kOk) {
          return false;
        }
        left -= chunk;
      }
    }
    return Answer(link, request_id, refusal);
  }
  const LocalCache &cache = *lease.get();
  iov_.clear();
  if (!write) {
    frame_.clear();
    EncodeResult(request_id, ResultMessage{0U, request_.total_len, std::string()}, frame_);
    iov_.push_back(iovec{frame_.data(), frame_.size()});
  }
  for (const WireSegment &segment : request_.segments) {
    const uint64_t addr = cache.addrs[segment.tensor] + segment.offset;
    iov_.push_back(iovec{reinterpret_cast<void *>(static_cast<uintptr_t>(addr)), static_cast<size_t>(segment.len)});
  }
  if (!write) {
    std::lock_guard<std::mutex> lock(link.inbound()->write_mutex());
    return SendFully(fd, iov_.data(), iov_.size(), deadline).status == IoStatus::kOk;
  }
  if (RecvFully(fd, iov_.data(), iov_.size(), deadline).status != IoStatus::kOk) {
    return false;
  }
  lease = LocalCacheRegistry::Lease();
  return Answer(link, request_id, ResultMessage{});
}

void ServeLoop::Tick() {
  const int64_t now = SteadyNowMs();
  const int64_t tick_ms = std::clamp(state_.options.heartbeat_ms / 4, 5, 250);
  if (now - last_tick_ms_ < tick_ms) {
    return;
  }
  last_tick_ms_ = now;
  std::vector<uint64_t> expired;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto &[id, c] : connections_) {
      if ((c->role == Role::kHandshake || c->role == Role::kAwaitingBind) && now > c->expires_ms &&
          c->expires_ms != 0) {
        expired.push_back(id);
      }
    }
  }
  for (auto it = pending_binds_.begin(); it != pending_binds_.end();) {
    if (now > it->second->expires_ms) {
      expired.push_back(it->second->connection_id);
      it = pending_binds_.erase(it);
    } else {
      ++it;
    }
  }
  for (const uint64_t id : expired) {
    RemoveConnection(id);
  }
  for (const auto &link : state_.links.All()) {
    if (link->broken() || link->closed()) {
      continue;
    }
    const int64_t silent = now - link->last_inbound_ms.load();
    const int64_t allowed = 3 * static_cast<int64_t>(ClampHeartbeat(link->peer().heartbeat_ms));
    if (silent > allowed) {
      link->MarkBroken("no heartbeat from cluster " + std::to_string(link->peer().cluster_id) + " for " +
                       std::to_string(silent) + " ms");
      continue;
    }
    if (now - link->last_heartbeat_sent_ms.load() >= state_.options.heartbeat_ms) {
      std::string why;
      if (!link->outbound().TrySendHeartbeat(why)) {
        link->MarkBroken(why);
      }
      link->last_heartbeat_sent_ms = now;
    }
  }
}
}  // namespace dd::host
