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

  // Reads what is available without blocking. kComplete: header() and body() hold a frame until
  // the next Pump. kProtocolError: `why` says what was malformed.
  State Pump(int fd, std::string &why);
  // Blocks (poll) until a frame is complete or `deadline`; kIncomplete means it timed out.
  State PumpUntil(int fd, const Deadline &deadline, std::string &why);

  const FrameHeader &header() const { return header_; }
  const std::vector<uint8_t> &body() const { return body_; }

 private:
  uint8_t header_bytes_[kFrameHeaderSize] = {};
  size_t header_have_ = 0;
  bool header_done_ = false;
  FrameHeader header_;
  std::vector<uint8_t> body_;  // capacity is kept between frames
  size_t body_have_ = 0;
};
}  // namespace dd::host

#endif  // DD_HOST_FRAME_ASSEMBLER_H_
