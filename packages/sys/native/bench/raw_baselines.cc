#include "raw_baselines.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <climits>
#include <cstring>

#include "bench_peer.h"

namespace ddbench {
namespace {
bool Full(ssize_t n, const std::vector<iovec> &iov) {
  size_t total = 0;
  for (const iovec &v : iov) {
    total += v.iov_len;
  }
  return n >= 0 && static_cast<size_t>(n) == total;
}

bool ReadAll(int fd, iovec *iov, size_t count) {
  while (count > 0U) {
    const ssize_t n = ::readv(fd, iov, static_cast<int>(count < IOV_MAX ? count : IOV_MAX));
    if (n <= 0) {
      return false;
    }
    size_t done = static_cast<size_t>(n);
    while (count > 0U && done >= iov->iov_len) {
      done -= iov->iov_len;
      ++iov;
      --count;
    }
    if (count > 0U) {
      iov->iov_base = static_cast<uint8_t *>(iov->iov_base) + done;
      iov->iov_len -= done;
    }
  }
  return true;
}

bool WriteAll(int fd, iovec *iov, size_t count) {
  while (count > 0U) {
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = count < IOV_MAX ? count : IOV_MAX;
    const ssize_t n = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (n <= 0) {
      return false;
    }
    size_t done = static_cast<size_t>(n);
    while (count > 0U && done >= iov->iov_len) {
      done -= iov->iov_len;
      ++iov;
      --count;
    }
    if (count > 0U) {
      iov->iov_base = static_cast<uint8_t *>(iov->iov_base) + done;
      iov->iov_len -= done;
    }
  }
  return true;
}
}  // namespace

void RawProcessVm::Build(const BlockBatch &batch, bool read) {
  const size_t n = batch.src_blocks->size();
  local_iov_.resize(n);
  remote_iov_.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const uint64_t remote_block = read ? (*batch.src_blocks)[i] : (*batch.dst_blocks)[i];
    const uint64_t local_block = read ? (*batch.dst_blocks)[i] : (*batch.src_blocks)[i];
    local_iov_[i] = iovec{local_ + local_block * batch.block, batch.block};
    remote_iov_[i] = iovec{reinterpret_cast<void *>(remote_ + remote_block * batch.block), batch.block};
  }
}

bool RawProcessVm::Read(const BlockBatch &batch) {
  Build(batch, true);
  return Full(::process_vm_readv(pid_, local_iov_.data(), local_iov_.size(), remote_iov_.data(), remote_iov_.size(), 0),
              local_iov_);
}

bool RawProcessVm::Write(const BlockBatch &batch) {
  Build(batch, false);
  return Full(::process_vm_writev(pid_, local_iov_.data(), local_iov_.size(), remote_iov_.data(), remote_iov_.size(), 0),
              local_iov_);
}

RawTcpClient::RawTcpClient(uint16_t port, uint8_t *local_base) : local_(local_base) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) != 0) {
    ::close(fd_);
    fd_ = -1;
    return;
  }
  const int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

RawTcpClient::~RawTcpClient() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

bool RawTcpClient::Pull(const BlockBatch &batch) {
  const size_t n = batch.src_blocks->size();
  requests_.resize(n * sizeof(RawRequest));
  iov_.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const RawRequest request{(*batch.src_blocks)[i] * batch.block, static_cast<uint32_t>(batch.block), 0U};
    std::memcpy(requests_.data() + i * sizeof(RawRequest), &request, sizeof(request));
    iov_[i] = iovec{local_ + (*batch.dst_blocks)[i] * batch.block, batch.block};
  }
  iovec out{requests_.data(), requests_.size()};
  return WriteAll(fd_, &out, 1) && ReadAll(fd_, iov_.data(), iov_.size());
}

bool RawTcpClient::Push(const BlockBatch &batch) {
  const size_t n = batch.src_blocks->size();
  requests_.resize(n * sizeof(RawRequest));
  iov_.resize(2 * n);
  for (size_t i = 0; i < n; ++i) {
    const RawRequest request{(*batch.dst_blocks)[i] * batch.block, static_cast<uint32_t>(batch.block),
                             kRawWrite | (i + 1 == n ? kRawAck : 0U)};
    std::memcpy(requests_.data() + i * sizeof(RawRequest), &request, sizeof(request));
    iov_[2 * i] = iovec{requests_.data() + i * sizeof(RawRequest), sizeof(RawRequest)};
    iov_[2 * i + 1] = iovec{local_ + (*batch.src_blocks)[i] * batch.block, batch.block};
  }
  uint8_t ack = 0;
  iovec in{&ack, 1};
  return WriteAll(fd_, iov_.data(), iov_.size()) && ReadAll(fd_, &in, 1);
}

void CopyBlocks(const BlockBatch &batch, const uint8_t *src_base, uint8_t *dst_base) {
  for (size_t i = 0; i < batch.src_blocks->size(); ++i) {
    std::memcpy(dst_base + (*batch.dst_blocks)[i] * batch.block, src_base + (*batch.src_blocks)[i] * batch.block,
                batch.block);
  }
}
}  // namespace ddbench
