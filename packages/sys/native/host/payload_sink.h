// Bytes that follow a frame on a stream (an answer's payload, or a write's bytes): read straight
// into their destination as they arrive, or skipped when nobody may receive them any more.
#ifndef DD_HOST_PAYLOAD_SINK_H_
#define DD_HOST_PAYLOAD_SINK_H_

#include <sys/uio.h>

#include <cstdint>
#include <vector>

#include "socket_io.h"

namespace dd::host {
class PayloadSink {
 public:
  // The next `len` bytes go to `target` (whose lengths add up to `len`).
  void Into(std::vector<iovec> target, uint64_t len);
  // The next `len` bytes are skipped.
  void Discard(uint64_t len);
  // The rest is skipped from now on (its destination must not be touched any more).
  void DropTarget();
  bool active() const { return left_ > 0U; }
  uint64_t left() const { return left_; }
  // Reads what the socket has now (non-blocking); `bytes` counts what was read.
  IoResult Read(int fd, size_t &bytes);

 private:
  std::vector<iovec> target_;
  size_t index_ = 0;
  uint64_t left_ = 0;
  bool discard_ = false;
};
}  // namespace dd::host

#endif  // DD_HOST_PAYLOAD_SINK_H_
