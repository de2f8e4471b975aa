#include "link_handshake.h"

#include <sys/random.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

#include "comm_resource.h"
#include "error_detail.h"
#include "same_host_data_path.h"
#include "tcp_data_path.h"

namespace dd::host {
using namespace llm_datadist;

std::set<int64_t> RegisteredCacheIds(const LocalCacheRegistry &registry) {
  std::set<int64_t> ids;
  for (const auto &cache : registry.All()) {
    ids.insert(cache->id);
  }
  return ids;
}

void SnapshotCacheTable(const LocalCacheRegistry &registry, const ClusterLink &link,
                        std::vector<CacheTableEntry> &table, std::set<int64_t> &ids) {
  table.clear();
  ids.clear();
  for (const auto &cache : registry.All()) {
    table.push_back(CacheTableEntry{cache->id, cache->geometry, cache->addrs, link.BoundLocally(cache->id)});
    ids.insert(cache->id);
  }
}

ge::Status CheckCommResPair(const EngineState &state, const std::string &local, const std::string &peer,
                            std::string &why) {
  const ge::Status status = CheckCommRes(local, "this engine's", state.options.device_id, why);
  return status != LLM_SUCCESS ? status : CheckCommRes(peer, "the peer's", -1, why);
}

HostIdentity LocalHostIdentity() {
  HostIdentity identity;
  identity.pid = static_cast<uint32_t>(::getpid());
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::getline(in, identity.boot_id);
  return identity;
}

void RandomBytes(uint8_t *out, size_t len) {
  size_t have = 0;
  while (have < len) {
    const ssize_t n = ::getrandom(out + have, len - have, 0);
    if (n > 0) {
      have += static_cast<size_t>(n);
    } else if (n < 0 && errno != EINTR) {
      // No entropy source: fall back to something unique enough for a challenge.
      const uint64_t mix = static_cast<uint64_t>(SteadyClock::now().time_since_epoch().count()) ^
                           (static_cast<uint64_t>(::getpid()) << 32U) ^ reinterpret_cast<uintptr_t>(out);
      std::memcpy(out + have, &mix, len - have < sizeof(mix) ? len - have : sizeof(mix));
      have += sizeof(mix);
    }
  }
}

bool ProbeSameHost(const HostIdentity &local, const HostIdentity &peer, uint64_t probe_addr,
                   const uint8_t (&challenge)[kChallengeBytes]) {
  if (local.boot_id.empty() || local.boot_id != peer.boot_id || probe_addr == 0U || peer.pid == 0U) {
    return false;
  }
  uint8_t seen[kChallengeBytes] = {};
  return ReadPeerMemory(static_cast<pid_t>(peer.pid), probe_addr, seen, sizeof(seen)) == 0 &&
         std::memcmp(seen, challenge, sizeof(seen)) == 0;
}

std::shared_ptr<ClusterLink> MakeLink(PeerInfo peer, bool initiated_locally, UniqueFd outbound,
                                      std::shared_ptr<InboundChannel> inbound, std::set<int64_t> bound_local,
                                      bool same_host) {
  const auto pid = static_cast<pid_t>(peer.host.pid);
  auto link = std::make_shared<ClusterLink>(std::move(peer), initiated_locally,
                                            std::make_unique<OutboundChannel>(std::move(outbound)),
                                            std::move(inbound), std::move(bound_local));
  link->SetDataPaths(same_host ? std::make_unique<SameHostDataPath>(pid) : nullptr,
                     std::make_unique<TcpDataPath>(link->outbound()));
  return link;
}

namespace {
LinkAttempt Failed(ge::Status status, const LinkTarget &target, const std::string &why) {
  LinkAttempt attempt;
  attempt.status = status;
  attempt.detail = "cluster " + std::to_string(target.remote_cluster_id) + " at " + target.ip + ":" +
                   std::to_string(target.port) + ": " + why;
  return attempt;
}

// A14: an address that is not one is PARAM_INVALID, a refused connect LINK_FAILED, one that is not
// done in time TIMEOUT.
ge::Status ConnectStatusCode(ConnectStatus status) {
  switch (status) {
    case ConnectStatus::kConnected: return LLM_SUCCESS;
    case ConnectStatus::kBadAddress: return LLM_PARAM_INVALID;
    case ConnectStatus::kTimeout: return LLM_TIMEOUT;
    case ConnectStatus::kFailed: break;
  }
  return LLM_LINK_FAILED;
}

// Reads one frame of `type` by `deadline`. A14: a socket or framing error is FAILED, a handshake
// that does not finish in time TIMEOUT (D8).
ge::Status ReadFrame(int fd, FrameType type, const Deadline &deadline, FrameAssembler &rx, std::string &why) {
  switch (rx.PumpUntil(fd, deadline, why)) {
    case FrameAssembler::State::kComplete:
      if (rx.header().type != type) {
        why = "unexpected frame during the handshake";
        return LLM_FAILED;
      }
      return LLM_SUCCESS;
    case FrameAssembler::State::kIncomplete: why = "the handshake did not finish in time"; return LLM_TIMEOUT;
    case FrameAssembler::State::kClosed: why = "peer closed the connection during the handshake"; return LLM_FAILED;
    default: return LLM_FAILED;
  }
}

ge::Status SendStatusCode(const IoResult &io) {
  return io.status == IoStatus::kOk ? LLM_SUCCESS : io.status == IoStatus::kTimeout ? LLM_TIMEOUT : LLM_FAILED;
}
}  // namespace

LinkAttempt EstablishLink(EngineState &state, const LinkTarget &target, const std::string &comm_res, SlotReservation slot,
                          const Deadline &deadline) {
  const bool hixl = state.options.hixl();
  const std::string address = target.ip + ":" + std::to_string(target.port);
  if (hixl && state.links.HasLinkTo(address)) {
    return Failed(LLM_ALREADY_LINK, target, "this engine is already linked to " + address);
  }
  // A1: force_link is true exactly when this side has no link under the id the caller named.
  const bool force_link = !hixl && state.links.Find(target.remote_cluster_id) == nullptr;
  UniqueFd requests;
  std::string why;
  ge::Status status = ConnectStatusCode(ConnectTcp(target.ip, target.port, deadline, requests, why));
  if (status != LLM_SUCCESS) {
    // A27 (hixl): the hixl engine maps a failed connect to LLM_FAILED (compat.md, choices).
    return Failed(hixl && status == LLM_LINK_FAILED ? LLM_FAILED : status, target, why);
  }
  HelloMessage hello;
  hello.cluster_id = state.cluster_id;
  hello.role = state.role.load();
  hello.sync_wait_ms = static_cast<uint32_t>(state.options.sync_wait_ms);
  hello.heartbeat_ms = static_cast<uint32_t>(state.options.heartbeat_ms);
  hello.host = state.identity;
  hello.force_link = force_link ? 1U : 0U;
  hello.hixl = hixl ? 1U : 0U;
  hello.comm_res = comm_res;
  RandomBytes(hello.challenge, sizeof(hello.challenge));
  std::vector<uint8_t> frame;
  EncodeHello(hello, frame);
  IoResult io = SendBuffer(requests.get(), frame.data(), frame.size(), deadline);
  if (io.status != IoStatus::kOk) {
    return Failed(SendStatusCode(io), target, DescribeIo(io, "hello"));
  }
  FrameAssembler rx;
  if ((status = ReadFrame(requests.get(), FrameType::kWelcome, deadline, rx, why)) != LLM_SUCCESS) {
    return Failed(status, target, why);
  }
  WelcomeMessage welcome;
  if (!DecodeWelcome(rx.body().data(), rx.body().size(), welcome, why)) {
    return Failed(LLM_PARAM_INVALID, target, "malformed answer: " + why);
  }
  // A15: the server's verdict comes first.
  if (welcome.status != LLM_SUCCESS) {
    return Failed(ReturnedByV2(welcome.status) ? welcome.status : LLM_FAILED, target,
                  "peer refused the link: " + welcome.detail);
  }
  // A1: the default backend files the link under the id the peer reports, hixl under the one asked for.
  const uint64_t file_under = hixl ? target.remote_cluster_id : welcome.cluster_id;
  bool replacing = false;
  if (!hixl) {
    if ((status = CheckCommResPair(state, comm_res, welcome.comm_res, why)) != LLM_SUCCESS) {
      return Failed(status, target, why);
    }
    replacing = state.links.Find(file_under) != nullptr;
    if (replacing && !force_link) {
      // A21 (c): the peer dropped its side but this one still holds it (docs/compat.md, choices).
      return Failed(LLM_LINK_FAILED, target,
                    "this engine still holds a link to cluster " + std::to_string(file_under) +
                        " that the peer no longer has; unlink it with force_flag=true first");
    }
  }
  LinkAttempt attempt;
  attempt.file_under = file_under;
  if (!replacing) {
    if (!slot.held()) {
      return Failed(LLM_LINK_FAILED, target,
                    "this engine already holds " + std::to_string(state.options.max_links) + " links (dd.MaxLinks)");
    }
    attempt.slot = std::move(slot);
  }
  // A failure from here on gives the slot back as `attempt` goes away.
  const auto failed = [&](ge::Status code, const std::string &text) { return Failed(code, target, text); };
  const bool same_host =
      !state.options.tcp_only && ProbeSameHost(state.identity, welcome.host, welcome.probe_addr, hello.challenge);

  // The second connection carries the peer's requests to us.
  UniqueFd answers;
  if ((status = ConnectStatusCode(ConnectTcp(target.ip, target.port, deadline, answers, why))) != LLM_SUCCESS) {
    return failed(status, why);
  }
  // The peer proves same-host access by reading its challenge back from here while we wait.
  uint8_t probe[kChallengeBytes];
  std::memcpy(probe, welcome.challenge, sizeof(probe));
  BindMessage bind;
  bind.token = welcome.token;
  bind.probe_addr = state.options.tcp_only ? 0U : reinterpret_cast<uintptr_t>(probe);
  frame.clear();
  EncodeBind(bind, frame);
  io = SendBuffer(answers.get(), frame.data(), frame.size(), deadline);
  if (io.status != IoStatus::kOk) {
    return failed(SendStatusCode(io), DescribeIo(io, "bind"));
  }
  FrameAssembler bind_rx;
  if ((status = ReadFrame(answers.get(), FrameType::kResult, deadline, bind_rx, why)) != LLM_SUCCESS) {
    return failed(status, why);
  }
  ResultMessage bound;
  if (!DecodeResult(bind_rx.body().data(), bind_rx.body().size(), bound, why)) {
    return failed(LLM_PARAM_INVALID, "malformed answer: " + why);
  }
  if (bound.status != LLM_SUCCESS) {
    return failed(ReturnedByV2(bound.status) ? bound.status : LLM_FAILED, "peer refused the link: " + bound.detail);
  }
  PeerInfo peer;
  peer.cluster_id = welcome.cluster_id;
  peer.sync_wait_ms = welcome.sync_wait_ms == 0U ? 1000U : welcome.sync_wait_ms;
  peer.heartbeat_ms = welcome.heartbeat_ms == 0U ? 1000U : welcome.heartbeat_ms;
  peer.host = welcome.host;
  peer.address = address;
  attempt.link = MakeLink(std::move(peer), true, std::move(requests), std::make_shared<InboundChannel>(std::move(answers)),
                          RegisteredCacheIds(state.registry), same_host);
  return attempt;
}
}  // namespace dd::host
