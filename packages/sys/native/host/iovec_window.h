// The part of an iovec list that is still to move, for calls that may move only some of it
// (writev/readv, process_vm_readv/process_vm_writev).
#ifndef DD_HOST_IOVEC_WINDOW_H_
#define DD_HOST_IOVEC_WINDOW_H_

#include <sys/uio.h>

#include <cstddef>

namespace dd::host {
// Drops the entries `done` bytes cover from the front and shortens the first partial one.
inline void ConsumeIovecs(iovec *&iov, size_t &count, size_t done) {
  while (count > 0U && done >= iov->iov_len) {
    done -= iov->iov_len;
    ++iov;
    --count;
  }
  if (count > 0U && done > 0U) {
    iov->iov_base = static_cast<char *>(iov->iov_base) + done;
    iov->iov_len -= done;
  }
}
}  // namespace dd::host

#endif  // DD_HOST_IOVEC_WINDOW_H_
