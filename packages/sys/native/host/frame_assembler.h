// Reassembles one frame at a time from a non-blocking socket, reading exactly up to the end of
// the frame (never into a following payload) and keeping partial progress across calls.
#ifndef DD_HOST_FRAME_ASSEMBLER_H_
#define DD_HOST_FRAME_ASSEMBLER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "socket_io.h"
#include "wire_format.h"

namespace dd::host {
class FrameAssembler {
 public:
  enum class State { kIncomplete, kComplete, kClosed, kError, kProtocolError };

  // Frames whose header announces a longer body are a protocol error, found before anything is
  // allocated for the body.
  explicit FrameAssembler(uint32_t max_body = kMaxBodyBytes) : max_body_(max_body) {}
  // Bytes read by all Pump calls so far (liveness counts them).
  uint64_t bytes_read() const { return bytes_read_; }
  // A frame has begun but is not complete.
  bool mid_frame() const { return header_have_ > 0U && !(header_done_ && body_have_ == body_.size()); }

  // Reads what is available without blocking. kComplete: header() and body() hold a frame until
  // the next Pump. kProtocolError: `why` says what was malformed.
  State Pump(int fd, std::string &why);
  // Blocks (poll) until a frame is complete or `deadline`; kIncomplete means it timed out.
  State PumpUntil(int fd, const Deadline &deadline, std::string &why);

  const FrameHeader &header() const { return header_; }
  const std::vector<uint8_t> &body() const { return body_; }

 private:
  uint32_t max_body_;
  uint64_t bytes_read_ = 0;
  uint8_t header_bytes_[kFrameHeaderSize] = {};
  size_t header_have_ = 0;
  bool header_done_ = false;
  FrameHeader header_;
  std::vector<uint8_t> body_;  // capacity is kept between frames
  size_t body_have_ = 0;
};
}  // namespace dd::host

#endif  // DD_HOST_FRAME_ASSEMBLER_H_
