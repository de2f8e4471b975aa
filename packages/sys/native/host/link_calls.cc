#include "link_calls.h"

#include "link_transport.h"

namespace dd::host {
namespace {
// How long a caller that gave up waits for the reactor to let go of its call: the reactor never
// blocks, so this is a backstop, not a deadline anything is expected to reach.
constexpr int64_t kAbandonBackstopMs = 10000;
}  // namespace

TransferOutcome RunOnLink(ClusterLink &link, const std::shared_ptr<TransferCall> &call, const Deadline &deadline) {
  const std::shared_ptr<LinkTransport> transport = link.transport();
  if (transport == nullptr || !transport->Submit(call)) {
    const std::string reason = link.broken_reason();
    return TransferOutcome{TransferOutcome::Kind::kBroken, 0, reason.empty() ? "the link is closed" : reason};
  }
  if (!call->WaitUntil(deadline)) {
    transport->Abandon(call, TransferOutcome{TransferOutcome::Kind::kTimeout, 0, "no answer before the deadline"});
    call->WaitFinishedFor(kAbandonBackstopMs);
  }
  return call->outcome();
}

std::shared_ptr<TransferCall> ControlCall(std::vector<uint8_t> frame) {
  std::vector<RequestPiece> pieces(1);
  pieces[0].frame = std::move(frame);
  pieces[0].window_bytes = pieces[0].frame.size();
  return std::make_shared<TransferCall>(std::move(pieces));
}
}  // namespace dd::host
