/**
 * llm_datadist/llm_datadist.h: the LLM-DataDist C++ API (V2): register KV-cache memory, link
 * prompt and decoder clusters, and pull or push caches and block lists between them.
 * Written by the dd project from the public documentation of LLM-DataDist.
 */
#ifndef DD_HEADERS_LLM_DATADIST_LLM_DATADIST_H_
#define DD_HEADERS_LLM_DATADIST_LLM_DATADIST_H_

#include <cstdint>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "ge/ge_error_codes.h"
#include "graph/ascend_string.h"
#include "graph/types.h"
#include "llm_datadist/llm_error_codes.h"

#ifndef LLM_DATADIST_API
#define LLM_DATADIST_API __attribute__((visibility("default")))
#endif

namespace llm_datadist {
using Status = ge::Status;
using AscendString = ge::AscendString;
using ge::DataType;
using ge::DT_FLOAT;
using ge::DT_FLOAT16;
using ge::DT_INT8;
using ge::DT_INT32;
using ge::DT_UINT8;
using ge::DT_INT16;
using ge::DT_UINT16;
using ge::DT_UINT32;
using ge::DT_INT64;
using ge::DT_UINT64;
using ge::DT_DOUBLE;
using ge::DT_BOOL;
using ge::DT_STRING;
using ge::DT_DUAL_SUB_INT8;
using ge::DT_DUAL_SUB_UINT8;
using ge::DT_COMPLEX64;
using ge::DT_COMPLEX128;
using ge::DT_QINT8;
using ge::DT_QINT16;
using ge::DT_QINT32;
using ge::DT_QUINT8;
using ge::DT_QUINT16;
using ge::DT_RESOURCE;
using ge::DT_STRING_REF;
using ge::DT_DUAL;
using ge::DT_VARIANT;
using ge::DT_BF16;
using ge::DT_UNDEFINED;
using ge::DT_INT4;
using ge::DT_UINT1;
using ge::DT_INT2;
using ge::DT_UINT2;
using ge::DT_COMPLEX32;
using ge::DT_HIFLOAT8;
using ge::DT_FLOAT8_E5M2;
using ge::DT_FLOAT8_E4M3FN;
using ge::DT_FLOAT8_E8M0;
using ge::DT_FLOAT6_E3M2;
using ge::DT_FLOAT6_E2M3;
using ge::DT_FLOAT4_E2M1;
using ge::DT_FLOAT4_E1M2;

/// The call succeeded.
constexpr Status LLM_SUCCESS = 0U;
/// The call failed for an unspecified reason (also: any call before Initialize).
constexpr Status LLM_FAILED = 0xFFFFFFFFU;
/// Waiting for a request to be processed timed out.
constexpr Status LLM_WAIT_PROC_TIMEOUT = 0x5010B001U;
/// The local or remote KV cache does not exist.
constexpr Status LLM_KV_CACHE_NOT_EXIST = 0x5010B002U;
/// An argument or option failed validation.
constexpr Status LLM_PARAM_INVALID = 0x5010B005U;
/// No link exists to the remote cluster.
constexpr Status LLM_NOT_YET_LINK = 0x5010B007U;
/// A link to the remote cluster already exists.
constexpr Status LLM_ALREADY_LINK = 0x5010B008U;
/// Establishing the link failed.
constexpr Status LLM_LINK_FAILED = 0x5010B009U;
/// Tearing down the link failed.
constexpr Status LLM_UNLINK_FAILED = 0x5010B00AU;
/// Notifying the prompt side of the unlink failed.
constexpr Status LLM_NOTIFY_PROMPT_UNLINK_FAILED = 0x5010B00BU;
/// Too many clusters in one call or in total.
constexpr Status LLM_CLUSTER_NUM_EXCEED_LIMIT = 0x5010B00CU;
/// A link operation is already in progress.
constexpr Status LLM_PROCESSING_LINK = 0x5010B00DU;
/// Device memory is exhausted.
constexpr Status LLM_DEVICE_OUT_OF_MEMORY = 0x5010B00EU;
/// Links still exist; unlink them first.
constexpr Status LLM_EXIST_LINK = 0x5010B018U;
/// The feature is not available in this engine.
constexpr Status LLM_FEATURE_NOT_ENABLED = 0x5010B019U;
/// The operation did not finish within its deadline.
constexpr Status LLM_TIMEOUT = 0x5010B01AU;
/// The link is busy (reserved; never returned).
constexpr Status LLM_LINK_BUSY = 0x5010B01BU;
/// Host memory is exhausted.
constexpr Status LLM_OUT_OF_MEMORY = 0x5010B01CU;

/// Listen address "ip:port" (or "[v6]:port"); when set, this side is a server.
constexpr const char OPTION_LISTEN_IP_INFO[] = "llm.ListenIpInfo";
/// Device id of this process, e.g. "0"; one device per process.
constexpr const char OPTION_DEVICE_ID[] = "llm.DeviceId";
/// Timeout of every pull and push in milliseconds; default 1000.
constexpr const char OPTION_SYNC_CACHE_WAIT_TIME[] = "llm.SyncKvCacheWaitTime";
/// Buffer pool configuration (V1 engine only).
constexpr const char OPTION_BUF_POOL_CFG[] = "llm.BufPoolCfg";
/// "1" allows SetRole (checked by the V1 engine only).
constexpr const char OPTION_ENABLE_SET_ROLE[] = "llm.EnableSwitchRole";
/// Local communication resources as a JSON rank table; empty means generated.
constexpr const char OPTION_LOCAL_COMM_RES[] = "llm.LocalCommRes";
/// Transfer backend: absent for HCCL, "hixl" for HIXL.
constexpr const char OPTION_TRANSFER_BACKEND[] = "llm.TransferBackend";
/// Global resource configuration (JSON).
constexpr const char OPTION_GLOBAL_RESOURCE_CONFIG[] = "llm.GlobalResourceConfig";

/// Tensors per layer when KvCacheExtParam does not say otherwise (K and V).
constexpr uint8_t kDefaultTensorNumPerLayer = 2U;

/// Role of this engine; it only labels the engine and does not change how transfers run.
enum class LlmRole : int32_t {
  kPrompt = 1,
  kDecoder = 2,
  kMix = 3,
  kEnd
};

/// Where the memory of a cache lives.
enum class CachePlacement : uint32_t {
  kHost = 0U,
  kDevice = 1U
};

/// One network address of a cluster.
struct IpInfo {
  AscendString ip;
  uint16_t port = 0U;
  uint8_t reserved[128];
};

/// A remote cluster to link to or unlink from.
struct ClusterInfo {
  uint64_t remote_cluster_id = 0U;
  int32_t remote_role_type = 0;
  std::vector<IpInfo> local_ip_infos;
  std::vector<IpInfo> remote_ip_infos;
  uint8_t reserved[128];
};

/// Names a cache, and a batch row in it, on a given cluster.
struct CacheIndex {
  uint64_t cluster_id;
  int64_t cache_id;
  uint32_t batch_index;
  uint8_t reserved[128];
};

/// Geometry of a cache: num_tensors buffers of the same shape and element type.
struct CacheDesc {
  CachePlacement placement = CachePlacement::kDevice;
  uint32_t num_tensors = 0U;
  DataType data_type = DT_UNDEFINED;
  std::vector<int64_t> shape;
  uint8_t reserved[128];
};

/// A registered or allocated cache: its id, the address of each tensor and its description.
struct Cache {
  int64_t cache_id = -1;
  std::vector<uintptr_t> tensor_addrs;
  CacheDesc cache_desc;
  uint8_t reserved[128];
};

/// Layer ranges (inclusive; {-1, -1} means every layer) and tensors per layer of a transfer.
struct KvCacheExtParam {
  std::pair<int32_t, int32_t> src_layer_range = {-1, -1};
  std::pair<int32_t, int32_t> dst_layer_range = {-1, -1};
  uint8_t tensor_num_per_layer = kDefaultTensorNumPerLayer;
  uint8_t reserved[127];
};

/// Registration settings (reserved).
struct RegisterCfg {
  uint8_t reserved[128] = {0};
};

class LlmDataDistImpl;

/// One LLM-DataDist engine: one per process and device.
class LLM_DATADIST_API LlmDataDist {
 public:
  /// Stores the cluster id (unique among all linked engines) and the role.
  LlmDataDist(uint64_t cluster_id, LlmRole role);
  ~LlmDataDist();
  LlmDataDist(const LlmDataDist &) = delete;
  LlmDataDist &operator=(const LlmDataDist &) = delete;

  /// Initializes the engine; must be paired with Finalize.
  Status Initialize(const std::map<AscendString, AscendString> &options);

  /// Unlinks every cluster, unregisters every cache and releases all resources.
  void Finalize();

  /// Changes the role and, through OPTION_LISTEN_IP_INFO, starts, moves or stops listening.
  Status SetRole(LlmRole role, const std::map<AscendString, AscendString> &options = {});

  /// Links to each cluster; rets receives one status per cluster, in order.
  Status LinkLlmClusters(const std::vector<ClusterInfo> &clusters, std::vector<Status> &rets,
                         int32_t timeout_in_millis = 1000);

  /// Unlinks each cluster; force_flag tears down only the local side.
  Status UnlinkLlmClusters(const std::vector<ClusterInfo> &clusters, std::vector<Status> &rets,
                           int32_t timeout_in_millis = 1000, bool force_flag = false);

  /// Allocates a cache from the engine's pool (V1 only).
  Status AllocateCache(const CacheDesc &cache_desc, Cache &cache);

  /// Frees a cache allocated by AllocateCache (V1 only).
  Status DeallocateCache(int64_t cache_id);

  /// Pulls one batch row of a remote cache into a local cache.
  Status PullKvCache(const CacheIndex &src_cache_index, const Cache &dst_cache, uint32_t batch_index = 0U,
                     int64_t size = -1, const KvCacheExtParam &ext_param = {});

  /// Pulls blocks of a remote cache into blocks of a local cache.
  Status PullKvBlocks(const CacheIndex &src_cache_index, const Cache &dst_cache,
                      const std::vector<uint64_t> &src_blocks, const std::vector<uint64_t> &dst_blocks,
                      const KvCacheExtParam &ext_param = {});

  /// Copies one batch row between two local caches (V1 only).
  Status CopyKvCache(const Cache &src_cache, const Cache &dst_cache, uint32_t src_batch_index = 0U,
                     uint32_t dst_batch_index = 0U, uint64_t offset = 0U, int64_t size = -1);

  /// Copies blocks between local caches (V1 only).
  Status CopyKvBlocks(const Cache &src_cache, const Cache &dst_cache, const std::vector<uint64_t> &src_blocks,
                      const std::vector<std::vector<uint64_t>> &dst_blocks_list);

  /// Pushes one batch row of a local cache into a remote cache.
  Status PushKvCache(const Cache &src_cache, const CacheIndex &dst_cache_index, uint32_t src_batch_index = 0U,
                     int64_t size = -1, const KvCacheExtParam &ext_param = {});

  /// Pushes blocks of a local cache into blocks of a remote cache.
  Status PushKvBlocks(const Cache &src_cache, const CacheIndex &dst_cache_index,
                      const std::vector<uint64_t> &src_blocks, const std::vector<uint64_t> &dst_blocks,
                      const KvCacheExtParam &ext_param = {});

  /// Registers caller-owned memory as a cache; cache_id receives its id (from 1).
  Status RegisterKvCache(const CacheDesc &cache_desc, const std::vector<uint64_t> &addrs,
                         const RegisterCfg &cfg, int64_t &cache_id);

  /// Unregisters a cache; an unknown id succeeds.
  Status UnregisterKvCache(int64_t cache_id);

 private:
  std::unique_ptr<LlmDataDistImpl> impl_;
};
}  // namespace llm_datadist

#endif  // DD_HEADERS_LLM_DATADIST_LLM_DATADIST_H_
