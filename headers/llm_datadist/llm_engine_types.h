/**
 * llm_datadist/llm_engine_types.h: role names and option keys shared with the V1 LLM engine
 * (namespace llm).
 * Written by the dd project from the public documentation of LLM-DataDist.
 */
#ifndef DD_HEADERS_LLM_DATADIST_LLM_ENGINE_TYPES_H_
#define DD_HEADERS_LLM_DATADIST_LLM_ENGINE_TYPES_H_

namespace llm {
/// Role name of a prompt (prefill) cluster, as stored under LLM_OPTION_ROLE.
constexpr const char kPrompt[] = "Prompt";
/// Role name of a decoder cluster, as stored under LLM_OPTION_ROLE.
constexpr const char kDecoder[] = "Decoder";

/// Cluster description of the V1 engine (JSON).
constexpr const char LLM_OPTION_CLUSTER_INFO[] = "llm.ClusterInfo";
/// Role of this engine: "Prompt", "Decoder" or "Mix".
constexpr const char LLM_OPTION_ROLE[] = "llm.Role";
/// Largest output size of the V1 engine.
constexpr const char LLM_OPTION_OUTPUT_MAX_SIZE[] = "llm.OutputMaxSize";
/// Timeout of every KV pull and push, in milliseconds.
constexpr const char LLM_OPTION_SYNC_KV_CACHE_WAIT_TIME[] = "llm.SyncKvCacheWaitTime";
/// "1" allows SetRole on the V1 engine.
constexpr const char LLM_OPTION_ENABLE_SWITCH_ROLE[] = "llm.EnableSwitchRole";
/// Buffer pool configuration of the V1 engine (JSON).
constexpr const char LLM_OPTION_BUF_POOL_CFG[] = "llm.BufPoolCfg";
}  // namespace llm

#endif  // DD_HEADERS_LLM_DATADIST_LLM_ENGINE_TYPES_H_
