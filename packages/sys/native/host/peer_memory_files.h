// Zero-copy on one host: the memory files that hold a peer's registered cache (dd allocates cache
// memory as memfd, device_memory.h), mapped into this process so transfers are plain memory copies.
// A descriptor is taken from the peer with pidfd_getfd, which the kernel grants only to a process
// that may ptrace the peer (the permission process_vm_readv needs), and only on a link whose peer
// the kernel facts identified (socket_peer.h); it is mapped only when /proc names it a dd memory
// file of exactly the size the peer's table claims. The mappings of a cache live as long as its
// table entry: a revoke (the peer unregistered it), an unlink or the link's death drop the entry
// once no transfer holds it, and the last holder unmaps.
#ifndef DD_HOST_PEER_MEMORY_FILES_H_
#define DD_HOST_PEER_MEMORY_FILES_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "memory_file_span.h"
#include "unique_fd.h"

namespace dd::host {
// The peer process of a link granted the same-host path. No pidfd is held between transfers (a
// dead link keeps its data path, and must not keep a descriptor: compat D17); a transfer first
// checks that the link's connection is alive, as for process_vm_readv, which names the peer by pid.
class PeerProcess {
 public:
  explicit PeerProcess(pid_t pid) : pid_(pid) {}
  pid_t pid() const { return pid_; }
  // A duplicate of the peer's descriptor `fd` (pidfd_open + pidfd_getfd), or an invalid one
  // (errno-style code in `err`).
  UniqueFd TakeDescriptor(int fd, int &err) const;

 private:
  pid_t pid_;
};

// One span of a peer's memory file mapped here; unmapped on destruction.
class MappedSpan {
 public:
  MappedSpan(void *map_base, size_t map_bytes, uint8_t *data) : map_base_(map_base), map_bytes_(map_bytes), data_(data) {}
  ~MappedSpan();
  MappedSpan(const MappedSpan &) = delete;
  MappedSpan &operator=(const MappedSpan &) = delete;
  uint8_t *data() const { return data_; }

 private:
  void *map_base_;
  size_t map_bytes_;
  uint8_t *data_;
};

// The tensors of one peer cache, mapped at its first same-host transfer (all or none).
class PeerCacheMappings {
 public:
  PeerCacheMappings(std::vector<MemoryFileSpan> files, uint64_t tensor_bytes)
      : files_(std::move(files)), tensor_bytes_(tensor_bytes) {}
  // The first byte of every tensor, mapped here; empty when the cache cannot be mapped (some
  // tensor not in a memory file, the kernel refused, the descriptor is not what the peer said);
  // `why` says why. Tried once: a refusal is remembered and the caller uses process_vm.
  const std::vector<uint8_t *> &Map(const PeerProcess &peer, std::string &why);

 private:
  const std::vector<MemoryFileSpan> files_;
  const uint64_t tensor_bytes_;
  std::mutex mutex_;
  bool tried_ = false;
  std::string refused_;
  std::vector<std::unique_ptr<MappedSpan>> spans_;
  std::vector<uint8_t *> tensors_;
};

// Maps [offset, offset + bytes) of the memory file `fd` (whose size must be `file_bytes` and whose
// /proc name must be a dd memory file's), pages populated; null with `why` otherwise.
std::unique_ptr<MappedSpan> MapMemoryFile(int fd, uint64_t offset, uint64_t bytes, uint64_t file_bytes,
                                          std::string &why);
}  // namespace dd::host

#endif  // DD_HOST_PEER_MEMORY_FILES_H_
