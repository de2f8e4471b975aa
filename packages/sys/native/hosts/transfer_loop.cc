#include "transfer_loop.h"

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <random>

#include "json_line.h"
#include "region_pattern.h"

namespace ddhosts {
namespace {
constexpr size_t kMaxFailuresKept = 8;
constexpr int kRetryPauseMs = 10;

// `count` distinct values of [first, first + range), in random order.
std::vector<uint64_t> DistinctBlocks(std::mt19937_64 &random, uint64_t first, uint64_t range, size_t count,
                                     std::vector<uint64_t> &scratch) {
  scratch.resize(range);
  for (uint64_t i = 0; i < range; ++i) {
    scratch[i] = first + i;
  }
  for (size_t i = 0; i < count; ++i) {
    std::uniform_int_distribution<uint64_t> pick(i, range - 1);
    std::swap(scratch[i], scratch[pick(random)]);
  }
  return std::vector<uint64_t>(scratch.begin(), scratch.begin() + static_cast<ptrdiff_t>(count));
}

std::string Millis(int64_t ns) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.3f", static_cast<double>(ns) / 1e6);
  return text;
}
}  // namespace

int64_t MonotonicNs() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

TransferLoop::TransferLoop(LoopSpec spec, uint8_t *local_region, uint64_t local_blocks,
                           std::function<CallFn(int)> call_for_thread)
    : spec_(spec), local_(local_region), local_blocks_(local_blocks), call_for_thread_(std::move(call_for_thread)) {}

TransferLoop::~TransferLoop() {
  RequestStop();
  Join();
}

bool TransferLoop::Start(std::string &why) {
  if (spec_.threads < 1 || spec_.blocks_per_call == 0U) {
    why = "threads and blocks per call must be at least 1";
    return false;
  }
  const uint64_t slice = local_blocks_ / static_cast<uint64_t>(spec_.threads);
  if (spec_.blocks_per_call > slice || spec_.blocks_per_call > spec_.remote_blocks) {
    why = "a call of " + std::to_string(spec_.blocks_per_call) + " blocks does not fit " + std::to_string(slice) +
          " local blocks per thread and " + std::to_string(spec_.remote_blocks) + " remote blocks";
    return false;
  }
  // The call functions first (the raw baseline connects here), then the time limit: on a lossy
  // wire a lost SYN costs the 1 s initial retransmission timeout, a whole short loop's budget.
  std::vector<CallFn> calls;
  for (int i = 0; i < spec_.threads; ++i) {
    calls.push_back(call_for_thread_(i));
  }
  deadline_ns_ = spec_.max_seconds > 0 ? MonotonicNs() + static_cast<int64_t>(spec_.max_seconds * 1e9) : 0;
  for (int i = 0; i < spec_.threads; ++i) {
    threads_.emplace_back(&TransferLoop::Run, this, i, std::move(calls[static_cast<size_t>(i)]));
  }
  return true;
}

void TransferLoop::Join() {
  for (std::thread &t : threads_) {
    if (t.joinable()) {
      t.join();
    }
  }
}

bool TransferLoop::ClaimCall() {
  if (stop_.load() || (deadline_ns_ != 0 && MonotonicNs() >= deadline_ns_)) {
    return false;
  }
  return spec_.max_calls == 0U || claimed_.fetch_add(1) < spec_.max_calls;
}

void TransferLoop::Run(int thread_index, CallFn call) {
  std::mt19937_64 random(spec_.seed * 7919U + static_cast<uint64_t>(thread_index));
  const uint64_t slice = local_blocks_ / static_cast<uint64_t>(spec_.threads);
  const uint64_t first_local = slice * static_cast<uint64_t>(thread_index);
  std::vector<uint64_t> scratch;
  std::string why;
  while (ClaimCall()) {
    const std::vector<uint64_t> src = DistinctBlocks(random, 0, spec_.remote_blocks, spec_.blocks_per_call, scratch);
    const std::vector<uint64_t> dst = DistinctBlocks(random, first_local, slice, spec_.blocks_per_call, scratch);
    for (const uint64_t d : dst) {
      std::memset(local_ + d * kBlockBytes, 0, kBlockBytes);
    }
    why.clear();
    CallRecord record{MonotonicNs(), 0, 0, false};
    record.status = call(src, dst, why);
    record.end_ns = MonotonicNs();
    if (record.status == 0U) {
      record.bytes_ok = true;
      for (size_t i = 0; i < src.size(); ++i) {
        if (!HoldsPattern(local_ + dst[i] * kBlockBytes, kBlockBytes, spec_.peer_cluster, src[i] * kBlockBytes)) {
          record.bytes_ok = false;
          why = "local block " + std::to_string(dst[i]) + " does not hold remote block " + std::to_string(src[i]);
          break;
        }
      }
      if (record.bytes_ok) {
        bytes_.fetch_add(src.size() * kBlockBytes);
      } else {
        verify_errors_.fetch_add(1);
      }
    }
    Record(record, why);
    if (!(record.status == 0U && record.bytes_ok)) {
      if (spec_.stop_on_failure) {
        stop_.store(true);
      }
      // As a client's retry would: a link that fails at once is not hammered in a tight loop.
      std::this_thread::sleep_for(std::chrono::milliseconds(kRetryPauseMs));
    }
  }
}

void TransferLoop::Record(const CallRecord &record, const std::string &why) {
  std::lock_guard<std::mutex> lock(mutex_);
  calls_.push_back(record);
  if (record.status == 0U && record.bytes_ok) {
    return;
  }
  const bool seen = std::any_of(failures_.begin(), failures_.end(), [&](const CallFailure &f) {
    return f.status == record.status && f.detail == why;
  });
  if (!seen && failures_.size() < kMaxFailuresKept) {
    failures_.push_back(CallFailure{record.end_ns, record.status, why});
  }
}

std::string TransferLoop::CallsJson() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string out = "[";
  for (const CallRecord &c : calls_) {
    out += out.size() > 1 ? ",[" : "[";
    out += Millis(c.start_ns) + "," + Millis(c.end_ns - c.start_ns) + "," + std::to_string(c.status) + "," +
           (c.bytes_ok ? "1" : "0") + "]";
  }
  return out + "]";
}

std::string TransferLoop::FailuresJson() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string out = "[";
  for (const CallFailure &f : failures_) {
    out += out.size() > 1 ? "," : "";
    out += "{\"at_ms\":" + Millis(f.at_ns) + ",\"status\":" + std::to_string(f.status) +
           ",\"detail\":" + JsonLine::Quoted(f.detail) + "}";
  }
  return out + "]";
}
}  // namespace ddhosts
