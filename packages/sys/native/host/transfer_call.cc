#include "transfer_call.h"

namespace dd::host {
uint64_t RequestPiece::expected_payload() const {
  uint64_t n = 0;
  for (const iovec &v : receive) {
    n += v.iov_len;
  }
  return n;
}

void TransferCall::PieceDone() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (finished_) {
    return;
  }
  if (++done_ == pieces_.size()) {
    finished_ = true;
    cv_.notify_all();
  }
}

void TransferCall::Finish(TransferOutcome outcome) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (finished_) {
    return;
  }
  outcome_ = std::move(outcome);
  finished_ = true;
  cv_.notify_all();
}

bool TransferCall::finished() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return finished_;
}

bool TransferCall::WaitUntil(const Deadline &deadline) {
  std::unique_lock<std::mutex> lock(mutex_);
  return cv_.wait_until(lock, deadline.At(), [this] { return finished_; });
}

bool TransferCall::WaitFinishedFor(int64_t ms) { return WaitUntil(Deadline::AfterMs(ms)); }

TransferOutcome TransferCall::outcome() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return outcome_;
}
}  // namespace dd::host
