// The completion queue of async calls (completions/, docs/design/completions.md) on its own:
// every submitted call completes exactly once with its status and error text, a blocked call does
// not hold up the others, the wake-up pipe gets a byte only when it was asked for, the count of
// finished calls never runs ahead of what take returns, and close runs what was submitted before it
// ends the threads.
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "completion_queue.h"
#include "dd_shim.h"
#include "harness.h"

using namespace ddtest;
using dd::completions::Completion;

namespace {

struct Queue {
  Queue() { REQUIRE(dd_completion_queue_open(&queue, &wake_fd) == 0); }
  ~Queue() {
    dd_completion_queue_close(queue);
    close(wake_fd);
  }
  Queue(const Queue &) = delete;
  Queue &operator=(const Queue &) = delete;

  // Waits for the wake-up byte, at most `ms`; true when one came (and was read).
  bool WaitWake(int ms) const {
    pollfd p{wake_fd, POLLIN, 0};
    if (poll(&p, 1, ms) != 1) return false;
    char byte = 0;
    return read(wake_fd, &byte, 1) == 1;
  }

  // Takes finished calls until `count` were seen or 10 s passed, sleeping on the pipe between.
  std::map<uint32_t, uint32_t> TakeAll(size_t count) {
    std::map<uint32_t, uint32_t> seen;
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    uint32_t records[2 * 64];
    while (seen.size() < count && std::chrono::steady_clock::now() < until) {
      const uint32_t n = dd_completion_queue_take(queue, records, 64);
      for (uint32_t i = 0; i < n; ++i) {
        CHECK(seen.count(records[2 * i]) == 0);  // each call completes once
        seen[records[2 * i]] = records[2 * i + 1];
      }
      if (n == 0 && dd_completion_queue_arm(queue) == 0) WaitWake(100);
    }
    return seen;
  }

  dd_CompletionQueue *queue = nullptr;
  int32_t wake_fd = -1;
};

// A latch the test opens once.
struct Gate {
  void Open() {
    std::lock_guard<std::mutex> lock(mutex);
    open = true;
    cv.notify_all();
  }
  void Wait() {
    std::unique_lock<std::mutex> lock(mutex);
    cv.wait(lock, [this] { return open; });
  }
  std::mutex mutex;
  std::condition_variable cv;
  bool open = false;
};

}  // namespace

DD_TEST(every_call_completes_once_with_its_status_and_its_error_text) {
  Queue q;
  constexpr uint32_t kCalls = 2000;
  for (uint32_t token = 1; token <= kCalls; ++token) {
    dd::completions::Submit(q.queue, token, [token] {
      return Completion{token * 3, token % 2 == 1 ? "call " + std::to_string(token) + " failed" : std::string()};
    });
  }
  const auto seen = q.TakeAll(kCalls);
  REQUIRE(seen.size() == kCalls);
  char text[64];
  for (uint32_t token = 1; token <= kCalls; ++token) {
    CHECK_EQ(seen.at(token), token * 3);
    const size_t length = dd_completion_queue_error(q.queue, token, text, sizeof text);
    if (token % 2 == 1) {
      CHECK_EQ(std::string(text), "call " + std::to_string(token) + " failed");
      CHECK_EQ(length, std::string(text).size());
    } else {
      CHECK_EQ(length, 0u);
    }
    CHECK_EQ(dd_completion_queue_error(q.queue, token, text, sizeof text), 0u);  // handed over once
  }
}

DD_TEST(an_error_text_is_truncated_to_the_buffer_and_its_full_length_returned) {
  Queue q;
  dd::completions::Submit(q.queue, 7, [] { return Completion{1, std::string(100, 'x')}; });
  REQUIRE(q.TakeAll(1).size() == 1);
  char text[8];
  CHECK_EQ(dd_completion_queue_error(q.queue, 7, text, sizeof text), 100u);
  CHECK_EQ(std::string(text), std::string(7, 'x'));
}

DD_TEST(a_call_blocked_on_a_slow_peer_does_not_hold_up_the_calls_after_it) {
  Queue q;
  Gate gate;
  dd::completions::Submit(q.queue, 1, [&gate] {
    gate.Wait();
    return Completion{0, {}};
  });
  for (uint32_t token = 2; token <= 11; ++token) dd::completions::Submit(q.queue, token, [] { return Completion{0, {}}; });
  const auto seen = q.TakeAll(10);
  CHECK_EQ(seen.size(), 10u);
  CHECK(seen.count(1) == 0);
  gate.Open();
  CHECK_EQ(q.TakeAll(1).count(1), 1u);
}

DD_TEST(the_pipe_gets_a_byte_only_when_asked_and_nothing_was_waiting) {
  Queue q;
  CHECK_EQ(dd_completion_queue_arm(q.queue), 0u);
  dd::completions::Submit(q.queue, 1, [] { return Completion{0, {}}; });
  CHECK(q.WaitWake(10000));
  uint32_t records[2];
  CHECK_EQ(dd_completion_queue_take(q.queue, records, 1), 1u);
  CHECK_EQ(records[0], 1u);
  // Not asked: a completion writes nothing.
  dd::completions::Submit(q.queue, 2, [] { return Completion{0, {}}; });
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  uint32_t n = 0;
  while (n == 0 && std::chrono::steady_clock::now() < until) {
    n = dd_completion_queue_take(q.queue, records, 1);
  }
  CHECK_EQ(n, 1u);
  CHECK(!q.WaitWake(50));
  // Asked while one is already waiting: arm says so and does not arm.
  std::atomic<bool> ran{false};
  dd::completions::Submit(q.queue, 3, [&ran] {
    ran = true;
    return Completion{0, {}};
  });
  while (!ran && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // its completion is recorded right after it returns
  CHECK_EQ(dd_completion_queue_arm(q.queue), 1u);
  CHECK(!q.WaitWake(50));
}

DD_TEST(the_finished_count_moves_before_take_returns_the_calls_it_counts) {
  Queue q;
  const volatile uint32_t *finished = dd_completion_queue_finished(q.queue);
  REQUIRE(finished != nullptr);
  CHECK(dd_completion_queue_finished(nullptr) == nullptr);
  CHECK_EQ(*finished, 0u);
  constexpr uint32_t kCalls = 300;
  for (uint32_t token = 1; token <= kCalls; ++token) dd::completions::Submit(q.queue, token, [] { return Completion{0, {}}; });
  // JavaScript reads the count on every poll turn and takes only when it moved: each call it counts
  // must then be there to take.
  uint32_t taken = 0;
  uint32_t records[2 * 64];
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (taken < kCalls && std::chrono::steady_clock::now() < until) {
    const uint32_t counted = __atomic_load_n(finished, __ATOMIC_ACQUIRE);
    while (taken < counted) {
      const uint32_t n = dd_completion_queue_take(q.queue, records, 64);
      REQUIRE(n > 0);
      taken += n;
    }
  }
  CHECK_EQ(taken, kCalls);
  CHECK_EQ(*finished, kCalls);
  CHECK_EQ(dd_completion_queue_take(q.queue, records, 64), 0u);
}

DD_TEST(close_runs_every_submitted_call_before_the_threads_end) {
  std::atomic<int> ran{0};
  dd_CompletionQueue *queue = nullptr;
  int32_t wake_fd = -1;
  REQUIRE(dd_completion_queue_open(&queue, &wake_fd) == 0);
  for (uint32_t token = 1; token <= 200; ++token) {
    dd::completions::Submit(queue, token, [&ran] {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      ran.fetch_add(1);
      return Completion{0, {}};
    });
  }
  dd_completion_queue_close(queue);
  CHECK_EQ(ran.load(), 200);
  close(wake_fd);
}
