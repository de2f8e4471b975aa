#include "reactor.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>

namespace dd::host {
namespace {
int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

Reactor::~Reactor() { Stop(nullptr); }

bool Reactor::Start(int tick_ms, std::function<void()> tick, std::string &why) {
  epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
  wake_.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!epoll_ || !wake_) {
    why = std::string("epoll/eventfd: ") + std::strerror(errno);
    return false;
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = wake_.get();
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wake_.get(), &ev);
  tick_ms_ = tick_ms;
  tick_ = std::move(tick);
  {
    std::lock_guard<std::mutex> lock(tasks_mutex_);
    accepting_ = true;
  }
  stopping_ = false;
  thread_ = std::thread([this] {
    thread_id_ = std::this_thread::get_id();
    Run();
  });
  return true;
}

void Reactor::Stop(std::function<void()> last) {
  if (!thread_.joinable()) {
    return;
  }
  {
    std::lock_guard<std::mutex> lock(tasks_mutex_);
    if (accepting_) {
      accepting_ = false;
      if (last) {
        tasks_.push_back(std::move(last));
      }
      tasks_.push_back([this] { stopping_ = true; });
    }
  }
  Wake();
  if (InLoopThread()) {
    return;  // the loop ends after the current task; the owner joins later
  }
  thread_.join();
  handlers_.clear();
}

void Reactor::Watch(int fd, uint32_t events, IoHandler *handler) {
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev);
  handlers_[fd] = handler;
}

void Reactor::Modify(int fd, uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &ev);
}

void Reactor::Unwatch(int fd) {
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
  handlers_.erase(fd);
}

bool Reactor::Post(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(tasks_mutex_);
    if (!accepting_) {
      return false;
    }
    tasks_.push_back(std::move(task));
  }
  Wake();
  return true;
}

bool Reactor::RunSync(const std::function<void()> &task) {
  if (InLoopThread()) {
    task();
    return true;
  }
  std::mutex m;
  std::condition_variable cv;
  bool done = false;
  const bool posted = Post([&] {
    task();
    std::lock_guard<std::mutex> lock(m);
    done = true;
    cv.notify_one();
  });
  if (!posted) {
    return false;
  }
  std::unique_lock<std::mutex> lock(m);
  cv.wait(lock, [&] { return done; });
  return true;
}

void Reactor::Wake() {
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(wake_.get(), &one, sizeof(one));
}

void Reactor::Run() {
  std::array<epoll_event, 128> events;
  std::deque<std::function<void()>> tasks;
  int64_t next_tick = NowMs() + tick_ms_;
  while (!stopping_.load()) {
    const int64_t wait = next_tick - NowMs();
    const int n = ::epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()),
                               wait < 0 ? 0 : static_cast<int>(wait));
    for (int i = 0; i < n; ++i) {
      const int fd = events[static_cast<size_t>(i)].data.fd;
      if (fd == wake_.get()) {
        uint64_t value = 0;
        [[maybe_unused]] const ssize_t r = ::read(wake_.get(), &value, sizeof(value));
        continue;
      }
      // A handler may remove others (or itself) while this batch is dispatched.
      const auto it = handlers_.find(fd);
      if (it != handlers_.end()) {
        it->second->OnIo(events[static_cast<size_t>(i)].events);
      }
    }
    {
      std::lock_guard<std::mutex> lock(tasks_mutex_);
      tasks.swap(tasks_);
    }
    while (!tasks.empty()) {
      std::function<void()> task = std::move(tasks.front());
      tasks.pop_front();
      task();
    }
    const int64_t now = NowMs();
    if (now >= next_tick && !stopping_.load()) {
      next_tick = now + tick_ms_;
      if (tick_) {
        tick_();
      }
    }
  }
}
}  // namespace dd::host
