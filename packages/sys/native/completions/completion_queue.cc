// The completion queue of async calls (docs/design/completions.md): a pool of threads that run
// submitted calls, and the list of finished ones that JavaScript drains.
#include "completion_queue.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <limits>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <utility>

#include "dd_shim.h"

namespace {

using Clock = std::chrono::steady_clock;

// More threads than @dd/core lets calls be in flight (128), so a call it submits always has a
// thread at once: a call left waiting for one could start after its caller stopped waiting.
// Blocking calls (a pull waiting on a slow peer) are why there are many threads at all.
constexpr size_t kMaxThreads = 256;
// A thread that runs out of calls keeps looking for the next one this long before it sleeps: on
// these virtual machines waking a sleeping thread costs 10-25 µs, more than a 64 KiB pull.
// One thread at a time does so, and only where the process may use two CPUs or more.
constexpr auto kSpin = std::chrono::microseconds(50);
// While it spins it gives its CPU away this often (a system call costs about 1 µs here, so not on
// every turn): a thread that wants the CPU waits at most this long for it.
constexpr auto kSpinYield = std::chrono::microseconds(4);
// Turns of `pause` between two looks at the clock (a look costs about as much as 1-2 pauses).
constexpr unsigned kSpinTurnsPerClock = 32;
// The queue's lock is held for well under a microsecond; a thread that finds it taken tries this
// many times before it sleeps on it, since being woken costs 10-25 µs on these virtual machines.
constexpr int kLockTries = 2000;
// A thread with no call for this long ends; the next call starts one again.
constexpr auto kIdleExit = std::chrono::seconds(10);

void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

/** Takes `lock`, spinning briefly before sleeping on it. */
void LockSoon(std::unique_lock<std::mutex> &lock) {
  for (int i = 0; i < kLockTries; ++i) {
    if (lock.try_lock()) return;
    CpuRelax();
  }
  lock.lock();
}

bool MaySpin() {
  cpu_set_t set;
  CPU_ZERO(&set);
  return sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) >= 2;
}

}  // namespace

struct dd_CompletionQueue final {
 public:
  explicit dd_CompletionQueue(int wake_write) : wake_write_(wake_write) {}
  dd_CompletionQueue(const dd_CompletionQueue &) = delete;
  dd_CompletionQueue &operator=(const dd_CompletionQueue &) = delete;
  // The read end was handed to the caller with the queue and is theirs to close.
  ~dd_CompletionQueue() { close(wake_write_); }

  void Submit(uint32_t token, dd::completions::Call call) {
    bool wake = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (closing_) throw std::system_error(ECANCELED, std::generic_category(), "the completion queue is closing");
      // Threads awake and not in a call (spinning, new, or back from one) look for calls before
      // they sleep, as do the sleeping ones already woken: each covers one waiting call. A call
      // beyond those wakes a sleeping thread, or starts one: the threads in calls may be blocked
      // on a slow peer for seconds.
      const size_t covered = threads_ - busy_ - sleeping_ + wakes_;
      if (calls_.size() + 1 > covered) {
        if (sleeping_ > wakes_) {
          ++wakes_;
          wake = true;
        } else if (threads_ < kMaxThreads) {
          std::thread(&dd_CompletionQueue::Work, this).detach();  // throws before anything changed
          ++threads_;
        }
      }
      calls_.push_back(Pending{token, std::move(call)});
      waiting_.store(calls_.size(), std::memory_order_release);
    }
    // Outside the lock: the woken thread would otherwise run only to block on it (on one CPU,
    // two more context switches per call).
    if (wake) work_.notify_one();
  }

  uint32_t Take(uint32_t *records, uint32_t capacity) {
    std::unique_lock<std::mutex> lock(mutex_, std::defer_lock);
    LockSoon(lock);
    const uint32_t n = static_cast<uint32_t>(std::min<size_t>(capacity, finished_.size()));
    if (n == 0) {
      // The caller is polling: let a thread that wants this CPU (the one running its call, on a
      // machine with few CPUs) have it before the next poll.
      lock.unlock();
      sched_yield();
      return 0;
    }
    for (uint32_t i = 0; i < n; ++i) {
      records[2 * i] = finished_[i].token;
      records[2 * i + 1] = finished_[i].status;
    }
    finished_.erase(finished_.begin(), finished_.begin() + n);
    return n;
  }

  uint32_t Arm() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!finished_.empty()) return static_cast<uint32_t>(std::min<size_t>(finished_.size(), std::numeric_limits<uint32_t>::max()));
    armed_ = true;
    return 0;
  }

  size_t ErrorText(uint32_t token, char *buf, size_t cap) {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto found = errors_.find(token);
    if (found == errors_.end()) {
      if (buf != nullptr && cap > 0) buf[0] = '\0';
      return 0;
    }
    const std::string text = std::move(found->second);
    errors_.erase(found);
    if (buf != nullptr && cap > 0) {
      const size_t n = std::min(cap - 1, text.size());
      std::memcpy(buf, text.data(), n);
      buf[n] = '\0';
    }
    return text.size();
  }

  /** Calls finished so far, modulo 2^32: JavaScript reads it to learn, without a call, that Take has work. */
  const std::atomic<uint32_t> &FinishedCount() const { return finished_count_; }

  /** Runs what was submitted, then waits for every thread to end. */
  void Close() {
    std::unique_lock<std::mutex> lock(mutex_);
    closing_ = true;
    work_.notify_all();
    all_ended_.wait(lock, [this] { return threads_ == 0; });
  }

 private:
  struct Pending {
    uint32_t token;
    dd::completions::Call call;
  };
  struct Finished {
    uint32_t token;
    uint32_t status;
  };
  void Work() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      if (!calls_.empty()) {
        Pending next = std::move(calls_.front());
        calls_.pop_front();
        waiting_.store(calls_.size(), std::memory_order_release);
        ++busy_;
        lock.unlock();
        dd::completions::Completion done = next.call();
        next.call = nullptr;  // the call's copied arguments are freed outside the lock
        LockSoon(lock);
        --busy_;
        if (Finish(next.token, std::move(done))) {
          lock.unlock();
          WakeEventLoop();
          lock.lock();
        }
        continue;
      }
      if (closing_) break;
      if (may_spin_ && spinning_ == 0) {
        ++spinning_;
        lock.unlock();
        Spin();
        LockSoon(lock);
        --spinning_;
        if (!calls_.empty() || closing_) continue;
      }
      ++sleeping_;
      const bool woken = work_.wait_for(lock, kIdleExit, [this] { return wakes_ > 0 || closing_; });
      --sleeping_;
      if (wakes_ > 0) --wakes_;
      if (!woken) break;
    }
    if (--threads_ == 0) all_ended_.notify_all();
  }

  /** Waits up to kSpin for a call to be submitted. */
  void Spin() const {
    auto now = Clock::now();
    const auto until = now + kSpin;
    auto yield_at = now + kSpinYield;
    for (unsigned turn = 1; waiting_.load(std::memory_order_acquire) == 0; ++turn) {
      CpuRelax();
      if (turn % kSpinTurnsPerClock != 0) continue;
      now = Clock::now();
      if (now >= until) return;
      // Politely: a thread that wants this CPU gets it, so spinning never holds up another
      // thread's work for long, only uses a CPU nobody else asked for.
      if (now >= yield_at) {
        sched_yield();
        yield_at = Clock::now() + kSpinYield;
      }
    }
  }

  /** Records a finished call; true when the event loop asked to be woken for it. */
  bool Finish(uint32_t token, dd::completions::Completion done) {
    finished_.push_back(Finished{token, done.status});
    if (!done.error.empty()) errors_[token] = std::move(done.error);
    finished_count_.fetch_add(1, std::memory_order_release);
    const bool wake = armed_;
    armed_ = false;
    return wake;
  }

  void WakeEventLoop() const {
    // EAGAIN means a byte is already there: it wakes the loop as well.
    const char byte = 1;
    while (write(wake_write_, &byte, 1) < 0 && errno == EINTR) {
    }
  }

  const int wake_write_;
  const bool may_spin_ = MaySpin();
  std::mutex mutex_;
  std::condition_variable all_ended_;
  std::deque<Pending> calls_;
  std::atomic<size_t> waiting_{0};
  // On a cache line of its own: JavaScript reads it on every turn of its event loop while polling.
  alignas(64) std::atomic<uint32_t> finished_count_{0};
  std::deque<Finished> finished_;
  std::unordered_map<uint32_t, std::string> errors_;
  std::condition_variable work_;
  size_t threads_ = 0;
  size_t busy_ = 0;  // threads in a call
  size_t spinning_ = 0;
  size_t sleeping_ = 0;
  size_t wakes_ = 0;  // notified sleeping threads that have not taken their wake yet
  bool armed_ = false;
  bool closing_ = false;
};

namespace dd::completions {

void Submit(dd_CompletionQueue *queue, uint32_t token, Call call) {
  if (queue == nullptr) throw std::invalid_argument("queue is NULL");
  queue->Submit(token, std::move(call));
}

}  // namespace dd::completions

extern "C" DD_SHIM_API int32_t dd_completion_queue_open(dd_CompletionQueue **out, int32_t *wake_fd) {
  if (out == nullptr || wake_fd == nullptr) return EINVAL;
  *out = nullptr;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return errno;
  try {
    *out = std::make_unique<dd_CompletionQueue>(fds[1]).release();
    *wake_fd = fds[0];
    return 0;
  } catch (...) {
    close(fds[0]);
    close(fds[1]);
    return ENOMEM;
  }
}

extern "C" DD_SHIM_API void dd_completion_queue_close(dd_CompletionQueue *queue) {
  const std::unique_ptr<dd_CompletionQueue> owned(queue);
  if (owned != nullptr) owned->Close();
}

extern "C" DD_SHIM_API uint32_t dd_completion_queue_take(dd_CompletionQueue *queue, uint32_t *records, uint32_t capacity) {
  if (queue == nullptr || records == nullptr) return 0;
  return queue->Take(records, capacity);
}

extern "C" DD_SHIM_API const uint32_t *dd_completion_queue_finished(dd_CompletionQueue *queue) {
  static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t) && std::atomic<uint32_t>::is_always_lock_free,
                "the count is read as a plain uint32 from JavaScript");
  return queue == nullptr ? nullptr : reinterpret_cast<const uint32_t *>(&queue->FinishedCount());
}

extern "C" DD_SHIM_API uint32_t dd_completion_queue_arm(dd_CompletionQueue *queue) {
  return queue == nullptr ? 0 : queue->Arm();
}

extern "C" DD_SHIM_API size_t dd_completion_queue_error(dd_CompletionQueue *queue, uint32_t token, char *buf, size_t cap) {
  return queue == nullptr ? 0 : queue->ErrorText(token, buf, cap);
}
