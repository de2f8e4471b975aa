#include "same_host_data_path.h"

#include <algorithm>
#include <climits>
#include <cerrno>
#include <cstring>

#include "iovec_window.h"
#include "llm_datadist/llm_datadist.h"

namespace dd::host {
namespace {
ssize_t MoveVectors(TransferDirection direction, pid_t pid, const iovec *local, size_t local_count,
                    const iovec *remote, size_t remote_count) {
  return direction == TransferDirection::kPull
             ? ::process_vm_readv(pid, local, local_count, remote, remote_count, 0)
             : ::process_vm_writev(pid, local, local_count, remote, remote_count, 0);
}
}  // namespace

int ReadPeerMemory(pid_t pid, uint64_t remote_addr, void *out, size_t len) {
  iovec local{out, len};
  iovec remote{reinterpret_cast<void *>(static_cast<uintptr_t>(remote_addr)), len};
  const ssize_t n = ::process_vm_readv(pid, &local, 1, &remote, 1, 0);
  if (n < 0) {
    return errno;
  }
  return static_cast<size_t>(n) == len ? 0 : EFAULT;
}

TransferOutcome SameHostDataPath::Run(const TransferJob &job) {
  if (job.remote_mappings != nullptr) {
    std::string why;
    const std::vector<uint8_t *> &remote_tensors = job.remote_mappings->Map(peer_, why);
    if (!remote_tensors.empty()) {
      return CopyMapped(job, remote_tensors);
    }
  }
  return MoveByProcessVm(job);
}

TransferOutcome SameHostDataPath::CopyMapped(const TransferJob &job, const std::vector<uint8_t *> &remote_tensors) const {
  // Segments were checked against the remote tensor's size when the transfer was planned; the
  // mapping covers the whole tensor. The deadline is checked between chunks, as below.
  uint64_t since_check = 0;
  for (const TransferSegment &s : *job.segments) {
    if (since_check >= kSameHostChunkBytes) {
      since_check = 0;
      if (job.deadline.Expired()) {
        return TransferOutcome{TransferOutcome::Kind::kTimeout, 0, "deadline passed during a same-host transfer"};
      }
    }
    uint8_t *remote = remote_tensors[s.remote_tensor] + s.remote_offset;
    auto *local = reinterpret_cast<uint8_t *>(static_cast<uintptr_t>(s.local_addr));
    if (job.direction == TransferDirection::kPull) {
      std::memcpy(local, remote, s.len);
    } else {
      std::memcpy(remote, local, s.len);
    }
    since_check += s.len;
  }
  return TransferOutcome{};
}

TransferOutcome SameHostDataPath::MoveByProcessVm(const TransferJob &job) {
  const std::vector<TransferSegment> &segments = *job.segments;
  size_t next = 0;      // first segment not fully moved
  uint64_t offset = 0;  // bytes of it already moved
  while (next < segments.size()) {
    if (next > 0U || offset > 0U) {
      // Between chunks: a long transfer overshoots its deadline by at most one chunk.
      if (job.deadline.Expired()) {
        return TransferOutcome{TransferOutcome::Kind::kTimeout, 0, "deadline passed during a same-host transfer"};
      }
    }
    // One system call moves up to IOV_MAX segments and kSameHostChunkBytes bytes.
    local_.clear();
    remote_.clear();
    uint64_t bytes = 0;
    while (next < segments.size() && local_.size() < static_cast<size_t>(IOV_MAX) && bytes < kSameHostChunkBytes) {
      const TransferSegment &s = segments[next];
      const uint64_t take = std::min(s.len - offset, kSameHostChunkBytes - bytes);
      local_.push_back(iovec{reinterpret_cast<void *>(static_cast<uintptr_t>(s.local_addr + offset)),
                             static_cast<size_t>(take)});
      remote_.push_back(iovec{reinterpret_cast<void *>(static_cast<uintptr_t>(s.remote_addr + offset)),
                              static_cast<size_t>(take)});
      bytes += take;
      offset += take;
      if (offset == s.len) {
        ++next;
        offset = 0;
      }
    }
    iovec *local = local_.data();
    iovec *remote = remote_.data();
    size_t local_count = local_.size();
    size_t remote_count = remote_.size();
    while (remote_count > 0U) {
      const ssize_t n = MoveVectors(job.direction, peer_pid_, local, local_count, remote, remote_count);
      if (n < 0) {
        const int err = errno;
        if (err == EINTR) {
          continue;
        }
        if (err == EPERM || err == EACCES) {
          return TransferOutcome{TransferOutcome::Kind::kUnsupported, 0,
                                 std::string("process_vm access to peer pid ") + std::to_string(peer_pid_) +
                                     " refused: " + std::strerror(err)};
        }
        if (err == ESRCH) {
          return TransferOutcome{TransferOutcome::Kind::kBroken, 0,
                                 "peer process " + std::to_string(peer_pid_) + " is gone"};
        }
        return TransferOutcome{TransferOutcome::Kind::kRejected, llm_datadist::LLM_FAILED,
                               std::string("process_vm transfer failed: ") + std::strerror(err)};
      }
      if (n == 0) {
        return TransferOutcome{TransferOutcome::Kind::kRejected, llm_datadist::LLM_FAILED,
                               "process_vm transfer made no progress (memory no longer mapped?)"};
      }
      ConsumeIovecs(local, local_count, static_cast<size_t>(n));
      ConsumeIovecs(remote, remote_count, static_cast<size_t>(n));
    }
  }
  return TransferOutcome{};
}
}  // namespace dd::host
