/**
 * llm_datadist/llm_error_codes.h: every status code of the LLM engines, in namespace ge.
 * Codes are (rt<<30)|(type<<28)|(level<<25)|(sysid<<17)|(modid<<12)|value with
 * (rt, type, level, sysid, modid) = (1, 1, 0, 8, 11), i.e. 0x5010B000 + value.
 * Written by the dd project from the public documentation of LLM-DataDist.
 */
#ifndef DD_HEADERS_LLM_DATADIST_LLM_ERROR_CODES_H_
#define DD_HEADERS_LLM_DATADIST_LLM_ERROR_CODES_H_

#include "ge/ge_error_codes.h"

namespace ge {
/// Waiting for a request to be processed timed out.
constexpr Status LLM_WAIT_PROC_TIMEOUT = 0x5010B001U;
/// The local or remote KV cache does not exist.
constexpr Status LLM_KV_CACHE_NOT_EXIST = 0x5010B002U;
/// The same request was submitted twice.
constexpr Status LLM_REPEAT_REQUEST = 0x5010B003U;
/// The request has already completed.
constexpr Status LLM_REQUEST_ALREADY_COMPLETED = 0x5010B004U;
/// An argument or option failed validation.
constexpr Status LLM_PARAM_INVALID = 0x5010B005U;
/// The engine has already been finalized.
constexpr Status LLM_ENGINE_FINALIZED = 0x5010B006U;
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
/// The prefix cache already exists.
constexpr Status LLM_PREFIX_ALREADY_EXIST = 0x5010B00FU;
/// The prefix cache does not exist.
constexpr Status LLM_PREFIX_NOT_EXIST = 0x5010B010U;
/// The sequence length exceeds the limit.
constexpr Status LLM_SEQ_LEN_OVER_LIMIT = 0x5010B011U;
/// No free block is left in the pool.
constexpr Status LLM_NO_FREE_BLOCK = 0x5010B012U;
/// Block memory is exhausted.
constexpr Status LLM_BLOCKS_OUT_OF_MEMORY = 0x5010B013U;
/// The two caches have incompatible descriptions.
constexpr Status LLM_CACHE_INCOMPATIBLE = 0x5010B014U;
/// The cache key is already in use.
constexpr Status LLM_CACHE_KEY_ALREADY_EXIST = 0x5010B015U;
/// Copying the cache failed.
constexpr Status LLM_COPY_CACHE_FAILED = 0x5010B016U;
/// The cache id is already in use.
constexpr Status LLM_CACHE_ID_ALREADY_EXIST = 0x5010B017U;
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
}  // namespace ge

#endif  // DD_HEADERS_LLM_DATADIST_LLM_ERROR_CODES_H_
