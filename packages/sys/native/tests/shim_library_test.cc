// The shipped library itself (libdd_llm_datadist.so: the generated C ABI shim over the host
// backend), called through its C ABI as koffi calls it. On x64 this repeats what the vitest suites
// check; its point is the arm64 build, which no Node here can load: under qemu-user it proves the
// cross-built library links, reports its identity and moves the right bytes between two engines.
#include <dd_shim.h>

#include <cstring>
#include <string>
#include <vector>

#include "engine_fixture.h"
#include "harness.h"

namespace {
using ddtest::HostCache;
using llm_datadist::LLM_FAILED;
using llm_datadist::LLM_SUCCESS;

std::string LastError() {
  char text[512] = {};
  dd_last_error(text, sizeof(text));
  return text;
}

// An initialized engine through the C ABI, listening on 127.0.0.1:port when port != 0.
struct ShimEngine {
  ShimEngine(uint64_t cluster_id, uint16_t port) {
    REQUIRE(dd_LlmDataDist_create(cluster_id, 1, &handle) == 0U);
    const std::string listen = "127.0.0.1:" + std::to_string(port);
    std::vector<const char *> keys = {"llm.DeviceId"};
    std::vector<const char *> values = {"0"};
    if (port != 0U) {
      keys.push_back("llm.ListenIpInfo");
      values.push_back(listen.c_str());
    }
    CHECK_STATUS(dd_LlmDataDist_Initialize(handle, keys.data(), values.data(), keys.size()), LLM_SUCCESS);
  }
  ~ShimEngine() {
    dd_LlmDataDist_Finalize(handle);
    dd_LlmDataDist_destroy(handle);
  }
  ShimEngine(const ShimEngine &) = delete;
  ShimEngine &operator=(const ShimEngine &) = delete;

  int64_t Register(HostCache &cache) {
    std::vector<int64_t> shape = {static_cast<int64_t>(cache.rows), static_cast<int64_t>(cache.row_bytes)};
    dd_CacheDesc desc{0U, cache.num_tensors, 4 /* DT_UINT8 */, shape.data(), shape.size()};
    const std::vector<uint64_t> addrs = cache.Addrs();
    int64_t id = -1;
    CHECK_STATUS(dd_LlmDataDist_RegisterKvCache(handle, &desc, addrs.data(), addrs.size(), &id), LLM_SUCCESS);
    return id;
  }

  dd_LlmDataDist *handle = nullptr;
};
}  // namespace

DD_TEST(shim_reports_its_identity_and_struct_layouts) {
  CHECK(std::strncmp(dd_shim_version(), "abi-", 4) == 0);
  CHECK(std::strcmp(dd_backend_name(), "host") == 0);
  // The layouts this compiler gives the C structs are the ones the library was built with.
  CHECK_EQ(dd_abi_sizeof_dd_ClusterInfo(), sizeof(dd_ClusterInfo));
  CHECK_EQ(dd_abi_sizeof_dd_CacheDesc(), sizeof(dd_CacheDesc));
  CHECK_EQ(dd_abi_sizeof_dd_Cache(), sizeof(dd_Cache));
  CHECK_EQ(dd_abi_sizeof_dd_KvCacheExtParam(), sizeof(dd_KvCacheExtParam));
  CHECK_EQ(dd_abi_offsetof_dd_ClusterInfo_remote_ip_infos(), offsetof(dd_ClusterInfo, remote_ip_infos));
}

DD_TEST(shim_refuses_before_initialize_with_the_reason) {
  dd_LlmDataDist *handle = nullptr;
  REQUIRE(dd_LlmDataDist_create(7U, 2, &handle) == 0U);
  CHECK_STATUS(dd_LlmDataDist_UnregisterKvCache(handle, 1), LLM_FAILED);
  CHECK(LastError().find("UnregisterKvCache") != std::string::npos);
  dd_LlmDataDist_destroy(handle);
}

DD_TEST(shim_links_two_engines_and_pulls_blocks) {
  const uint16_t port = ddtest::FreePort();
  ShimEngine server(21U, port);
  ShimEngine client(22U, 0U);
  HostCache served(2, 8, 256);
  served.Fill(9);
  HostCache local(2, 8, 256);
  const int64_t served_id = server.Register(served);
  const int64_t local_id = client.Register(local);

  const dd_IpInfo remote{"127.0.0.1", port};
  const dd_IpInfo self{"127.0.0.1", 0};
  const dd_ClusterInfo cluster{21U, 0, &self, 1U, &remote, 1U};
  uint32_t rets[1] = {};
  size_t rets_count = 0;
  REQUIRE_STATUS(dd_LlmDataDist_LinkLlmClusters(client.handle, &cluster, 1U, rets, 1U, &rets_count, 2000), LLM_SUCCESS);
  CHECK_EQ(rets_count, size_t{1});

  const dd_CacheIndex from{21U, served_id, 0U};
  dd_Cache into{};
  into.cache_id = local_id;
  const uint64_t src_blocks[] = {5, 6, 1};
  const uint64_t dst_blocks[] = {0, 1, 7};
  const dd_KvCacheExtParam all_layers{-1, -1, -1, -1, 2};
  REQUIRE_STATUS(dd_LlmDataDist_PullKvBlocks(client.handle, &from, &into, src_blocks, 3U, dst_blocks, 3U, &all_layers),
                 LLM_SUCCESS);
  for (uint32_t t = 0; t < 2; ++t) {
    CHECK(local.RowEquals(t, 0, 9, t, 5));
    CHECK(local.RowEquals(t, 1, 9, t, 6));
    CHECK(local.RowEquals(t, 7, 9, t, 1));
    CHECK(local.RowIsZero(t, 3));
  }
  CHECK_STATUS(dd_LlmDataDist_UnlinkLlmClusters(client.handle, &cluster, 1U, rets, 1U, &rets_count, 2000, false),
               LLM_SUCCESS);
}
