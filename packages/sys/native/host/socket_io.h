// Non-blocking TCP sockets with deadlines: every send, receive and connect ends by its deadline.
#ifndef DD_HOST_SOCKET_IO_H_
#define DD_HOST_SOCKET_IO_H_

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "deadline.h"
#include "engine_options.h"
#include "unique_fd.h"

namespace dd::host {
enum class IoStatus { kOk, kTimeout, kClosed, kError };

struct IoResult {
  IoStatus status = IoStatus::kOk;
  int error = 0;     // errno for kError
  size_t bytes = 0;  // bytes moved before the call returned
};

// "timed out", "peer closed the connection", "recv: Connection reset by peer"...
std::string DescribeIo(const IoResult &result, const char *operation);

// Sends every byte described by iov[0..count), advancing the array as bytes go out.
IoResult SendFully(int fd, iovec *iov, size_t count, const Deadline &deadline);
IoResult SendBuffer(int fd, const void *data, size_t len, const Deadline &deadline);
// One non-blocking receive: *got = 0 with kOk means nothing is available now.
IoResult RecvAvailable(int fd, void *data, size_t len, size_t *got);

// Non-blocking, close-on-exec, TCP_NODELAY.
void ConfigureStream(int fd);

enum class ConnectStatus {
  kConnected,
  kBadAddress,  // not an IPv4 address
  kFailed,      // refused, unreachable, or the socket could not be made
  kTimeout,     // not connected by the deadline
};
// Connects to ip:port (IPv4) by `deadline`; `error` says why it did not.
ConnectStatus ConnectTcp(const std::string &ip, uint16_t port, const Deadline &deadline, UniqueFd &out,
                         std::string &error);
// A listening socket (SO_REUSEADDR, non-blocking); fails on an address that is not IPv4/IPv6.
bool ListenTcp(const ListenAddress &address, UniqueFd &out, std::string &error);
}  // namespace dd::host

#endif  // DD_HOST_SOCKET_IO_H_
