// Lifecycle, Initialize options, SetRole, RegisterKvCache rules and the pure geometry rules
// (v2-rules A2, A7–A13, A17–A19, A22, A28, B §3.1–§3.10; docs/compat.md D3, D5, D10–D13), each
// checked on its own. Test names start with the rule id they check.
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>

#include "acl/acl_rt.h"
#include "cache_geometry.h"
#include "comm_resource.h"
#include "engine_fixture.h"
#include "engine_options.h"
#include "harness.h"
#include "json_value.h"

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

bool DetailHas(const char *text) { return std::strstr(dd_backend_error_detail(), text) != nullptr; }

std::string Loopback(uint16_t port) { return "127.0.0.1:" + std::to_string(port); }
}  // namespace

DD_TEST(B31_every_call_before_initialize_fails) {
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

DD_TEST(B31_pool_methods_are_not_enabled_in_v2) {
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

DD_TEST(B31_initialize_twice_succeeds_and_keeps_the_first_options) {
  TestEngine e(1, true);
  REQUIRE_STATUS(e.init_status, LLM_SUCCESS);
  CHECK(CanConnect(e.port));
  // A repeat call does nothing, so even invalid options are not looked at.
  CHECK_STATUS(e.engine->Initialize(EngineOptionsFor(0, {{"llm.DeviceId", "x"}})), LLM_SUCCESS);
  CHECK(CanConnect(e.port));
}

DD_TEST(B31_A13_initialize_after_finalize_starts_fresh) {
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

DD_TEST(B32_initialize_rejects_invalid_roles_after_the_repeat_check) {
  CHECK_STATUS(InitWith({{"llm.DeviceId", "0"}}, LlmRole::kEnd), LLM_PARAM_INVALID);
  CHECK_STATUS(InitWith({{"llm.DeviceId", "0"}}, static_cast<LlmRole>(0)), LLM_PARAM_INVALID);
  CHECK_STATUS(InitWith({{"llm.DeviceId", "0"}}, static_cast<LlmRole>(99)), LLM_PARAM_INVALID);
  CHECK_STATUS(InitWith({{"llm.DeviceId", "0"}}, LlmRole::kMix), LLM_SUCCESS);
  CHECK_STATUS(InitWith({{"llm.DeviceId", "0"}}, LlmRole::kDecoder), LLM_SUCCESS);
  // The role is checked before the options: a bad role with bad options names the role.
  CHECK_STATUS(InitWith({{"llm.DeviceId", "x"}}, LlmRole::kEnd), LLM_PARAM_INVALID);
  CHECK(DetailHas("role"));
}

DD_TEST(A10_device_id_items_read_as_stream_int32_then_one_device) {
  CHECK_STATUS(InitWith({}), LLM_PARAM_INVALID);
  for (const char *bad : {"", "a", "-1", "4294967295", "2147483648", "1 ", "0x1", "1;a", "1;-1", "1;"}) {
    CHECK_STATUS(InitWith({{"llm.DeviceId", bad}}), LLM_PARAM_INVALID);
  }
  CHECK(DetailHas("llm.DeviceId"));
  // Leading white space and a sign pass the stream parse.
  for (const char *good : {"0", "7", "2147483647", " 1", "+3", "-0"}) {
    CHECK_STATUS(InitWith({{"llm.DeviceId", good}}), LLM_SUCCESS);
  }
  // "1;2" passes the list check (step 3) and fails the single-device re-parse (step 6), which comes
  // after the ListenIpInfo and TransferBackend checks.
  CHECK_STATUS(InitWith({{"llm.DeviceId", "1;2"}}), LLM_PARAM_INVALID);
  CHECK(DetailHas("one device"));
  CHECK_STATUS(InitWith({{"llm.DeviceId", "1;2"}, {"llm.TransferBackend", "x"}}), LLM_PARAM_INVALID);
  CHECK(DetailHas("llm.TransferBackend"));
  CHECK_STATUS(InitWith({{"llm.DeviceId", "1;2"}, {"llm.ListenIpInfo", "1.2.3"}}), LLM_PARAM_INVALID);
  CHECK(DetailHas("listen address"));
  // But the list check comes first.
  CHECK_STATUS(InitWith({{"llm.DeviceId", "a"}, {"llm.ListenIpInfo", "1.2.3"}}), LLM_PARAM_INVALID);
  CHECK(DetailHas("llm.DeviceId"));
}

DD_TEST(A11_listen_ip_info_syntax) {
  for (const char *bad : {"127.0.0.1", "127.0.1:26000", "256.0.0.1:26000", ":-1", ":", ":a", "127.0.0.1:", "[::1]",
                          "[::1]26000", "[zz]:26000", "localhost:26000", "::1:26000", "127.0.0.1:4294967296",
                          "127.0.0.1:-1", "127.0.0.1:-0", "127.0.0.1:26000x", "127.0.0.01:26000", "1.2.3.4:5:6"}) {
    CHECK_STATUS(InitWith({{"llm.DeviceId", "0"}, {"llm.ListenIpInfo", bad}}), LLM_PARAM_INVALID);
  }
  ListenAddress address;
  CHECK_STATUS(ParseListenAddress("[::1]:26000", address), LLM_SUCCESS);
  CHECK(address.ipv6 && address.ip == "::1" && address.port == 26000);
  CHECK_STATUS(ParseListenAddress("10.1.2.3:65535", address), LLM_SUCCESS);
  CHECK(!address.ipv6 && address.ip == "10.1.2.3" && address.port == 65535);
  // An IPv4 address inside brackets, and the port after the first ':' that follows ']'.
  CHECK_STATUS(ParseListenAddress("[1.2.3.4]:80", address), LLM_SUCCESS);
  CHECK(!address.ipv6 && address.ip == "1.2.3.4" && address.port == 80);
  CHECK_STATUS(ParseListenAddress("[::1]x:26001", address), LLM_SUCCESS);
  CHECK(address.port == 26001);
  // Any uint32 port: bound modulo 65536.
  CHECK_STATUS(ParseListenAddress("127.0.0.1:4294967295", address), LLM_SUCCESS);
  CHECK(address.port == 65535 && address.given_port == 4294967295ULL);
  CHECK_STATUS(ParseListenAddress("127.0.0.1:0", address), LLM_SUCCESS);
  CHECK(address.port == 0);
  // The port is read as a stream reads an unsigned integer: leading blanks and '+' pass.
  CHECK_STATUS(ParseListenAddress("127.0.0.1: +26002", address), LLM_SUCCESS);
  CHECK(address.port == 26002);
}

DD_TEST(A11_listen_port_wraps_modulo_65536_and_0_is_ephemeral) {
  const uint16_t port = FreePort();
  LlmDataDist engine(1, LlmRole::kPrompt);
  REQUIRE_STATUS(engine.Initialize(EngineOptionsFor(0, {{"llm.ListenIpInfo", "127.0.0.1:" + std::to_string(65536 + port)}})),
                 LLM_SUCCESS);
  CHECK(CanConnect(port));
  engine.Finalize();
  LlmDataDist ephemeral(2, LlmRole::kPrompt);
  CHECK_STATUS(ephemeral.Initialize(EngineOptionsFor(0, {{"llm.ListenIpInfo", "127.0.0.1:0"}})), LLM_SUCCESS);
}

DD_TEST(A11_listen_ip_info_makes_the_engine_a_server_and_bind_failure_is_failed) {
  const uint16_t port = FreePort();
  CHECK(!CanConnect(port));
  LlmDataDist engine(1, LlmRole::kPrompt);
  REQUIRE_STATUS(engine.Initialize(EngineOptionsFor(port)), LLM_SUCCESS);
  CHECK(CanConnect(port));
  // A second engine cannot listen on the same port: Initialize fails with the reason.
  LlmDataDist other(2, LlmRole::kPrompt);
  CHECK_STATUS(other.Initialize(EngineOptionsFor(port)), LLM_FAILED);
  CHECK(DetailHas("bind"));
  engine.Finalize();
  CHECK(!CanConnect(port));
}

DD_TEST(A10_D10_listener_starts_before_data_cache_options_and_a_failure_leaves_none) {
  // A bad SyncKvCacheWaitTime is checked after the listener started (step 9 after step 8): a port
  // already taken wins with FAILED.
  const uint16_t port = FreePort();
  LlmDataDist holder(1, LlmRole::kPrompt);
  REQUIRE_STATUS(holder.Initialize(EngineOptionsFor(port)), LLM_SUCCESS);
  LlmDataDist second(2, LlmRole::kPrompt);
  CHECK_STATUS(second.Initialize(EngineOptionsFor(port, {{"llm.SyncKvCacheWaitTime", "x"}})), LLM_FAILED);
  holder.Finalize();
  // D10: with a free port the same option fails with PARAM_INVALID and nothing stays listening.
  CHECK_STATUS(second.Initialize(EngineOptionsFor(port, {{"llm.SyncKvCacheWaitTime", "x"}})), LLM_PARAM_INVALID);
  CHECK(!CanConnect(port));
  CHECK_STATUS(second.Initialize(EngineOptionsFor(port, {{"llm.MemPoolConfig", "{"}})), LLM_PARAM_INVALID);
  CHECK(!CanConnect(port));
  CHECK_STATUS(second.Initialize(EngineOptionsFor(port)), LLM_SUCCESS);
  CHECK(CanConnect(port));
}

DD_TEST(A8_D11_sync_wait_time_is_digits_only_and_0_is_accepted) {
  for (const char *bad : {"-5", "abc", "", "1.5", " 1", "2147483648", "99999999999999999999999"}) {
    CHECK_STATUS(InitWith({{"llm.DeviceId", "0"}, {"llm.SyncKvCacheWaitTime", bad}}), LLM_PARAM_INVALID);
  }
  for (const char *good : {"0", "1", "2147483647", "000000000000000000000001000"}) {
    CHECK_STATUS(InitWith({{"llm.DeviceId", "0"}, {"llm.SyncKvCacheWaitTime", good}}), LLM_SUCCESS);
  }
  EngineOptions parsed;
  REQUIRE_STATUS(ParseEngineOptions(EngineOptionsFor(0), parsed), LLM_SUCCESS);
  REQUIRE_STATUS(ParseDataCacheOptions(parsed), LLM_SUCCESS);
  CHECK_EQ(parsed.sync_wait_ms, 1000);
  REQUIRE_STATUS(ParseEngineOptions(EngineOptionsFor(0, {{"llm.SyncKvCacheWaitTime", "0000250"}}), parsed), LLM_SUCCESS);
  REQUIRE_STATUS(ParseDataCacheOptions(parsed), LLM_SUCCESS);
  CHECK_EQ(parsed.sync_wait_ms, 250);
}

DD_TEST(A9_no_flag_option_is_validated) {
  for (const char *key : {"llm.EnableSwitchRole", "llm.EnableCacheManager", "llm.EnableRemoteCacheAccessible"}) {
    for (const char *value : {"2", "true", "", "01", "0", "1"}) {
      CHECK_STATUS(InitWith({{"llm.DeviceId", "0"}, {key, value}}), LLM_SUCCESS);
    }
  }
}

DD_TEST(A12_transfer_backend_is_absent_or_exactly_hixl) {
  for (const char *bad : {"hccl", "", "HIXL", "hixl "}) {
    CHECK_STATUS(InitWith({{"llm.DeviceId", "0"}, {"llm.TransferBackend", bad}}), LLM_PARAM_INVALID);
  }
  // Checked after ListenIpInfo: a bad address is reported first.
  CHECK_STATUS(InitWith({{"llm.DeviceId", "0"}, {"llm.ListenIpInfo", "x"}, {"llm.TransferBackend", "y"}}),
               LLM_PARAM_INVALID);
  CHECK(DetailHas("listen address"));
  // hixl needs a listen address.
  CHECK_STATUS(InitWith({{"llm.DeviceId", "0"}, {"llm.TransferBackend", "hixl"}}), LLM_PARAM_INVALID);
  TestEngine hixl(1, true, {{"llm.TransferBackend", "hixl"}});
  CHECK_STATUS(hixl.init_status, LLM_SUCCESS);
}

DD_TEST(A7_default_backend_stores_local_comm_res_unparsed_at_initialize) {
  for (const char *value : {"{", "mock", "[]", "{\"version\":\"1.9\"}", "{\"version\":\"1.3\"}", ""}) {
    CHECK_STATUS(InitWith({{"llm.DeviceId", "0"}, {"llm.LocalCommRes", value}}), LLM_SUCCESS);
  }
  // Absent or empty with a listen address: generated from it at Initialize.
  EngineOptions parsed;
  REQUIRE_STATUS(ParseEngineOptions(EngineOptionsFor(0, {{"llm.ListenIpInfo", "10.0.0.7:26000"}, {"llm.DeviceId", "3"}}),
                                    parsed),
                 LLM_SUCCESS);
  CHECK(parsed.has_comm_res);
  std::string why;
  CHECK_STATUS(CheckCommRes(parsed.comm_res, "generated", 3, why), LLM_SUCCESS);
  CHECK(parsed.comm_res.find("\"server_id\":\"10.0.0.7\"") != std::string::npos);
  // Without a listen address there is none until the first link.
  REQUIRE_STATUS(ParseEngineOptions(EngineOptionsFor(0, {{"llm.LocalCommRes", ""}}), parsed), LLM_SUCCESS);
  CHECK(!parsed.has_comm_res);
}

DD_TEST(A7_link_time_comm_res_check) {
  const std::string good =
      "{\"server_list\":[{\"server_id\":\"1.1.1.1\",\"device\":[{\"device_id\":\"0\",\"device_ip\":\"2.2.2.2\","
      "\"rank_id\":\"0\"}]}],\"status\":\"completed\",\"version\":\"1.0\"}";
  std::string why;
  CHECK_STATUS(CheckCommRes(good, "local", 0, why), LLM_SUCCESS);
  std::string v12 = good;
  v12.replace(v12.find("1.0\"}"), 3, "1.2");
  CHECK_STATUS(CheckCommRes(v12, "local", 0, why), LLM_SUCCESS);
  // The device id is checked on our own value only.
  CHECK_STATUS(CheckCommRes(good, "local", 1, why), LLM_PARAM_INVALID);
  CHECK(why.find("device_id") != std::string::npos);
  CHECK_STATUS(CheckCommRes(good, "peer", -1, why), LLM_SUCCESS);
  // device_id and server_id are strings, as the rank table writes them.
  CHECK_STATUS(CheckCommRes("{\"server_list\":[{\"server_id\":\"a\",\"device\":[{\"device_id\":0}]}],\"version\":\"1.2\"}",
                            "local", 0, why),
               LLM_PARAM_INVALID);
  CHECK_STATUS(CheckCommRes("{\"server_list\":[{\"device\":[{\"device_id\":\"0\"}]}],\"version\":\"1.2\"}", "local", 0, why),
               LLM_PARAM_INVALID);
  // Every entry of our own value names our device.
  CHECK_STATUS(CheckCommRes("{\"server_list\":[{\"server_id\":\"a\",\"device\":[{\"device_id\":\"0\"}]},"
                            "{\"server_id\":\"b\",\"device\":[{\"device_id\":\"3\"}]}],\"version\":\"1.0\"}",
                            "local", 0, why),
               LLM_PARAM_INVALID);
  for (const char *bad : {"mock", "{", "", "[]", "{\"version\":\"1.3\",\"server_list\":[]}",
                          "{\"version\":\"1.9\",\"server_list\":[]}", "{\"version\":1.0,\"server_list\":[]}",
                          "{\"version\":\"1.0\"}", "{\"version\":\"1.0\",\"server_list\":{}}",
                          "{\"version\":\"1.0\",\"server_list\":[{\"device\":[]}]}",
                          "{\"version\":\"1.0\",\"server_list\":[{\"device\":[{\"device_id\":\"0\"},{\"device_id\":\"1\"}]}]}"}) {
    CHECK_STATUS(CheckCommRes(bad, "peer", -1, why), LLM_PARAM_INVALID);
  }
  CHECK_STATUS(CheckCommRes("{\"version\":\"1.0\",\"server_list\":[]}", "peer", -1, why), LLM_SUCCESS);
  // Our own value must name our device at least once (docs/compat.md, choices: A7).
  CHECK_STATUS(CheckCommRes("{\"version\":\"1.0\",\"server_list\":[]}", "local", 0, why), LLM_PARAM_INVALID);
  // At most 64 KiB.
  std::string big = good;
  big.insert(big.size() - 1U, ",\"pad\":\"" + std::string(kMaxCommResBytes, 'x') + "\"");
  CHECK_STATUS(CheckCommRes(big, "local", 0, why), LLM_PARAM_INVALID);
}

DD_TEST(A19_hixl_checks_local_comm_res_and_global_resource_config_at_initialize) {
  const uint16_t port = FreePort();
  const auto hixl = [&](std::map<std::string, std::string> extra) {
    extra["llm.TransferBackend"] = "hixl";
    extra["llm.ListenIpInfo"] = Loopback(port);
    extra["llm.DeviceId"] = "0";
    return InitWith(extra);
  };
  CHECK_STATUS(hixl({}), LLM_SUCCESS);
  CHECK_STATUS(hixl({{"llm.LocalCommRes", "mock"}}), LLM_PARAM_INVALID);
  CHECK_STATUS(hixl({{"llm.LocalCommRes", "{\"version\":\"1.3\"}"}}), LLM_SUCCESS);
  CHECK_STATUS(hixl({{"llm.LocalCommRes", "[1]"}}), LLM_SUCCESS);
  CHECK_STATUS(hixl({{"llm.GlobalResourceConfig", "not_json"}}), LLM_PARAM_INVALID);
  CHECK_STATUS(hixl({{"llm.GlobalResourceConfig", "[]"}}), LLM_PARAM_INVALID);
  CHECK_STATUS(hixl({{"llm.GlobalResourceConfig", ""}}), LLM_SUCCESS);
  CHECK_STATUS(hixl({{"llm.GlobalResourceConfig", "{\"unknown\":1}"}}), LLM_SUCCESS);
  const struct {
    const char *config;
    Status expected;
  } cases[] = {
      {"{\"fabric_memory.max_capacity\":1024}", LLM_SUCCESS},
      {"{\"fabric_memory.max_capacity\":\"12\"}", LLM_SUCCESS},
      {"{\"fabric_memory.max_capacity\":0}", LLM_PARAM_INVALID},
      {"{\"fabric_memory.max_capacity\":1025}", LLM_PARAM_INVALID},
      {"{\"fabric_memory.max_capacity\":1.5}", LLM_PARAM_INVALID},
      {"{\"fabric_memory.max_capacity\":\"-1\"}", LLM_PARAM_INVALID},
      {"{\"fabric_memory\":{\"max_capacity\":2000}}", LLM_PARAM_INVALID},
      {"{\"fabric_memory\":{\"start_address\":0}}", LLM_SUCCESS},
      {"{\"fabric_memory.start_address\":1025}", LLM_PARAM_INVALID},
      {"{\"fabric_memory.task_stream_num\":1}", LLM_SUCCESS},
      {"{\"fabric_memory.task_stream_num\":2}", LLM_PARAM_INVALID},
      {"{\"fabric_memory.task_stream_num\":2,\"fabric_memory.enable_aicpu_unfold\":false}", LLM_SUCCESS},
      {"{\"fabric_memory.task_stream_num\":2,\"fabric_memory.enable_aicpu_unfold\":\"false\"}", LLM_PARAM_INVALID},
      {"{\"fabric_memory.task_stream_num\":9,\"fabric_memory.enable_aicpu_unfold\":false}", LLM_PARAM_INVALID},
      {"{\"connect_pool.thread_num\":64}", LLM_SUCCESS},
      {"{\"connect_pool.thread_num\":65}", LLM_PARAM_INVALID},
      {"{\"connect_pool.task_queue_capacity\":65536}", LLM_PARAM_INVALID},
      {"{\"comm_resource_config.listen_port\":0}", LLM_PARAM_INVALID},
      {"{\"comm_resource_config.qos\":7}", LLM_SUCCESS},
      {"{\"comm_resource_config.qos\":8}", LLM_PARAM_INVALID},
      {"{\"comm_resource_config.max_active_channels\":0}", LLM_PARAM_INVALID},
      {"{\"comm_resource_config.protocol_desc\":[\"roce\"]}", LLM_SUCCESS},
      {"{\"comm_resource_config.protocol_desc\":[1]}", LLM_PARAM_INVALID},
      {"{\"comm_resource_config.protocol_desc\":5}", LLM_PARAM_INVALID},
      {"{\"local_comm_res_path\":\"\"}", LLM_PARAM_INVALID},
      {"{\"local_comm_res_path\":\"/nonexistent/dd-comm-res.json\"}", LLM_PARAM_INVALID},
      // The comm (ADXL) engine's channel pool.
      {"{\"channel_pool.high_waterline\":0.8,\"channel_pool.low_waterline\":0.2}", LLM_SUCCESS},
      {"{\"channel_pool.high_waterline\":1.0}", LLM_PARAM_INVALID},
      {"{\"channel_pool.high_waterline\":\"0.5\"}", LLM_PARAM_INVALID},
      {"{\"channel_pool.max_channel\":10}", LLM_PARAM_INVALID},
      {"{\"channel_pool.high_waterline\":0.8,\"channel_pool.low_waterline\":0.2,\"channel_pool.max_channel\":513}",
       LLM_PARAM_INVALID},
      {"{\"channel_pool.high_waterline\":0.6,\"channel_pool.low_waterline\":0.5,\"channel_pool.max_channel\":2}",
       LLM_PARAM_INVALID},
      {"{\"channel_pool.high_waterline\":0.5,\"channel_pool.low_waterline\":0.4,\"channel_pool.max_channel\":2}",
       LLM_SUCCESS},
      // HIXL-CS (selected by protocol_desc) does not look at the channel pool.
      {"{\"comm_resource_config.protocol_desc\":\"roce\",\"channel_pool.high_waterline\":1.0}", LLM_SUCCESS},
  };
  for (const auto &c : cases) {
    const Status got = hixl({{"llm.GlobalResourceConfig", c.config}});
    if (got != c.expected) {
      RecordFailure(__FILE__, __LINE__, std::string("GlobalResourceConfig ") + c.config + " gave " + StatusText(got));
    }
  }
  // local_comm_res_path: a regular file whose contents become LocalCommRes.
  char path[] = "/tmp/dd-comm-res-XXXXXX";
  const int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  const std::string contents = "{\"version\":\"1.3\"}";
  REQUIRE(::write(fd, contents.data(), contents.size()) == static_cast<ssize_t>(contents.size()));
  ::close(fd);
  CHECK_STATUS(hixl({{"llm.GlobalResourceConfig", std::string("{\"local_comm_res_path\":\"") + path + "\"}"}}),
               LLM_SUCCESS);
  std::ofstream(path) << "not json";
  CHECK_STATUS(hixl({{"llm.GlobalResourceConfig", std::string("{\"local_comm_res_path\":\"") + path + "\"}"}}),
               LLM_PARAM_INVALID);
  ::unlink(path);
  // RDMA traffic class 0..255 and a multiple of 4, service level 0..7.
  CHECK_STATUS(hixl({{"llm.RdmaTrafficClass", "132"}}), LLM_SUCCESS);
  CHECK_STATUS(hixl({{"llm.RdmaTrafficClass", "3"}}), LLM_PARAM_INVALID);
  CHECK_STATUS(hixl({{"llm.RdmaTrafficClass", "256"}}), LLM_PARAM_INVALID);
  CHECK_STATUS(hixl({{"llm.RdmaServiceLevel", "8"}}), LLM_PARAM_INVALID);
  CHECK_STATUS(hixl({{"llm.RdmaTrafficClass", " +8"}}), LLM_SUCCESS);
  // local_comm_res_path is read (and checked) only when llm.LocalCommRes is empty.
  CHECK_STATUS(hixl({{"llm.GlobalResourceConfig", "{\"local_comm_res_path\":\"\"}"}, {"llm.LocalCommRes", "{}"}}),
               LLM_SUCCESS);
  // The default backend reads none of this.
  CHECK_STATUS(InitWith({{"llm.DeviceId", "0"}, {"llm.GlobalResourceConfig", "not_json"}, {"llm.RdmaTrafficClass", "3"}}),
               LLM_SUCCESS);
}

DD_TEST(A28_D13_pass_through_keys_are_checked_as_v2_does) {
  CHECK_STATUS(InitWith({{"llm.DeviceId", "0"},
                         {"llm.MemPoolConfig", "{\"memory_size\":1024,\"page_shift\":16}"},
                         {"llm.HostMemPoolConfig", "{\"memory_size\":1024}"},
                         {"ge.session_device_id", "0"},
                         {"llm.RdmaTrafficClass", "4294967295"},
                         {"llm.RdmaServiceLevel", "9"},
                         {"llm.LinkRetryCount", "100"},
                         {"some.vendor.Key", "anything"}}),
               LLM_SUCCESS);
  for (const char *bad : {"{", "[]", "{\"page_shift\":16}", "{\"memory_size\":-1}", "{\"memory_size\":\"1\"}",
                          "{\"memory_size\":1,\"page_shift\":9}", "{\"memory_size\":1,\"page_shift\":31}",
                          "{\"memory_size\":18446744073709551615}",
                          "{\"memory_size\":9223372036854775807,\"page_shift\":10}"}) {
    CHECK_STATUS(InitWith({{"llm.DeviceId", "0"}, {"llm.MemPoolConfig", bad}}), LLM_PARAM_INVALID);
    CHECK_STATUS(InitWith({{"llm.DeviceId", "0"}, {"llm.HostMemPoolConfig", bad}}), LLM_PARAM_INVALID);
  }
  CHECK_STATUS(InitWith({{"llm.DeviceId", "0"}, {"llm.RdmaTrafficClass", "x"}}), LLM_PARAM_INVALID);
  CHECK_STATUS(InitWith({{"llm.DeviceId", "0"}, {"llm.RdmaTrafficClass", "-1"}}), LLM_PARAM_INVALID);
  CHECK_STATUS(InitWith({{"llm.DeviceId", "0"}, {"llm.RdmaTrafficClass", ""}}), LLM_PARAM_INVALID);
  CHECK_STATUS(InitWith({{"llm.DeviceId", "0"}, {"llm.RdmaTrafficClass", " +7"}}), LLM_SUCCESS);
  CHECK_STATUS(InitWith({{"llm.DeviceId", "0"}, {"llm.RdmaServiceLevel", "4294967296"}}), LLM_PARAM_INVALID);
  CHECK_STATUS(InitWith({{"llm.DeviceId", "0"}, {"llm.LinkRetryCount", "0"}}), LLM_PARAM_INVALID);
  CHECK_STATUS(InitWith({{"llm.DeviceId", "0"}, {"llm.LinkRetryCount", "101"}}), LLM_PARAM_INVALID);
  EngineOptions parsed;
  REQUIRE_STATUS(ParseEngineOptions(EngineOptionsFor(0, {{"some.vendor.Key", "anything"}}), parsed), LLM_SUCCESS);
  CHECK_EQ(parsed.raw.at("some.vendor.Key"), std::string("anything"));
}

DD_TEST(A28_internal_listen_keys_bypass_listen_ip_info) {
  CHECK_STATUS(InitWith({{"llm.DeviceId", "0"}, {"llm.ListenPort", "26000"}}), LLM_PARAM_INVALID);
  CHECK_STATUS(InitWith({{"llm.DeviceId", "0"}, {"llm.ListenIp", "127.0.0.1"}}), LLM_SUCCESS);  // no port: no listener
  const uint16_t port = FreePort();
  LlmDataDist engine(1, LlmRole::kPrompt);
  REQUIRE_STATUS(engine.Initialize(EngineOptionsFor(0, {{"llm.ListenIp", "127.0.0.1"},
                                                         {"llm.ListenPort", std::to_string(port)}})),
                 LLM_SUCCESS);
  CHECK(CanConnect(port));
  // ListenIpInfo, when given, is what counts.
  LlmDataDist other(2, LlmRole::kPrompt);
  const uint16_t info_port = FreePort();
  REQUIRE_STATUS(other.Initialize(EngineOptionsFor(info_port, {{"llm.ListenIp", "127.0.0.1"},
                                                                 {"llm.ListenPort", std::to_string(port)}})),
                 LLM_SUCCESS);
  CHECK(CanConnect(info_port));
}

DD_TEST(D12_own_options_are_validated) {
  CHECK_STATUS(InitWith({{"llm.DeviceId", "0"}, {"dd.DataPath", "udp"}}), LLM_PARAM_INVALID);
  CHECK_STATUS(InitWith({{"llm.DeviceId", "0"}, {"dd.DataPth", "tcp"}}), LLM_PARAM_INVALID);
  CHECK_STATUS(InitWith({{"llm.DeviceId", "0"}, {"dd.HeartbeatIntervalMs", "5"}}), LLM_PARAM_INVALID);
  CHECK_STATUS(InitWith({{"llm.DeviceId", "0"}, {"dd.MaxLinks", "0"}}), LLM_PARAM_INVALID);
  CHECK_STATUS(InitWith({{"llm.DeviceId", "0"}, {"dd.MaxLinks", "x"}}), LLM_PARAM_INVALID);
  CHECK_STATUS(InitWith({{"llm.DeviceId", "0"}, {"dd.DataPath", "tcp"}, {"dd.HeartbeatIntervalMs", "50"},
                         {"dd.MaxLinks", "3"}}),
               LLM_SUCCESS);
  EngineOptions parsed;
  REQUIRE_STATUS(ParseEngineOptions(EngineOptionsFor(0, {{"dd.DataPath", "tcp"}}), parsed), LLM_SUCCESS);
  REQUIRE_STATUS(ParseDataCacheOptions(parsed), LLM_SUCCESS);
  CHECK(parsed.tcp_only);
  CHECK_EQ(parsed.max_links, kDefaultMaxLinks);
  REQUIRE_STATUS(ParseEngineOptions(EngineOptionsFor(0, {{"dd.DataPath", "auto"}, {"dd.MaxLinks", "7"}}), parsed),
                 LLM_SUCCESS);
  REQUIRE_STATUS(ParseDataCacheOptions(parsed), LLM_SUCCESS);
  CHECK(!parsed.tcp_only);
  CHECK_EQ(parsed.max_links, 7U);
  // Checked after the listener started: an address in use wins with FAILED.
  const uint16_t port = FreePort();
  LlmDataDist holder(1, LlmRole::kPrompt);
  REQUIRE_STATUS(holder.Initialize(EngineOptionsFor(port)), LLM_SUCCESS);
  CHECK_STATUS(InitWith({{"llm.DeviceId", "0"}, {"llm.ListenIpInfo", Loopback(port)}, {"dd.MaxLinks", "0"}}), LLM_FAILED);
}

DD_TEST(A17_set_role_checks_in_order_and_moves_the_listener) {
  TestEngine e(1, true);
  REQUIRE_STATUS(e.init_status, LLM_SUCCESS);
  CHECK_STATUS(e.engine->SetRole(LlmRole::kEnd, EngineOptionsFor(0, {{"llm.ListenIpInfo", "1.2.3:4"}})),
               LLM_PARAM_INVALID);
  CHECK(DetailHas("role"));
  CHECK_STATUS(e.engine->SetRole(LlmRole::kDecoder, EngineOptionsFor(0, {{"llm.ListenIpInfo", "1.2.3:4"}})),
               LLM_PARAM_INVALID);
  CHECK(CanConnect(e.port));
  // Same port: no change, even with another IP.
  CHECK_STATUS(e.engine->SetRole(LlmRole::kDecoder, EngineOptionsFor(0, {{"llm.ListenIpInfo", "127.0.0.2:" + std::to_string(e.port)}})),
               LLM_SUCCESS);
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
  // A new listener that cannot start: FAILED, and the old one is already gone.
  LlmDataDist holder(2, LlmRole::kPrompt);
  const uint16_t taken = FreePort();
  REQUIRE_STATUS(holder.Initialize(EngineOptionsFor(taken)), LLM_SUCCESS);
  CHECK_STATUS(e.engine->SetRole(LlmRole::kPrompt, EngineOptionsFor(taken)), LLM_FAILED);
  CHECK(!CanConnect(moved));
}

DD_TEST(A17_hixl_set_role_keeps_the_listener) {
  TestEngine hixl(1, true, {{"llm.TransferBackend", "hixl"}});
  REQUIRE_STATUS(hixl.init_status, LLM_SUCCESS);
  CHECK_STATUS(hixl.engine->SetRole(LlmRole::kDecoder, EngineOptionsFor(FreePort())), LLM_FEATURE_NOT_ENABLED);
  CHECK_STATUS(hixl.engine->SetRole(LlmRole::kDecoder,
                                    EngineOptionsFor(0, {{"llm.ListenIpInfo", "127.0.0.2:" + std::to_string(hixl.port)}})),
               LLM_FEATURE_NOT_ENABLED);
  CHECK_STATUS(hixl.engine->SetRole(LlmRole::kDecoder, EngineOptionsFor(0, {{"llm.ListenIpInfo", "x"}})),
               LLM_PARAM_INVALID);
  CHECK_STATUS(hixl.engine->SetRole(LlmRole::kDecoder, EngineOptionsFor(hixl.port)), LLM_SUCCESS);
  // An absent ListenIpInfo does not stop listening.
  CHECK_STATUS(hixl.engine->SetRole(LlmRole::kDecoder, {}), LLM_SUCCESS);
  CHECK(CanConnect(hixl.port));
}

DD_TEST(A22_A13_register_validates_in_order_and_consumes_ids_after_the_rank_check) {
  TestEngine e(1, false);
  REQUIRE_STATUS(e.init_status, LLM_SUCCESS);
  HostCache cache(2, 4, 16);
  int64_t id = -1;
  CacheDesc desc = cache.Desc();
  const auto with_shape = [&](std::vector<int64_t> shape) {
    CacheDesc d = desc;
    d.shape = std::move(shape);
    return e.engine->RegisterKvCache(d, cache.Addrs(), RegisterCfg{}, id);
  };
  // Checks before the id is taken.
  CHECK_STATUS(e.engine->RegisterKvCache(desc, {}, RegisterCfg{}, id), LLM_PARAM_INVALID);
  CHECK_STATUS(e.engine->RegisterKvCache(desc, {cache.Addrs()[0]}, RegisterCfg{}, id), LLM_PARAM_INVALID);
  CHECK_STATUS(e.engine->RegisterKvCache(desc, {cache.Addrs()[0], 0}, RegisterCfg{}, id), LLM_PARAM_INVALID);
  CHECK_STATUS(with_shape({}), LLM_PARAM_INVALID);
  CHECK_STATUS(with_shape(std::vector<int64_t>(32, 1)), LLM_PARAM_INVALID);
  REQUIRE_STATUS(with_shape(std::vector<int64_t>(31, 1)), LLM_SUCCESS);
  CHECK_EQ(id, 1);
  // Checks after it: each failure uses one id up.
  CHECK_STATUS(with_shape({4, 0}), LLM_PARAM_INVALID);          // id 2
  CHECK_STATUS(with_shape({-4, 16}), LLM_PARAM_INVALID);        // id 3
  CHECK_STATUS(with_shape({INT64_MAX, 2}), LLM_PARAM_INVALID);  // id 4
  int consumed = 3;
  for (const int bad_type : {static_cast<int>(DT_UNDEFINED), 5, 42, 43, 44, -1, 1000}) {
    CacheDesc d = desc;
    // As the C shim would: any int32 lands in the field.
    const int32_t raw = bad_type;
    std::memcpy(&d.data_type, &raw, sizeof(raw));
    CHECK_STATUS(e.engine->RegisterKvCache(d, cache.Addrs(), RegisterCfg{}, id), LLM_PARAM_INVALID);
    ++consumed;
  }
  CHECK(DetailHas("RegisterKvCache: "));
  REQUIRE_STATUS(e.engine->RegisterKvCache(desc, cache.Addrs(), RegisterCfg{}, id), LLM_SUCCESS);
  CHECK_EQ(id, 2 + consumed);
}

DD_TEST(A22_hixl_refuses_a_partially_overlapping_range_and_uses_its_id) {
  TestEngine e(1, true, {{"llm.TransferBackend", "hixl"}});
  REQUIRE_STATUS(e.init_status, LLM_SUCCESS);
  std::vector<uint8_t> memory(256);
  const auto base = reinterpret_cast<uintptr_t>(memory.data());
  CacheDesc desc;
  desc.placement = CachePlacement::kHost;  // host memory (kDevice takes aclrtMalloc memory, A22)
  desc.num_tensors = 1;
  desc.data_type = DT_INT8;
  desc.shape = {128};
  int64_t id = -1;
  REQUIRE_STATUS(e.engine->RegisterKvCache(desc, {base}, RegisterCfg{}, id), LLM_SUCCESS);
  CHECK_STATUS(e.engine->RegisterKvCache(desc, {base + 64}, RegisterCfg{}, id), LLM_PARAM_INVALID);
  CHECK_STATUS(e.engine->RegisterKvCache(desc, {base}, RegisterCfg{}, id), LLM_SUCCESS);
  CHECK_EQ(id, 3);
  // The default backend registers overlapping ranges.
  TestEngine plain(2, false);
  REQUIRE_STATUS(plain.engine->RegisterKvCache(desc, {base}, RegisterCfg{}, id), LLM_SUCCESS);
  CHECK_STATUS(plain.engine->RegisterKvCache(desc, {base + 64}, RegisterCfg{}, id), LLM_SUCCESS);
}

DD_TEST(A22_any_placement_but_kDevice_registers_host_memory) {
  TestEngine e(1, false);
  HostCache cache(2, 4, 16);
  int64_t id = -1;
  CacheDesc desc = cache.Desc();
  desc.placement = static_cast<CachePlacement>(7);
  CHECK_STATUS(e.engine->RegisterKvCache(desc, cache.Addrs(), RegisterCfg{}, id), LLM_SUCCESS);
  CHECK_EQ(id, 1);
}

DD_TEST(A22_kDevice_registers_only_aclrtMalloc_memory) {
  REQUIRE(ddtest::UseAclDevice(0));
  TestEngine e(1, false);
  HostCache host(2, 4, 16);
  int64_t id = -1;
  // Host memory is no device memory: the memory registration fails (FAILED), after the id is taken.
  CHECK_STATUS(e.engine->RegisterKvCache(host.Desc(CachePlacement::kDevice), host.Addrs(), RegisterCfg{}, id), LLM_FAILED);
  CHECK(DetailHas("tensor 0") && DetailHas("is not memory from aclrtMalloc"));
  // One tensor of device memory, one of host memory: the second fails, nothing stays registered.
  ddtest::DeviceBuffers device(2, 64);
  std::vector<uint64_t> mixed = {device.addrs[0], host.Addrs()[1]};
  CHECK_STATUS(e.engine->RegisterKvCache(host.Desc(CachePlacement::kDevice), mixed, RegisterCfg{}, id), LLM_FAILED);
  CHECK(DetailHas("tensor 1"));
  // Page-locked host memory is host memory.
  void *pinned = nullptr;
  REQUIRE(aclrtMallocHost(&pinned, 64) == ACL_SUCCESS);
  const std::vector<uint64_t> pinned_addrs = {device.addrs[0], reinterpret_cast<uintptr_t>(pinned)};
  CHECK_STATUS(e.engine->RegisterKvCache(host.Desc(CachePlacement::kDevice), pinned_addrs, RegisterCfg{}, id), LLM_FAILED);
  CHECK(DetailHas("aclrtMallocHost"));
  // A tensor that runs past its allocation (64 bytes per tensor, 32 allocated from the base + 32).
  const std::vector<uint64_t> past = {device.addrs[0] + 32U, device.addrs[1]};
  CHECK_STATUS(e.engine->RegisterKvCache(host.Desc(CachePlacement::kDevice), past, RegisterCfg{}, id), LLM_FAILED);
  CHECK(DetailHas("runs past the end"));
  // aclrtMalloc memory registers, as kDevice and as kHost (any memory is host memory to register).
  CHECK_STATUS(e.engine->RegisterKvCache(host.Desc(CachePlacement::kDevice), device.addrs, RegisterCfg{}, id), LLM_SUCCESS);
  CHECK_EQ(id, 5);  // ids 1..4 went to the failed registrations (A13)
  CHECK_STATUS(e.engine->RegisterKvCache(host.Desc(CachePlacement::kHost), device.addrs, RegisterCfg{}, id), LLM_SUCCESS);
  CHECK_STATUS(e.engine->RegisterKvCache(host.Desc(CachePlacement::kHost), pinned_addrs, RegisterCfg{}, id), LLM_SUCCESS);
  REQUIRE_STATUS(e.engine->UnregisterKvCache(5), LLM_SUCCESS);
  REQUIRE_STATUS(e.engine->UnregisterKvCache(6), LLM_SUCCESS);
  REQUIRE_STATUS(e.engine->UnregisterKvCache(7), LLM_SUCCESS);
  CHECK_EQ(aclrtFreeHost(pinned), ACL_SUCCESS);
}

DD_TEST(D3_a_zero_byte_row_is_refused_and_uses_its_id) {
  TestEngine e(1, false);
  std::vector<uint8_t> memory(16);
  int64_t id = -1;
  CacheDesc desc;
  desc.placement = CachePlacement::kHost;  // host memory (kDevice takes aclrtMalloc memory, A22)
  desc.num_tensors = 1;
  desc.data_type = DT_INT4;
  desc.shape = {2, 1};  // 8 bits over 2 rows: rows of less than a byte
  CHECK_STATUS(e.engine->RegisterKvCache(desc, {reinterpret_cast<uintptr_t>(memory.data())}, RegisterCfg{}, id),
               LLM_PARAM_INVALID);
  desc.shape = {2, 2};
  CHECK_STATUS(e.engine->RegisterKvCache(desc, {reinterpret_cast<uintptr_t>(memory.data())}, RegisterCfg{}, id),
               LLM_SUCCESS);
  CHECK_EQ(id, 2);
}

DD_TEST(A6_D5_cache_table_above_1_MiB_is_refused_and_leaves_nothing) {
  TestEngine e(1, false);
  std::vector<uint8_t> memory(16);
  // 64 + 8·65536 bytes per cache: the second one would pass 1 MiB with the 24-byte header.
  CacheDesc desc;
  desc.placement = CachePlacement::kHost;  // host memory (kDevice takes aclrtMalloc memory, A22)
  desc.num_tensors = 65536;
  desc.data_type = DT_UINT8;
  desc.shape = {1, 1};
  const std::vector<uint64_t> addrs(65536, reinterpret_cast<uintptr_t>(memory.data()));
  int64_t id = -1;
  REQUIRE_STATUS(e.engine->RegisterKvCache(desc, addrs, RegisterCfg{}, id), LLM_SUCCESS);
  CHECK_EQ(id, 1);
  CHECK_STATUS(e.engine->RegisterKvCache(desc, addrs, RegisterCfg{}, id), LLM_PARAM_INVALID);
  CHECK(DetailHas("cache table"));
  // A small one still fits; the failed registration used id 2.
  HostCache small(1, 1, 16);
  CHECK_EQ(Register(*e.engine, small), 3);
  REQUIRE_STATUS(e.engine->UnregisterKvCache(1), LLM_SUCCESS);
  CHECK_STATUS(e.engine->RegisterKvCache(desc, addrs, RegisterCfg{}, id), LLM_SUCCESS);
  CHECK_EQ(id, 4);
}

DD_TEST(B35_register_ids_start_at_1_and_the_same_memory_may_register_twice) {
  TestEngine e(1, false);
  REQUIRE_STATUS(e.init_status, LLM_SUCCESS);
  HostCache cache(2, 4, 16);
  RegisterCfg cfg;
  std::memset(cfg.reserved, 0xAB, sizeof(cfg.reserved));  // cfg is ignored
  int64_t id = -1;
  CHECK_STATUS(e.engine->RegisterKvCache(cache.Desc(), cache.Addrs(), cfg, id), LLM_SUCCESS);
  CHECK_EQ(id, 1);
  CHECK_STATUS(e.engine->RegisterKvCache(cache.Desc(), cache.Addrs(), cfg, id), LLM_SUCCESS);
  CHECK_EQ(id, 2);
  CHECK_STATUS(e.engine->UnregisterKvCache(1), LLM_SUCCESS);
  CHECK_STATUS(e.engine->UnregisterKvCache(1), LLM_SUCCESS);   // unknown id: success
  CHECK_STATUS(e.engine->UnregisterKvCache(999), LLM_SUCCESS);
  CHECK_STATUS(e.engine->UnregisterKvCache(0), LLM_SUCCESS);
  CHECK_STATUS(e.engine->UnregisterKvCache(-5), LLM_SUCCESS);
  CHECK_STATUS(e.engine->RegisterKvCache(cache.Desc(), cache.Addrs(), cfg, id), LLM_SUCCESS);
  CHECK_EQ(id, 3);  // ids are never reused
}

DD_TEST(B35_element_sizes_follow_ge) {
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
  CHECK_EQ(bytes(DT_INT4, {1, 3}), 2);    // 12 bits → 2 bytes
  CHECK_EQ(bytes(DT_UINT1, {1, 9}), 2);   // 9 bits → 2 bytes
  CHECK_EQ(bytes(DT_INT2, {1, 4}), 1);
  CHECK_EQ(bytes(DT_FLOAT6_E3M2, {1, 4}), 3);
  CHECK_EQ(bytes(DT_FLOAT4_E1M2, {1, 5}), 3);
  CHECK_EQ(bytes(DT_INT4, {3}), -1);      // D3: three rows of a 2-byte tensor
  CHECK_EQ(bytes(DT_UNDEFINED, {1}), -1);
  CacheGeometry g;
  REQUIRE_STATUS(BuildGeometry(0, 2, DT_INT32, {8, 16}, g), LLM_SUCCESS);
  CHECK_EQ(g.rows, 8U);
  CHECK_EQ(g.stride, 64U);  // bytes per block per tensor
}

DD_TEST(A18_B310_pull_layer_ranges_follow_the_upstream_matrix) {
  PullTensors t;
  const auto select = [&](const KvCacheExtParam &ext, uint32_t remote, uint32_t local) {
    const Status status = SelectLocalPullTensors(ext, local, t);
    return status != LLM_SUCCESS ? status : SelectRemotePullTensors(ext, remote, t);
  };
  // 10 tensors, as in the upstream tests.
  CHECK_STATUS(select(Ext(0, 1, 0, 1, 1), 10, 10), LLM_SUCCESS);
  CHECK(t.src.first == 0 && t.src.count == 2 && t.dst.first == 0 && t.dst.count == 2);
  CHECK_STATUS(select(Ext(2, 3, 1, 2, 2), 10, 10), LLM_SUCCESS);
  CHECK(t.src.first == 4 && t.src.count == 4 && t.dst.first == 2 && t.dst.count == 4);
  CHECK_STATUS(select(Ext(0, 0, 0, 0, 7), 10, 10), LLM_PARAM_INVALID);
  CHECK_STATUS(select(Ext(0, 0, 0, 0, 17), 10, 10), LLM_PARAM_INVALID);
  CHECK_STATUS(select(Ext(0, 1, 0, 2, 2), 10, 10), LLM_PARAM_INVALID);
  CHECK_STATUS(select(Ext(4, 5, 4, 5, 2), 10, 10), LLM_PARAM_INVALID);
  CHECK_STATUS(select(Ext(4, 4, 4, 4, 2), 10, 10), LLM_SUCCESS);
  CHECK(t.src.first == 8 && t.src.count == 2);
  CHECK_STATUS(ValidateExtParam(Ext(-2, 0, 0, 0, 2)), LLM_PARAM_INVALID);
  CHECK_STATUS(ValidateExtParam(Ext(0, -2, 0, 0, 2)), LLM_PARAM_INVALID);
  CHECK_STATUS(ValidateExtParam(Ext(0, 0, 2, 1, 2)), LLM_PARAM_INVALID);
  CHECK_STATUS(ValidateExtParam(Ext(-1, -1, -1, -1, 0)), LLM_PARAM_INVALID);
  CHECK_STATUS(ValidateExtParam(Ext(-1, 3, -1, -1, 2)), LLM_SUCCESS);
  // Only one range start ≥ 0: both ranges are dropped, every tensor is used, the counts must match.
  CHECK_STATUS(select(Ext(0, 0, -1, -1, 2), 10, 10), LLM_SUCCESS);
  CHECK(!t.ranged && t.src.first == 0 && t.src.count == 10 && t.dst.count == 10);
  CHECK_STATUS(select(Ext(-1, -1, -1, -1, 3), 10, 10), LLM_SUCCESS);
  CHECK_STATUS(select(Ext(-1, -1, -1, -1, 2), 10, 8), LLM_PARAM_INVALID);
  // Step 9 checks the local side only: local N % T, dst layers, equal lengths.
  CHECK_STATUS(SelectLocalPullTensors(Ext(0, 0, 0, 0, 3), 10, t), LLM_PARAM_INVALID);
  CHECK_STATUS(SelectLocalPullTensors(Ext(9, 9, 0, 0, 2), 10, t), LLM_SUCCESS);
  // V2 does not check the remote N % T; D2 keeps the src layers inside the remote cache.
  CHECK_STATUS(select(Ext(0, 1, 0, 1, 2), 5, 4), LLM_SUCCESS);
  CHECK_STATUS(select(Ext(2, 2, 0, 0, 2), 5, 4), LLM_PARAM_INVALID);
}

DD_TEST(A2_push_walks_layers_from_the_callers_num_tensors) {
  std::vector<PushLayer> layers;
  // T divides N_c: maxL = N/T - 1.
  PlanPushLayers(Ext(-1, -1, -1, -1, 2), 8, layers);
  REQUIRE(layers.size() == 4U);
  CHECK(layers[3].src == 3 && layers[3].dst == 3);
  // Remainder: maxL = N/T (the extra layer fails its per-layer check, A3 step 9).
  PlanPushLayers(Ext(-1, -1, -1, -1, 3), 8, layers);
  CHECK_EQ(layers.size(), 3U);
  // Fewer tensors than T: one layer.
  PlanPushLayers(Ext(-1, -1, -1, -1, 4), 3, layers);
  CHECK_EQ(layers.size(), 1U);
  // dst_layer_range is ignored without a src range.
  PlanPushLayers(Ext(-1, 1, 5, 7, 2), 4, layers);
  REQUIRE(layers.size() == 2U);
  CHECK(layers[0].dst == 0 && layers[1].dst == 1);
  // An explicit range maps onto the dst range.
  PlanPushLayers(Ext(2, 3, 0, 1, 1), 0, layers);
  REQUIRE(layers.size() == 2U);
  CHECK(layers[0].src == 2 && layers[0].dst == 0 && layers[1].src == 3 && layers[1].dst == 1);
  // dst first = -1 with src first ≥ 0: the first dst layer is out of range.
  PlanPushLayers(Ext(0, 0, -1, -1, 1), 0, layers);
  REQUIRE(layers.size() == 1U);
  CHECK(layers[0].dst == -1);
}

DD_TEST(B38_block_runs_merge_only_where_both_sides_step_by_one) {
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

DD_TEST(json_values_parse_as_rfc_8259) {
  JsonValue v;
  std::string why;
  REQUIRE(ParseJson("{\"version\":\"1.3\",\"x\":[1,-2.5e3,true,null,{\"y\":\"\\u00e9\\ud83d\\ude00\"}],\"x\":7}", v, why));
  CHECK(v.IsObject());
  CHECK_EQ(v.Find("version")->text, std::string("1.3"));
  int64_t n = 0;
  CHECK(v.Find("x")->AsInt64(n) && n == 7);  // the last of a repeated key
  CHECK_EQ(v.members[1].second.items[4].Find("y")->text, std::string("\xc3\xa9\xf0\x9f\x98\x80"));
  CHECK(!v.members[1].second.items[1].AsInt64(n));
  for (const char *bad : {"", "{", "[]]", "{\"a\":}", "{\"a\":1,}", "{'a':1}", "01", "1.", "\"\\x\"", "{} x", "nul"}) {
    CHECK(!ParseJson(bad, v, why));
  }
  CHECK(!ParseJson(std::string(100, '['), v, why));
  CHECK(ParseJson(" 12 ", v, why) && v.AsInt64(n) && n == 12);
}

DD_TEST(B33_ipv4_packs_little_endian) {
  uint32_t packed = 0;
  REQUIRE(ParseIpv4("1.2.3.4", packed));
  CHECK_EQ(packed, 0x04030201U);
  CHECK(!ParseIpv4("1.2.3", packed));
  CHECK(!ParseIpv4("", packed));
  CHECK(!ParseIpv4("::1", packed));
}
