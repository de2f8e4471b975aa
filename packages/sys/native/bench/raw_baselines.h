// The baselines every figure is compared with, measured in the same run on the same blocks:
// memcpy, raw process_vm_readv/writev of the peer's region, and a raw TCP block server.
#ifndef DD_BENCH_RAW_BASELINES_H_
#define DD_BENCH_RAW_BASELINES_H_

#include <sys/types.h>
#include <sys/uio.h>

#include <cstdint>
#include <vector>

namespace ddbench {
// Moves `batch` blocks of `block` bytes: src_offsets[i] in the peer region ↔ dst_offsets[i] locally.
struct BlockBatch {
  const std::vector<uint64_t> *src_blocks = nullptr;
  const std::vector<uint64_t> *dst_blocks = nullptr;
  uint64_t block = 0;
};

class RawProcessVm {
 public:
  RawProcessVm(pid_t pid, uint64_t remote_base, uint8_t *local_base) : pid_(pid), remote_(remote_base), local_(local_base) {}
  bool Read(const BlockBatch &batch);   // peer → local
  bool Write(const BlockBatch &batch);  // local → peer

 private:
  void Build(const BlockBatch &batch, bool read);
  pid_t pid_;
  uint64_t remote_;
  uint8_t *local_;
  std::vector<iovec> local_iov_;
  std::vector<iovec> remote_iov_;
};

class RawTcpClient {
 public:
  RawTcpClient(uint16_t port, uint8_t *local_base);
  ~RawTcpClient();
  bool ok() const { return fd_ >= 0; }
  // Sends all requests in one write, then reads every block straight into place.
  bool Pull(const BlockBatch &batch);
  // Sends (header, block) pairs in one sendmsg; the last asks for an acknowledgement.
  bool Push(const BlockBatch &batch);

 private:
  int fd_ = -1;
  uint8_t *local_;
  std::vector<uint8_t> requests_;
  std::vector<iovec> iov_;
};

// memcpy of the same blocks between two local regions.
void CopyBlocks(const BlockBatch &batch, const uint8_t *src_base, uint8_t *dst_base);
}  // namespace ddbench

#endif  // DD_BENCH_RAW_BASELINES_H_
