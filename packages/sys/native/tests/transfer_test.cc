// Engines in one process, linked over loopback: link/unlink semantics (v2-rules A1, A7, A14–A17,
// A20, A21, A26, B §3.3), every transfer rule (A2–A4, A8, A18, A23, B §3.7–§3.10, with
// docs/compat.md D1, D2, D6, D7, D9, D12) and bytes moved on both data paths (same-host and TCP).
// Test names start with the rule id they check.
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

bool DetailHas(const char *text) { return std::strstr(dd_backend_error_detail(), text) != nullptr; }


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
  // Default range from the caller's num_tensors (A2: 3 with T = 2 walks layers 0 and 1, whole
  // layers of the registered cache), row 1 → remote row 12.
  p.server_cache.Zero();
  REQUIRE_STATUS(p.client.engine->PushKvCache(CacheWithId(p.client_id, 3), IndexOf(kServer, p.server_id, 12), 1),
                 LLM_SUCCESS);
  for (uint32_t t = 0; t < 4; ++t) {
    CHECK(p.server_cache.RowEquals(t, 12, 9, t, 1));
  }
  // num_tensors 2 with T = 2: layer 0 only.
  p.server_cache.Zero();
  REQUIRE_STATUS(p.client.engine->PushKvCache(CacheWithId(p.client_id, 2), IndexOf(kServer, p.server_id, 12), 1),
                 LLM_SUCCESS);
  CHECK(p.server_cache.RowEquals(1, 12, 9, 1, 1));
  CHECK(p.server_cache.RowIsZero(2, 12));
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

// A23: the peer's table is fetched at this side's first transfer and never refreshed; memory
// registered after the link was made is not bound to it (docs/compat.md, choices: LLM_FAILED).
void LateRegistration(bool tcp) {
  LinkedPair p(tcp);
  REQUIRE(p.ok());
  HostCache after_link(4, 16, 256);
  after_link.Fill(11);
  const int64_t after_link_id = Register(*p.server.engine, after_link);
  REQUIRE(after_link_id > 0);
  // In the table the client fetches now, but not bound to the link.
  CHECK_STATUS(p.client.engine->PullKvBlocks(IndexOf(kServer, after_link_id), CacheWithId(p.client_id), {0}, {0}),
               LLM_FAILED);
  CHECK(DetailHas("after the link was made"));
  CHECK(p.client_cache.RowEquals(0, 0, 9, 0, 0));
  // Registered after the first transfer: not in the table at all.
  HostCache after_fetch(4, 16, 256);
  const int64_t after_fetch_id = Register(*p.server.engine, after_fetch);
  CHECK_STATUS(p.client.engine->PullKvBlocks(IndexOf(kServer, after_fetch_id), CacheWithId(p.client_id), {0}, {0}),
               LLM_KV_CACHE_NOT_EXIST);
  // The same holds for the local side: a local cache registered after the link cannot be used on it.
  HostCache local_late(4, 16, 256);
  const int64_t local_late_id = Register(*p.client.engine, local_late);
  CHECK_STATUS(p.client.engine->PullKvBlocks(IndexOf(kServer, p.server_id), CacheWithId(local_late_id), {0}, {0}),
               LLM_FAILED);
  CHECK(local_late.RowIsZero(0, 0));
  // Unlink and link again: everything is bound and visible.
  REQUIRE_STATUS(Unlink(*p.client.engine, kServer, p.server.port), LLM_SUCCESS);
  REQUIRE_STATUS(Link(*p.client.engine, kServer, p.server.port), LLM_SUCCESS);
  CHECK_STATUS(p.client.engine->PullKvBlocks(IndexOf(kServer, after_link_id), CacheWithId(local_late_id), {4}, {0}),
               LLM_SUCCESS);
  CHECK(local_late.RowEquals(2, 0, 11, 2, 4));
  CHECK_STATUS(p.client.engine->UnregisterKvCache(local_late_id), LLM_SUCCESS);
  CHECK_STATUS(p.server.engine->UnregisterKvCache(after_link_id), LLM_SUCCESS);  // before the memory is freed
  CHECK_STATUS(p.server.engine->UnregisterKvCache(after_fetch_id), LLM_SUCCESS);
}

// D6: a cache the peer unregistered is KV_CACHE_NOT_EXIST, never stale memory.
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
  // The link itself is fine: the server's own cache is gone, the client's is reachable.
  CHECK_STATUS(p.server.engine->PullKvBlocks(IndexOf(kClient, p.client_id), CacheWithId(p.server_id), {0}, {0}),
               LLM_KV_CACHE_NOT_EXIST);
  p.client_cache.Fill(9);
  CHECK_STATUS(p.server.engine->PushKvBlocks(CacheWithId(p.client_id, 4), IndexOf(kClient, p.client_id), {0}, {0}),
               LLM_KV_CACHE_NOT_EXIST);
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

DD_TEST(B38_pull_kv_blocks_moves_bytes_same_host) { PullBlocksMovesBytes(false); }
DD_TEST(B38_pull_kv_blocks_moves_bytes_tcp) { PullBlocksMovesBytes(true); }
DD_TEST(B37_pull_kv_cache_moves_one_row_same_host) { PullKvCacheMovesOneRow(false); }
DD_TEST(B37_pull_kv_cache_moves_one_row_tcp) { PullKvCacheMovesOneRow(true); }
DD_TEST(A4_push_moves_bytes_same_host) { PushMovesBytes(false); }
DD_TEST(A4_push_moves_bytes_tcp) { PushMovesBytes(true); }
DD_TEST(A1_server_pulls_from_client_without_linking_back_same_host) { ServerPullsFromClient(false); }
DD_TEST(A1_server_pulls_from_client_without_linking_back_tcp) { ServerPullsFromClient(true); }
DD_TEST(A23_late_registrations_same_host) { LateRegistration(false); }
DD_TEST(A23_late_registrations_tcp) { LateRegistration(true); }
DD_TEST(D6_unregister_revokes_on_peer_same_host) { UnregisterRevokesOnPeer(false); }
DD_TEST(D6_unregister_revokes_on_peer_tcp) { UnregisterRevokesOnPeer(true); }
DD_TEST(D7_unregister_during_remote_pulls_same_host) { UnregisterDuringRemotePulls(false); }
DD_TEST(D7_unregister_during_remote_pulls_tcp) { UnregisterDuringRemotePulls(true); }


DD_TEST(A18_pull_kv_cache_checks_in_order) {
  LinkedPair p(false);
  REQUIRE(p.ok());
  LlmDataDist &c = *p.client.engine;
  const Cache dst = CacheWithId(p.client_id);
  const CacheIndex src = IndexOf(kServer, p.server_id);
  CHECK_STATUS(c.PullKvCache(src, dst, 0, 0), LLM_PARAM_INVALID);                          // 2. size
  CHECK_STATUS(c.PullKvCache(src, dst, 0, -2), LLM_PARAM_INVALID);
  CHECK_STATUS(c.PullKvCache(IndexOf(kClient, 1), CacheWithId(42), 0, 0), LLM_PARAM_INVALID);  // size first
  CHECK_STATUS(c.PullKvCache(src, dst, 0, -1, Ext(-2, 0, 0, 0, 2)), LLM_PARAM_INVALID);    // 3. ext_param
  CHECK_STATUS(c.PullKvCache(src, dst, 0, -1, Ext(0, 0, 0, 0, 0)), LLM_PARAM_INVALID);     // 4. T > 0
  CHECK_STATUS(c.PullKvCache(IndexOf(kClient, 1), CacheWithId(42)), LLM_PARAM_INVALID);    // 5. own id
  CHECK_STATUS(c.PullKvCache(IndexOf(99, 1), CacheWithId(42)), LLM_KV_CACHE_NOT_EXIST);     // 6. local cache
  CHECK_STATUS(c.PullKvCache(IndexOf(99, 1), dst, 16), LLM_PARAM_INVALID);                  // 7. batch_index
  CHECK_STATUS(c.PullKvCache(IndexOf(99, 1), dst, 0, 257), LLM_PARAM_INVALID);              // 8. size > stride
  CHECK_STATUS(c.PullKvCache(IndexOf(99, 1), dst, 0, -1, Ext(0, 0, 0, 0, 3)), LLM_PARAM_INVALID);  // 9. 4 % 3
  CHECK_STATUS(c.PullKvCache(IndexOf(99, 1), dst, 0, -1, Ext(0, 0, 2, 2, 2)), LLM_PARAM_INVALID);  // 9. dst layer
  CHECK_STATUS(c.PullKvCache(IndexOf(99, 1), dst, 0, -1, Ext(0, 1, 0, 0, 2)), LLM_PARAM_INVALID);  // 9. lengths
  CHECK_STATUS(c.PullKvCache(IndexOf(99, 1), dst, 0, 256), LLM_NOT_YET_LINK);               // 10. link
  CHECK_STATUS(c.PullKvCache(IndexOf(kServer, 42), dst), LLM_KV_CACHE_NOT_EXIST);           // 13. remote cache
  CHECK_STATUS(c.PullKvCache(IndexOf(kServer, 0), dst), LLM_KV_CACHE_NOT_EXIST);
  CHECK_STATUS(c.PullKvCache(src, dst, 0, -1, Ext(2, 2, 0, 0, 2)), LLM_PARAM_INVALID);      // 14 + D2: src layer
  CHECK_STATUS(c.PullKvCache(IndexOf(kServer, p.server_id, 16), dst), LLM_PARAM_INVALID);   // D2: remote row
  p.client_cache.Zero();
  CHECK_STATUS(c.PullKvCache(IndexOf(kServer, p.server_id, 15), dst, 15, 256), LLM_SUCCESS);
  CHECK(p.client_cache.RowEquals(3, 15, 7, 3, 15));
  // Only one range start ≥ 0: both ranges are dropped and the whole cache moves.
  p.client_cache.Zero();
  CHECK_STATUS(c.PullKvCache(IndexOf(kServer, p.server_id, 2), dst, 3, -1, Ext(1, 1, -1, -1, 2)), LLM_SUCCESS);
  CHECK(p.client_cache.RowEquals(0, 3, 7, 0, 2));
  CHECK(p.client_cache.RowEquals(3, 3, 7, 3, 2));
  // A different tensor count without ranges.
  HostCache three(3, 16, 256);
  TestEngine other(kServer + 1, true);
  const int64_t three_id = Register(*other.engine, three);
  REQUIRE_STATUS(Link(c, kServer + 1, other.port), LLM_SUCCESS);
  CHECK_STATUS(c.PullKvCache(IndexOf(kServer + 1, three_id), dst), LLM_PARAM_INVALID);      // 14. counts
}

DD_TEST(A18_pull_kv_blocks_checks_in_order) {
  LinkedPair p(false);
  REQUIRE(p.ok());
  LlmDataDist &c = *p.client.engine;
  const Cache dst = CacheWithId(p.client_id);
  const CacheIndex src = IndexOf(kServer, p.server_id);
  CHECK_STATUS(c.PullKvBlocks(IndexOf(kServer, p.server_id, 1), dst, {}, {}, Ext(0, 0, 0, 0, 0)), LLM_PARAM_INVALID);
  CHECK(DetailHas("batch_index"));                                                           // batch index first
  CHECK_STATUS(c.PullKvBlocks(src, dst, {}, {}, Ext(0, 0, 0, 0, 0)), LLM_PARAM_INVALID);
  CHECK(DetailHas("tensor_num_per_layer"));                                                  // then ext_param
  CHECK_STATUS(c.PullKvBlocks(src, dst, {}, {}), LLM_PARAM_INVALID);
  CHECK_STATUS(c.PullKvBlocks(src, dst, {0, 1}, {0}), LLM_PARAM_INVALID);
  CHECK_STATUS(c.PullKvBlocks(IndexOf(kClient, 1), CacheWithId(42), {0}, {0}), LLM_PARAM_INVALID);
  CHECK_STATUS(c.PullKvBlocks(IndexOf(99, 1), CacheWithId(42), {0}, {0}), LLM_KV_CACHE_NOT_EXIST);
  CHECK_STATUS(c.PullKvBlocks(IndexOf(99, 1), dst, {0}, {0}, Ext(0, 0, 0, 0, 3)), LLM_PARAM_INVALID);
  // The dst blocks are checked after the link.
  CHECK_STATUS(c.PullKvBlocks(IndexOf(99, 1), dst, {0}, {16}), LLM_NOT_YET_LINK);
  CHECK_STATUS(c.PullKvBlocks(IndexOf(kServer, 42), dst, {0}, {16}), LLM_PARAM_INVALID);
  CHECK(DetailHas("dst block 16 >= local block count 16"));
  CHECK_STATUS(c.PullKvBlocks(IndexOf(kServer, 42), dst, {0}, {15}), LLM_KV_CACHE_NOT_EXIST);
  CHECK_STATUS(c.PullKvBlocks(src, dst, {16}, {0}), LLM_PARAM_INVALID);                  // src run start
  CHECK_STATUS(c.PullKvBlocks(src, dst, {14, 15, 16}, {0, 1, 2}), LLM_PARAM_INVALID);     // D2: run end
  CHECK_STATUS(c.PullKvBlocks(src, dst, {15}, {15}, Ext(2, 2, 1, 1, 2)), LLM_PARAM_INVALID);  // D2: src layer
  CHECK_STATUS(c.PullKvBlocks(src, dst, {15}, {15}, Ext(1, 1, 0, 0, 2)), LLM_SUCCESS);
  // Duplicate dst blocks are accepted.
  CHECK_STATUS(c.PullKvBlocks(src, dst, {1, 2}, {4, 4}), LLM_SUCCESS);
  CHECK(p.client_cache.RowEquals(0, 4, 7, 0, 2));
}

DD_TEST(D1_different_row_sizes_are_refused_before_any_byte_moves) {
  HostCache server_cache(4, 16, 128);
  HostCache client_cache(4, 16, 256);
  server_cache.Fill(7);
  TestEngine server(kServer, true);
  TestEngine client(kClient, false);
  const int64_t server_id = Register(*server.engine, server_cache);
  const int64_t client_id = Register(*client.engine, client_cache);
  REQUIRE_STATUS(Link(*client.engine, kServer, server.port), LLM_SUCCESS);
  CHECK_STATUS(client.engine->PullKvBlocks(IndexOf(kServer, server_id), CacheWithId(client_id), {0}, {0}),
               LLM_PARAM_INVALID);
  CHECK(DetailHas("rows"));
  CHECK_STATUS(client.engine->PullKvCache(IndexOf(kServer, server_id), CacheWithId(client_id), 0, 64),
               LLM_PARAM_INVALID);
  CHECK(client_cache.RowIsZero(0, 0));
  client_cache.Fill(9);
  CHECK_STATUS(client.engine->PushKvBlocks(CacheWithId(client_id, 4), IndexOf(kServer, server_id), {0}, {0}),
               LLM_PARAM_INVALID);
  CHECK_STATUS(client.engine->PushKvCache(CacheWithId(client_id, 4), IndexOf(kServer, server_id)), LLM_PARAM_INVALID);
  CHECK(server_cache.RowEquals(0, 0, 7, 0, 0));
}

DD_TEST(A3_push_checks_in_order) {
  LinkedPair p(false);
  REQUIRE(p.ok());
  LlmDataDist &c = *p.client.engine;
  const Cache src = CacheWithId(p.client_id, 4);
  const CacheIndex dst = IndexOf(kServer, p.server_id);
  Cache host_placed = src;
  host_placed.cache_desc.placement = CachePlacement::kHost;
  // Front-end checks (B §3.9), placement first.
  CHECK_STATUS(c.PushKvCache(host_placed, dst, 0, 256, Ext(-2, 0, 0, 0, 0)), LLM_PARAM_INVALID);
  CHECK(DetailHas("placement"));
  CHECK_STATUS(c.PushKvBlocks(host_placed, dst, {}, {}), LLM_PARAM_INVALID);
  CHECK_STATUS(c.PushKvCache(src, dst, 0, 256, Ext(-2, 0, 0, 0, 0)), LLM_PARAM_INVALID);
  CHECK(DetailHas("size"));
  CHECK_STATUS(c.PushKvBlocks(src, dst, {}, {}), LLM_PARAM_INVALID);
  CHECK_STATUS(c.PushKvBlocks(src, dst, {0, 1}, {0}), LLM_PARAM_INVALID);
  CHECK_STATUS(c.PushKvBlocks(src, IndexOf(kServer, p.server_id, 1), {0}, {0}, Ext(-2, 0, 0, 0, 2)), LLM_PARAM_INVALID);
  CHECK(DetailHas("batch_index"));
  CHECK_STATUS(c.PushKvCache(src, dst, 0, -1, Ext(0, 1, 0, 0, 2)), LLM_PARAM_INVALID);  // lengths differ
  CHECK_STATUS(c.PushKvCache(src, dst, 0, -1, Ext(0, 0, -2, 0, 2)), LLM_PARAM_INVALID);
  CHECK_STATUS(c.PushKvCache(CacheWithId(p.client_id, 0), dst), LLM_PARAM_INVALID);     // no range, no num_tensors
  CHECK_STATUS(c.PushKvCache(CacheWithId(p.client_id, 0), dst, 0, -1, Ext(0, 0, 0, 0, 2)), LLM_SUCCESS);
  // Per layer (A3): local cache, link, remote cache, dst layer, remote rows, src layer, local rows.
  CHECK_STATUS(c.PushKvCache(CacheWithId(42, 4), IndexOf(99, 1), 16), LLM_KV_CACHE_NOT_EXIST);
  CHECK_STATUS(c.PushKvCache(src, IndexOf(99, 1), 16), LLM_NOT_YET_LINK);
  CHECK_STATUS(c.PushKvBlocks(src, IndexOf(99, 1), {16}, {16}), LLM_NOT_YET_LINK);
  CHECK_STATUS(c.PushKvCache(src, IndexOf(kServer, 42, 16), 16), LLM_KV_CACHE_NOT_EXIST);
  CHECK_STATUS(c.PushKvBlocks(src, dst, {16}, {16}, Ext(0, 0, 4, 4, 1)), LLM_PARAM_INVALID);  // 7. dst layer
  CHECK(DetailHas("dst layer"));
  CHECK_STATUS(c.PushKvCache(src, IndexOf(kServer, p.server_id, 16), 16, -1, Ext(4, 4, 0, 0, 1)), LLM_PARAM_INVALID);
  CHECK(DetailHas("dst batch_index"));                                                       // 8. remote rows
  CHECK_STATUS(c.PushKvBlocks(src, dst, {16}, {16}, Ext(4, 4, 0, 0, 1)), LLM_PARAM_INVALID);
  CHECK(DetailHas("dst block 16"));
  CHECK_STATUS(c.PushKvCache(src, dst, 16, -1, Ext(4, 4, 0, 0, 1)), LLM_PARAM_INVALID);     // 9. src layer
  CHECK(DetailHas("src layer"));
  CHECK_STATUS(c.PushKvCache(src, dst, 16), LLM_PARAM_INVALID);                              // 10. local rows
  CHECK(DetailHas("src_batch_index"));
  CHECK_STATUS(c.PushKvBlocks(src, dst, {0, 16}, {0, 1}), LLM_PARAM_INVALID);
  CHECK(DetailHas("src block 16"));
  CHECK_STATUS(c.PushKvBlocks(src, dst, {0}, {15}), LLM_SUCCESS);
}

// Ten tensors, T = 2: five layers on each side, as in the upstream push test.
struct TenTensorPair {
  TenTensorPair() : server_cache(10, 4, 64), client_cache(10, 4, 64), server(kServer, true), client(kClient, false) {
    client_cache.Fill(9);
    server_id = Register(*server.engine, server_cache);
    client_id = Register(*client.engine, client_cache);
    link_status = Link(*client.engine, kServer, server.port);
  }
  // Which remote tensors hold which local tensor's row 1 (-1: still zero).
  std::vector<int> Written() const {
    std::vector<int> from(10, -1);
    for (uint32_t t = 0; t < 10; ++t) {
      for (uint32_t s = 0; s < 10; ++s) {
        if (server_cache.RowEquals(t, 1, 9, s, 1)) {
          from[t] = static_cast<int>(s);
        }
      }
    }
    return from;
  }
  HostCache server_cache;
  HostCache client_cache;
  TestEngine server;
  TestEngine client;
  int64_t server_id = -1;
  int64_t client_id = -1;
  Status link_status = LLM_FAILED;
};

DD_TEST(A3_A2_a_failing_layer_keeps_the_layers_pushed_before_it) {
  TenTensorPair p;
  REQUIRE_STATUS(p.link_status, LLM_SUCCESS);
  LlmDataDist &c = *p.client.engine;
  const CacheIndex dst = IndexOf(kServer, p.server_id, 1);
  // {4,5} → {0,1}: layer 4 lands in remote layer 0, then src layer 5 is out of range.
  CHECK_STATUS(c.PushKvCache(CacheWithId(p.client_id, 10), dst, 1, -1, Ext(4, 5, 0, 1, 2)), LLM_PARAM_INVALID);
  CHECK(DetailHas("src layer 5"));
  CHECK((p.Written() == std::vector<int>{8, 9, -1, -1, -1, -1, -1, -1, -1, -1}));
  p.server_cache.Zero();
  // {0,1} → {4,5}: layer 0 lands in remote layer 4, then dst layer 5 is out of range.
  CHECK_STATUS(c.PushKvBlocks(CacheWithId(p.client_id, 10), IndexOf(kServer, p.server_id), {1}, {1}, Ext(0, 1, 4, 5, 2)),
               LLM_PARAM_INVALID);
  CHECK(DetailHas("dst layer 5"));
  CHECK((p.Written() == std::vector<int>{-1, -1, -1, -1, -1, -1, -1, -1, 0, 1}));
}

DD_TEST(A2_the_default_layer_range_comes_from_the_callers_num_tensors) {
  TenTensorPair p;
  REQUIRE_STATUS(p.link_status, LLM_SUCCESS);
  LlmDataDist &c = *p.client.engine;
  const CacheIndex dst = IndexOf(kServer, p.server_id, 1);
  // N_c < N_r: only the first N_c tensors' layers.
  CHECK_STATUS(c.PushKvCache(CacheWithId(p.client_id, 4), dst, 1), LLM_SUCCESS);
  CHECK((p.Written() == std::vector<int>{0, 1, 2, 3, -1, -1, -1, -1, -1, -1}));
  // N_c > N_r: the valid layers are written, then layer 5 fails.
  p.server_cache.Zero();
  CHECK_STATUS(c.PushKvCache(CacheWithId(p.client_id, 12), dst, 1), LLM_PARAM_INVALID);
  CHECK((p.Written() == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  // T does not divide N_r: layer 0 already fails, nothing moves.
  p.server_cache.Zero();
  CHECK_STATUS(c.PushKvCache(CacheWithId(p.client_id, 10), dst, 1, -1, Ext(-1, -1, -1, -1, 3)), LLM_PARAM_INVALID);
  CHECK_STATUS(c.PushKvBlocks(CacheWithId(p.client_id, 10), IndexOf(kServer, p.server_id), {1}, {1},
                              Ext(-1, -1, -1, -1, 3)),
               LLM_PARAM_INVALID);
  CHECK((p.Written() == std::vector<int>(10, -1)));
  // T = 1 and T = 2 over all ten tensors work.
  CHECK_STATUS(c.PushKvCache(CacheWithId(p.client_id, 10), dst, 1, -1, Ext(-1, -1, -1, -1, 1)), LLM_SUCCESS);
  CHECK((p.Written() == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

DD_TEST(A8_sync_wait_time_0_times_out_every_transfer_with_nothing_moved) {
  HostCache server_cache(2, 4, 64);
  HostCache client_cache(2, 4, 64);
  server_cache.Fill(7);
  client_cache.Fill(9);
  TestEngine server(kServer, true);
  TestEngine client(kClient, false, {{"llm.SyncKvCacheWaitTime", "0"}});
  REQUIRE_STATUS(client.init_status, LLM_SUCCESS);
  const int64_t server_id = Register(*server.engine, server_cache);
  const int64_t client_id = Register(*client.engine, client_cache);
  REQUIRE_STATUS(Link(*client.engine, kServer, server.port), LLM_SUCCESS);
  CHECK_STATUS(client.engine->PullKvBlocks(IndexOf(kServer, server_id), CacheWithId(client_id), {0}, {0}), LLM_TIMEOUT);
  CHECK_STATUS(client.engine->PullKvCache(IndexOf(kServer, server_id), CacheWithId(client_id)), LLM_TIMEOUT);
  CHECK_STATUS(client.engine->PushKvBlocks(CacheWithId(client_id, 2), IndexOf(kServer, server_id), {0}, {0}),
               LLM_TIMEOUT);
  CHECK(client_cache.RowEquals(0, 0, 9, 0, 0));
  CHECK(server_cache.RowEquals(0, 0, 7, 0, 0));
  // The checks before the network still answer first.
  CHECK_STATUS(client.engine->PullKvBlocks(IndexOf(kServer, server_id), CacheWithId(client_id), {0}, {9}),
               LLM_PARAM_INVALID);
}

// D7: UnregisterKvCache returns only once no transfer of this engine still writes the memory.
DD_TEST(D7_unregister_waits_for_local_transfers) {
  LinkedPair p(true, 1, 256, 65536);
  REQUIRE(p.ok());
  std::atomic<bool> stop{false};
  std::atomic<int> pulls{0};
  std::atomic<uint32_t> unexpected{LLM_SUCCESS};
  std::vector<uint64_t> blocks(256);
  for (uint64_t i = 0; i < 256; ++i) {
    blocks[i] = i;
  }
  std::thread puller([&] {
    for (int i = 0; i < 5000 && !stop; ++i) {
      const Status s = p.client.engine->PullKvBlocks(IndexOf(kServer, p.server_id), CacheWithId(p.client_id), blocks, blocks);
      if (s != LLM_SUCCESS && s != LLM_KV_CACHE_NOT_EXIST) {
        unexpected = s;
      }
      ++pulls;
    }
  });
  CHECK(WaitUntil([&] { return pulls.load() >= 2; }, 5000));
  REQUIRE_STATUS(p.client.engine->UnregisterKvCache(p.client_id), LLM_SUCCESS);
  std::memset(p.client_cache.Row(0, 0), 0xEE, 256 * 65536);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  stop = true;
  puller.join();
  CHECK_STATUS(unexpected.load(), LLM_SUCCESS);
  bool untouched = true;
  for (uint64_t b = 0; b < 256; ++b) {
    untouched = untouched && p.client_cache.Row(0, b)[0] == 0xEE && p.client_cache.Row(0, b)[65535] == 0xEE;
  }
  CHECK(untouched);
}
