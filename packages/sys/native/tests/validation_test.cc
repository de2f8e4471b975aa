// Lifecycle, Initialize options, SetRole, RegisterKvCache rules and the pure geometry rules
// (facts §3.1, §3.2, §3.4, §3.5, §3.6, §3.10), each checked on its own.
#include <unistd.h>

#include <cstring>

#include "cache_geometry.h"
#include "engine_fixture.h"
#include "engine_options.h"
#include "harness.h"
#include "json_check.h"

using namespace ddtest;
using namespace dd::host;

namespace {
bool CanConnect(uint16_t port) {
  const int fd = ConnectLoopback(port);
  if (fd < 0) {
    return false;
  }
  ::close(fd);
  return true;
}

Status InitWith(const std::map<std::string, std::string> &options, LlmRole role = LlmRole::kPrompt) {
  LlmDataDist engine(1, role);
  Options converted;
  for (const auto &[k, v] : options) {
    converted[AscendString(k.c_str())] = AscendString(v.c_str());
  }
  // The destructor finalizes without touching this thread's error detail.
  return engine.Initialize(converted);
}
}  // namespace

DD_TEST(every_call_before_initialize_fails) {
  LlmDataDist engine(1, LlmRole::kDecoder);
  HostCache cache(1, 4, 16);
  int64_t id = 0;
  std::vector<Status> rets;
  CHECK_STATUS(engine.SetRole(LlmRole::kPrompt, {}), LLM_FAILED);
  CHECK_STATUS(engine.LinkLlmClusters({ClusterTo(2, 1)}, rets), LLM_FAILED);
  CHECK_STATUS(engine.UnlinkLlmClusters({ClusterTo(2, 1)}, rets), LLM_FAILED);
  CHECK_STATUS(engine.RegisterKvCache(cache.Desc(), cache.Addrs(), RegisterCfg{}, id), LLM_FAILED);
  CHECK_STATUS(engine.UnregisterKvCache(1), LLM_FAILED);
  CHECK_STATUS(engine.PullKvCache(IndexOf(2, 1), CacheWithId(1)), LLM_FAILED);
  CHECK_STATUS(engine.PullKvBlocks(IndexOf(2, 1), CacheWithId(1), {0}, {0}), LLM_FAILED);
  CHECK_STATUS(engine.PushKvCache(CacheWithId(1, 1), IndexOf(2, 1)), LLM_FAILED);
  CHECK_STATUS(engine.PushKvBlocks(CacheWithId(1, 1), IndexOf(2, 1), {0}, {0}), LLM_FAILED);
  CHECK(std::strstr(dd_backend_error_detail(), "PushKvBlocks: ") == dd_backend_error_detail());
  engine.Finalize();  // Finalize before Initialize does nothing
  engine.Finalize();
}

DD_TEST(pool_methods_are_not_enabled_in_v2) {
  LlmDataDist engine(1, LlmRole::kPrompt);
  Cache cache;
  for (int round = 0; round < 2; ++round) {
    CHECK_STATUS(engine.AllocateCache(CacheDesc{}, cache), LLM_FEATURE_NOT_ENABLED);
    CHECK_STATUS(engine.DeallocateCache(1), LLM_FEATURE_NOT_ENABLED);
    CHECK_STATUS(engine.CopyKvCache(cache, cache), LLM_FEATURE_NOT_ENABLED);
    CHECK_STATUS(engine.CopyKvBlocks(cache, cache, {0}, {{0}}), LLM_FEATURE_NOT_ENABLED);
    REQUIRE_STATUS(engine.Initialize(EngineOptionsFor(0)), LLM_SUCCESS);
  }
  engine.Finalize();
}

DD_TEST(initialize_twice_succeeds_and_keeps_the_first_options) {
  TestEngine e(1, true);
  REQUIRE_STATUS(e.init_status, LLM_SUCCESS);
  CHECK(CanConnect(e.port));
  // A repeat call does nothing, so even invalid options are not looked at.
  CHECK_STATUS(e.engine->Initialize(EngineOptionsFor(0, {{"llm.DeviceId", "x"}})), LLM_SUCCESS);
  CHECK(CanConnect(e.port));
}

DD_TEST(initialize_after_finalize_starts_fresh) {
  TestEngine e(1, true);
  REQUIRE_STATUS(e.init_status, LLM_SUCCESS);
  HostCache cache(1, 4, 16);
  CHECK_EQ(Register(*e.engine, cache), 1);
  CHECK_EQ(Register(*e.engine, cache), 2);
  e.engine->Finalize();
  CHECK(!CanConnect(e.port));
  CHECK_STATUS(e.engine->UnregisterKvCache(1), LLM_FAILED);
  REQUIRE_STATUS(e.engine->Initialize(EngineOptionsFor(0)), LLM_SUCCESS);
  // Finalize unregistered everything: the ids start again at 1.
  CHECK_EQ(Register(*e.engine, cache), 1);
}

DD_TEST(initialize_rejects_invalid_roles) {
  CHECK_STATUS(InitWith({{"llm.DeviceId", "0"}}, LlmRole::kEnd), LLM_PARAM_INVALID);
  CHECK_STATUS(InitWith({{"llm.DeviceId", "0"}}, static_cast<LlmRole>(0)), LLM_PARAM_INVALID);
  CHECK_STATUS(InitWith({{"llm.DeviceId", "0"}}, static_cast<LlmRole>(99)), LLM_PARAM_INVALID);
  CHECK_STATUS(InitWith({{"llm.DeviceId", "0"}}, LlmRole::kMix), LLM_SUCCESS);
  CHECK_STATUS(InitWith({{"llm.DeviceId", "0"}}, LlmRole::kDecoder), LLM_SUCCESS);
}

DD_TEST(initialize_validates_device_id) {
  CHECK_STATUS(InitWith({}), LLM_PARAM_INVALID);
  for (const char *bad : {"", "a", "-1", "4294967295", "2147483648", "1;2", " 1", "1 ", "0x1"}) {
    CHECK_STATUS(InitWith({{"llm.DeviceId", bad}}), LLM_PARAM_INVALID);
  }
  CHECK(std::strstr(dd_backend_error_detail(), "llm.DeviceId") != nullptr);
  for (const char *good : {"0", "7", "2147483647"}) {
    CHECK_STATUS(InitWith({{"llm.DeviceId", good}}), LLM_SUCCESS);
  }
}

DD_TEST(initialize_validates_listen_ip_info) {
  for (const char *bad : {"127.0.0.1", "127.0.1:26000", "256.0.0.1:26000", ":-1", ":", ":a", "127.0.0.1:0",
                          "127.0.0.1:65536", "127.0.0.1:", "[::1]", "[::1]26000", "[zz]:26000", "localhost:26000"}) {
    CHECK_STATUS(InitWith({{"llm.DeviceId", "0"}, {"llm.ListenIpInfo", bad}}), LLM_PARAM_INVALID);
  }
  ListenAddress v6;
  CHECK_STATUS(ParseListenAddress("[::1]:26000", v6), LLM_SUCCESS);
  CHECK(v6.ipv6 && v6.ip == "::1" && v6.port == 26000);
  ListenAddress v4;
  CHECK_STATUS(ParseListenAddress("10.1.2.3:65535", v4), LLM_SUCCESS);
  CHECK(!v4.ipv6 && v4.ip == "10.1.2.3" && v4.port == 65535);
}

DD_TEST(listen_ip_info_makes_the_engine_a_server) {
  const uint16_t port = FreePort();
  CHECK(!CanConnect(port));
  LlmDataDist engine(1, LlmRole::kPrompt);
  REQUIRE_STATUS(engine.Initialize(EngineOptionsFor(port)), LLM_SUCCESS);
  CHECK(CanConnect(port));
  // A second engine cannot listen on the same port: Initialize fails with the reason.
  LlmDataDist other(2, LlmRole::kPrompt);
  CHECK_STATUS(other.Initialize(EngineOptionsFor(port)), LLM_FAILED);
  CHECK(std::strstr(dd_backend_error_detail(), "bind") != nullptr);
  engine.Finalize();
  CHECK(!CanConnect(port));
}

DD_TEST(initialize_validates_sync_wait_time) {
  for (const char *bad : {"0", "-5", "abc", "", "1.5", "99999999999"}) {
    CHECK_STATUS(InitWith({{"llm.DeviceId", "0"}, {"llm.SyncKvCacheWaitTime", bad}}), LLM_PARAM_INVALID);
  }
  CHECK_STATUS(InitWith({{"llm.DeviceId", "0"}, {"llm.SyncKvCacheWaitTime", "1"}}), LLM_SUCCESS);
  EngineOptions parsed;
  REQUIRE_STATUS(ParseEngineOptions(EngineOptionsFor(0), parsed), LLM_SUCCESS);
  CHECK_EQ(parsed.sync_wait_ms, 1000);
  REQUIRE_STATUS(ParseEngineOptions(EngineOptionsFor(0, {{"llm.SyncKvCacheWaitTime", "250"}}), parsed), LLM_SUCCESS);
  CHECK_EQ(parsed.sync_wait_ms, 250);
}

DD_TEST(initialize_flags_must_be_0_or_1) {
  for (const char *key : {"llm.EnableSwitchRole", "llm.EnableCacheManager", "llm.EnableRemoteCacheAccessible"}) {
    for (const char *bad : {"2", "true", "", "01"}) {
      CHECK_STATUS(InitWith({{"llm.DeviceId", "0"}, {key, bad}}), LLM_PARAM_INVALID);
    }
    CHECK_STATUS(InitWith({{"llm.DeviceId", "0"}, {key, "0"}}), LLM_SUCCESS);
    CHECK_STATUS(InitWith({{"llm.DeviceId", "0"}, {key, "1"}}), LLM_SUCCESS);
  }
}

DD_TEST(initialize_checks_transfer_backend) {
  CHECK_STATUS(InitWith({{"llm.DeviceId", "0"}, {"llm.TransferBackend", "hixl"}}), LLM_PARAM_INVALID);
  CHECK_STATUS(InitWith({{"llm.DeviceId", "0"}, {"llm.TransferBackend", "hccl"}}), LLM_FAILED);
  CHECK_STATUS(InitWith({{"llm.DeviceId", "0"}, {"llm.TransferBackend", ""}}), LLM_FAILED);
  TestEngine hixl(1, true, {{"llm.TransferBackend", "hixl"}});
  CHECK_STATUS(hixl.init_status, LLM_SUCCESS);
  // With hixl, SetRole cannot move or stop the listener.
  CHECK_STATUS(hixl.engine->SetRole(LlmRole::kDecoder, EngineOptionsFor(FreePort())), LLM_PARAM_INVALID);
  CHECK_STATUS(hixl.engine->SetRole(LlmRole::kDecoder, {}), LLM_PARAM_INVALID);
  CHECK_STATUS(hixl.engine->SetRole(LlmRole::kDecoder, EngineOptionsFor(hixl.port)), LLM_SUCCESS);
}

DD_TEST(initialize_checks_local_comm_res_json) {
  for (const char *bad : {"{", "[]", "{\"a\":}", "{\"a\":1,}", "{'a':1}", "{\"version\":1.3}", "{} x"}) {
    CHECK_STATUS(InitWith({{"llm.DeviceId", "0"}, {"llm.LocalCommRes", bad}}), LLM_PARAM_INVALID);
  }
  CHECK_STATUS(InitWith({{"llm.DeviceId", "0"}, {"llm.LocalCommRes", ""}}), LLM_SUCCESS);
  CHECK_STATUS(InitWith({{"llm.DeviceId", "0"},
                         {"llm.LocalCommRes",
                          "{\"server_list\":[{\"server_id\":\"1.1.1.1\",\"device\":[{\"device_id\":\"0\","
                          "\"device_ip\":\"2.2.2.2\",\"rank_id\":\"0\"}]}],\"status\":\"completed\",\"version\":\"1.0\"}"}}),
               LLM_SUCCESS);
  std::string why;
  std::string version;
  CHECK(CheckJsonObject("{\"version\":\"1.3\",\"x\":[1,-2.5e3,true,null,{\"y\":\"\\u00e9\"}]}", why, version));
  CHECK_EQ(version, std::string("1.3"));
  CHECK(!CheckJsonObject(std::string(100, '[') , why, version));
}

DD_TEST(initialize_passes_unknown_vendor_keys_through) {
  CHECK_STATUS(InitWith({{"llm.DeviceId", "0"},
                         {"llm.MemPoolConfig", "{\"memory_size\":1024,\"page_shift\":16}"},
                         {"ge.session_device_id", "0"},
                         {"llm.RdmaTrafficClass", "132"},
                         {"some.vendor.Key", "anything"}}),
               LLM_SUCCESS);
  EngineOptions parsed;
  REQUIRE_STATUS(ParseEngineOptions(EngineOptionsFor(0, {{"some.vendor.Key", "anything"}}), parsed), LLM_SUCCESS);
  CHECK_EQ(parsed.raw.at("some.vendor.Key"), std::string("anything"));
}

DD_TEST(own_options_are_validated) {
  CHECK_STATUS(InitWith({{"llm.DeviceId", "0"}, {"dd.DataPath", "udp"}}), LLM_PARAM_INVALID);
  CHECK_STATUS(InitWith({{"llm.DeviceId", "0"}, {"dd.DataPth", "tcp"}}), LLM_PARAM_INVALID);
  CHECK_STATUS(InitWith({{"llm.DeviceId", "0"}, {"dd.HeartbeatIntervalMs", "5"}}), LLM_PARAM_INVALID);
  CHECK_STATUS(InitWith({{"llm.DeviceId", "0"}, {"dd.DataPath", "tcp"}, {"dd.HeartbeatIntervalMs", "50"}}),
               LLM_SUCCESS);
  EngineOptions parsed;
  REQUIRE_STATUS(ParseEngineOptions(EngineOptionsFor(0, {{"dd.DataPath", "tcp"}}), parsed), LLM_SUCCESS);
  CHECK(parsed.tcp_only);
  REQUIRE_STATUS(ParseEngineOptions(EngineOptionsFor(0, {{"dd.DataPath", "auto"}}), parsed), LLM_SUCCESS);
  CHECK(!parsed.tcp_only);
}

DD_TEST(set_role_checks_and_moves_the_listener) {
  TestEngine e(1, true);
  REQUIRE_STATUS(e.init_status, LLM_SUCCESS);
  CHECK_STATUS(e.engine->SetRole(LlmRole::kEnd, {}), LLM_PARAM_INVALID);
  CHECK_STATUS(e.engine->SetRole(LlmRole::kDecoder, EngineOptionsFor(0, {{"llm.ListenIpInfo", "1.2.3:4"}})),
               LLM_PARAM_INVALID);
  // Same port: no change.
  CHECK_STATUS(e.engine->SetRole(LlmRole::kDecoder, EngineOptionsFor(e.port)), LLM_SUCCESS);
  CHECK(CanConnect(e.port));
  // Another port: the old listener stops, the new one starts.
  const uint16_t moved = FreePort();
  CHECK_STATUS(e.engine->SetRole(LlmRole::kPrompt, EngineOptionsFor(moved)), LLM_SUCCESS);
  CHECK(CanConnect(moved));
  CHECK(!CanConnect(e.port));
  // Without ListenIpInfo: client only.
  CHECK_STATUS(e.engine->SetRole(LlmRole::kMix, {}), LLM_SUCCESS);
  CHECK(!CanConnect(moved));
  // And back to a server.
  CHECK_STATUS(e.engine->SetRole(LlmRole::kPrompt, EngineOptionsFor(moved)), LLM_SUCCESS);
  CHECK(CanConnect(moved));
}

DD_TEST(register_validates_in_order) {
  TestEngine e(1, false);
  REQUIRE_STATUS(e.init_status, LLM_SUCCESS);
  HostCache cache(2, 4, 16);
  int64_t id = -1;
  CacheDesc desc = cache.Desc();
  CHECK_STATUS(e.engine->RegisterKvCache(desc, {}, RegisterCfg{}, id), LLM_PARAM_INVALID);
  CHECK_STATUS(e.engine->RegisterKvCache(desc, {cache.Addrs()[0]}, RegisterCfg{}, id), LLM_PARAM_INVALID);
  CHECK_STATUS(e.engine->RegisterKvCache(desc, {cache.Addrs()[0], 0}, RegisterCfg{}, id), LLM_PARAM_INVALID);
  const auto with_shape = [&](std::vector<int64_t> shape) {
    CacheDesc d = desc;
    d.shape = std::move(shape);
    return e.engine->RegisterKvCache(d, cache.Addrs(), RegisterCfg{}, id);
  };
  CHECK_STATUS(with_shape({}), LLM_PARAM_INVALID);
  CHECK_STATUS(with_shape(std::vector<int64_t>(32, 1)), LLM_PARAM_INVALID);
  CHECK_STATUS(with_shape(std::vector<int64_t>(31, 1)), LLM_SUCCESS);
  CHECK_STATUS(with_shape({4, 0}), LLM_PARAM_INVALID);
  CHECK_STATUS(with_shape({-4, 16}), LLM_PARAM_INVALID);
  CHECK_STATUS(with_shape({INT64_MAX, 2}), LLM_PARAM_INVALID);
  for (const int bad_type : {static_cast<int>(DT_UNDEFINED), 5, 42, 43, 44, -1, 1000}) {
    CacheDesc d = desc;
    // As the C shim would: any int32 lands in the field.
    const int32_t raw = bad_type;
    std::memcpy(&d.data_type, &raw, sizeof(raw));
    CHECK_STATUS(e.engine->RegisterKvCache(d, cache.Addrs(), RegisterCfg{}, id), LLM_PARAM_INVALID);
  }
  CacheDesc bad_placement = desc;
  bad_placement.placement = static_cast<CachePlacement>(7);
  CHECK_STATUS(e.engine->RegisterKvCache(bad_placement, cache.Addrs(), RegisterCfg{}, id), LLM_PARAM_INVALID);
  CHECK(std::strstr(dd_backend_error_detail(), "RegisterKvCache: ") == dd_backend_error_detail());
}

DD_TEST(register_ids_start_at_1_and_the_same_memory_may_register_twice) {
  TestEngine e(1, false);
  REQUIRE_STATUS(e.init_status, LLM_SUCCESS);
  HostCache cache(2, 4, 16);
  RegisterCfg cfg;
  std::memset(cfg.reserved, 0xAB, sizeof(cfg.reserved));  // cfg is ignored
  int64_t id = -1;
  CHECK_STATUS(e.engine->RegisterKvCache(cache.Desc(CachePlacement::kDevice), cache.Addrs(), cfg, id), LLM_SUCCESS);
  CHECK_EQ(id, 1);
  CHECK_STATUS(e.engine->RegisterKvCache(cache.Desc(), cache.Addrs(), cfg, id), LLM_SUCCESS);
  CHECK_EQ(id, 2);
  CHECK_STATUS(e.engine->UnregisterKvCache(1), LLM_SUCCESS);
  CHECK_STATUS(e.engine->UnregisterKvCache(1), LLM_SUCCESS);   // unknown id: success
  CHECK_STATUS(e.engine->UnregisterKvCache(999), LLM_SUCCESS);
  CHECK_STATUS(e.engine->RegisterKvCache(cache.Desc(), cache.Addrs(), cfg, id), LLM_SUCCESS);
  CHECK_EQ(id, 3);  // ids are never reused
}

DD_TEST(element_sizes_follow_ge) {
  const auto bytes = [](DataType t, std::vector<int64_t> shape) {
    CacheGeometry g;
    return BuildGeometry(0, 1, t, shape, g) == LLM_SUCCESS ? static_cast<int64_t>(g.tensor_bytes) : -1;
  };
  CHECK_EQ(bytes(DT_INT8, {3, 5}), 15);
  CHECK_EQ(bytes(DT_BOOL, {1}), 1);
  CHECK_EQ(bytes(DT_FLOAT8_E4M3FN, {2}), 2);
  CHECK_EQ(bytes(DT_FLOAT16, {3, 5}), 30);
  CHECK_EQ(bytes(DT_BF16, {4}), 8);
  CHECK_EQ(bytes(DT_FLOAT, {3}), 12);
  CHECK_EQ(bytes(DT_COMPLEX32, {1}), 4);
  CHECK_EQ(bytes(DT_DUAL, {2}), 10);
  CHECK_EQ(bytes(DT_INT64, {2}), 16);
  CHECK_EQ(bytes(DT_RESOURCE, {1}), 8);
  CHECK_EQ(bytes(DT_COMPLEX128, {1}), 16);
  CHECK_EQ(bytes(DT_STRING, {2}), 32);
  CHECK_EQ(bytes(DT_INT4, {3}), 2);    // 12 bits → 2 bytes
  CHECK_EQ(bytes(DT_UINT1, {9}), 2);   // 9 bits → 2 bytes
  CHECK_EQ(bytes(DT_INT2, {4}), 1);
  CHECK_EQ(bytes(DT_FLOAT6_E3M2, {4}), 3);
  CHECK_EQ(bytes(DT_FLOAT4_E1M2, {5}), 3);
  CHECK_EQ(bytes(DT_UNDEFINED, {1}), -1);
  CacheGeometry g;
  REQUIRE_STATUS(BuildGeometry(0, 2, DT_INT32, {8, 16}, g), LLM_SUCCESS);
  CHECK_EQ(g.rows, 8U);
  CHECK_EQ(g.stride, 64U);  // bytes per block per tensor
}

DD_TEST(layer_ranges_follow_the_upstream_matrix) {
  TensorSpan src;
  TensorSpan dst;
  // 10 tensors, as in the upstream tests.
  CHECK_STATUS(SelectPullTensors(Ext(0, 1, 0, 1, 1), 10, 10, src, dst), LLM_SUCCESS);
  CHECK(src.first == 0 && src.count == 2 && dst.first == 0 && dst.count == 2);
  CHECK_STATUS(SelectPullTensors(Ext(2, 3, 1, 2, 2), 10, 10, src, dst), LLM_SUCCESS);
  CHECK(src.first == 4 && src.count == 4 && dst.first == 2 && dst.count == 4);
  CHECK_STATUS(SelectPullTensors(Ext(0, 0, 0, 0, 7), 10, 10, src, dst), LLM_PARAM_INVALID);
  CHECK_STATUS(SelectPullTensors(Ext(0, 0, 0, 0, 17), 10, 10, src, dst), LLM_PARAM_INVALID);
  CHECK_STATUS(SelectPullTensors(Ext(0, 1, 0, 2, 2), 10, 10, src, dst), LLM_PARAM_INVALID);
  CHECK_STATUS(SelectPullTensors(Ext(4, 5, 4, 5, 2), 10, 10, src, dst), LLM_PARAM_INVALID);
  CHECK_STATUS(SelectPullTensors(Ext(4, 4, 4, 4, 2), 10, 10, src, dst), LLM_SUCCESS);
  CHECK(src.first == 8 && src.count == 2);
  CHECK_STATUS(ValidateExtParam(Ext(-2, 0, 0, 0, 2)), LLM_PARAM_INVALID);
  CHECK_STATUS(ValidateExtParam(Ext(0, -2, 0, 0, 2)), LLM_PARAM_INVALID);
  CHECK_STATUS(ValidateExtParam(Ext(0, 0, 2, 1, 2)), LLM_PARAM_INVALID);
  CHECK_STATUS(ValidateExtParam(Ext(-1, -1, -1, -1, 0)), LLM_PARAM_INVALID);
  CHECK_STATUS(ValidateExtParam(Ext(-1, 3, -1, -1, 2)), LLM_SUCCESS);
  // Without both starts ≥ 0 every tensor is used, and the counts must match.
  CHECK_STATUS(SelectPullTensors(Ext(0, 0, -1, -1, 2), 10, 10, src, dst), LLM_SUCCESS);
  CHECK(src.first == 0 && src.count == 10 && dst.count == 10);
  CHECK_STATUS(SelectPullTensors(Ext(-1, -1, -1, -1, 3), 10, 10, src, dst), LLM_SUCCESS);
  CHECK_STATUS(SelectPullTensors(Ext(-1, -1, -1, -1, 2), 10, 8, src, dst), LLM_PARAM_INVALID);
}

DD_TEST(push_layers_default_to_every_layer_of_the_callers_tensors) {
  std::vector<LayerTransfer> layers;
  // T divides num_tensors: maxL = N/T - 1.
  REQUIRE_STATUS(PlanPushLayers(Ext(-1, -1, -1, -1, 2), 8, 8, 8, layers), LLM_SUCCESS);
  CHECK_EQ(layers.size(), 4U);
  CHECK(layers[3].src.first == 6 && layers[3].src.count == 2 && layers[3].dst.first == 6);
  // Remainder: one more, shorter layer.
  REQUIRE_STATUS(PlanPushLayers(Ext(-1, -1, -1, -1, 3), 8, 8, 8, layers), LLM_SUCCESS);
  CHECK_EQ(layers.size(), 3U);
  CHECK(layers[2].src.first == 6 && layers[2].src.count == 2);
  // Fewer tensors than T: maxL = 0, one layer of what there is.
  REQUIRE_STATUS(PlanPushLayers(Ext(-1, -1, -1, -1, 4), 3, 3, 3, layers), LLM_SUCCESS);
  CHECK(layers.size() == 1U && layers[0].src.count == 3);
  // Explicit single layer mapped onto another destination layer.
  REQUIRE_STATUS(PlanPushLayers(Ext(2, 2, 0, 0, 1), 0, 4, 4, layers), LLM_SUCCESS);
  CHECK(layers.size() == 1U && layers[0].src.first == 2 && layers[0].dst.first == 0 && layers[0].src.count == 1);
  REQUIRE_STATUS(PlanPushLayers(Ext(0, 0, 0, 0, 4), 0, 4, 4, layers), LLM_SUCCESS);
  CHECK(layers.size() == 1U && layers[0].src.count == 4);
  // Out of bounds on either side.
  CHECK_STATUS(PlanPushLayers(Ext(4, 4, 0, 0, 1), 0, 4, 4, layers), LLM_PARAM_INVALID);
  CHECK_STATUS(PlanPushLayers(Ext(0, 0, 4, 4, 1), 0, 4, 4, layers), LLM_PARAM_INVALID);
  CHECK_STATUS(PlanPushLayers(Ext(-1, -1, -1, -1, 2), 10, 8, 8, layers), LLM_PARAM_INVALID);
}

DD_TEST(block_runs_merge_only_where_both_sides_step_by_one) {
  std::vector<BlockRun> runs;
  MergeBlockRuns({1, 2, 3, 7, 8, 4}, {5, 6, 7, 0, 1, 2}, runs);
  REQUIRE(runs.size() == 3U);
  CHECK(runs[0].src == 1 && runs[0].dst == 5 && runs[0].count == 3);
  CHECK(runs[1].src == 7 && runs[1].dst == 0 && runs[1].count == 2);
  CHECK(runs[2].src == 4 && runs[2].dst == 2 && runs[2].count == 1);
  MergeBlockRuns({0, 1, 2, 3}, {3, 2, 1, 0}, runs);
  CHECK_EQ(runs.size(), 4U);
  MergeBlockRuns({5, 5}, {1, 2}, runs);
  CHECK_EQ(runs.size(), 2U);
}

DD_TEST(ipv4_packs_little_endian) {
  uint32_t packed = 0;
  REQUIRE(ParseIpv4("1.2.3.4", packed));
  CHECK_EQ(packed, 0x04030201U);
  CHECK(!ParseIpv4("1.2.3", packed));
  CHECK(!ParseIpv4("", packed));
  CHECK(!ParseIpv4("::1", packed));
}
