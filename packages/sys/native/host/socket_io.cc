#include "socket_io.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "iovec_window.h"

namespace dd::host {
namespace {
void SkipEmpty(iovec *&iov, size_t &count) {
  while (count > 0U && iov->iov_len == 0U) {
    ++iov;
    --count;
  }
}

IoResult WaitFor(int fd, short events, const Deadline &deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    const int timeout = deadline.PollTimeoutMs();
    if (timeout == 0) {
      return IoResult{IoStatus::kTimeout, 0};
    }
    const int n = ::poll(&p, 1, timeout);
    if (n > 0) {
      return IoResult{};
    }
    if (n < 0 && errno != EINTR) {
      return IoResult{IoStatus::kError, errno};
    }
  }
}
}  // namespace

std::string DescribeIo(const IoResult &result, const char *operation) {
  switch (result.status) {
    case IoStatus::kOk: return std::string(operation) + ": ok";
    case IoStatus::kTimeout: return std::string(operation) + ": timed out";
    case IoStatus::kClosed: return std::string(operation) + ": peer closed the connection";
    case IoStatus::kError: return std::string(operation) + ": " + std::strerror(result.error);
  }
  return operation;
}

IoResult SendFully(int fd, iovec *iov, size_t count, const Deadline &deadline) {
  IoResult result;
  SkipEmpty(iov, count);
  while (count > 0U) {
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = count < static_cast<size_t>(IOV_MAX) ? count : static_cast<size_t>(IOV_MAX);
    const ssize_t n = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (n > 0) {
      result.bytes += static_cast<size_t>(n);
      ConsumeIovecs(iov, count, static_cast<size_t>(n));
      SkipEmpty(iov, count);
      continue;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      const IoResult waited = WaitFor(fd, POLLOUT, deadline);
      if (waited.status != IoStatus::kOk) {
        result.status = waited.status;
        result.error = waited.error;
        return result;
      }
      continue;
    }
    result.error = n < 0 ? errno : EIO;
    result.status = (result.error == EPIPE || result.error == ECONNRESET) ? IoStatus::kClosed : IoStatus::kError;
    return result;
  }
  return result;
}

IoResult SendBuffer(int fd, const void *data, size_t len, const Deadline &deadline) {
  iovec iov{const_cast<void *>(data), len};
  return SendFully(fd, &iov, 1, deadline);
}

IoResult RecvAvailable(int fd, void *data, size_t len, size_t *got) {
  *got = 0;
  for (;;) {
    const ssize_t n = ::recv(fd, data, len, 0);
    if (n > 0) {
      *got = static_cast<size_t>(n);
      return IoResult{};
    }
    if (n == 0) {
      return IoResult{IoStatus::kClosed, 0};
    }
    if (errno == EINTR) {
      continue;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return IoResult{};
    }
    return IoResult{errno == ECONNRESET ? IoStatus::kClosed : IoStatus::kError, errno};
  }
}

void ConfigureStream(int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

ConnectStatus ConnectTcp(const std::string &ip, uint16_t port, const Deadline &deadline, UniqueFd &out,
                         std::string &error) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (inet_pton(AF_INET, ip.c_str(), &addr.sin_addr) != 1) {
    error = "connect " + ip + ": not an IPv4 address";
    return ConnectStatus::kBadAddress;
  }
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) {
    error = std::string("socket: ") + std::strerror(errno);
    return ConnectStatus::kFailed;
  }
  ConfigureStream(fd.get());
  const std::string where = "connect " + ip + ":" + std::to_string(port);
  if (::connect(fd.get(), reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) != 0) {
    if (errno != EINPROGRESS && errno != EINTR) {
      error = where + ": " + std::strerror(errno);
      return ConnectStatus::kFailed;
    }
    const IoResult waited = WaitFor(fd.get(), POLLOUT, deadline);
    if (waited.status != IoStatus::kOk) {
      const bool timeout = waited.status == IoStatus::kTimeout;
      error = where + (timeout ? ": timed out" : std::string(": ") + std::strerror(waited.error));
      return timeout ? ConnectStatus::kTimeout : ConnectStatus::kFailed;
    }
    int so_error = 0;
    socklen_t len = sizeof(so_error);
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &so_error, &len);
    if (so_error != 0) {
      error = where + ": " + std::strerror(so_error);
      return so_error == ETIMEDOUT ? ConnectStatus::kTimeout : ConnectStatus::kFailed;
    }
  }
  out = std::move(fd);
  return ConnectStatus::kConnected;
}

bool ListenTcp(const ListenAddress &address, UniqueFd &out, std::string &error) {
  const std::string where = "listen " + address.ip + ":" + std::to_string(address.port);
  UniqueFd fd(::socket(address.ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) {
    error = where + ": socket: " + std::strerror(errno);
    return false;
  }
  const int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  int rc = -1;
  if (address.ipv6) {
    sockaddr_in6 addr{};
    addr.sin6_family = AF_INET6;
    addr.sin6_port = htons(address.port);
    if (inet_pton(AF_INET6, address.ip.c_str(), &addr.sin6_addr) != 1) {
      error = where + ": not an IPv6 address";
      return false;
    }
    rc = ::bind(fd.get(), reinterpret_cast<sockaddr *>(&addr), sizeof(addr));
  } else {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(address.port);
    if (inet_pton(AF_INET, address.ip.c_str(), &addr.sin_addr) != 1) {
      error = where + ": not an IPv4 address";
      return false;
    }
    rc = ::bind(fd.get(), reinterpret_cast<sockaddr *>(&addr), sizeof(addr));
  }
  if (rc != 0) {
    error = where + ": bind: " + std::strerror(errno);
    return false;
  }
  if (::listen(fd.get(), SOMAXCONN) != 0) {
    error = where + ": " + std::strerror(errno);
    return false;
  }
  out = std::move(fd);
  return true;
}
}  // namespace dd::host
