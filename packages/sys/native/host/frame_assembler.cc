#include "frame_assembler.h"

#include <poll.h>

#include <cerrno>

namespace dd::host {
FrameAssembler::State FrameAssembler::Pump(int fd, std::string &why) {
  if (header_done_ && body_have_ == body_.size()) {
    // The previous frame was handed out; start the next one.
    header_done_ = false;
    header_have_ = 0;
    body_.clear();
    body_have_ = 0;
  }
  for (;;) {
    size_t got = 0;
    IoResult io;
    if (!header_done_) {
      io = RecvAvailable(fd, header_bytes_ + header_have_, kFrameHeaderSize - header_have_, &got);
      header_have_ += got;
    } else {
      io = RecvAvailable(fd, body_.data() + body_have_, body_.size() - body_have_, &got);
      body_have_ += got;
    }
    bytes_read_ += got;
    if (io.status == IoStatus::kClosed) {
      return State::kClosed;
    }
    if (io.status != IoStatus::kOk) {
      why = DescribeIo(io, "recv");
      return State::kError;
    }
    if (!header_done_ && header_have_ == kFrameHeaderSize) {
      if (!DecodeHeader(header_bytes_, header_, why)) {
        return State::kProtocolError;
      }
      if (header_.body_len > max_body_) {
        why = "frame body of " + std::to_string(header_.body_len) + " bytes is above this connection's cap of " +
              std::to_string(max_body_);
        return State::kProtocolError;
      }
      header_done_ = true;
      body_.resize(header_.body_len);
      body_have_ = 0;
    }
    if (header_done_ && body_have_ == body_.size()) {
      return State::kComplete;
    }
    if (got == 0U) {
      return State::kIncomplete;
    }
  }
}

FrameAssembler::State FrameAssembler::PumpUntil(int fd, const Deadline &deadline, std::string &why) {
  for (;;) {
    const State state = Pump(fd, why);
    if (state != State::kIncomplete) {
      return state;
    }
    const int timeout = deadline.PollTimeoutMs();
    if (timeout == 0) {
      return State::kIncomplete;
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, timeout) < 0 && errno != EINTR) {
      why = "poll failed";
      return State::kError;
    }
  }
}
}  // namespace dd::host
