// llm_datadist::LlmDataDist for the host backend: names the call for error details and forwards
// to LlmDataDistImpl.
#include "llm_datadist/llm_datadist.h"

#include "error_detail.h"
#include "link_health.h"
#include "llm_datadist_impl.h"

namespace llm_datadist {
using dd::host::ApiCallScope;
using dd::host::Fail;

LlmDataDist::LlmDataDist(uint64_t cluster_id, LlmRole role)
    : impl_(std::make_unique<LlmDataDistImpl>(cluster_id, role)) {
  dd::host::ListEngine(this, impl_.get());
}

LlmDataDist::~LlmDataDist() { dd::host::UnlistEngine(this); }

Status LlmDataDist::Initialize(const std::map<AscendString, AscendString> &options) {
  ApiCallScope call("Initialize");
  return impl_->Initialize(options);
}

void LlmDataDist::Finalize() {
  ApiCallScope call("Finalize");
  impl_->Finalize();
}

Status LlmDataDist::SetRole(LlmRole role, const std::map<AscendString, AscendString> &options) {
  ApiCallScope call("SetRole");
  return impl_->SetRole(role, options);
}

Status LlmDataDist::LinkLlmClusters(const std::vector<ClusterInfo> &clusters, std::vector<Status> &rets,
                                    int32_t timeout_in_millis) {
  ApiCallScope call("LinkLlmClusters");
  return impl_->LinkLlmClusters(clusters, rets, timeout_in_millis);
}

Status LlmDataDist::UnlinkLlmClusters(const std::vector<ClusterInfo> &clusters, std::vector<Status> &rets,
                                      int32_t timeout_in_millis, bool force_flag) {
  ApiCallScope call("UnlinkLlmClusters");
  return impl_->UnlinkLlmClusters(clusters, rets, timeout_in_millis, force_flag);
}

// The V2 engine has no cache pool: these four always answer FEATURE_NOT_ENABLED, even before
// Initialize (facts §1.6, §3.1).
Status LlmDataDist::AllocateCache(const CacheDesc &, Cache &) {
  ApiCallScope call("AllocateCache");
  return Fail(LLM_FEATURE_NOT_ENABLED, "not available in the V2 engine; register your own memory with RegisterKvCache");
}

Status LlmDataDist::DeallocateCache(int64_t) {
  ApiCallScope call("DeallocateCache");
  return Fail(LLM_FEATURE_NOT_ENABLED, "not available in the V2 engine; use UnregisterKvCache");
}

Status LlmDataDist::CopyKvCache(const Cache &, const Cache &, uint32_t, uint32_t, uint64_t, int64_t) {
  ApiCallScope call("CopyKvCache");
  return Fail(LLM_FEATURE_NOT_ENABLED, "not available in the V2 engine");
}

Status LlmDataDist::CopyKvBlocks(const Cache &, const Cache &, const std::vector<uint64_t> &,
                                 const std::vector<std::vector<uint64_t>> &) {
  ApiCallScope call("CopyKvBlocks");
  return Fail(LLM_FEATURE_NOT_ENABLED, "not available in the V2 engine");
}

Status LlmDataDist::PullKvCache(const CacheIndex &src_cache_index, const Cache &dst_cache, uint32_t batch_index,
                                int64_t size, const KvCacheExtParam &ext_param) {
  ApiCallScope call("PullKvCache");
  return impl_->PullKvCache(src_cache_index, dst_cache, batch_index, size, ext_param);
}

Status LlmDataDist::PullKvBlocks(const CacheIndex &src_cache_index, const Cache &dst_cache,
                                 const std::vector<uint64_t> &src_blocks, const std::vector<uint64_t> &dst_blocks,
                                 const KvCacheExtParam &ext_param) {
  ApiCallScope call("PullKvBlocks");
  return impl_->PullKvBlocks(src_cache_index, dst_cache, src_blocks, dst_blocks, ext_param);
}

Status LlmDataDist::PushKvCache(const Cache &src_cache, const CacheIndex &dst_cache_index, uint32_t src_batch_index,
                                int64_t size, const KvCacheExtParam &ext_param) {
  ApiCallScope call("PushKvCache");
  return impl_->PushKvCache(src_cache, dst_cache_index, src_batch_index, size, ext_param);
}

Status LlmDataDist::PushKvBlocks(const Cache &src_cache, const CacheIndex &dst_cache_index,
                                 const std::vector<uint64_t> &src_blocks, const std::vector<uint64_t> &dst_blocks,
                                 const KvCacheExtParam &ext_param) {
  ApiCallScope call("PushKvBlocks");
  return impl_->PushKvBlocks(src_cache, dst_cache_index, src_blocks, dst_blocks, ext_param);
}

Status LlmDataDist::RegisterKvCache(const CacheDesc &cache_desc, const std::vector<uint64_t> &addrs,
                                    const RegisterCfg &, int64_t &cache_id) {
  ApiCallScope call("RegisterKvCache");
  return impl_->RegisterKvCache(cache_desc, addrs, cache_id);
}

Status LlmDataDist::UnregisterKvCache(int64_t cache_id) {
  ApiCallScope call("UnregisterKvCache");
  return impl_->UnregisterKvCache(cache_id);
}
}  // namespace llm_datadist
