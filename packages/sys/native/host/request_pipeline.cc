#include "request_pipeline.h"

namespace dd::host {
void RequestPipeline::Add(std::shared_ptr<TransferCall> call) {
  if (call->pieces().empty()) {
    call->Finish(TransferOutcome{});
    return;
  }
  waiting_.push_back(Waiting{std::move(call), 0});
}

bool RequestPipeline::Pump() {
  bool queued = false;
  // Round robin by call: each turn sends one piece of the call at the front, then moves it back.
  while (!waiting_.empty()) {
    Waiting &turn = waiting_.front();
    RequestPiece &piece = turn.call->pieces()[turn.next_piece];
    if (outstanding_ > 0U && outstanding_ + piece.window_bytes > window_) {
      break;
    }
    uint32_t id = ++last_id_;
    while (id == 0U || in_flight_.count(id) != 0U) {
      id = ++last_id_;  // wrapped past ids still in flight
    }
    LinkStream *stream = streams_.front();
    for (LinkStream *candidate : streams_) {
      if (candidate->out.queued_bytes() < stream->out.queued_bytes()) {
        stream = candidate;
      }
    }
    PatchRequestId(piece.frame.data(), id);
    OutputItem item;
    item.owned = std::move(piece.frame);
    item.external = piece.send;
    item.owner = turn.call.get();
    item.request_id = id;
    stream->out.Push(std::move(item));
    in_flight_[id] = InFlight{turn.call, turn.next_piece, stream->index, piece.window_bytes};
    outstanding_ += piece.window_bytes;
    queued = true;
    Waiting next = std::move(turn);
    waiting_.pop_front();
    if (++next.next_piece < next.call->pieces().size()) {
      waiting_.push_back(std::move(next));
    }
  }
  return queued;
}

bool RequestPipeline::OnResult(LinkStream &stream, uint32_t request_id, const ResultMessage &result, std::string &why) {
  const auto it = in_flight_.find(request_id);
  if (it == in_flight_.end() || it->second.stream != stream.index) {
    why = "answer to request " + std::to_string(request_id) + ", which is not in flight on this connection";
    return false;
  }
  InFlight &entry = it->second;
  stream.payload_request = request_id;
  if (entry.call == nullptr || entry.call->finished()) {
    // The caller gave up (or another piece failed the call): its bytes are skipped.
    entry.call = nullptr;
    stream.payload.Discard(result.payload_len);
  } else if (result.status != 0U) {
    // A refusal carries no bytes we want; a hostile peer's stray payload is skipped.
    stream.payload.Discard(result.payload_len);
    const std::shared_ptr<TransferCall> call = entry.call;
    Abandon(call, TransferOutcome{TransferOutcome::Kind::kRejected, result.status, result.detail});
  } else {
    RequestPiece &piece = entry.call->pieces()[entry.piece];
    if (piece.receive_owned) {
      if (result.payload_len > piece.max_owned) {
        why = "an answer announced " + std::to_string(result.payload_len) + " bytes, more than the request allows";
        return false;
      }
      piece.payload.resize(static_cast<size_t>(result.payload_len));
      stream.payload.Into({iovec{piece.payload.data(), piece.payload.size()}}, result.payload_len);
    } else {
      if (result.payload_len != piece.expected_payload()) {
        why = "peer answered with a payload of the wrong length";
        return false;
      }
      stream.payload.Into(piece.receive, result.payload_len);
    }
  }
  if (!stream.payload.active()) {
    PayloadDone(stream);
  }
  return true;
}

void RequestPipeline::PayloadDone(LinkStream &stream) {
  const uint32_t id = stream.payload_request;
  stream.payload_request = 0;
  const auto it = in_flight_.find(id);
  if (it == in_flight_.end()) {
    return;
  }
  const std::shared_ptr<TransferCall> call = it->second.call;
  Release(id);
  if (call != nullptr) {
    call->PieceDone();
  }
}

void RequestPipeline::Release(uint32_t request_id) {
  const auto it = in_flight_.find(request_id);
  if (it != in_flight_.end()) {
    outstanding_ -= it->second.window;
    in_flight_.erase(it);
  }
}

void RequestPipeline::Abandon(const std::shared_ptr<TransferCall> &call, TransferOutcome outcome) {
  std::vector<uint32_t> unsent;
  for (LinkStream *stream : streams_) {
    stream->out.Detach(call.get(), unsent);
    const auto reading = in_flight_.find(stream->payload_request);
    if (reading != in_flight_.end() && reading->second.call == call) {
      stream->payload.DropTarget();
    }
  }
  for (const uint32_t id : unsent) {
    Release(id);
  }
  for (auto &[id, entry] : in_flight_) {
    if (entry.call == call) {
      entry.call = nullptr;
    }
  }
  for (auto it = waiting_.begin(); it != waiting_.end(); ++it) {
    if (it->call == call) {
      waiting_.erase(it);
      break;
    }
  }
  call->Finish(std::move(outcome));
}

void RequestPipeline::FailAll(const TransferOutcome &outcome) {
  for (auto &[id, entry] : in_flight_) {
    if (entry.call != nullptr) {
      entry.call->Finish(outcome);
    }
  }
  for (Waiting &waiting : waiting_) {
    waiting.call->Finish(outcome);
  }
  in_flight_.clear();
  waiting_.clear();
  outstanding_ = 0;
}
}  // namespace dd::host
