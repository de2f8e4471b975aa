#include "tcp_data_path.h"

#include <algorithm>

#include "link_calls.h"

namespace dd::host {
namespace {
// Appends one block request for `wire` (the remote side) and `local` (ours) to `pieces`.
void AddPiece(const TransferJob &job, const std::vector<WireSegment> &wire, std::vector<iovec> local, uint64_t bytes,
              std::vector<RequestPiece> &pieces) {
  const bool pull = job.direction == TransferDirection::kPull;
  RequestPiece piece;
  EncodeBlockRequest(pull ? FrameType::kRead : FrameType::kWrite, 0, job.remote_cache_id, bytes, wire.size(),
                     [&](size_t i) { return wire[i]; }, piece.frame);
  (pull ? piece.receive : piece.send) = std::move(local);
  piece.window_bytes = bytes;
  pieces.push_back(std::move(piece));
}
}  // namespace

TransferOutcome TcpDataPath::Run(const TransferJob &job) {
  const uint64_t limit = piece_bytes_ < kMaxBytesPerRequest ? piece_bytes_ : kMaxBytesPerRequest;
  std::vector<RequestPiece> pieces;
  std::vector<WireSegment> wire;
  std::vector<iovec> local;
  uint64_t bytes = 0;
  for (const TransferSegment &s : *job.segments) {
    uint64_t offset = 0;
    while (offset < s.len) {
      // A segment bigger than what is left of the piece is split across pieces.
      const uint64_t take = std::min(s.len - offset, limit - bytes);
      wire.push_back(WireSegment{s.remote_tensor, s.remote_offset + offset, take});
      local.push_back(iovec{reinterpret_cast<void *>(static_cast<uintptr_t>(s.local_addr + offset)),
                            static_cast<size_t>(take)});
      bytes += take;
      offset += take;
      if (bytes == limit || wire.size() == kMaxSegmentsPerRequest) {
        AddPiece(job, wire, std::move(local), bytes, pieces);
        wire.clear();
        local.clear();
        bytes = 0;
      }
    }
  }
  if (!wire.empty()) {
    AddPiece(job, wire, std::move(local), bytes, pieces);
  }
  return RunOnLink(link_, std::make_shared<TransferCall>(std::move(pieces)), job.deadline);
}
}  // namespace dd::host
