#include "same_host_data_path.h"

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
  const std::vector<TransferSegment> &segments = *job.segments;
  size_t next = 0;
  while (next < segments.size()) {
    // One system call moves up to IOV_MAX segments.
    const size_t batch = segments.size() - next < static_cast<size_t>(IOV_MAX) ? segments.size() - next
                                                                               : static_cast<size_t>(IOV_MAX);
    local_.resize(batch);
    remote_.resize(batch);
    for (size_t i = 0; i < batch; ++i) {
      const TransferSegment &s = segments[next + i];
      local_[i] = iovec{reinterpret_cast<void *>(static_cast<uintptr_t>(s.local_addr)), static_cast<size_t>(s.len)};
      remote_[i] = iovec{reinterpret_cast<void *>(static_cast<uintptr_t>(s.remote_addr)), static_cast<size_t>(s.len)};
    }
    iovec *local = local_.data();
    iovec *remote = remote_.data();
    size_t local_count = batch;
    size_t remote_count = batch;
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
    next += batch;
    if (next < segments.size() && job.deadline.Expired()) {
      return TransferOutcome{TransferOutcome::Kind::kTimeout, 0, "deadline passed during a same-host transfer"};
    }
  }
  return TransferOutcome{};
}
}  // namespace dd::host
