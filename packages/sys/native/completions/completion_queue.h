// Completions of async calls, reported to one JavaScript event loop (docs/design/completions.md).
// The generated shim submits a call's converted arguments here; one of the queue's threads runs
// it; JavaScript drains finished calls in batches, woken by one byte on a pipe only when it asked
// to sleep. The C functions (dd_completion_queue_*) are declared in the generated dd_shim.h.
#ifndef DD_COMPLETIONS_COMPLETION_QUEUE_H_
#define DD_COMPLETIONS_COMPLETION_QUEUE_H_

#include <cstdint>
#include <functional>
#include <string>

extern "C" {
typedef struct dd_CompletionQueue dd_CompletionQueue;
}

namespace dd::completions {

struct Completion {
  uint32_t status;
  std::string error;  // the failed call's last-error text; empty on success
};

using Call = std::function<Completion()>;

/**
 * Runs `call` on one of `queue`'s threads and reports its completion under `token`. Throws
 * std::system_error when no thread can run it (none idle and none can be started); `call` then
 * never runs.
 */
void Submit(dd_CompletionQueue *queue, uint32_t token, Call call);

}  // namespace dd::completions

#endif  // DD_COMPLETIONS_COMPLETION_QUEUE_H_
