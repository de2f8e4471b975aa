#include "link_handshake.h"

#include <sys/random.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

#include "same_host_data_path.h"
#include "tcp_data_path.h"

namespace dd::host {
using namespace llm_datadist;

void SnapshotCacheTable(const LocalCacheRegistry &registry, std::vector<CacheTableEntry> &table,
                        std::set<int64_t> &ids) {
  table.clear();
  ids.clear();
  for (const auto &cache : registry.All()) {
    table.push_back(CacheTableEntry{cache->id, cache->geometry, cache->addrs});
    ids.insert(cache->id);
  }
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
                                      std::shared_ptr<InboundChannel> inbound,
                                      std::vector<CacheTableEntry> peer_table, std::set<int64_t> shared,
                                      bool same_host) {
  const auto pid = static_cast<pid_t>(peer.host.pid);
  auto link = std::make_shared<ClusterLink>(std::move(peer), initiated_locally,
                                            std::make_unique<OutboundChannel>(std::move(outbound)),
                                            std::move(inbound),
                                            std::move(peer_table), std::move(shared));
  link->SetDataPaths(same_host ? std::make_unique<SameHostDataPath>(pid) : nullptr,
                     std::make_unique<TcpDataPath>(link->outbound()));
  return link;
}

namespace {
LinkAttempt Failed(ge::Status status, const LinkTarget &target, const std::string &why) {
  LinkAttempt attempt;
  attempt.status = status;
  attempt.detail = "cluster " + std::to_string(target.cluster_id) + " at " + target.ip + ":" +
                   std::to_string(target.port) + ": " + why;
  return attempt;
}

// Reads one frame of `type` by `deadline`.
bool ReadFrame(int fd, FrameType type, const Deadline &deadline, FrameAssembler &rx, std::string &why) {
  const FrameAssembler::State state = rx.PumpUntil(fd, deadline, why);
  switch (state) {
    case FrameAssembler::State::kComplete:
      if (rx.header().type != type) {
        why = "unexpected frame during the handshake";
        return false;
      }
      return true;
    case FrameAssembler::State::kIncomplete: why = "handshake timed out"; return false;
    case FrameAssembler::State::kClosed: why = "peer closed the connection during the handshake"; return false;
    default: return false;
  }
}
}  // namespace

LinkAttempt EstablishLink(const EngineState &state, const LinkTarget &target, const Deadline &deadline) {
  UniqueFd requests;
  std::string why;
  if (!ConnectTcp(target.ip, target.port, deadline, requests, why)) {
    return Failed(LLM_LINK_FAILED, target, why);
  }
  HelloMessage hello;
  hello.cluster_id = state.cluster_id;
  hello.role = state.role.load();
  hello.sync_wait_ms = static_cast<uint32_t>(state.options.sync_wait_ms);
  hello.heartbeat_ms = static_cast<uint32_t>(state.options.heartbeat_ms);
  hello.host = state.identity;
  RandomBytes(hello.challenge, sizeof(hello.challenge));
  std::set<int64_t> shared;
  SnapshotCacheTable(state.registry, hello.table, shared);
  std::vector<uint8_t> frame;
  EncodeHello(hello, frame);
  IoResult io = SendBuffer(requests.get(), frame.data(), frame.size(), deadline);
  if (io.status != IoStatus::kOk) {
    return Failed(io.status == IoStatus::kTimeout ? LLM_TIMEOUT : LLM_LINK_FAILED, target, DescribeIo(io, "hello"));
  }
  FrameAssembler rx;
  if (!ReadFrame(requests.get(), FrameType::kWelcome, deadline, rx, why)) {
    return Failed(deadline.Expired() ? LLM_TIMEOUT : LLM_LINK_FAILED, target, why);
  }
  WelcomeMessage welcome;
  if (!DecodeWelcome(rx.body().data(), rx.body().size(), welcome, why)) {
    return Failed(LLM_LINK_FAILED, target, why);
  }
  if (welcome.status != LLM_SUCCESS) {
    return Failed(welcome.status, target, "peer refused the link: " + welcome.detail);
  }
  if (welcome.cluster_id != target.cluster_id) {
    return Failed(LLM_LINK_FAILED, target,
                  "the engine listening there is cluster " + std::to_string(welcome.cluster_id));
  }
  const bool same_host =
      !state.options.tcp_only && ProbeSameHost(state.identity, welcome.host, welcome.probe_addr, hello.challenge);

  // The second connection carries the peer's requests to us.
  UniqueFd answers;
  if (!ConnectTcp(target.ip, target.port, deadline, answers, why)) {
    return Failed(LLM_LINK_FAILED, target, why);
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
    return Failed(io.status == IoStatus::kTimeout ? LLM_TIMEOUT : LLM_LINK_FAILED, target, DescribeIo(io, "bind"));
  }
  FrameAssembler bind_rx;
  if (!ReadFrame(answers.get(), FrameType::kResult, deadline, bind_rx, why)) {
    return Failed(deadline.Expired() ? LLM_TIMEOUT : LLM_LINK_FAILED, target, why);
  }
  ResultMessage bound;
  if (!DecodeResult(bind_rx.body().data(), bind_rx.body().size(), bound, why)) {
    return Failed(LLM_LINK_FAILED, target, why);
  }
  if (bound.status != LLM_SUCCESS) {
    return Failed(bound.status, target, "peer refused the link: " + bound.detail);
  }
  PeerInfo peer;
  peer.cluster_id = welcome.cluster_id;
  peer.sync_wait_ms = welcome.sync_wait_ms == 0U ? 1000U : welcome.sync_wait_ms;
  peer.heartbeat_ms = welcome.heartbeat_ms == 0U ? 1000U : welcome.heartbeat_ms;
  peer.host = welcome.host;
  peer.address = target.ip + ":" + std::to_string(target.port);
  LinkAttempt attempt;
  attempt.link = MakeLink(std::move(peer), true, std::move(requests), std::make_shared<InboundChannel>(std::move(answers)),
                          std::move(welcome.table),
                          std::move(shared), same_host);
  return attempt;
}
}  // namespace dd::host
