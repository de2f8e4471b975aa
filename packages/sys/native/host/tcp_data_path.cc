#include "tcp_data_path.h"

namespace dd::host {
void TcpDataPath::NextRequest(const std::vector<TransferSegment> &segments, size_t &index, uint64_t &offset) {
  pieces_.clear();
  uint64_t bytes = 0;
  while (index < segments.size() && pieces_.size() < kMaxSegmentsPerRequest && bytes < kMaxBytesPerRequest) {
    const TransferSegment &s = segments[index];
    const uint64_t left = s.len - offset;
    const uint64_t room = kMaxBytesPerRequest - bytes;
    const uint64_t take = left < room ? left : room;
    TransferSegment piece = s;
    piece.remote_offset += offset;
    piece.remote_addr += offset;
    piece.local_addr += offset;
    piece.len = take;
    pieces_.push_back(piece);
    bytes += take;
    offset += take;
    if (offset == s.len) {
      ++index;
      offset = 0;
    }
  }
}

TransferOutcome TcpDataPath::Run(const TransferJob &job) {
  size_t index = 0;
  uint64_t offset = 0;
  while (index < job.segments->size()) {
    NextRequest(*job.segments, index, offset);
    TransferOutcome outcome = RunRequest(job);
    if (outcome.kind != TransferOutcome::Kind::kDone) {
      return outcome;
    }
  }
  return TransferOutcome{};
}

TransferOutcome TcpDataPath::RunRequest(const TransferJob &job) {
  using Kind = TransferOutcome::Kind;
  const bool pull = job.direction == TransferDirection::kPull;
  uint64_t total = 0;
  iov_.resize(pieces_.size());
  for (size_t i = 0; i < pieces_.size(); ++i) {
    total += pieces_[i].len;
    iov_[i] = iovec{reinterpret_cast<void *>(static_cast<uintptr_t>(pieces_[i].local_addr)),
                    static_cast<size_t>(pieces_[i].len)};
  }
  const uint32_t request_id = channel_.NextRequestId();
  frame_.clear();
  EncodeBlockRequest(pull ? FrameType::kRead : FrameType::kWrite, request_id, job.remote_cache_id, total,
                     pieces_.size(),
                     [this](size_t i) {
                       return WireSegment{pieces_[i].remote_tensor, pieces_[i].remote_offset, pieces_[i].len};
                     },
                     frame_);
  const IoResult sent = channel_.SendRequest(frame_, pull ? nullptr : iov_.data(), pull ? 0U : iov_.size(),
                                             job.deadline, true);
  if (sent.status != IoStatus::kOk) {
    // A request cut short leaves the stream unusable, whatever the cause.
    TransferOutcome outcome{sent.status == IoStatus::kTimeout ? Kind::kTimeout : Kind::kBroken, 0,
                            DescribeIo(sent, "sending a block request")};
    outcome.breaks_link = true;
    return outcome;
  }
  ResultMessage result;
  bool timed_out = false;
  std::string why;
  if (!channel_.ReadResult(request_id, result, job.deadline, timed_out, why)) {
    return TransferOutcome{timed_out ? Kind::kTimeout : Kind::kBroken, 0, why};
  }
  if (result.status != 0U) {
    return TransferOutcome{Kind::kRejected, result.status, "peer refused: " + result.detail};
  }
  const uint64_t expected_payload = pull ? total : 0U;
  if (result.payload_len != expected_payload) {
    return TransferOutcome{Kind::kBroken, 0, "peer answered with a payload of the wrong length"};
  }
  if (pull && !channel_.ReadPayload(iov_.data(), iov_.size(), total, job.deadline, timed_out, why)) {
    return TransferOutcome{timed_out ? Kind::kTimeout : Kind::kBroken, 0, why};
  }
  return TransferOutcome{};
}
}  // namespace dd::host
