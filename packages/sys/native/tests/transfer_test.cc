// Two engines in one process, linked over loopback: link/unlink semantics (facts §3.3, §3.4),
// every transfer rule of §3.7–§3.10 and bytes moved on both data paths (same-host and TCP).
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include "engine_fixture.h"
#include "harness.h"

using namespace ddtest;

namespace {
constexpr uint64_t kServer = 10;
constexpr uint64_t kClient = 20;

std::map<std::string, std::string> PathOptions(bool tcp) {
  return tcp ? std::map<std::string, std::string>{{"dd.DataPath", "tcp"}} : std::map<std::string, std::string>{};
}

// A listening server and a client, each with one registered cache, linked client → server.
struct LinkedPair {
  explicit LinkedPair(bool tcp, uint32_t tensors = 4, uint64_t rows = 16, uint64_t row_bytes = 256)
      : server_cache(tensors, rows, row_bytes),
        client_cache(tensors, rows, row_bytes),
        server(kServer, true, PathOptions(tcp)),
        client(kClient, false, PathOptions(tcp)) {
    server_cache.Fill(7);
    client_cache.Fill(9);
    server_id = Register(*server.engine, server_cache);
    client_id = Register(*client.engine, client_cache);
    link_status = Link(*client.engine, kServer, server.port);
  }
  bool ok() const { return server.init_status == LLM_SUCCESS && client.init_status == LLM_SUCCESS && link_status == LLM_SUCCESS; }
  // Memory is declared first so that it outlives the engines that registered it.
  HostCache server_cache;
  HostCache client_cache;
  TestEngine server;
  TestEngine client;
  int64_t server_id = -1;
  int64_t client_id = -1;
  Status link_status = LLM_FAILED;
};

void PullBlocksMovesBytes(bool tcp) {
  LinkedPair p(tcp);
  REQUIRE(p.ok());
  p.client_cache.Zero();
  REQUIRE_STATUS(p.client.engine->PullKvBlocks(IndexOf(kServer, p.server_id), CacheWithId(p.client_id), {1, 2, 3, 9},
                                               {1, 2, 3, 0}),
                 LLM_SUCCESS);
  for (uint32_t t = 0; t < 4; ++t) {
    CHECK(p.client_cache.RowEquals(t, 0, 7, t, 9));
    CHECK(p.client_cache.RowEquals(t, 1, 7, t, 1));
    CHECK(p.client_cache.RowEquals(t, 3, 7, t, 3));
    CHECK(p.client_cache.RowIsZero(t, 4));
    CHECK(p.client_cache.RowIsZero(t, 15));
  }
  // Index order is free: reversed.
  p.client_cache.Zero();
  REQUIRE_STATUS(p.client.engine->PullKvBlocks(IndexOf(kServer, p.server_id), CacheWithId(p.client_id), {0, 1, 2, 3},
                                               {3, 2, 1, 0}),
                 LLM_SUCCESS);
  for (uint32_t t = 0; t < 4; ++t) {
    for (uint64_t b = 0; b < 4; ++b) {
      CHECK(p.client_cache.RowEquals(t, 3 - b, 7, t, b));
    }
  }
  // Layer range: remote layer 1 (tensors 2, 3) into local layer 0 (tensors 0, 1).
  p.client_cache.Zero();
  REQUIRE_STATUS(p.client.engine->PullKvBlocks(IndexOf(kServer, p.server_id), CacheWithId(p.client_id), {5}, {6},
                                               Ext(1, 1, 0, 0, 2)),
                 LLM_SUCCESS);
  CHECK(p.client_cache.RowEquals(0, 6, 7, 2, 5));
  CHECK(p.client_cache.RowEquals(1, 6, 7, 3, 5));
  CHECK(p.client_cache.RowIsZero(2, 6));
  CHECK(p.client_cache.RowIsZero(3, 6));
}

void PullKvCacheMovesOneRow(bool tcp) {
  LinkedPair p(tcp);
  REQUIRE(p.ok());
  p.client_cache.Zero();
  REQUIRE_STATUS(p.client.engine->PullKvCache(IndexOf(kServer, p.server_id, 5), CacheWithId(p.client_id), 2), LLM_SUCCESS);
  for (uint32_t t = 0; t < 4; ++t) {
    CHECK(p.client_cache.RowEquals(t, 2, 7, t, 5));
    CHECK(p.client_cache.RowIsZero(t, 5));
  }
  // A positive size moves only that many bytes of the row.
  p.client_cache.Zero();
  REQUIRE_STATUS(p.client.engine->PullKvCache(IndexOf(kServer, p.server_id, 1), CacheWithId(p.client_id), 0, 100),
                 LLM_SUCCESS);
  for (uint32_t t = 0; t < 4; ++t) {
    CHECK_EQ(static_cast<int>(p.client_cache.Row(t, 0)[99]), static_cast<int>(HostCache::Pattern(7, t, 1, 99)));
    CHECK_EQ(static_cast<int>(p.client_cache.Row(t, 0)[100]), 0);
  }
  // Layer range with T = 1: remote tensor 3 into local tensor 1.
  p.client_cache.Zero();
  REQUIRE_STATUS(p.client.engine->PullKvCache(IndexOf(kServer, p.server_id, 4), CacheWithId(p.client_id), 4, -1,
                                              Ext(3, 3, 1, 1, 1)),
                 LLM_SUCCESS);
  CHECK(p.client_cache.RowEquals(1, 4, 7, 3, 4));
  CHECK(p.client_cache.RowIsZero(0, 4));
}

void PushMovesBytes(bool tcp) {
  LinkedPair p(tcp);
  REQUIRE(p.ok());
  p.server_cache.Zero();
  // The upstream push example: one layer (T = 1) at a time, blocks {5,6,7}.
  for (int32_t layer = 0; layer < 4; ++layer) {
    REQUIRE_STATUS(p.client.engine->PushKvBlocks(CacheWithId(p.client_id), IndexOf(kServer, p.server_id), {5, 6, 7},
                                                 {5, 6, 7}, Ext(layer, layer, layer, layer, 1)),
                   LLM_SUCCESS);
  }
  for (uint32_t t = 0; t < 4; ++t) {
    for (uint64_t b = 5; b <= 7; ++b) {
      CHECK(p.server_cache.RowEquals(t, b, 9, t, b));
    }
    CHECK(p.server_cache.RowIsZero(t, 4));
    CHECK(p.server_cache.RowIsZero(t, 8));
  }
  // PushKvCache(src, {cluster, cache, 4}, 4, -1, {(0,0),(0,0),T=4}): row 4 of all four tensors.
  REQUIRE_STATUS(p.client.engine->PushKvCache(CacheWithId(p.client_id), IndexOf(kServer, p.server_id, 4), 4, -1,
                                              Ext(0, 0, 0, 0, 4)),
                 LLM_SUCCESS);
  for (uint32_t t = 0; t < 4; ++t) {
    CHECK(p.server_cache.RowEquals(t, 4, 9, t, 4));
  }
  // Default range from the caller's num_tensors (3, T = 2 → layers {0,1},{2}), row 1 → remote row 12.
  p.server_cache.Zero();
  REQUIRE_STATUS(p.client.engine->PushKvCache(CacheWithId(p.client_id, 3), IndexOf(kServer, p.server_id, 12), 1),
                 LLM_SUCCESS);
  for (uint32_t t = 0; t < 3; ++t) {
    CHECK(p.server_cache.RowEquals(t, 12, 9, t, 1));
  }
  CHECK(p.server_cache.RowIsZero(3, 12));
  // Blocks with merged runs and a layer moved to another destination layer.
  p.server_cache.Zero();
  REQUIRE_STATUS(p.client.engine->PushKvBlocks(CacheWithId(p.client_id), IndexOf(kServer, p.server_id), {0, 1, 2, 9},
                                               {10, 11, 12, 3}, Ext(1, 1, 0, 0, 2)),
                 LLM_SUCCESS);
  CHECK(p.server_cache.RowEquals(0, 10, 9, 2, 0));
  CHECK(p.server_cache.RowEquals(1, 12, 9, 3, 2));
  CHECK(p.server_cache.RowEquals(1, 3, 9, 3, 9));
  CHECK(p.server_cache.RowIsZero(2, 10));
}

void ServerPullsFromClient(bool tcp) {
  LinkedPair p(tcp);
  REQUIRE(p.ok());
  p.server_cache.Zero();
  // Links are symmetric once established: the listening side pulls from the side that linked.
  REQUIRE_STATUS(p.server.engine->PullKvBlocks(IndexOf(kClient, p.client_id), CacheWithId(p.server_id), {2, 3}, {8, 9}),
                 LLM_SUCCESS);
  CHECK(p.server_cache.RowEquals(0, 8, 9, 0, 2));
  CHECK(p.server_cache.RowEquals(3, 9, 9, 3, 3));
}

void LateRegistrationIsInvisible(bool tcp) {
  LinkedPair p(tcp);
  REQUIRE(p.ok());
  HostCache late(4, 16, 256);
  late.Fill(11);
  const int64_t late_id = Register(*p.server.engine, late);
  REQUIRE(late_id > 0);
  // The peer's table was exchanged at link time (facts §3.5): the new cache is unknown there.
  CHECK_STATUS(p.client.engine->PullKvBlocks(IndexOf(kServer, late_id), CacheWithId(p.client_id), {0}, {0}),
               LLM_KV_CACHE_NOT_EXIST);
  // After a re-link it is visible.
  REQUIRE_STATUS(Unlink(*p.client.engine, kServer, p.server.port), LLM_SUCCESS);
  REQUIRE_STATUS(Link(*p.client.engine, kServer, p.server.port), LLM_SUCCESS);
  CHECK_STATUS(p.client.engine->PullKvBlocks(IndexOf(kServer, late_id), CacheWithId(p.client_id), {4}, {0}), LLM_SUCCESS);
  CHECK(p.client_cache.RowEquals(2, 0, 11, 2, 4));
  CHECK_STATUS(p.server.engine->UnregisterKvCache(late_id), LLM_SUCCESS);  // before `late` is freed
}

void UnregisterRevokesOnPeer(bool tcp) {
  LinkedPair p(tcp);
  REQUIRE(p.ok());
  REQUIRE_STATUS(p.client.engine->PullKvBlocks(IndexOf(kServer, p.server_id), CacheWithId(p.client_id), {0}, {0}),
                 LLM_SUCCESS);
  REQUIRE_STATUS(p.server.engine->UnregisterKvCache(p.server_id), LLM_SUCCESS);
  CHECK_STATUS(p.client.engine->PullKvBlocks(IndexOf(kServer, p.server_id), CacheWithId(p.client_id), {0}, {0}),
               LLM_KV_CACHE_NOT_EXIST);
  CHECK_STATUS(p.client.engine->PushKvBlocks(CacheWithId(p.client_id, 4), IndexOf(kServer, p.server_id), {0}, {0}),
               LLM_KV_CACHE_NOT_EXIST);
  // The link itself is fine.
  CHECK_STATUS(p.server.engine->PullKvBlocks(IndexOf(kClient, p.client_id), CacheWithId(p.client_id), {0}, {0}),
               LLM_KV_CACHE_NOT_EXIST);  // server's own cache is gone, the client's is reachable
  HostCache again(4, 16, 256);
  const int64_t again_id = Register(*p.server.engine, again);
  CHECK_STATUS(p.server.engine->PullKvBlocks(IndexOf(kClient, p.client_id), CacheWithId(again_id), {1}, {1}), LLM_SUCCESS);
  CHECK_STATUS(p.server.engine->UnregisterKvCache(again_id), LLM_SUCCESS);
}

// A remote reader pulls 32 MiB again and again while the owner unregisters and then scribbles
// over its memory: every pull either fails cleanly or returns exactly the original bytes.
void UnregisterDuringRemotePulls(bool tcp) {
  LinkedPair p(tcp, 1, 512, 65536);
  REQUIRE(p.ok());
  std::atomic<int> successes{0};
  std::atomic<int> corrupt{0};
  std::atomic<uint32_t> final_status{LLM_SUCCESS};
  std::vector<uint64_t> blocks(512);
  for (uint64_t i = 0; i < 512; ++i) {
    blocks[i] = i;
  }
  std::thread reader([&] {
    for (int i = 0; i < 2000; ++i) {
      std::memset(p.client_cache.Row(0, 0), 0, 512 * 65536);
      const Status s = p.client.engine->PullKvBlocks(IndexOf(kServer, p.server_id), CacheWithId(p.client_id), blocks, blocks);
      if (s != LLM_SUCCESS) {
        final_status = s;
        return;
      }
      ++successes;
      for (uint64_t b = 0; b < 512; b += 37) {
        if (!p.client_cache.RowEquals(0, b, 7, 0, b)) {
          ++corrupt;
        }
      }
    }
  });
  CHECK(WaitUntil([&] { return successes.load() >= 2; }, 5000));
  REQUIRE_STATUS(p.server.engine->UnregisterKvCache(p.server_id), LLM_SUCCESS);
  std::memset(p.server_cache.Row(0, 0), 0xEE, 512 * 65536);
  reader.join();
  CHECK_EQ(corrupt.load(), 0);
  CHECK_STATUS(final_status.load(), LLM_KV_CACHE_NOT_EXIST);
}
}  // namespace

DD_TEST(pull_kv_blocks_moves_bytes_same_host) { PullBlocksMovesBytes(false); }
DD_TEST(pull_kv_blocks_moves_bytes_tcp) { PullBlocksMovesBytes(true); }
DD_TEST(pull_kv_cache_moves_one_row_same_host) { PullKvCacheMovesOneRow(false); }
DD_TEST(pull_kv_cache_moves_one_row_tcp) { PullKvCacheMovesOneRow(true); }
DD_TEST(push_moves_bytes_same_host) { PushMovesBytes(false); }
DD_TEST(push_moves_bytes_tcp) { PushMovesBytes(true); }
DD_TEST(server_pulls_from_client_same_host) { ServerPullsFromClient(false); }
DD_TEST(server_pulls_from_client_tcp) { ServerPullsFromClient(true); }
DD_TEST(cache_registered_after_link_is_invisible_same_host) { LateRegistrationIsInvisible(false); }
DD_TEST(cache_registered_after_link_is_invisible_tcp) { LateRegistrationIsInvisible(true); }
DD_TEST(unregister_revokes_on_peer_same_host) { UnregisterRevokesOnPeer(false); }
DD_TEST(unregister_revokes_on_peer_tcp) { UnregisterRevokesOnPeer(true); }
DD_TEST(unregister_during_remote_pulls_same_host) { UnregisterDuringRemotePulls(false); }
DD_TEST(unregister_during_remote_pulls_tcp) { UnregisterDuringRemotePulls(true); }

DD_TEST(link_unlink_and_already_link) {
  LinkedPair p(false);
  REQUIRE(p.ok());
  CHECK_STATUS(Link(*p.client.engine, kServer, p.server.port), LLM_ALREADY_LINK);
  CHECK_STATUS(p.client.engine->SetRole(LlmRole::kDecoder, {}), LLM_EXIST_LINK);
  CHECK_STATUS(p.server.engine->SetRole(LlmRole::kDecoder, EngineOptionsFor(p.server.port)), LLM_EXIST_LINK);
  // Non-force unlink tears down both sides.
  CHECK_STATUS(Unlink(*p.client.engine, kServer, p.server.port), LLM_SUCCESS);
  CHECK_STATUS(p.client.engine->SetRole(LlmRole::kDecoder, {}), LLM_SUCCESS);
  CHECK_STATUS(p.server.engine->SetRole(LlmRole::kDecoder, EngineOptionsFor(p.server.port)), LLM_SUCCESS);
  CHECK_STATUS(p.client.engine->PullKvBlocks(IndexOf(kServer, p.server_id), CacheWithId(p.client_id), {0}, {0}),
               LLM_NOT_YET_LINK);
  // Unknown cluster: success.
  CHECK_STATUS(Unlink(*p.client.engine, 12345, p.server.port), LLM_SUCCESS);
  CHECK_STATUS(Unlink(*p.client.engine, 12345, p.server.port, true), LLM_SUCCESS);
  // And it links again.
  CHECK_STATUS(Link(*p.client.engine, kServer, p.server.port), LLM_SUCCESS);
}

DD_TEST(force_unlink_tears_down_only_the_local_side) {
  LinkedPair p(false);
  REQUIRE(p.ok());
  CHECK_STATUS(Unlink(*p.client.engine, kServer, p.server.port, true), LLM_SUCCESS);
  CHECK_STATUS(p.client.engine->SetRole(LlmRole::kDecoder, {}), LLM_SUCCESS);
  CHECK_STATUS(p.server.engine->SetRole(LlmRole::kDecoder, EngineOptionsFor(p.server.port)), LLM_EXIST_LINK);
  // The peer kept its state; linking again rebuilds it (V2's force_link).
  CHECK_STATUS(Link(*p.client.engine, kServer, p.server.port), LLM_SUCCESS);
  CHECK_STATUS(p.client.engine->PullKvBlocks(IndexOf(kServer, p.server_id), CacheWithId(p.client_id), {3}, {3}),
               LLM_SUCCESS);
  CHECK_STATUS(Unlink(*p.client.engine, kServer, p.server.port, true), LLM_SUCCESS);
  CHECK_STATUS(Unlink(*p.server.engine, kClient, 0, true), LLM_SUCCESS);
  CHECK_STATUS(p.server.engine->SetRole(LlmRole::kDecoder, EngineOptionsFor(p.server.port)), LLM_SUCCESS);
}

DD_TEST(unlink_from_the_listening_side) {
  LinkedPair p(false);
  REQUIRE(p.ok());
  std::vector<Status> rets;
  CHECK_STATUS(p.server.engine->UnlinkLlmClusters({ClusterTo(kClient, 1)}, rets), LLM_SUCCESS);
  CHECK_STATUS(p.client.engine->SetRole(LlmRole::kDecoder, {}), LLM_SUCCESS);
}

DD_TEST(unlink_checks_parameters) {
  LinkedPair p(false);
  REQUIRE(p.ok());
  std::vector<Status> rets;
  ClusterInfo no_remote = ClusterTo(kServer, p.server.port);
  no_remote.remote_ip_infos.clear();
  CHECK_STATUS(p.client.engine->UnlinkLlmClusters({no_remote}, rets), LLM_PARAM_INVALID);
  CHECK_STATUS(p.client.engine->UnlinkLlmClusters({ClusterTo(kServer, p.server.port, "1.2.3")}, rets), LLM_PARAM_INVALID);
  CHECK_STATUS(p.client.engine->UnlinkLlmClusters({}, rets), LLM_PARAM_INVALID);
  CHECK_STATUS(p.client.engine->UnlinkLlmClusters({ClusterTo(kServer, p.server.port)}, rets, 0), LLM_PARAM_INVALID);
  // Force needs no address.
  CHECK_STATUS(p.client.engine->UnlinkLlmClusters({no_remote}, rets, 1000, true), LLM_SUCCESS);
}

DD_TEST(link_checks_parameters) {
  TestEngine server(kServer, true);
  TestEngine client(kClient, false);
  REQUIRE_STATUS(client.init_status, LLM_SUCCESS);
  std::vector<Status> rets{LLM_SUCCESS};
  CHECK_STATUS(client.engine->LinkLlmClusters({ClusterTo(kServer, server.port)}, rets, 0), LLM_PARAM_INVALID);
  CHECK_STATUS(client.engine->LinkLlmClusters({ClusterTo(kServer, server.port)}, rets, -5), LLM_PARAM_INVALID);
  CHECK_STATUS(client.engine->LinkLlmClusters({}, rets), LLM_PARAM_INVALID);
  for (const char *bad : {"", "1.2.3", "::1", "256.1.1.1", "a.b.c.d"}) {
    CHECK_STATUS(client.engine->LinkLlmClusters({ClusterTo(kServer, server.port, bad)}, rets), LLM_PARAM_INVALID);
  }
  ClusterInfo two_remote = ClusterTo(kServer, server.port);
  two_remote.remote_ip_infos.push_back(two_remote.remote_ip_infos[0]);
  CHECK_STATUS(client.engine->LinkLlmClusters({two_remote}, rets), LLM_PARAM_INVALID);
  ClusterInfo no_local = ClusterTo(kServer, server.port);
  no_local.local_ip_infos.clear();
  CHECK_STATUS(client.engine->LinkLlmClusters({no_local}, rets), LLM_PARAM_INVALID);
  ClusterInfo bad_local = ClusterTo(kServer, server.port);
  bad_local.local_ip_infos[0].ip = AscendString("300.0.0.1");
  CHECK_STATUS(client.engine->LinkLlmClusters({bad_local}, rets), LLM_PARAM_INVALID);
  // With a local communication resource, local_ip_infos may be left out.
  TestEngine with_res(30, false, {{"llm.LocalCommRes", "{\"version\":\"1.2\"}"}});
  CHECK_STATUS(with_res.engine->LinkLlmClusters({no_local}, rets), LLM_SUCCESS);
}

DD_TEST(link_reports_one_status_per_cluster_and_returns_the_last_failure) {
  TestEngine a(kServer, true);
  TestEngine b(11, true);
  TestEngine client(kClient, false);
  REQUIRE(a.init_status == LLM_SUCCESS && b.init_status == LLM_SUCCESS);
  const uint16_t dead = FreePort();
  std::vector<Status> rets;
  CHECK_STATUS(client.engine->LinkLlmClusters({ClusterTo(kServer, a.port), ClusterTo(99, dead), ClusterTo(kServer, a.port)},
                                              rets, 2000),
               LLM_ALREADY_LINK);
  REQUIRE(rets.size() == 3U);
  CHECK_STATUS(rets[0], LLM_SUCCESS);
  CHECK_STATUS(rets[1], LLM_LINK_FAILED);
  CHECK_STATUS(rets[2], LLM_ALREADY_LINK);
  CHECK_STATUS(client.engine->LinkLlmClusters({ClusterTo(99, dead), ClusterTo(11, b.port)}, rets, 2000), LLM_LINK_FAILED);
  CHECK(std::strstr(dd_backend_error_detail(), "Connection refused") != nullptr);
  CHECK(std::strstr(dd_backend_error_detail(), "LinkLlmClusters: ") == dd_backend_error_detail());
  REQUIRE(rets.size() == 2U);
  CHECK_STATUS(rets[1], LLM_SUCCESS);
}

DD_TEST(link_refuses_a_wrong_or_duplicate_cluster_id) {
  TestEngine server(kServer, true);
  TestEngine client(kClient, false);
  TestEngine twin(kServer, false);
  CHECK_STATUS(Link(*client.engine, 77, server.port), LLM_LINK_FAILED);
  CHECK(std::strstr(dd_backend_error_detail(), "cluster 10") != nullptr);
  // Two engines with the same cluster id cannot link.
  CHECK_STATUS(Link(*twin.engine, kServer, server.port), LLM_LINK_FAILED);
  CHECK_STATUS(Link(*client.engine, kServer, server.port), LLM_SUCCESS);
}

DD_TEST(link_times_out_on_a_silent_listener) {
  // A socket that listens but never answers: the handshake must end by the timeout.
  uint16_t port = 0;
  const int fd = BindLoopback(port);
  ::listen(fd, 4);
  TestEngine client(kClient, false);
  const auto start = std::chrono::steady_clock::now();
  CHECK_STATUS(Link(*client.engine, kServer, port, 200), LLM_TIMEOUT);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  CHECK(ms >= 190 && ms < 1500);
  ::close(fd);
}

DD_TEST(finalize_of_the_linking_side_unlinks_both_sides) {
  LinkedPair p(false);
  REQUIRE(p.ok());
  p.client.engine->Finalize();
  CHECK(WaitUntil([&] { return p.server.engine->SetRole(LlmRole::kPrompt, EngineOptionsFor(p.server.port)) == LLM_SUCCESS; },
                  2000));
}

DD_TEST(pull_rules_in_order) {
  LinkedPair p(false);
  REQUIRE(p.ok());
  TestEngine stranger(30, false);
  LlmDataDist &c = *p.client.engine;
  const Cache dst = CacheWithId(p.client_id);
  const CacheIndex src = IndexOf(kServer, p.server_id);
  // PullKvCache, facts §3.7 table order.
  CHECK_STATUS(c.PullKvCache(src, dst, 0, 0), LLM_PARAM_INVALID);
  CHECK_STATUS(c.PullKvCache(src, dst, 0, -2), LLM_PARAM_INVALID);
  CHECK_STATUS(c.PullKvCache(IndexOf(99, 1), dst, 0, 0), LLM_PARAM_INVALID);  // size before link
  CHECK_STATUS(c.PullKvCache(src, dst, 0, -1, Ext(-2, 0, 0, 0, 2)), LLM_PARAM_INVALID);
  CHECK_STATUS(c.PullKvCache(IndexOf(kClient, 1), dst), LLM_PARAM_INVALID);  // own cluster id
  CHECK_STATUS(c.PullKvCache(IndexOf(99, 1), CacheWithId(42)), LLM_KV_CACHE_NOT_EXIST);  // local before link
  CHECK_STATUS(c.PullKvCache(IndexOf(99, 1), dst, 16), LLM_PARAM_INVALID);  // batch_index before link
  CHECK_STATUS(c.PullKvCache(IndexOf(99, 1), dst, 0, 257), LLM_PARAM_INVALID);  // size > stride before link
  CHECK_STATUS(c.PullKvCache(IndexOf(99, 1), dst, 0, 256), LLM_NOT_YET_LINK);
  CHECK_STATUS(c.PullKvCache(IndexOf(kServer, 42), dst), LLM_KV_CACHE_NOT_EXIST);
  CHECK_STATUS(c.PullKvCache(IndexOf(kServer, p.server_id, 16), dst), LLM_PARAM_INVALID);  // remote row outside
  CHECK_STATUS(c.PullKvCache(src, dst, 15, 256), LLM_SUCCESS);
  // PullKvBlocks, facts §3.8.
  CHECK_STATUS(c.PullKvBlocks(IndexOf(kServer, p.server_id, 1), dst, {0}, {0}), LLM_PARAM_INVALID);
  CHECK_STATUS(c.PullKvBlocks(src, dst, {}, {}), LLM_PARAM_INVALID);
  CHECK_STATUS(c.PullKvBlocks(src, dst, {0, 1}, {0}), LLM_PARAM_INVALID);
  CHECK_STATUS(c.PullKvBlocks(src, dst, {0}, {0}, Ext(0, 0, 0, 0, 0)), LLM_PARAM_INVALID);
  CHECK_STATUS(c.PullKvBlocks(IndexOf(kClient, 1), dst, {0}, {0}), LLM_PARAM_INVALID);
  CHECK_STATUS(c.PullKvBlocks(IndexOf(99, 1), CacheWithId(42), {0}, {0}), LLM_KV_CACHE_NOT_EXIST);
  CHECK_STATUS(c.PullKvBlocks(IndexOf(99, 1), dst, {0}, {16}), LLM_PARAM_INVALID);  // dst block before link
  CHECK(std::strstr(dd_backend_error_detail(), "dst block 16 >= local block count 16") != nullptr);
  CHECK_STATUS(c.PullKvBlocks(IndexOf(99, 1), dst, {0}, {15}), LLM_NOT_YET_LINK);
  CHECK_STATUS(c.PullKvBlocks(IndexOf(kServer, 42), dst, {0}, {0}), LLM_KV_CACHE_NOT_EXIST);
  CHECK_STATUS(c.PullKvBlocks(src, dst, {16}, {0}), LLM_PARAM_INVALID);  // source run start outside
  CHECK_STATUS(c.PullKvBlocks(src, dst, {14, 15, 16}, {0, 1, 2}), LLM_PARAM_INVALID);  // run runs past the end
  CHECK_STATUS(c.PullKvBlocks(src, dst, {15}, {15}, Ext(2, 2, 2, 2, 2)), LLM_PARAM_INVALID);  // layer out of bounds
  CHECK_STATUS(c.PullKvBlocks(src, dst, {15}, {15}, Ext(0, 1, 0, 0, 2)), LLM_PARAM_INVALID);  // counts differ
  CHECK_STATUS(c.PullKvBlocks(src, dst, {15}, {15}, Ext(0, 0, 0, 0, 3)), LLM_PARAM_INVALID);  // 4 % 3 != 0
  CHECK_STATUS(c.PullKvBlocks(src, dst, {15}, {15}, Ext(1, 1, 0, 0, 2)), LLM_SUCCESS);
  // Tensor counts must match without ranges.
  HostCache three(3, 16, 256);
  const int64_t three_id = Register(c, three);
  CHECK_STATUS(c.PullKvBlocks(src, CacheWithId(three_id), {0}, {0}), LLM_PARAM_INVALID);
  CHECK_STATUS(c.UnregisterKvCache(three_id), LLM_SUCCESS);
  CHECK_STATUS(stranger.engine->PullKvBlocks(src, dst, {0}, {0}), LLM_KV_CACHE_NOT_EXIST);
}

DD_TEST(push_rules_in_order) {
  LinkedPair p(false);
  REQUIRE(p.ok());
  LlmDataDist &c = *p.client.engine;
  const Cache src = CacheWithId(p.client_id, 4);
  const CacheIndex dst = IndexOf(kServer, p.server_id);
  Cache host_placed = src;
  host_placed.cache_desc.placement = CachePlacement::kHost;
  CHECK_STATUS(c.PushKvCache(host_placed, dst), LLM_PARAM_INVALID);
  CHECK_STATUS(c.PushKvBlocks(host_placed, dst, {0}, {0}), LLM_PARAM_INVALID);
  CHECK_STATUS(c.PushKvCache(src, dst, 0, 256), LLM_PARAM_INVALID);
  CHECK_STATUS(c.PushKvBlocks(src, dst, {}, {}), LLM_PARAM_INVALID);
  CHECK_STATUS(c.PushKvBlocks(src, dst, {0, 1}, {0}), LLM_PARAM_INVALID);
  CHECK_STATUS(c.PushKvBlocks(src, IndexOf(kServer, p.server_id, 1), {0}, {0}), LLM_PARAM_INVALID);
  CHECK_STATUS(c.PushKvCache(src, dst, 0, -1, Ext(0, 1, 0, 0, 2)), LLM_PARAM_INVALID);  // lengths differ
  CHECK_STATUS(c.PushKvCache(src, dst, 0, -1, Ext(0, 0, -2, 0, 2)), LLM_PARAM_INVALID);
  CHECK_STATUS(c.PushKvCache(CacheWithId(p.client_id, 0), dst), LLM_PARAM_INVALID);  // no range, no num_tensors
  CHECK_STATUS(c.PushKvCache(CacheWithId(p.client_id, 0), dst, 0, -1, Ext(0, 0, 0, 0, 2)), LLM_SUCCESS);
  CHECK_STATUS(c.PushKvCache(CacheWithId(42, 4), IndexOf(99, 1)), LLM_KV_CACHE_NOT_EXIST);
  CHECK_STATUS(c.PushKvCache(src, IndexOf(99, 1), 16), LLM_PARAM_INVALID);  // src row before link
  CHECK_STATUS(c.PushKvBlocks(src, IndexOf(99, 1), {16}, {0}), LLM_PARAM_INVALID);
  CHECK_STATUS(c.PushKvCache(src, IndexOf(99, 1)), LLM_NOT_YET_LINK);
  CHECK_STATUS(c.PushKvCache(src, IndexOf(kServer, 42)), LLM_KV_CACHE_NOT_EXIST);
  CHECK_STATUS(c.PushKvCache(src, IndexOf(kServer, p.server_id, 16)), LLM_PARAM_INVALID);  // remote row outside
  CHECK_STATUS(c.PushKvBlocks(src, dst, {0, 1}, {15, 16}), LLM_PARAM_INVALID);  // remote run outside
  CHECK_STATUS(c.PushKvBlocks(src, dst, {0}, {0}, Ext(4, 4, 0, 0, 1)), LLM_PARAM_INVALID);  // local layer outside
  CHECK_STATUS(c.PushKvBlocks(src, dst, {0}, {0}, Ext(0, 0, 4, 4, 1)), LLM_PARAM_INVALID);  // remote layer outside
  CHECK_STATUS(c.PushKvBlocks(CacheWithId(p.client_id, 5), dst, {0}, {0}), LLM_PARAM_INVALID);  // caller claims 5 tensors
  CHECK_STATUS(c.PushKvBlocks(src, dst, {0}, {15}), LLM_SUCCESS);
}

DD_TEST(link_cap_is_512_per_engine) {
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur < 8192U && limit.rlim_max >= 8192U) {
    limit.rlim_cur = 8192U;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
  REQUIRE(limit.rlim_cur >= 8192U);
  // 513 listening engines; one client links to all of them.
  std::vector<std::unique_ptr<TestEngine>> servers;
  std::vector<ClusterInfo> clusters;
  for (uint64_t i = 0; i < 513; ++i) {
    servers.push_back(std::make_unique<TestEngine>(1000 + i, true, std::map<std::string, std::string>{{"dd.DataPath", "tcp"}}));
    REQUIRE_STATUS(servers.back()->init_status, LLM_SUCCESS);
    clusters.push_back(ClusterTo(1000 + i, servers.back()->port));
  }
  TestEngine client(kClient, false, {{"dd.DataPath", "tcp"}});
  std::vector<Status> rets;
  CHECK_STATUS(client.engine->LinkLlmClusters(clusters, rets, 10000), LLM_CLUSTER_NUM_EXCEED_LIMIT);
  size_t linked = 0;
  size_t refused = 0;
  for (const Status s : rets) {
    linked += s == LLM_SUCCESS ? 1U : 0U;
    refused += s == LLM_CLUSTER_NUM_EXCEED_LIMIT ? 1U : 0U;
  }
  CHECK_EQ(linked, 512U);
  CHECK_EQ(refused, 1U);
  // Server side: engine 1000 holds the client's link; 511 more engines may link to it, not 512.
  size_t server_linked = 1;
  Status last = LLM_SUCCESS;
  for (uint64_t i = 1; i < 513; ++i) {
    last = Link(*servers[i]->engine, 1000, servers[0]->port, 5000);
    server_linked += last == LLM_SUCCESS ? 1U : 0U;
  }
  CHECK_EQ(server_linked, 512U);
  CHECK_STATUS(last, LLM_CLUSTER_NUM_EXCEED_LIMIT);
  // Freeing a slot makes room again.
  CHECK_STATUS(Unlink(*client.engine, 1000, servers[0]->port), LLM_SUCCESS);
  CHECK_STATUS(Link(*servers[512]->engine, 1000, servers[0]->port, 5000), LLM_SUCCESS);
}
