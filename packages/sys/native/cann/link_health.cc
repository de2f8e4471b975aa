// dd's link-health extension (headers/dd/link_health.h) next to CANN's engine, which has no way to
// say whether a link works: its peers' deaths show only as transfer results (LLM_TIMEOUT), so
// every link is DD_LINK_STATE_UNKNOWN and both calls answer LLM_FEATURE_NOT_ENABLED. @dd/core
// then judges links by transfer results alone (docs/design/link-health.md).
#include <cstring>

#include "dd/link_health.h"
#include "llm_datadist/llm_datadist.h"

namespace {
constexpr ddStatus kFeatureNotEnabled = ::llm_datadist::LLM_FEATURE_NOT_ENABLED;
}  // namespace

extern "C" {
DD_EXTENSION_API ddStatus ddLinkStates(void *, const void *, void *states, size_t count) {
  if (states != nullptr) {
    std::memset(states, 0, count * sizeof(int32_t));  // DD_LINK_STATE_UNKNOWN
  }
  return kFeatureNotEnabled;
}

DD_EXTENSION_API ddStatus ddLinkBreakCause(void *, uint64_t, void *text, size_t capacity, size_t *length) {
  if (length != nullptr) {
    *length = 0;
  }
  if (text != nullptr && capacity > 0) {
    static_cast<char *>(text)[0] = '\0';
  }
  return kFeatureNotEnabled;
}
}  // extern "C"
