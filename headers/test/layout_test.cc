// Proves that our headers have the documented layouts (facts.md §1.4, g++ LP64).
#include <cstddef>
#include <cstdio>

#include "llm_datadist/llm_datadist.h"
#include "llm_datadist/llm_engine_types.h"

using namespace llm_datadist;

#define DD_OFFSET(T, f, off) static_assert(offsetof(T, f) == (off), #T "." #f " offset")
#define DD_SIZE(T, sz) static_assert(sizeof(T) == (sz), "sizeof(" #T ")")

DD_SIZE(ge::AscendString, 16);
DD_SIZE(ge::Status, 4);
DD_SIZE(ge::DataType, 4);
DD_SIZE(LlmRole, 4);
DD_SIZE(CachePlacement, 4);

DD_OFFSET(IpInfo, ip, 0);
DD_OFFSET(IpInfo, port, 16);
DD_OFFSET(IpInfo, reserved, 18);
DD_SIZE(IpInfo, 152);

DD_OFFSET(ClusterInfo, remote_cluster_id, 0);
DD_OFFSET(ClusterInfo, remote_role_type, 8);
DD_OFFSET(ClusterInfo, local_ip_infos, 16);
DD_OFFSET(ClusterInfo, remote_ip_infos, 40);
DD_OFFSET(ClusterInfo, reserved, 64);
DD_SIZE(ClusterInfo, 192);

DD_OFFSET(CacheIndex, cluster_id, 0);
DD_OFFSET(CacheIndex, cache_id, 8);
DD_OFFSET(CacheIndex, batch_index, 16);
DD_OFFSET(CacheIndex, reserved, 20);
DD_SIZE(CacheIndex, 152);

DD_OFFSET(CacheDesc, placement, 0);
DD_OFFSET(CacheDesc, num_tensors, 4);
DD_OFFSET(CacheDesc, data_type, 8);
DD_OFFSET(CacheDesc, shape, 16);
DD_OFFSET(CacheDesc, reserved, 40);
DD_SIZE(CacheDesc, 168);

DD_OFFSET(Cache, cache_id, 0);
DD_OFFSET(Cache, tensor_addrs, 8);
DD_OFFSET(Cache, cache_desc, 32);
DD_OFFSET(Cache, reserved, 200);
DD_SIZE(Cache, 328);

DD_OFFSET(KvCacheExtParam, src_layer_range, 0);
DD_OFFSET(KvCacheExtParam, dst_layer_range, 8);
DD_OFFSET(KvCacheExtParam, tensor_num_per_layer, 16);
DD_OFFSET(KvCacheExtParam, reserved, 17);
DD_SIZE(KvCacheExtParam, 144);

DD_SIZE(RegisterCfg, 128);

// Values the API documents.
static_assert(static_cast<int>(LlmRole::kEnd) == 4, "kEnd follows kMix");
static_assert(DT_UNDEFINED == 28 && DT_FLOAT4_E1M2 == 41 && DT_BF16 == 27, "DataType values");
static_assert(LLM_WAIT_PROC_TIMEOUT == 1343270913U, "status base");
static_assert(LLM_PARAM_INVALID == ge::LLM_PARAM_INVALID, "both namespaces agree");
static_assert(LLM_OUT_OF_MEMORY == 0x5010B01CU, "last status");
static_assert(kDefaultTensorNumPerLayer == 2U, "default tensors per layer");

// Defaults the API documents.
int main() {
  CacheDesc desc;
  Cache cache;
  KvCacheExtParam ext;
  IpInfo ip;
  ClusterInfo cluster;
  const bool ok = desc.placement == CachePlacement::kDevice && desc.num_tensors == 0 &&
                  desc.data_type == DT_UNDEFINED && cache.cache_id == -1 &&
                  ext.src_layer_range.first == -1 && ext.dst_layer_range.second == -1 &&
                  ext.tensor_num_per_layer == 2 && ip.port == 0 && cluster.remote_cluster_id == 0 &&
                  cluster.remote_role_type == 0;
  std::puts(ok ? "layout_test: 1 passed, 0 failed" : "layout_test: 0 passed, 1 failed");
  return ok ? 0 : 1;
}
