// Initialize-time checks of the hixl transfer backend (v2-rules A19): llm.LocalCommRes is parsed,
// llm.GlobalResourceConfig validated, and the RDMA traffic class and service level range-checked.
// The default backend never reads llm.GlobalResourceConfig.
#ifndef DD_HOST_HIXL_OPTIONS_H_
#define DD_HOST_HIXL_OPTIONS_H_

#include <cstdint>
#include <map>
#include <string>

#include "ge/ge_error_codes.h"

namespace dd::host {
// Every failure is LLM_PARAM_INVALID with a detail.
ge::Status CheckHixlOptions(const std::map<std::string, std::string> &raw);
}  // namespace dd::host

#endif  // DD_HOST_HIXL_OPTIONS_H_
