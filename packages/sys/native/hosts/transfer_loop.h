// Runs one kind of call (an engine pull, or the raw baseline's read) over random blocks, from one
// or more threads, until a call count, a time limit, a stop request or (optionally) the first
// failure. Every call's destination blocks are zeroed before it and checked word for word after it;
// the record of each call (start, end, status, bytes right) goes back to the runner, which computes
// the figures.
#ifndef DD_HOSTS_TRANSFER_LOOP_H_
#define DD_HOSTS_TRANSFER_LOOP_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace ddhosts {
constexpr uint64_t kBlockBytes = 64U * 1024U;

int64_t MonotonicNs();

struct LoopSpec {
  uint64_t peer_cluster = 0;    // whose pattern the blocks must hold
  uint64_t remote_blocks = 0;   // blocks the peer serves
  size_t blocks_per_call = 64;
  size_t max_calls = 0;         // over all threads; 0: no limit
  double max_seconds = 0;       // 0: no limit
  int threads = 1;
  bool stop_on_failure = false;
  uint64_t seed = 1;
};

// One call: moves remote blocks `src` into local blocks `dst`. Returns the status (0 = success)
// and fills `why` otherwise.
using CallFn = std::function<uint32_t(const std::vector<uint64_t> &src, const std::vector<uint64_t> &dst, std::string &why)>;

struct CallRecord {
  int64_t start_ns;
  int64_t end_ns;
  uint32_t status;
  bool bytes_ok;
};

struct CallFailure {
  int64_t at_ns;
  uint32_t status;
  std::string detail;
};

class TransferLoop {
 public:
  // `call_for_thread(i)` gives thread i its own call function (the raw baseline needs one
  // connection per thread). Local blocks are split between threads so their writes never overlap.
  TransferLoop(LoopSpec spec, uint8_t *local_region, uint64_t local_blocks, std::function<CallFn(int)> call_for_thread);
  ~TransferLoop();
  TransferLoop(const TransferLoop &) = delete;
  TransferLoop &operator=(const TransferLoop &) = delete;

  // false (with `why`) when the spec cannot run on this region.
  bool Start(std::string &why);
  void RequestStop() { stop_.store(true); }
  void Join();

  // The result as JSON fields: "calls" [[start_ms, duration_ms, status, bytes_ok], ...] (start on
  // CLOCK_MONOTONIC, as the runner's process.hrtime), "failures" (the first few distinct ones),
  // "verify_errors", "bytes".
  std::string CallsJson() const;
  std::string FailuresJson() const;
  uint64_t verify_errors() const { return verify_errors_.load(); }
  uint64_t bytes_moved() const { return bytes_.load(); }

 private:
  void Run(int thread_index, CallFn call);
  bool ClaimCall();
  void Record(const CallRecord &record, const std::string &why);

  const LoopSpec spec_;
  uint8_t *const local_;
  const uint64_t local_blocks_;
  std::function<CallFn(int)> call_for_thread_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
  std::atomic<size_t> claimed_{0};
  std::atomic<uint64_t> verify_errors_{0};
  std::atomic<uint64_t> bytes_{0};
  int64_t deadline_ns_ = 0;
  mutable std::mutex mutex_;
  std::vector<CallRecord> calls_;
  std::vector<CallFailure> failures_;
};
}  // namespace ddhosts

#endif  // DD_HOSTS_TRANSFER_LOOP_H_
