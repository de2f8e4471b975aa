// A point in time after which an operation gives up; every wait in the backend takes one.
#ifndef DD_HOST_DEADLINE_H_
#define DD_HOST_DEADLINE_H_

#include <chrono>
#include <cstdint>

namespace dd::host {
using SteadyClock = std::chrono::steady_clock;

class Deadline {
 public:
  explicit Deadline(SteadyClock::time_point at) : at_(at) {}
  static Deadline AfterMs(int64_t ms) { return Deadline(SteadyClock::now() + std::chrono::milliseconds(ms)); }

  bool Expired() const { return SteadyClock::now() >= at_; }
  SteadyClock::time_point At() const { return at_; }

  // Milliseconds left for poll()/epoll_wait(), rounded up so a wait never ends early; 0 once expired.
  int PollTimeoutMs() const {
    const auto left = at_ - SteadyClock::now();
    if (left <= SteadyClock::duration::zero()) {
      return 0;
    }
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
    return ms > INT32_MAX ? INT32_MAX : static_cast<int>(ms);
  }

 private:
  SteadyClock::time_point at_;
};
}  // namespace dd::host

#endif  // DD_HOST_DEADLINE_H_
