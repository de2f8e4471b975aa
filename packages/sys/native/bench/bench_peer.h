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

// The prompt-shaped workload (issue 13): a 4k-token prompt of a Llama-3-8B-shaped model at 16
// tokens per block is 256 blocks x 32 layers x K/V, 32 KiB each (512 MiB), scattered in a cache of
// kPromptCacheBlocks blocks per tensor on each side.
constexpr uint32_t kPromptLayers = 32;
constexpr uint32_t kPromptTensors = 2 * kPromptLayers;
constexpr uint64_t kPromptBlockBytes = 32ULL << 10U;
constexpr uint64_t kPromptRequestBlocks = 256;
constexpr uint64_t kPromptCacheBlocks = 288;
constexpr uint64_t kPromptTensorBytes = kPromptCacheBlocks * kPromptBlockBytes;
constexpr uint64_t kPromptRegionBytes = kPromptTensors * kPromptTensorBytes;

struct PeerInfo {
  int32_t status = -1;
  int32_t pid = 0;
  uint64_t region_addr = 0;
  uint64_t region_bytes = 0;
  uint16_t engine_port = 0;
  uint16_t raw_port = 0;
  int64_t cache_ids[kBlockSizeCount] = {};
  // The same pattern in a memory file (aclrtMallocHost): the zero-copy path's caches.
  uint64_t file_region_addr = 0;
  int64_t file_cache_ids[kBlockSizeCount] = {};
  // The prompt-shaped cache (kPromptTensors tensors, one after another), in a memory file; 0 when
  // not asked for.
  uint64_t prompt_region_addr = 0;
  int64_t prompt_cache_id = 0;
};

class BenchPeer {
 public:
  // Forks; the child pins itself to `cpu`, fills `region_bytes` and reports when ready (≤ 20 s).
  // A non-empty `auth_secret` becomes the engine's dd.AuthSecret.
  // With `prompt`, also the memory-file caches (the region again, and the prompt-shaped cache).
  static std::unique_ptr<BenchPeer> Spawn(uint64_t cluster_id, uint64_t region_bytes, int cpu,
                                          const std::string &auth_secret = std::string(), bool memory_files = false);
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
