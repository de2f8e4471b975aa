// Why the last call on this thread failed: the text behind dd_backend_error_detail().
#ifndef DD_HOST_ERROR_DETAIL_H_
#define DD_HOST_ERROR_DETAIL_H_

#include <string>

#include "ge/ge_error_codes.h"

namespace dd::host {
// Names the API method being executed on this thread, so every failure detail starts with it;
// entering a call also clears the previous detail.
class ApiCallScope {
 public:
  explicit ApiCallScope(const char *method);
  ~ApiCallScope();
  ApiCallScope(const ApiCallScope &) = delete;
  ApiCallScope &operator=(const ApiCallScope &) = delete;

 private:
  const char *previous_;
};

// Records "<method>: <printf text>" as this thread's failure detail and returns `status`, so a
// failure site reads `return Fail(LLM_PARAM_INVALID, "...")`.
ge::Status Fail(ge::Status status, const char *format, ...) __attribute__((format(printf, 2, 3)));

// Same, with a ready-made message.
ge::Status FailWith(ge::Status status, const std::string &message);

// The current detail ("" when none).
const std::string &CurrentErrorDetail();

// Whether the V2 engine can return `status` from its C++ API (v2-rules A27). A status a peer sends
// that is not one of these becomes LLM_FAILED.
bool ReturnedByV2(ge::Status status);

// Readable name of a status ("LLM_PARAM_INVALID"), for details and test output.
const char *StatusName(ge::Status status);
}  // namespace dd::host

#endif  // DD_HOST_ERROR_DETAIL_H_
