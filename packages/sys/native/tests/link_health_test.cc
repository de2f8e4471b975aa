// dd's link-health extension (headers/extensions/dd/link_health.h) over a peer in another
// process: what ddLinkStates / ddLinkBreakCause report without any transfer is what the transport
// found (the peer killed: its connections closed by the kernel; the peer silent: no byte for
// max(3 heartbeats, 1 s)), and the cause is the text a transfer over the link then carries in its
// detail (docs/design/link-health.md; docs/compat.md, choices: A1, A16).
#include <chrono>
#include <string>
#include <thread>

#include "dd/link_health.h"
#include "engine_fixture.h"
#include "harness.h"
#include "peer_process.h"

using namespace ddtest;

namespace {
constexpr uint64_t kPeer = 10;
constexpr uint64_t kSelf = 20;
// Bounds the waits so that a broken implementation fails instead of hanging; not a timing assert.
constexpr int kBoundMs = 5000;

int64_t MsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
}

int32_t StateOf(LlmDataDist &engine, uint64_t cluster_id) {
  int32_t state = -1;
  const ddStatus status = ddLinkStates(&engine, &cluster_id, &state, 1);
  CHECK_STATUS(status, LLM_SUCCESS);
  return state;
}

std::string CauseOf(LlmDataDist &engine, uint64_t cluster_id) {
  size_t length = 0;
  REQUIRE_STATUS(ddLinkBreakCause(&engine, cluster_id, nullptr, 0, &length), LLM_SUCCESS);
  std::string text(length + 1, '\0');
  REQUIRE_STATUS(ddLinkBreakCause(&engine, cluster_id, text.data(), text.size(), &length), LLM_SUCCESS);
  text.resize(length);
  return text;
}

std::map<std::string, std::string> PathOptions(bool tcp, std::map<std::string, std::string> more = {}) {
  if (tcp) {
    more["dd.DataPath"] = "tcp";
  }
  return more;
}

// A pull over the broken link fails at once as the rules say (LLM_TIMEOUT), and its detail
// carries the cause the extension reported.
void TransferReportsTheSameCause(TestEngine &self, int64_t local_id, int64_t remote_cache_id, const std::string &cause) {
  CHECK_STATUS(self.engine->PullKvBlocks(IndexOf(kPeer, remote_cache_id), CacheWithId(local_id), {0}, {0}), LLM_TIMEOUT);
  const std::string detail = dd_backend_error_detail();
  if (detail.find(cause) == std::string::npos) {
    RecordFailure(__FILE__, __LINE__, "the pull's detail [" + detail + "] lacks the reported cause [" + cause + "]");
  }
  CHECK_EQ(StateOf(*self.engine, kPeer), DD_LINK_STATE_BROKEN);
}

void KilledPeerIsBrokenWithoutATransfer(bool tcp) {
  if (const std::string why = SameHostPathUnavailable(); !tcp && !why.empty()) {
    SKIP("the same-host path: " + why);
  }
  PeerSpec spec;
  spec.options = PathOptions(tcp);
  PeerProcess peer(spec);
  REQUIRE(peer.ok());
  HostCache local(4, 64, 4096);
  TestEngine self(kSelf, false, PathOptions(tcp));
  const int64_t local_id = Register(*self.engine, local);
  REQUIRE_STATUS(Link(*self.engine, kPeer, peer.port()), LLM_SUCCESS);
  REQUIRE_STATUS(self.engine->PullKvBlocks(IndexOf(kPeer, peer.cache_id()), CacheWithId(local_id), {1}, {1}), LLM_SUCCESS);
  CHECK_EQ(StateOf(*self.engine, kPeer), DD_LINK_STATE_UP);
  CHECK_EQ(CauseOf(*self.engine, kPeer), std::string());
  const int64_t remote_cache_id = peer.cache_id();
  peer.Kill();
  REQUIRE(WaitUntil([&] { return StateOf(*self.engine, kPeer) == DD_LINK_STATE_BROKEN; }, kBoundMs));
  const std::string cause = CauseOf(*self.engine, kPeer);
  // The reactor's words for a closed or reset connection, naming the peer.
  CHECK(cause.rfind("cluster 10", 0) == 0);
  TransferReportsTheSameCause(self, local_id, remote_cache_id, cause);
  CHECK_STATUS(Unlink(*self.engine, kPeer, peer.port(), true), LLM_SUCCESS);
  CHECK_EQ(StateOf(*self.engine, kPeer), DD_LINK_STATE_ABSENT);
}
}  // namespace

DD_TEST(A16_killed_peer_is_reported_broken_without_a_transfer_same_host) { KilledPeerIsBrokenWithoutATransfer(false); }
DD_TEST(A16_killed_peer_is_reported_broken_without_a_transfer_tcp) { KilledPeerIsBrokenWithoutATransfer(true); }

DD_TEST(A16_silent_peer_is_reported_broken_after_3_heartbeats_and_1s_without_a_transfer) {
  PeerSpec spec;
  spec.options = {{"dd.HeartbeatIntervalMs", "50"}};
  PeerProcess peer(spec);
  REQUIRE(peer.ok());
  HostCache local(4, 64, 4096);
  TestEngine self(kSelf, false, PathOptions(true, {{"dd.HeartbeatIntervalMs", "50"}}));
  const int64_t local_id = Register(*self.engine, local);
  REQUIRE_STATUS(Link(*self.engine, kPeer, peer.port()), LLM_SUCCESS);
  // Heartbeats keep an idle link up.
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  CHECK_EQ(StateOf(*self.engine, kPeer), DD_LINK_STATE_UP);
  peer.Stop();
  const auto start = std::chrono::steady_clock::now();
  REQUIRE(WaitUntil([&] { return StateOf(*self.engine, kPeer) == DD_LINK_STATE_BROKEN; }, kBoundMs));
  // Not before max(3 × 50 ms, 1 s) of silence (less the few ms Stop took to confirm).
  CHECK(MsSince(start) >= 900);
  const std::string cause = CauseOf(*self.engine, kPeer);
  CHECK(cause.rfind("no byte from cluster 10 for ", 0) == 0);
  TransferReportsTheSameCause(self, local_id, peer.cache_id(), cause);
  peer.Continue();
  // The peer woke up, but the link stays broken with its first cause until it is relinked.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK_EQ(StateOf(*self.engine, kPeer), DD_LINK_STATE_BROKEN);
  CHECK_EQ(CauseOf(*self.engine, kPeer), cause);
  CHECK_STATUS(Unlink(*self.engine, kPeer, peer.port(), true), LLM_SUCCESS);
  REQUIRE_STATUS(Link(*self.engine, kPeer, peer.port()), LLM_SUCCESS);
  CHECK_EQ(StateOf(*self.engine, kPeer), DD_LINK_STATE_UP);
  CHECK_STATUS(self.engine->PullKvBlocks(IndexOf(kPeer, peer.cache_id()), CacheWithId(local_id), {2}, {3}), LLM_SUCCESS);
  CHECK(local.RowEquals(0, 3, spec.seed, 0, 2));
  peer.Finish();
}
