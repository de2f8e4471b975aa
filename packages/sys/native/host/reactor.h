// One thread that owns a set of non-blocking descriptors: it sleeps in epoll_wait, calls the
// handler of each descriptor that became ready, runs tasks other threads posted, and calls a
// periodic tick. Nothing it runs may block; every handler does what the descriptor allows now and
// returns.
#ifndef DD_HOST_REACTOR_H_
#define DD_HOST_REACTOR_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "unique_fd.h"

namespace dd::host {
class IoHandler {
 public:
  virtual ~IoHandler() = default;
  // `events`: the epoll events that fired (EPOLLIN, EPOLLOUT, EPOLLRDHUP, EPOLLHUP, EPOLLERR).
  virtual void OnIo(uint32_t events) = 0;
};

class Reactor {
 public:
  Reactor() = default;
  ~Reactor();
  Reactor(const Reactor &) = delete;
  Reactor &operator=(const Reactor &) = delete;

  // Starts the thread; `tick` runs on it about every `tick_ms` (and after each wake-up that is due).
  bool Start(int tick_ms, std::function<void()> tick, std::string &why);
  // Runs `last` on the thread, then ends it. Posts are refused from the moment Stop is called.
  void Stop(std::function<void()> last);

  // Loop thread only. The handler must stay valid until Unwatch.
  void Watch(int fd, uint32_t events, IoHandler *handler);
  void Modify(int fd, uint32_t events);
  void Unwatch(int fd);

  // Any thread: runs `task` on the loop thread soon. false once stopping (the task will not run).
  bool Post(std::function<void()> task);
  // Any thread: runs `task` on the loop thread (inline when called from it) and waits for it.
  // false when the loop is stopping and the task did not run.
  bool RunSync(const std::function<void()> &task);
  bool InLoopThread() const { return std::this_thread::get_id() == thread_id_.load(); }

 private:
  void Run();
  void Wake();

  UniqueFd epoll_;
  UniqueFd wake_;
  std::thread thread_;
  std::atomic<std::thread::id> thread_id_{};
  int tick_ms_ = 250;
  std::function<void()> tick_;
  std::map<int, IoHandler *> handlers_;  // loop thread only

  std::mutex tasks_mutex_;
  std::deque<std::function<void()>> tasks_;
  bool accepting_ = false;
  std::atomic<bool> stopping_{false};
};
}  // namespace dd::host

#endif  // DD_HOST_REACTOR_H_
