#include "peer_memory_files.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "device_memory.h"

namespace dd::host {
namespace {
#ifndef SYS_pidfd_open
constexpr long SYS_pidfd_open = 434;
#endif
#ifndef SYS_pidfd_getfd
constexpr long SYS_pidfd_getfd = 438;
#endif

std::string DescribeErrno(const char *what, int err) { return std::string(what) + ": " + std::strerror(err); }
}  // namespace

UniqueFd PeerProcess::TakeDescriptor(int fd, int &err) const {
  const UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0)));
  if (!pidfd) {
    err = errno;
    return UniqueFd();
  }
  UniqueFd taken(static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd.get(), fd, 0)));
  err = taken ? 0 : errno;
  return taken;
}

MappedSpan::~MappedSpan() { ::munmap(map_base_, map_bytes_); }

std::unique_ptr<MappedSpan> MapMemoryFile(int fd, uint64_t offset, uint64_t bytes, uint64_t file_bytes,
                                          std::string &why) {
  // The descriptor must be one of dd's memory files: /proc/self/fd names a memfd "/memfd:<name> (deleted)".
  const std::string expected = std::string("/memfd:") + kMemoryFileName + " ";
  char link[256] = {};
  const std::string proc = "/proc/self/fd/" + std::to_string(fd);
  const ssize_t n = ::readlink(proc.c_str(), link, sizeof(link) - 1U);
  if (n < 0 || std::strncmp(link, expected.c_str(), expected.size()) != 0) {
    why = "the peer's descriptor is not a dd memory file";
    return nullptr;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || static_cast<uint64_t>(st.st_size) != file_bytes) {
    why = "the peer's memory file does not have the size its cache table claims";
    return nullptr;
  }
  uint64_t end = 0;
  if (bytes == 0U || __builtin_add_overflow(offset, bytes, &end) || end > file_bytes) {
    why = "the tensor does not lie inside the peer's memory file";
    return nullptr;
  }
  const auto page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  const uint64_t first = offset / page * page;
  const uint64_t length = end - first;
  // Populated now, at the cache's first transfer, so copies never take page faults.
  void *mapped = ::mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, static_cast<off_t>(first));
  if (mapped == MAP_FAILED) {
    why = DescribeErrno("mapping the peer's memory file", errno);
    return nullptr;
  }
  return std::make_unique<MappedSpan>(mapped, length, static_cast<uint8_t *>(mapped) + (offset - first));
}

const std::vector<uint8_t *> &PeerCacheMappings::Map(const PeerProcess &peer, std::string &why) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (tried_) {
    why = refused_;
    return tensors_;
  }
  tried_ = true;
  std::vector<std::unique_ptr<MappedSpan>> spans;
  std::vector<uint8_t *> tensors;
  for (const MemoryFileSpan &file : files_) {
    if (file.fd < 0) {
      refused_ = "a tensor of the cache is not in a memory file";
      break;
    }
    int err = 0;
    const UniqueFd fd = peer.TakeDescriptor(file.fd, err);
    if (!fd) {
      refused_ = DescribeErrno("pidfd_getfd on the peer", err);
      break;
    }
    std::unique_ptr<MappedSpan> span = MapMemoryFile(fd.get(), file.offset, tensor_bytes_, file.file_bytes, refused_);
    if (span == nullptr) {
      break;
    }
    tensors.push_back(span->data());
    spans.push_back(std::move(span));
  }
  if (refused_.empty() && !files_.empty()) {
    spans_ = std::move(spans);
    tensors_ = std::move(tensors);
  } else if (refused_.empty()) {
    refused_ = "the cache is in no memory file";
  }
  why = refused_;
  return tensors_;
}
}  // namespace dd::host
