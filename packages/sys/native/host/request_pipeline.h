// The requester side of one link, on the reactor thread: calls waiting to send, requests in flight
// (matched to their answers by request id, in any order), and the link's window, which bounds the
// bytes outstanding so that a link keeps the bandwidth-delay product in flight without queueing
// more than that. Calls take turns piece by piece, so concurrent calls share the window.
#ifndef DD_HOST_REQUEST_PIPELINE_H_
#define DD_HOST_REQUEST_PIPELINE_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "link_stream.h"
#include "transfer_call.h"
#include "wire_format.h"

namespace dd::host {
class RequestPipeline {
 public:
  // `streams`: the link's requester streams, fixed for its lifetime.
  RequestPipeline(uint64_t window_bytes, std::vector<LinkStream *> streams)
      : window_(window_bytes), streams_(std::move(streams)) {}

  void Add(std::shared_ptr<TransferCall> call);
  // Queues waiting pieces on the streams while the window has room, each on the stream with the
  // fewest bytes queued. Returns true when anything was queued.
  bool Pump();

  // An answer arrived on `stream`. Its payload, if any, is set up on `stream.payload`; PayloadDone
  // finishes it. false (with `why`) when the peer broke the protocol.
  bool OnResult(LinkStream &stream, uint32_t request_id, const ResultMessage &result, std::string &why);
  void PayloadDone(LinkStream &stream);

  // The caller of `call` gave up: requests not yet sent are dropped, answers still to come are
  // skipped, and the call finishes with `outcome`.
  void Abandon(const std::shared_ptr<TransferCall> &call, TransferOutcome outcome);
  // Every call finishes with `outcome` (the link is going away).
  void FailAll(const TransferOutcome &outcome);

 private:
  struct InFlight {
    std::shared_ptr<TransferCall> call;  // null once the caller gave up: the answer is skipped
    size_t piece = 0;
    size_t stream = 0;
    uint64_t window = 0;
  };
  struct Waiting {
    std::shared_ptr<TransferCall> call;
    size_t next_piece = 0;
  };
  void Release(uint32_t request_id);

  const uint64_t window_;
  const std::vector<LinkStream *> streams_;
  uint64_t outstanding_ = 0;
  uint32_t last_id_ = 0;
  std::deque<Waiting> waiting_;
  std::unordered_map<uint32_t, InFlight> in_flight_;
};
}  // namespace dd::host

#endif  // DD_HOST_REQUEST_PIPELINE_H_
