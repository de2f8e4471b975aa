// LlmDataDistImpl: the V2 semantics of every LlmDataDist method (v2-rules A1–A29 and B, with the
// deviations of docs/compat.md) on host memory.
#ifndef DD_HOST_LLM_DATADIST_IMPL_H_
#define DD_HOST_LLM_DATADIST_IMPL_H_

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "data_path.h"
#include "engine_state.h"
#include "llm_datadist/llm_datadist.h"
#include "serve_loop.h"

namespace llm_datadist {
class LlmDataDistImpl {
 public:
  LlmDataDistImpl(uint64_t cluster_id, LlmRole role);
  ~LlmDataDistImpl();
  LlmDataDistImpl(const LlmDataDistImpl &) = delete;
  LlmDataDistImpl &operator=(const LlmDataDistImpl &) = delete;

  Status Initialize(const std::map<AscendString, AscendString> &options);
  void Finalize();
  Status SetRole(LlmRole role, const std::map<AscendString, AscendString> &options);
  Status LinkLlmClusters(const std::vector<ClusterInfo> &clusters, std::vector<Status> &rets, int32_t timeout_in_millis);
  Status UnlinkLlmClusters(const std::vector<ClusterInfo> &clusters, std::vector<Status> &rets,
                           int32_t timeout_in_millis, bool force_flag);
  Status PullKvCache(const CacheIndex &src_cache_index, const Cache &dst_cache, uint32_t batch_index, int64_t size,
                     const KvCacheExtParam &ext_param);
  Status PullKvBlocks(const CacheIndex &src_cache_index, const Cache &dst_cache, const std::vector<uint64_t> &src_blocks,
                      const std::vector<uint64_t> &dst_blocks, const KvCacheExtParam &ext_param);
  Status PushKvCache(const Cache &src_cache, const CacheIndex &dst_cache_index, uint32_t src_batch_index, int64_t size,
                     const KvCacheExtParam &ext_param);
  Status PushKvBlocks(const Cache &src_cache, const CacheIndex &dst_cache_index, const std::vector<uint64_t> &src_blocks,
                      const std::vector<uint64_t> &dst_blocks, const KvCacheExtParam &ext_param);
  Status RegisterKvCache(const CacheDesc &cache_desc, const std::vector<uint64_t> &addrs, int64_t &cache_id);
  Status UnregisterKvCache(int64_t cache_id);

  // dd's link-health extension (link_health.cc). Whether Initialize succeeded and Finalize has not
  // run; the DD_LINK_STATE_* of the link filed under `cluster_id`, with why it broke in `cause`.
  // Neither waits on the network.
  bool initialized() const;
  int32_t LinkState(uint64_t cluster_id, std::string *cause) const;

 private:
  // Everything that exists between Initialize and Finalize. The serve loop is declared last so
  // it stops before the state it reads is destroyed.
  struct Runtime {
    Runtime(uint64_t cluster_id, int32_t role, dd::host::EngineOptions options, dd::host::HostIdentity identity)
        : state(cluster_id, role, std::move(options), std::move(identity)), serve(state) {}
    dd::host::EngineState state;
    dd::host::ServeLoop serve;
  };


  std::shared_ptr<Runtime> runtime() const { return std::atomic_load(&runtime_); }
  Status LinkOne(Runtime &rt, const ClusterInfo &cluster, bool force_link, dd::host::SlotReservation slot,
                 const dd::host::Deadline &deadline, std::string &detail);
  Status UnlinkOne(Runtime &rt, const ClusterInfo &cluster, bool force, const dd::host::Deadline &deadline,
                   std::string &detail);

  const uint64_t cluster_id_;
  std::atomic<int32_t> role_;
  std::mutex lifecycle_mutex_;
  std::shared_ptr<Runtime> runtime_;
};
}  // namespace llm_datadist

#endif  // DD_HOST_LLM_DATADIST_IMPL_H_
