// Same-host data path: plain memory copies where the peer's cache is in memory files this side can
// map (zero-copy, peer_memory_files.h); otherwise process_vm_readv/writev straight between the two
// processes' registered memory, many segments per system call. The peer's CPU is not involved.
#ifndef DD_HOST_SAME_HOST_DATA_PATH_H_
#define DD_HOST_SAME_HOST_DATA_PATH_H_

#include <sys/types.h>
#include <sys/uio.h>

#include <cstdint>
#include <vector>

#include "data_path.h"
#include "peer_memory_files.h"

namespace dd::host {
// The most bytes one process_vm call moves: the deadline is checked between calls, so a transfer
// overshoots it by at most one chunk (about 1-2 ms at the speeds of this path, more under load).
constexpr uint64_t kSameHostChunkBytes = 4ULL << 20U;

class SameHostDataPath final : public DataPath {
 public:
  explicit SameHostDataPath(pid_t peer_pid) : peer_pid_(peer_pid), peer_(peer_pid) {}
  const char *Name() const override { return "same-host"; }
  TransferOutcome Run(const TransferJob &job) override;

 private:
  TransferOutcome CopyMapped(const TransferJob &job, const std::vector<uint8_t *> &remote_tensors) const;
  TransferOutcome MoveByProcessVm(const TransferJob &job);

  pid_t peer_pid_;
  PeerProcess peer_;
  // Reused between transfers so steady-state pulls allocate nothing.
  std::vector<iovec> local_;
  std::vector<iovec> remote_;
};

// Reads `len` bytes at `remote_addr` of `pid` into `out`: the probe that proves process_vm_readv
// reaches the right process. errno-style result: 0, or the errno of the failure.
int ReadPeerMemory(pid_t pid, uint64_t remote_addr, void *out, size_t len);
}  // namespace dd::host

#endif  // DD_HOST_SAME_HOST_DATA_PATH_H_
