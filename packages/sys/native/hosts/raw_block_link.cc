#include "raw_block_link.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

namespace ddhosts {
namespace {
bool ReadExact(int fd, void *data, size_t len) {
  auto *p = static_cast<uint8_t *>(data);
  while (len > 0U) {
    const ssize_t n = ::recv(fd, p, len, 0);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return false;
    }
    p += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

bool WriteExact(int fd, const void *data, size_t len) {
  const auto *p = static_cast<const uint8_t *>(data);
  while (len > 0U) {
    const ssize_t n = ::send(fd, p, len, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return false;
    }
    p += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

bool ToAddress(const std::string &ip, uint16_t port, sockaddr_in &addr) {
  addr = sockaddr_in{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  return ::inet_pton(AF_INET, ip.c_str(), &addr.sin_addr) == 1;
}

void ServeConnection(int fd, const uint8_t *region, uint64_t region_bytes) {
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  RawBlockRequest request{};
  while (ReadExact(fd, &request, sizeof(request))) {
    if (request.offset > region_bytes || request.length > region_bytes - request.offset ||
        !WriteExact(fd, region + request.offset, request.length)) {
      break;
    }
  }
  ::close(fd);
}
}  // namespace

bool StartRawBlockServer(const std::string &ip, uint16_t port, const uint8_t *region, uint64_t region_bytes,
                         std::string &why) {
  sockaddr_in addr{};
  if (!ToAddress(ip, port, addr)) {
    why = "not an IPv4 address: " + ip;
    return false;
  }
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) != 0 || ::listen(fd, 16) != 0) {
    why = std::string("raw block server on ") + ip + ":" + std::to_string(port) + ": " + std::strerror(errno);
    ::close(fd);
    return false;
  }
  std::thread([fd, region, region_bytes] {
    for (;;) {
      const int connection = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (connection < 0) {
        if (errno == EINTR || errno == ECONNABORTED) {
          continue;
        }
        return;
      }
      std::thread(ServeConnection, connection, region, region_bytes).detach();
    }
  }).detach();
  return true;
}

RawBlockClient::~RawBlockClient() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

bool RawBlockClient::Connect(const std::string &ip, uint16_t port, std::string &why) {
  sockaddr_in addr{};
  if (!ToAddress(ip, port, addr)) {
    why = "not an IPv4 address: " + ip;
    return false;
  }
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (::connect(fd_, reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) != 0) {
    why = std::string("connect ") + ip + ":" + std::to_string(port) + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

bool RawBlockClient::ReadBlocks(const std::vector<uint64_t> &src_blocks, const std::vector<uint8_t *> &destinations,
                                uint64_t block_bytes, std::string &why) {
  std::vector<RawBlockRequest> requests;
  requests.reserve(src_blocks.size());
  for (const uint64_t block : src_blocks) {
    requests.push_back(RawBlockRequest{block * block_bytes, block_bytes});
  }
  errno = 0;
  bool ok = WriteExact(fd_, requests.data(), requests.size() * sizeof(RawBlockRequest));
  for (size_t i = 0; ok && i < destinations.size(); ++i) {
    ok = ReadExact(fd_, destinations[i], block_bytes);
  }
  if (!ok) {
    why = std::string("raw block read: ") + (errno != 0 ? std::strerror(errno) : "connection closed");
  }
  return ok;
}
}  // namespace ddhosts
