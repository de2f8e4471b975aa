#include "payload_sink.h"

#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <climits>

#include "iovec_window.h"

namespace dd::host {
void PayloadSink::Into(std::vector<iovec> target, uint64_t len) {
  target_ = std::move(target);
  index_ = 0;
  left_ = len;
  discard_ = false;
}

void PayloadSink::Discard(uint64_t len) {
  target_.clear();
  index_ = 0;
  left_ = len;
  discard_ = true;
}

void PayloadSink::DropTarget() {
  target_.clear();
  index_ = 0;
  discard_ = true;
}

IoResult PayloadSink::Read(int fd, size_t &bytes) {
  bytes = 0;
  static thread_local std::array<uint8_t, 65536> scratch;
  while (left_ > 0U) {
    ssize_t n = 0;
    if (discard_) {
      const size_t want = left_ < scratch.size() ? static_cast<size_t>(left_) : scratch.size();
      n = ::recv(fd, scratch.data(), want, MSG_DONTWAIT);
    } else {
      iovec *iov = target_.data() + index_;
      size_t count = target_.size() - index_;
      n = ::readv(fd, iov, count < static_cast<size_t>(IOV_MAX) ? static_cast<int>(count) : IOV_MAX);
      if (n > 0) {
        ConsumeIovecs(iov, count, static_cast<size_t>(n));
        index_ = target_.size() - count;
      }
    }
    if (n > 0) {
      bytes += static_cast<size_t>(n);
      left_ -= static_cast<uint64_t>(n);
      continue;
    }
    if (n == 0) {
      return IoResult{IoStatus::kClosed, 0, bytes};
    }
    if (errno == EINTR) {
      continue;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return IoResult{IoStatus::kOk, 0, bytes};
    }
    return IoResult{errno == ECONNRESET ? IoStatus::kClosed : IoStatus::kError, errno, bytes};
  }
  target_.clear();
  return IoResult{IoStatus::kOk, 0, bytes};
}
}  // namespace dd::host
