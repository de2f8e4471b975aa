#include "handshake_server.h"

#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include "cluster_link.h"
#include "error_detail.h"
#include "link_admission.h"
#include "link_handshake.h"
#include "peer_auth.h"
#include "same_host_probe.h"

namespace dd::host {
using namespace llm_datadist;

namespace {
constexpr uint32_t kMaxStreamsPerLink = 16U;

ge::Status AuthFailure(uint32_t purpose) {
  return purpose == static_cast<uint32_t>(HandshakePurpose::kUnlink) ? LLM_UNLINK_FAILED : LLM_LINK_FAILED;
}
}  // namespace

struct HandshakeServer::Connection final : IoHandler {
  enum class Stage {
    kHello,     // waiting for HELLO (or BIND)
    kProof,     // CHALLENGE sent, waiting for PROOF
    kWelcomed,  // WELCOME sent on the first connection of a link; waiting for the binds
    kBound,     // a bound further connection; waiting for the rest
    kClosing,   // a refusal is on its way out
  };
  Connection(HandshakeServer &owner, uint64_t connection_id, UniqueFd socket, uint32_t max_frame, int64_t deadline)
      : server(owner), id(connection_id), fd(std::move(socket)), rx(max_frame), deadline_ms(deadline) {}
  void OnIo(uint32_t events) override { server.OnIo(*this, events); }

  HandshakeServer &server;
  const uint64_t id;
  UniqueFd fd;
  FrameAssembler rx;
  OutputQueue out;
  const int64_t deadline_ms;
  Stage stage = Stage::kHello;
  bool proven = false;  // passed PROOF
  uint32_t watched = 0;
  HelloMessage hello;
  WireNonce server_nonce{};
  uint64_t token = 0;  // the pending link this connection belongs to
  StreamKind kind = StreamKind::kServerRequests;
  uint32_t index = 0;

  // What both proofs of this handshake are bound to: both nonces and both cluster ids.
  HandshakeTranscript Transcript(uint64_t server_cluster_id) const {
    HandshakeTranscript transcript;
    transcript.client_nonce = hello.nonce;
    transcript.server_nonce = server_nonce;
    transcript.client_cluster_id = hello.cluster_id;
    transcript.server_cluster_id = server_cluster_id;
    return transcript;
  }
};

// A link that passed PROOF and WELCOME, waiting for its further connections.
struct HandshakeServer::PendingLink {
  uint64_t token = 0;
  uint64_t first_connection = 0;
  uint64_t client_id = 0;
  ProofMessage proof;
  HandshakeTranscript transcript;
  WireNonce client_nonce{};  // the client reads it back from here to prove same-host access
  SlotReservation slot;
  bool same_host = false;
  uint32_t streams = 1;
  std::map<std::pair<uint32_t, uint32_t>, uint64_t> bound;  // (kind, index) → connection
};

HandshakeServer::HandshakeServer(Reactor &reactor, EngineState &state, CommitFn commit)
    : reactor_(reactor), state_(state), commit_(std::move(commit)) {}

HandshakeServer::~HandshakeServer() { CloseAll(); }

void HandshakeServer::Accept(UniqueFd fd) {
  while (connections_.size() >= state_.options.max_pending_handshakes && DropOldest()) {
  }
  ConfigureStream(fd.get());
  const uint64_t id = next_id_++;
  auto connection = std::make_unique<Connection>(*this, id, std::move(fd), state_.options.handshake_max_bytes,
                                                 SteadyNowMs() + state_.options.handshake_timeout_ms);
  connection->watched = EPOLLIN | EPOLLRDHUP;
  reactor_.Watch(connection->fd.get(), connection->watched, connection.get());
  connections_.emplace(id, std::move(connection));
}

bool HandshakeServer::DropOldest() {
  if (connections_.empty()) {
    return false;
  }
  // Unauthenticated handshakes go first: a flood of them cannot push out a peer that proved itself.
  auto victim = std::find_if(connections_.begin(), connections_.end(), [](const auto &entry) { return !entry.second->proven; });
  if (victim == connections_.end()) {
    victim = connections_.begin();
  }
  Connection &connection = *victim->second;
  std::vector<uint8_t> frame;
  EncodeResult(0,
               ResultMessage{AuthFailure(connection.hello.purpose), 0,
                             "too many handshakes in progress (dd.MaxPendingHandshakes); this one was dropped"},
               frame);
  [[maybe_unused]] const ssize_t n = ::send(connection.fd.get(), frame.data(), frame.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  Drop(connection.id);
  return true;
}

void HandshakeServer::Tick(int64_t now_ms) {
  std::vector<uint64_t> expired;
  for (const auto &[id, connection] : connections_) {
    if (now_ms > connection->deadline_ms) {
      expired.push_back(id);
    }
  }
  for (const uint64_t id : expired) {
    if (connections_.count(id) != 0U) {
      const Connection &connection = *connections_.at(id);
      if (connection.stage != Connection::Stage::kClosing) {
        // Best effort: a peer that is still reading learns why.
        std::vector<uint8_t> frame;
        EncodeResult(0, ResultMessage{LLM_TIMEOUT, 0, "the handshake did not finish within dd.HandshakeTimeoutMs"},
                     frame);
        [[maybe_unused]] const ssize_t n =
            ::send(connection.fd.get(), frame.data(), frame.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      }
      Drop(id);
    }
  }
}

void HandshakeServer::CloseAll() {
  while (!connections_.empty()) {
    Drop(connections_.begin()->first);
  }
  pending_.clear();
}

void HandshakeServer::UpdateInterest(Connection &connection) {
  const uint32_t want = EPOLLIN | EPOLLRDHUP | (connection.out.empty() ? 0U : EPOLLOUT);
  if (want != connection.watched) {
    connection.watched = want;
    reactor_.Modify(connection.fd.get(), want);
  }
}

void HandshakeServer::Send(Connection &connection, std::vector<uint8_t> frame) {
  OutputItem item;
  item.owned = std::move(frame);
  connection.out.Push(std::move(item));
  const OutputQueue::Flushed flushed = connection.out.Flush(connection.fd.get());
  if (flushed.status != IoStatus::kOk) {
    Drop(connection.id);
    return;
  }
  UpdateInterest(connection);
}

void HandshakeServer::Refuse(Connection &connection, std::vector<uint8_t> frame) {
  connection.stage = Connection::Stage::kClosing;
  const uint64_t id = connection.id;
  Send(connection, std::move(frame));
  const auto it = connections_.find(id);
  if (it != connections_.end() && it->second->out.empty()) {
    // Out: end our side; the connection closes when the peer does, or at the deadline.
    ::shutdown(it->second->fd.get(), SHUT_WR);
  }
}

void HandshakeServer::RefuseWithResult(Connection &connection, ge::Status status, const std::string &detail) {
  std::vector<uint8_t> frame;
  EncodeResult(0, ResultMessage{status, 0, detail}, frame);
  Refuse(connection, std::move(frame));
}

void HandshakeServer::OnIo(Connection &connection, uint32_t events) {
  const uint64_t id = connection.id;
  if ((events & EPOLLOUT) != 0U) {
    const OutputQueue::Flushed flushed = connection.out.Flush(connection.fd.get());
    if (flushed.status != IoStatus::kOk) {
      Drop(id);
      return;
    }
    if (connection.stage == Connection::Stage::kClosing && connection.out.empty()) {
      ::shutdown(connection.fd.get(), SHUT_WR);
    }
    UpdateInterest(connection);
  }
  if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) == 0U) {
    return;
  }
  if (connection.stage == Connection::Stage::kClosing) {
    // Drain what the peer still sends, so that closing does not reset the refusal away; its EOF ends it.
    uint8_t scratch[4096];
    for (int reads = 0; reads < 64; ++reads) {
      const ssize_t n = ::recv(connection.fd.get(), scratch, sizeof(scratch), MSG_DONTWAIT);
      if (n > 0) {
        continue;
      }
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        Drop(id);
      }
      return;
    }
    return;
  }
  if (connection.stage == Connection::Stage::kWelcomed || connection.stage == Connection::Stage::kBound) {
    // The client sends nothing here before the link is committed: bytes or EOF end the attempt.
    Drop(id);
    return;
  }
  std::string why;
  const FrameAssembler::State st = connection.rx.Pump(connection.fd.get(), why);
  if (st == FrameAssembler::State::kIncomplete) {
    return;
  }
  if (st != FrameAssembler::State::kComplete) {
    Drop(id);
    return;
  }
  OnFrame(connection);
}

void HandshakeServer::OnFrame(Connection &connection) {
  const FrameType type = connection.rx.header().type;
  if (connection.stage == Connection::Stage::kHello && type == FrameType::kHello) {
    OnHello(connection);
  } else if (connection.stage == Connection::Stage::kHello && type == FrameType::kBind) {
    OnBind(connection);
  } else if (connection.stage == Connection::Stage::kProof && type == FrameType::kProof) {
    OnProof(connection);
  } else {
    Drop(connection.id);
  }
}

void HandshakeServer::OnHello(Connection &connection) {
  std::string why;
  HelloMessage &hello = connection.hello;
  if (!DecodeHello(connection.rx.body().data(), connection.rx.body().size(), hello, why) ||
      hello.purpose > static_cast<uint32_t>(HandshakePurpose::kUnlink)) {
    Drop(connection.id);
    return;
  }
  const std::string &secret = state_.options.auth_secret;
  ChallengeMessage challenge;
  challenge.cluster_id = state_.cluster_id;
  challenge.has_secret = secret.empty() ? 0U : 1U;
  if (!secret.empty() && hello.has_secret == 0U) {
    challenge.status = AuthFailure(hello.purpose);
    challenge.detail = "this engine requires peers to authenticate: set the same dd.AuthSecret on both engines";
    std::vector<uint8_t> frame;
    EncodeChallenge(challenge, frame);
    Refuse(connection, std::move(frame));
    return;
  }
  if (!RandomNonce(connection.server_nonce)) {
    RefuseWithResult(connection, LLM_FAILED, "no random source for the handshake nonce");
    return;
  }
  challenge.nonce = connection.server_nonce;
  if (!secret.empty()) {
    const Proof proof = ComputeProof(secret, ProofRole::kServer, connection.Transcript(state_.cluster_id));
    challenge.proof.assign(proof.begin(), proof.end());
  }
  connection.stage = Connection::Stage::kProof;
  std::vector<uint8_t> frame;
  EncodeChallenge(challenge, frame);
  Send(connection, std::move(frame));
}

void HandshakeServer::OnProof(Connection &connection) {
  std::string why;
  ProofMessage proof;
  if (!DecodeProof(connection.rx.body().data(), connection.rx.body().size(), proof, why)) {
    Drop(connection.id);
    return;
  }
  const HelloMessage &hello = connection.hello;
  const HandshakeTranscript transcript = connection.Transcript(state_.cluster_id);
  const std::string &secret = state_.options.auth_secret;
  if (!secret.empty() && !VerifyProof(secret, ProofRole::kClient, transcript,
                                      reinterpret_cast<const uint8_t *>(proof.proof.data()), proof.proof.size())) {
    // Nothing about this engine's memory has been sent.
    RefuseWithResult(connection, AuthFailure(hello.purpose),
                     "authentication failed: the peer does not hold this engine's dd.AuthSecret");
    return;
  }
  connection.proven = true;
  if (hello.purpose == static_cast<uint32_t>(HandshakePurpose::kUnlink)) {
    // A20: drop the link filed under the requester's id; an unknown id is SUCCESS, as in V2.
    if (const std::shared_ptr<ClusterLink> link = state_.links.Remove(hello.cluster_id)) {
      link->MarkClosed();
    }
    RefuseWithResult(connection, LLM_SUCCESS, std::string());
    return;
  }
  auto pending = std::make_unique<PendingLink>();
  WelcomeMessage welcome;
  welcome.status = AdmitLink(state_, hello.cluster_id, proof, pending->slot, welcome.detail);
  if (welcome.status != LLM_SUCCESS) {
    std::vector<uint8_t> frame;
    EncodeWelcome(welcome, frame);
    Refuse(connection, std::move(frame));
    return;
  }
  std::string same_host_why;
  pending->same_host = !state_.options.tcp_only && GrantSameHost(state_.identity, proof.host, connection.fd.get(),
                                                                 proof.probe_addr, connection.server_nonce, same_host_why);
  while (pending->token == 0U || pending_.count(pending->token) != 0U) {
    WireNonce random{};
    RandomNonce(random);
    std::memcpy(&pending->token, random.data(), sizeof(pending->token));
  }
  pending->client_nonce = hello.nonce;
  pending->first_connection = connection.id;
  pending->client_id = hello.cluster_id;
  pending->streams = std::min(kMaxStreamsPerLink, std::max({1U, proof.streams, state_.options.streams_per_link}));
  pending->transcript = transcript;
  pending->transcript.bind_token = pending->token;
  welcome.sync_wait_ms = static_cast<uint32_t>(state_.options.sync_wait_ms);
  welcome.heartbeat_ms = static_cast<uint32_t>(state_.options.heartbeat_ms);
  welcome.host = state_.identity;
  welcome.probe_addr = state_.options.tcp_only ? 0U : reinterpret_cast<uintptr_t>(pending->client_nonce.data());
  welcome.token = pending->token;
  welcome.streams = pending->streams;
  state_.comm_res.Get(welcome.comm_res);
  proof.proof.clear();
  pending->proof = std::move(proof);
  connection.stage = Connection::Stage::kWelcomed;
  connection.token = pending->token;
  pending_[pending->token] = std::move(pending);
  std::vector<uint8_t> frame;
  EncodeWelcome(welcome, frame);
  Send(connection, std::move(frame));
}

void HandshakeServer::OnBind(Connection &connection) {
  std::string why;
  BindMessage bind;
  if (!DecodeBind(connection.rx.body().data(), connection.rx.body().size(), bind, why)) {
    Drop(connection.id);
    return;
  }
  const auto found = pending_.find(bind.token);
  if (found == pending_.end()) {
    RefuseWithResult(connection, LLM_LINK_FAILED, "unknown or expired link token");
    return;
  }
  PendingLink &pending = *found->second;
  const std::string &secret = state_.options.auth_secret;
  if (!secret.empty() && !VerifyProof(secret, ProofRole::kBind, pending.transcript,
                                      reinterpret_cast<const uint8_t *>(bind.proof.data()), bind.proof.size())) {
    RefuseWithResult(connection, LLM_LINK_FAILED, "authentication failed: the bind does not prove dd.AuthSecret");
    return;
  }
  const bool kind_ok = bind.kind == static_cast<uint32_t>(StreamKind::kServerRequests) ||
                       (bind.kind == static_cast<uint32_t>(StreamKind::kClientRequests) && bind.index >= 1U);
  if (!kind_ok || bind.index >= pending.streams || pending.bound.count({bind.kind, bind.index}) != 0U) {
    RefuseWithResult(connection, LLM_LINK_FAILED, "a bind for a connection the link does not have");
    return;
  }
  connection.proven = true;
  connection.stage = Connection::Stage::kBound;
  connection.token = bind.token;
  connection.kind = static_cast<StreamKind>(bind.kind);
  connection.index = bind.index;
  pending.bound[{bind.kind, bind.index}] = connection.id;
  // Every server-request stream, and every client-request stream but the first (the hello one).
  if (pending.bound.size() == 2U * pending.streams - 1U) {
    Commit(pending);
  }
}

void HandshakeServer::Commit(PendingLink &pending) {
  const uint64_t token = pending.token;
  const bool hixl = state_.options.hixl();
  ResultMessage answer;
  if (!hixl && pending.proof.force_link == 0U && state_.links.Find(pending.client_id) != nullptr) {
    answer.status = LLM_ALREADY_LINK;
    answer.detail = "this engine already has a link to cluster " + std::to_string(pending.client_id);
  }
  std::vector<uint8_t> frame;
  EncodeResult(0, answer, frame);
  if (answer.status != LLM_SUCCESS) {
    for (const auto &[key, id] : pending.bound) {
      [[maybe_unused]] const ssize_t n =
          ::send(connections_.at(id)->fd.get(), frame.data(), frame.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    }
    DropPending(token);
    return;
  }
  // The connections leave the handshake and become the link's streams.
  const auto take = [&](uint64_t id) {
    auto it = connections_.find(id);
    reactor_.Unwatch(it->second->fd.get());
    UniqueFd fd = std::move(it->second->fd);
    connections_.erase(it);
    return fd;
  };
  std::vector<UniqueFd> ours(pending.streams);
  std::vector<UniqueFd> theirs(pending.streams);
  theirs[0] = take(pending.first_connection);
  for (const auto &[key, id] : pending.bound) {
    (key.first == static_cast<uint32_t>(StreamKind::kServerRequests) ? ours : theirs)[key.second] = take(id);
  }
  PeerInfo peer;
  peer.cluster_id = pending.client_id;
  peer.sync_wait_ms = pending.proof.sync_wait_ms == 0U ? 1000U : pending.proof.sync_wait_ms;
  peer.heartbeat_ms = pending.proof.heartbeat_ms == 0U ? 1000U : pending.proof.heartbeat_ms;
  peer.host = pending.proof.host;
  peer.address = "pid " + std::to_string(pending.proof.host.pid);
  const std::shared_ptr<ClusterLink> link = MakeLink(state_, std::move(peer), false, ours[0].get(), pending.same_host);
  std::vector<int> answer_on;
  for (size_t i = 0; i < ours.size(); ++i) {
    answer_on.push_back(ours[i].get());
  }
  for (size_t i = 1; i < theirs.size(); ++i) {
    answer_on.push_back(theirs[i].get());
  }
  // The link can carry transfers and is in the table before the client hears back, so both sides
  // have it once LinkLlmClusters returns (A15). (The streams only open on this thread, after this.)
  commit_(link, std::move(ours), std::move(theirs));
  if (hixl) {
    // A1 (hixl): the accepting side serves the link but holds nothing a transfer could name.
    pending.slot.HandOver();
    state_.links.Keep(link);
  } else {
    const std::shared_ptr<ClusterLink> replaced =
        state_.links.File(pending.client_id, link, pending.slot.HandOver(), false);
    if (replaced != nullptr) {
      replaced->MarkClosed();
    }
  }
  pending_.erase(token);
  frame.clear();
  EncodeCommit(++state_.link_generation, frame);
  for (const int fd : answer_on) {
    // A fresh connection's send buffer takes a frame this small at once.
    if (::send(fd, frame.data(), frame.size(), MSG_NOSIGNAL | MSG_DONTWAIT) != static_cast<ssize_t>(frame.size())) {
      link->MarkBroken("answering the binds of cluster " + std::to_string(link->peer().cluster_id) + " failed");
      break;
    }
  }
}

void HandshakeServer::Drop(uint64_t id) {
  const auto it = connections_.find(id);
  if (it == connections_.end()) {
    return;
  }
  const uint64_t token = it->second->token;
  reactor_.Unwatch(it->second->fd.get());
  connections_.erase(it);
  if (token != 0U) {
    DropPending(token);
  }
}

void HandshakeServer::DropPending(uint64_t token) {
  const auto it = pending_.find(token);
  if (it == pending_.end()) {
    return;
  }
  std::unique_ptr<PendingLink> pending = std::move(it->second);
  pending_.erase(it);
  Drop(pending->first_connection);
  for (const auto &[key, id] : pending->bound) {
    Drop(id);
  }
}
}  // namespace dd::host
