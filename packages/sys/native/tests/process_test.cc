// Two real processes over loopback: bytes moved and compared on both data paths, and the faults
// of the issue — peer killed with SIGKILL mid-transfer, peer stopped (SIGSTOP), heartbeat loss,
// re-linking after a restart. A transfer to a peer that is gone is LLM_TIMEOUT as soon as that is
// known (docs/compat.md, choices: A1, A16); re-linking follows v2-rules A20/A21.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include "engine_fixture.h"
#include "harness.h"
#include "peer_process.h"

using namespace ddtest;

namespace {
constexpr uint64_t kPeer = 10;
constexpr uint64_t kSelf = 20;

std::map<std::string, std::string> Path(bool tcp, std::map<std::string, std::string> more = {}) {
  if (tcp) {
    more["dd.DataPath"] = "tcp";
  }
  return more;
}

int64_t MsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
}

std::vector<uint64_t> Range(uint64_t first, uint64_t count) {
  std::vector<uint64_t> v(count);
  for (uint64_t i = 0; i < count; ++i) {
    v[i] = first + i;
  }
  return v;
}

// A peer process and this process's engine linked to it; both sides have a registered cache of
// 4 tensors × 64 rows × 4096 bytes.
struct LinkedPeer {
  explicit LinkedPeer(bool tcp, const std::map<std::string, std::string> &self_options = {})
      : peer(PeerOn(tcp)), local(4, 64, 4096), self(kSelf, false, Path(tcp, self_options)) {
    REQUIRE(peer.ok());
    local_id = Register(*self.engine, local);
    REQUIRE_STATUS(Link(*self.engine, kPeer, peer.port()), LLM_SUCCESS);
  }
  static PeerSpec PeerOn(bool tcp) {
    PeerSpec spec;
    spec.options = Path(tcp);
    return spec;
  }
  PeerProcess peer;
  HostCache local;
  TestEngine self;
  int64_t local_id = 0;
};

void PullAndPushAcrossProcesses(bool tcp) {
  LinkedPeer p(tcp);
  // Scattered blocks, some merged into runs.
  REQUIRE_STATUS(p.self.engine->PullKvBlocks(IndexOf(kPeer, p.peer.cache_id()), CacheWithId(p.local_id),
                                             {0, 1, 2, 40, 63, 7}, {10, 11, 12, 0, 1, 63}),
                 LLM_SUCCESS);
  for (uint32_t t = 0; t < 4; ++t) {
    CHECK(p.local.RowEquals(t, 10, 3, t, 0));
    CHECK(p.local.RowEquals(t, 12, 3, t, 2));
    CHECK(p.local.RowEquals(t, 0, 3, t, 40));
    CHECK(p.local.RowEquals(t, 1, 3, t, 63));
    CHECK(p.local.RowEquals(t, 63, 3, t, 7));
    CHECK(p.local.RowIsZero(t, 20));
  }
  // Push our pattern into the peer, then read it back.
  p.local.Fill(5);
  REQUIRE_STATUS(p.self.engine->PushKvBlocks(CacheWithId(p.local_id, 4), IndexOf(kPeer, p.peer.cache_id()),
                                             Range(0, 32), Range(32, 32)),
                 LLM_SUCCESS);
  p.local.Zero();
  REQUIRE_STATUS(p.self.engine->PullKvBlocks(IndexOf(kPeer, p.peer.cache_id()), CacheWithId(p.local_id),
                                             Range(32, 32), Range(0, 32)),
                 LLM_SUCCESS);
  for (uint32_t t = 0; t < 4; ++t) {
    for (uint64_t b = 0; b < 32; b += 5) {
      CHECK(p.local.RowEquals(t, b, 5, t, b));
    }
  }
  REQUIRE_STATUS(p.self.engine->PushKvCache(CacheWithId(p.local_id, 4), IndexOf(kPeer, p.peer.cache_id(), 3), 0),
                 LLM_SUCCESS);
  REQUIRE_STATUS(p.self.engine->PullKvCache(IndexOf(kPeer, p.peer.cache_id(), 3), CacheWithId(p.local_id), 9),
                 LLM_SUCCESS);
  CHECK(p.local.RowEquals(2, 9, 5, 2, 0));
  REQUIRE_STATUS(Unlink(*p.self.engine, kPeer, p.peer.port()), LLM_SUCCESS);
  p.peer.Finish();
}

// Same host the transfer does not involve the peer's CPU, so a stopped peer is still read; over
// TCP the stopped peer cannot answer and the pull times out. This also proves which path ran.
void StoppedPeer(bool tcp) {
  if (const std::string why = SameHostPathUnavailable(); !tcp && !why.empty()) {
    SKIP("reading a stopped peer needs the same-host path: " + why);
  }
  LinkedPeer p(tcp, {{"llm.SyncKvCacheWaitTime", "300"}});
  // The link's first transfer fetches the peer's cache table (A23), which needs the peer awake.
  REQUIRE_STATUS(p.self.engine->PullKvBlocks(IndexOf(kPeer, p.peer.cache_id()), CacheWithId(p.local_id), {0}, {0}),
                 LLM_SUCCESS);
  p.peer.Stop();
  const auto start = std::chrono::steady_clock::now();
  const Status stalled = p.self.engine->PullKvBlocks(IndexOf(kPeer, p.peer.cache_id()), CacheWithId(p.local_id),
                                                     Range(0, 16), Range(0, 16));
  const int64_t ms = MsSince(start);
  if (tcp) {
    CHECK_STATUS(stalled, LLM_TIMEOUT);
    // Not before its 300 ms deadline; the upper bound only tells a deadline from a hang (loaded
    // machines are slow, so it is generous).
    CHECK(ms >= 290 && ms < 5000);
  } else {
    CHECK_STATUS(stalled, LLM_SUCCESS);
    CHECK(p.local.RowEquals(1, 15, 3, 1, 15));
  }
  p.peer.Continue();
  // The late answer to the abandoned request is skipped; the link keeps working.
  p.local.Zero();
  CHECK_STATUS(p.self.engine->PullKvBlocks(IndexOf(kPeer, p.peer.cache_id()), CacheWithId(p.local_id), Range(20, 4),
                                           Range(0, 4)),
               LLM_SUCCESS);
  CHECK(p.local.RowEquals(3, 2, 3, 3, 22));
  p.peer.Finish();
}

// SIGKILL while a large pull is running: the pull fails (not hangs) well before its 10 s deadline,
// the link is broken, and after the peer restarts a new link works. The time bounds are half that
// deadline: they tell "noticed the death" from "waited for the deadline" without depending on how
// loaded the machine is.
void KilledPeer(bool tcp) {
  PeerSpec spec;
  spec.rows = 1024;
  spec.row_bytes = 65536;  // 4 tensors × 64 MiB
  spec.options = Path(tcp);
  auto peer = std::make_unique<PeerProcess>(spec);
  REQUIRE(peer->ok());
  const uint16_t port = peer->port();
  HostCache local(4, 1024, 65536);
  TestEngine self(kSelf, false, Path(tcp, {{"llm.SyncKvCacheWaitTime", "10000"}}));
  const int64_t local_id = Register(*self.engine, local);
  REQUIRE_STATUS(Link(*self.engine, kPeer, port), LLM_SUCCESS);
  std::atomic<bool> killed{false};
  std::chrono::steady_clock::time_point kill_time;
  std::thread killer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    kill_time = std::chrono::steady_clock::now();
    ::kill(peer->pid(), SIGKILL);
    killed = true;
  });
  Status status = LLM_SUCCESS;
  int pulls = 0;
  const auto start = std::chrono::steady_clock::now();
  while (status == LLM_SUCCESS && MsSince(start) < 8000) {
    status = self.engine->PullKvBlocks(IndexOf(kPeer, peer->cache_id()), CacheWithId(local_id), Range(0, 1024),
                                       Range(0, 1024));
    ++pulls;
  }
  killer.join();
  REQUIRE(killed.load());
  const int64_t after_kill = MsSince(kill_time);
  CHECK(status != LLM_SUCCESS);
  CHECK(after_kill < 5000);
  // The peer is gone: transfers time out at once, naming the cause.
  const auto again = std::chrono::steady_clock::now();
  CHECK(WaitUntil([&] {
          return self.engine->PullKvBlocks(IndexOf(kPeer, 1), CacheWithId(local_id), {0}, {0}) == LLM_TIMEOUT;
        },
        5000));
  CHECK(MsSince(again) < 5000);
  CHECK(std::strstr(dd_backend_error_detail(), "gone") != nullptr);
  // Once the process is gone nothing listens there: a plain unlink cannot reach the peer.
  peer->Kill();
  CHECK_STATUS(Unlink(*self.engine, kPeer, port), LLM_UNLINK_FAILED);
  // Restart the peer on the same port. Our stale link stays until it is unlinked: a re-link is
  // refused (A21 (c)), and a plain unlink now reaches the new peer and drops ours too (A20).
  PeerSpec restart = spec;
  restart.port = port;
  restart.seed = 8;
  peer = std::make_unique<PeerProcess>(restart);
  REQUIRE(peer->ok());
  CHECK_STATUS(Link(*self.engine, kPeer, port), LLM_LINK_FAILED);
  CHECK_STATUS(Unlink(*self.engine, kPeer, port), LLM_SUCCESS);
  REQUIRE_STATUS(Link(*self.engine, kPeer, port), LLM_SUCCESS);
  REQUIRE_STATUS(self.engine->PullKvBlocks(IndexOf(kPeer, peer->cache_id()), CacheWithId(local_id), {5}, {6}), LLM_SUCCESS);
  CHECK(local.RowEquals(0, 6, 8, 0, 5));
  peer->Finish();
}
}  // namespace

DD_TEST(two_processes_pull_and_push_same_host) { PullAndPushAcrossProcesses(false); }
DD_TEST(two_processes_pull_and_push_tcp) { PullAndPushAcrossProcesses(true); }
DD_TEST(stopped_peer_is_read_one_sided_same_host) { StoppedPeer(false); }
DD_TEST(stopped_peer_times_out_then_recovers_tcp) { StoppedPeer(true); }
DD_TEST(A21_killed_peer_times_out_fast_and_relinks_same_host) { KilledPeer(false); }
DD_TEST(A21_killed_peer_times_out_fast_and_relinks_tcp) { KilledPeer(true); }

DD_TEST(silent_peer_counts_as_gone_after_3_heartbeats_and_at_least_1s) {
  PeerSpec spec;
  spec.options = {{"dd.HeartbeatIntervalMs", "50"}};
  PeerProcess peer(spec);
  REQUIRE(peer.ok());
  HostCache local(4, 64, 4096);
  // Over TCP: a same-host read does not need the stopped peer.
  TestEngine self(kSelf, false, Path(true, {{"dd.HeartbeatIntervalMs", "50"}, {"llm.SyncKvCacheWaitTime", "10000"}}));
  const int64_t local_id = Register(*self.engine, local);
  REQUIRE_STATUS(Link(*self.engine, kPeer, peer.port()), LLM_SUCCESS);
  // Heartbeats keep an idle link alive.
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  CHECK_STATUS(self.engine->PullKvBlocks(IndexOf(kPeer, peer.cache_id()), CacheWithId(local_id), {1}, {1}), LLM_SUCCESS);
  // A stopped peer sends nothing: after max(3 intervals, 1 s) it counts as gone, and the pull
  // waiting on it fails then (not at its own 10 s deadline) naming that cause.
  peer.Stop();
  const auto start = std::chrono::steady_clock::now();
  CHECK_STATUS(self.engine->PullKvBlocks(IndexOf(kPeer, peer.cache_id()), CacheWithId(local_id), {1}, {1}),
               LLM_TIMEOUT);
  const int64_t ms = MsSince(start);
  CHECK(ms >= 900 && ms < 5000);
  const std::string reason = dd_backend_error_detail();
  CHECK(reason.find("no byte from cluster 10") != std::string::npos);
  // Later calls report the same cause.
  CHECK_STATUS(self.engine->PullKvBlocks(IndexOf(kPeer, peer.cache_id()), CacheWithId(local_id), {1}, {1}),
               LLM_TIMEOUT);
  CHECK(std::string(dd_backend_error_detail()).find(reason.substr(reason.find("no byte"))) != std::string::npos);
  peer.Continue();
  peer.Finish();
}

DD_TEST(A16_finalized_server_leaves_the_client_a_dangling_link_to_force_unlink) {
  PeerProcess peer(PeerSpec{});
  REQUIRE(peer.ok());
  HostCache local(4, 64, 4096);
  TestEngine self(kSelf, false);
  const int64_t local_id = Register(*self.engine, local);
  REQUIRE_STATUS(Link(*self.engine, kPeer, peer.port()), LLM_SUCCESS);
  peer.Finish();  // A16: the server's Finalize drops only its own side
  CHECK(WaitUntil([&] {
          return self.engine->PullKvBlocks(IndexOf(kPeer, peer.cache_id()), CacheWithId(local_id), {0}, {0}) ==
                 LLM_TIMEOUT;
        },
        2000));
  CHECK_STATUS(self.engine->SetRole(LlmRole::kDecoder, {}), LLM_EXIST_LINK);
  CHECK_STATUS(Unlink(*self.engine, kPeer, peer.port()), LLM_UNLINK_FAILED);
  CHECK_STATUS(Unlink(*self.engine, kPeer, peer.port(), true), LLM_SUCCESS);
  CHECK_STATUS(self.engine->SetRole(LlmRole::kDecoder, {}), LLM_SUCCESS);
}
