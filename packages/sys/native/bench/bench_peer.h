// The serving process of the benchmark: a forked child pinned to its own core that registers a
// large region with an engine, and also serves the raw TCP baseline (no engine) over the same
// memory. The parent learns the addresses it needs for the raw process_vm baseline.
#ifndef DD_BENCH_BENCH_PEER_H_
#define DD_BENCH_BENCH_PEER_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ddbench {
// Block sizes measured; the region is registered once per size (same memory, different shapes).
constexpr uint64_t kBlockSizes[] = {4096, 65536, 1048576};
constexpr size_t kBlockSizeCount = 3;

struct PeerInfo {
  int32_t status = -1;
  int32_t pid = 0;
  uint64_t region_addr = 0;
  uint64_t region_bytes = 0;
  uint16_t engine_port = 0;
  uint16_t raw_port = 0;
  int64_t cache_ids[kBlockSizeCount] = {};
};

class BenchPeer {
 public:
  // Forks; the child pins itself to `cpu`, fills `region_bytes` and reports when ready (≤ 20 s).
  // A non-empty `auth_secret` becomes the engine's dd.AuthSecret.
  static std::unique_ptr<BenchPeer> Spawn(uint64_t cluster_id, uint64_t region_bytes, int cpu,
                                          const std::string &auth_secret = std::string());
  ~BenchPeer();
  BenchPeer(const BenchPeer &) = delete;
  BenchPeer &operator=(const BenchPeer &) = delete;

  const PeerInfo &info() const { return info_; }
  // Asks the child to finish; returns its peak RSS in KiB (-1 if it did not answer).
  int64_t Finish();
  void Kill();

 private:
  BenchPeer() = default;
  pid_t pid_ = -1;
  int to_child_ = -1;
  int from_child_ = -1;
  PeerInfo info_;
};

// Raw TCP baseline wire format: one 16-byte request per block.
struct RawRequest {
  uint64_t offset;
  uint32_t length;
  uint32_t flags;  // kRawWrite: the block follows; kRawAck: answer one byte when done
};
constexpr uint32_t kRawWrite = 1U;
constexpr uint32_t kRawAck = 2U;

void PinToCpu(int cpu);
}  // namespace ddbench

#endif  // DD_BENCH_BENCH_PEER_H_
