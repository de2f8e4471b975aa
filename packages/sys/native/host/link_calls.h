// Running a call over a link's transport from an API thread: submit it, wait until it finishes or
// its deadline passes, and on a timeout take it back from the reactor before returning, so that no
// byte of the caller's memory is touched after the call returned.
#ifndef DD_HOST_LINK_CALLS_H_
#define DD_HOST_LINK_CALLS_H_

#include <memory>

#include "cluster_link.h"
#include "data_path.h"
#include "transfer_call.h"

namespace dd::host {
TransferOutcome RunOnLink(ClusterLink &link, const std::shared_ptr<TransferCall> &call, const Deadline &deadline);

// A call of one piece that sends `frame` and expects an answer without payload.
std::shared_ptr<TransferCall> ControlCall(std::vector<uint8_t> frame);
}  // namespace dd::host

#endif  // DD_HOST_LINK_CALLS_H_
