#include "error_detail.h"

#include <cstdarg>
#include <cstdio>

#include "llm_datadist/llm_datadist.h"

namespace dd::host {
namespace {
thread_local std::string t_detail;
thread_local const char *t_method = nullptr;
}  // namespace

ApiCallScope::ApiCallScope(const char *method) : previous_(t_method) {
  t_method = method;
  t_detail.clear();
}

ApiCallScope::~ApiCallScope() { t_method = previous_; }

ge::Status FailWith(ge::Status status, const std::string &message) {
  t_detail.clear();
  if (t_method != nullptr) {
    t_detail.append(t_method).append(": ");
  }
  t_detail.append(message);
  return status;
}

ge::Status Fail(ge::Status status, const char *format, ...) {
  char text[512];
  va_list args;
  va_start(args, format);
  std::vsnprintf(text, sizeof(text), format, args);
  va_end(args);
  return FailWith(status, text);
}

const std::string &CurrentErrorDetail() { return t_detail; }

bool ReturnedByV2(ge::Status status) {
  using namespace llm_datadist;
  switch (status) {
    case LLM_SUCCESS: case LLM_FAILED: case LLM_PARAM_INVALID: case LLM_KV_CACHE_NOT_EXIST: case LLM_NOT_YET_LINK:
    case LLM_ALREADY_LINK: case LLM_LINK_FAILED: case LLM_UNLINK_FAILED: case LLM_EXIST_LINK:
    case LLM_FEATURE_NOT_ENABLED: case LLM_TIMEOUT:
      return true;
    default:
      return false;
  }
}

const char *StatusName(ge::Status status) {
  using namespace llm_datadist;
  switch (status) {
    case LLM_SUCCESS: return "LLM_SUCCESS";
    case LLM_FAILED: return "LLM_FAILED";
    case LLM_WAIT_PROC_TIMEOUT: return "LLM_WAIT_PROC_TIMEOUT";
    case LLM_KV_CACHE_NOT_EXIST: return "LLM_KV_CACHE_NOT_EXIST";
    case LLM_PARAM_INVALID: return "LLM_PARAM_INVALID";
    case LLM_NOT_YET_LINK: return "LLM_NOT_YET_LINK";
    case LLM_ALREADY_LINK: return "LLM_ALREADY_LINK";
    case LLM_LINK_FAILED: return "LLM_LINK_FAILED";
    case LLM_UNLINK_FAILED: return "LLM_UNLINK_FAILED";
    case LLM_NOTIFY_PROMPT_UNLINK_FAILED: return "LLM_NOTIFY_PROMPT_UNLINK_FAILED";
    case LLM_CLUSTER_NUM_EXCEED_LIMIT: return "LLM_CLUSTER_NUM_EXCEED_LIMIT";
    case LLM_PROCESSING_LINK: return "LLM_PROCESSING_LINK";
    case LLM_DEVICE_OUT_OF_MEMORY: return "LLM_DEVICE_OUT_OF_MEMORY";
    case LLM_EXIST_LINK: return "LLM_EXIST_LINK";
    case LLM_FEATURE_NOT_ENABLED: return "LLM_FEATURE_NOT_ENABLED";
    case LLM_TIMEOUT: return "LLM_TIMEOUT";
    case LLM_LINK_BUSY: return "LLM_LINK_BUSY";
    case LLM_OUT_OF_MEMORY: return "LLM_OUT_OF_MEMORY";
    default: return "LLM_UNKNOWN_STATUS";
  }
}
}  // namespace dd::host

// The optional hook of the generated shim (bindings contract §1): the reason of the last
// non-success status on the calling thread. It lives in this translation unit because every
// failure path links it, so a static link of the backend always carries the hook.
extern "C" __attribute__((visibility("default"))) const char *dd_backend_error_detail(void) {
  return dd::host::CurrentErrorDetail().c_str();
}
