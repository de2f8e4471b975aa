/**
 * ge/ge_error_codes.h: the status type shared by every LLM-DataDist call.
 * Written by the dd project from the public documentation of LLM-DataDist.
 */
#ifndef DD_HEADERS_GE_GE_ERROR_CODES_H_
#define DD_HEADERS_GE_GE_ERROR_CODES_H_

#include <cstdint>

namespace ge {
/// Result of every call: 0 on success, otherwise a composed error code.
using Status = uint32_t;

/// The call succeeded.
constexpr Status SUCCESS = 0U;
/// The call failed for an unspecified reason.
constexpr Status FAILED = 0xFFFFFFFFU;
}  // namespace ge

#endif  // DD_HEADERS_GE_GE_ERROR_CODES_H_
