// Test-only LlmDataDist: records what the generated shim hands it in a journal and fails on
// request, so tests can check conversions, exception → status mapping and the last-error text.
#include <map>
#include <mutex>
#include <new>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "dd/link_health.h"
#include "llm_datadist/llm_datadist.h"

#define STUB_API extern "C" __attribute__((visibility("default")))

namespace {
std::mutex journal_mutex;
std::string journal;
thread_local std::string detail;

void Record(const std::string &entry) {
  std::lock_guard<std::mutex> lock(journal_mutex);
  journal += entry;
  journal += '\n';
}

std::string Options(const std::map<llm_datadist::AscendString, llm_datadist::AscendString> &options) {
  std::string out = "{";
  for (const auto &kv : options) out += std::string(kv.first.GetString()) + "=" + kv.second.GetString() + ";";
  return out + "}";
}

template <typename T>
std::string List(const std::vector<T> &values) {
  std::ostringstream out;
  out << '[';
  for (size_t i = 0; i < values.size(); ++i) out << (i ? "," : "") << values[i];
  out << ']';
  return out.str();
}

std::string Ips(const std::vector<llm_datadist::IpInfo> &ips) {
  std::string out = "[";
  for (const auto &ip : ips) out += std::string(ip.ip.GetString()) + ":" + std::to_string(ip.port) + ",";
  return out + "]";
}

std::string Desc(const llm_datadist::CacheDesc &d) {
  return "desc(" + std::to_string(static_cast<uint32_t>(d.placement)) + "," + std::to_string(d.num_tensors) + "," +
         std::to_string(static_cast<int>(d.data_type)) + "," + List(d.shape) + ")";
}

std::string CacheText(const llm_datadist::Cache &c) {
  return "cache(" + std::to_string(c.cache_id) + "," + List(c.tensor_addrs) + "," + Desc(c.cache_desc) + ")";
}

std::string Index(const llm_datadist::CacheIndex &i) {
  return "index(" + std::to_string(i.cluster_id) + "," + std::to_string(i.cache_id) + "," + std::to_string(i.batch_index) + ")";
}

std::string Ext(const llm_datadist::KvCacheExtParam &e) {
  return "ext(" + std::to_string(e.src_layer_range.first) + "," + std::to_string(e.src_layer_range.second) + "," +
         std::to_string(e.dst_layer_range.first) + "," + std::to_string(e.dst_layer_range.second) + "," +
         std::to_string(e.tensor_num_per_layer) + ")";
}
}  // namespace

STUB_API const char *stub_journal(void) {
  static thread_local std::string copy;
  std::lock_guard<std::mutex> lock(journal_mutex);
  copy = journal;
  journal.clear();
  return copy.c_str();
}

// The weak hook of the shim: the reason for the last failure on this thread.
STUB_API const char *dd_backend_error_detail(void) { return detail.c_str(); }

namespace ge {
AscendString::AscendString(const char *const name) : name_(name == nullptr ? nullptr : std::make_shared<std::string>(name)) {}
const char *AscendString::GetString() const { return name_ ? name_->c_str() : ""; }
bool AscendString::operator<(const AscendString &d) const { return std::string(GetString()) < d.GetString(); }
}  // namespace ge

namespace llm_datadist {
class LlmDataDistImpl {
 public:
  uint64_t cluster_id;
};

LlmDataDist::LlmDataDist(uint64_t cluster_id, LlmRole role) : impl_(std::make_unique<LlmDataDistImpl>()) {
  if (cluster_id == 0xBAD) throw std::runtime_error("constructor refused");
  impl_->cluster_id = cluster_id;
  Record("create " + std::to_string(cluster_id) + " role=" + std::to_string(static_cast<int>(role)));
}

LlmDataDist::~LlmDataDist() { Record("destroy " + std::to_string(impl_->cluster_id)); }

Status LlmDataDist::Initialize(const std::map<AscendString, AscendString> &options) {
  Record("Initialize " + Options(options));
  for (const auto &kv : options) {
    const std::string key = kv.first.GetString();
    if (key == "throw") throw std::runtime_error(kv.second.GetString());
    if (key == "bad_alloc") throw std::bad_alloc();
    if (key == "throw_int") throw 42;
    if (key == "status") {
      // "detail" replaces the default reason, e.g. with one that already names the method.
      const auto given = options.find(AscendString("detail"));
      detail = given != options.end() ? std::string(given->second.GetString()) : std::string("stub detail for ") + kv.second.GetString();
      return static_cast<Status>(std::stoul(kv.second.GetString(), nullptr, 0));
    }
  }
  detail.clear();
  return LLM_SUCCESS;
}

void LlmDataDist::Finalize() { Record("Finalize"); }

Status LlmDataDist::SetRole(LlmRole role, const std::map<AscendString, AscendString> &options) {
  Record("SetRole " + std::to_string(static_cast<int>(role)) + " " + Options(options));
  return LLM_SUCCESS;
}

// One status per cluster (its index); remote_role_type asks for that many extra entries, to test
// out-vectors whose size exceeds the caller's capacity.
Status LlmDataDist::LinkLlmClusters(const std::vector<ClusterInfo> &clusters, std::vector<Status> &rets, int32_t timeout_in_millis) {
  std::string text = "Link timeout=" + std::to_string(timeout_in_millis);
  size_t extra = 0;
  for (const auto &c : clusters) {
    text += " {" + std::to_string(c.remote_cluster_id) + "," + std::to_string(c.remote_role_type) + "," + Ips(c.local_ip_infos) + "," + Ips(c.remote_ip_infos) + "}";
    extra += static_cast<size_t>(c.remote_role_type);
  }
  Record(text);
  for (size_t i = 0; i < clusters.size() + extra; ++i) rets.push_back(static_cast<Status>(100 + i));
  return LLM_SUCCESS;
}

Status LlmDataDist::UnlinkLlmClusters(const std::vector<ClusterInfo> &clusters, std::vector<Status> &rets, int32_t timeout_in_millis, bool force_flag) {
  Record("Unlink n=" + std::to_string(clusters.size()) + " timeout=" + std::to_string(timeout_in_millis) + " force=" + (force_flag ? "1" : "0"));
  rets.assign(clusters.size(), LLM_NOT_YET_LINK);
  // A failure without a reason: the detail of an earlier failure on this (worker) thread is not its.
  detail.clear();
  return LLM_NOT_YET_LINK;
}

Status LlmDataDist::AllocateCache(const CacheDesc &cache_desc, Cache &cache) {
  Record("Allocate " + Desc(cache_desc));
  cache.cache_id = 42;
  for (uint32_t i = 0; i < cache_desc.num_tensors; ++i) cache.tensor_addrs.push_back(0x1000U + i);
  cache.cache_desc = cache_desc;
  return LLM_SUCCESS;
}

Status LlmDataDist::DeallocateCache(int64_t cache_id) {
  Record("Deallocate " + std::to_string(cache_id));
  return LLM_FEATURE_NOT_ENABLED;
}

Status LlmDataDist::PullKvCache(const CacheIndex &src_cache_index, const Cache &dst_cache, uint32_t batch_index, int64_t size, const KvCacheExtParam &ext_param) {
  Record("PullKvCache " + Index(src_cache_index) + " " + CacheText(dst_cache) + " " + std::to_string(batch_index) + " " + std::to_string(size) + " " + Ext(ext_param));
  return LLM_SUCCESS;
}

Status LlmDataDist::PullKvBlocks(const CacheIndex &src_cache_index, const Cache &dst_cache, const std::vector<uint64_t> &src_blocks,
                                 const std::vector<uint64_t> &dst_blocks, const KvCacheExtParam &ext_param) {
  Record("PullKvBlocks " + Index(src_cache_index) + " " + CacheText(dst_cache) + " " + List(src_blocks) + " " + List(dst_blocks) + " " + Ext(ext_param));
  // Cluster 0xBAD fails with a reason that names the method, like the host backend's; 0xBAE throws
  // a text as long as the number of source blocks says, to test truncation.
  if (src_cache_index.cluster_id == 0xBAD) {
    detail = "PullKvBlocks: no cache " + std::to_string(src_cache_index.cache_id) + " on this worker";
    return LLM_KV_CACHE_NOT_EXIST;
  }
  if (src_cache_index.cluster_id == 0xBAE) throw std::runtime_error("boom" + std::string(src_blocks.size(), '!'));
  detail.clear();
  return LLM_SUCCESS;
}

Status LlmDataDist::CopyKvCache(const Cache &src_cache, const Cache &dst_cache, uint32_t src_batch_index, uint32_t dst_batch_index, uint64_t offset, int64_t size) {
  Record("CopyKvCache " + CacheText(src_cache) + " " + CacheText(dst_cache) + " " + std::to_string(src_batch_index) + " " + std::to_string(dst_batch_index) + " " +
         std::to_string(offset) + " " + std::to_string(size));
  return LLM_SUCCESS;
}

Status LlmDataDist::CopyKvBlocks(const Cache &src_cache, const Cache &dst_cache, const std::vector<uint64_t> &src_blocks,
                                 const std::vector<std::vector<uint64_t>> &dst_blocks_list) {
  std::string rows;
  for (const auto &row : dst_blocks_list) rows += List(row);
  Record("CopyKvBlocks " + std::to_string(src_cache.cache_id) + " " + std::to_string(dst_cache.cache_id) + " " + List(src_blocks) + " " + rows);
  return LLM_SUCCESS;
}

Status LlmDataDist::PushKvCache(const Cache &src_cache, const CacheIndex &dst_cache_index, uint32_t src_batch_index, int64_t size, const KvCacheExtParam &ext_param) {
  Record("PushKvCache " + CacheText(src_cache) + " " + Index(dst_cache_index) + " " + std::to_string(src_batch_index) + " " + std::to_string(size) + " " + Ext(ext_param));
  return LLM_SUCCESS;
}

Status LlmDataDist::PushKvBlocks(const Cache &src_cache, const CacheIndex &dst_cache_index, const std::vector<uint64_t> &src_blocks,
                                 const std::vector<uint64_t> &dst_blocks, const KvCacheExtParam &ext_param) {
  Record("PushKvBlocks " + CacheText(src_cache) + " " + Index(dst_cache_index) + " " + List(src_blocks) + " " + List(dst_blocks) + " " + Ext(ext_param));
  return LLM_SUCCESS;
}

Status LlmDataDist::RegisterKvCache(const CacheDesc &cache_desc, const std::vector<uint64_t> &addrs, const RegisterCfg &cfg, int64_t &cache_id) {
  bool zero = true;
  for (uint8_t byte : cfg.reserved) zero = zero && byte == 0;
  Record("Register " + Desc(cache_desc) + " " + List(addrs) + (zero ? " cfg=zero" : " cfg=dirty"));
  cache_id = 7;
  return LLM_SUCCESS;
}

Status LlmDataDist::UnregisterKvCache(int64_t cache_id) {
  Record("Unregister " + std::to_string(cache_id));
  return LLM_SUCCESS;
}
}  // namespace llm_datadist

// The ACL functions of headers/acl, as the shim's pass-through sees them: each records its
// arguments and answers what a test asks for through them.
#include "acl/acl_rt.h"

namespace {
std::string Address(const void *p) {
  std::ostringstream out;
  out << "0x" << std::hex << reinterpret_cast<uintptr_t>(p);
  return out.str();
}
}  // namespace

STUB_API aclError aclInit(const char *configPath) {
  Record(std::string("aclInit ") + (configPath == nullptr ? "NULL" : configPath));
  detail.clear();
  return ACL_SUCCESS;
}

STUB_API aclError aclFinalize(void) {
  Record("aclFinalize");
  detail = "aclFinalize: already finalized";
  return ACL_ERROR_REPEAT_FINALIZE;
}

STUB_API aclError aclrtSetDevice(int32_t deviceId) {
  Record("aclrtSetDevice " + std::to_string(deviceId));
  // A negative id fails with a code and a reason that names the function, as the host backend's do.
  detail = deviceId < 0 ? "aclrtSetDevice: device " + std::to_string(deviceId) + " refused" : "";
  return deviceId < 0 ? ACL_ERROR_RT_DEV_SETUP_ERROR : ACL_SUCCESS;
}

STUB_API aclError aclrtResetDevice(int32_t deviceId) {
  Record("aclrtResetDevice " + std::to_string(deviceId));
  detail.clear();
  // A code no header names comes back as its number.
  return deviceId == 77 ? 123456 : ACL_SUCCESS;
}

STUB_API aclError aclrtGetDeviceCount(uint32_t *count) {
  Record("aclrtGetDeviceCount");
  *count = 3;
  return ACL_SUCCESS;
}

STUB_API aclError aclrtMalloc(void **devPtr, size_t size, aclrtMemMallocPolicy policy) {
  Record("aclrtMalloc size=" + std::to_string(size) + " policy=" + std::to_string(static_cast<int>(policy)));
  *devPtr = reinterpret_cast<void *>(uintptr_t{0x7e0000200000});
  return ACL_SUCCESS;
}

STUB_API aclError aclrtFree(void *devPtr) {
  Record("aclrtFree " + Address(devPtr));
  return ACL_SUCCESS;
}

STUB_API aclError aclrtMallocHost(void **hostPtr, size_t size) {
  Record("aclrtMallocHost size=" + std::to_string(size));
  *hostPtr = reinterpret_cast<void *>(uintptr_t{0x7e0000400000});
  return ACL_SUCCESS;
}

STUB_API aclError aclrtFreeHost(void *hostPtr) {
  Record("aclrtFreeHost " + Address(hostPtr));
  return ACL_SUCCESS;
}

STUB_API aclError aclrtMemcpy(void *dst, size_t destMax, const void *src, size_t count, aclrtMemcpyKind kind) {
  Record("aclrtMemcpy " + Address(dst) + " " + std::to_string(destMax) + " " + Address(src) + " " + std::to_string(count) + " kind=" +
         std::to_string(static_cast<int>(kind)));
  return ACL_SUCCESS;
}

STUB_API aclError aclrtMemset(void *devPtr, size_t maxCount, int32_t value, size_t count) {
  Record("aclrtMemset " + Address(devPtr) + " " + std::to_string(maxCount) + " " + std::to_string(value) + " " + std::to_string(count));
  return ACL_SUCCESS;
}

// dd's link-health extension: writes state (1 + i) for the i-th id and a cause naming the id, so
// tests see the addresses and counts the shim passed through.
STUB_API ddStatus ddLinkStates(void *engine, const void *cluster_ids, void *states, size_t count) {
  Record("ddLinkStates " + Address(engine) + " count=" + std::to_string(count));
  for (size_t i = 0; i < count; ++i) {
    static_cast<int32_t *>(states)[i] = static_cast<int32_t>(static_cast<const uint64_t *>(cluster_ids)[i] % 4);
  }
  detail.clear();
  return 0;
}

STUB_API ddStatus ddLinkBreakCause(void *engine, uint64_t cluster_id, void *text, size_t capacity, size_t *length) {
  Record("ddLinkBreakCause " + Address(engine) + " " + std::to_string(cluster_id) + " capacity=" + std::to_string(capacity));
  if (cluster_id == 0) {
    detail = "ddLinkBreakCause: no link to cluster 0";
    return llm_datadist::LLM_NOT_YET_LINK;
  }
  const std::string cause = "peer " + std::to_string(cluster_id) + " hung up";
  *length = cause.size();
  const size_t copied = cause.size() < capacity ? cause.size() : capacity - 1;
  cause.copy(static_cast<char *>(text), copied);
  static_cast<char *>(text)[copied] = '\0';
  detail.clear();
  return 0;
}
