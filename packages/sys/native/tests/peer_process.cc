#include "peer_process.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "engine_fixture.h"

namespace ddtest {
namespace {
[[noreturn]] void RunChild(const PeerSpec &spec, int ready_fd, int command_fd) {
  ::alarm(120);  // never outlive a stuck test run
  int64_t reply[3] = {static_cast<int64_t>(LLM_FAILED), -1, 0};
  {
    LlmDataDist engine(spec.cluster_id, spec.link_port != 0U ? LlmRole::kDecoder : LlmRole::kPrompt);
    HostCache cache(spec.tensors, spec.rows, spec.row_bytes);
    cache.Fill(spec.seed);
    std::vector<uint8_t> unregistered(PeerProcess::kUnregisteredBytes, PeerProcess::kUnregisteredByte);
    reply[2] = static_cast<int64_t>(reinterpret_cast<uintptr_t>(unregistered.data()));
    reply[0] = engine.Initialize(EngineOptionsFor(spec.listen ? spec.port : 0, spec.options));
    if (reply[0] == LLM_SUCCESS) {
      reply[1] = Register(engine, cache);
    }
    if (reply[0] == LLM_SUCCESS && spec.link_port != 0U) {
      reply[0] = Link(engine, spec.link_cluster, spec.link_port, 5000);
    }
    [[maybe_unused]] ssize_t n = ::write(ready_fd, reply, sizeof(reply));
    char command = 0;
    n = ::read(command_fd, &command, 1);  // returns when the parent asks or goes away
    engine.Finalize();
  }
  ::_exit(0);
}
}  // namespace

PeerProcess::PeerProcess(PeerSpec spec) : spec_(std::move(spec)) {
  for (int attempt = 0; attempt < 5 && !ready_; ++attempt) {
    Reap();
    const uint16_t requested = spec_.port;
    if (spec_.listen && (requested == 0U || attempt > 0)) {
      spec_.port = FreePort();
    }
    int ready_pipe[2];
    int command_pipe[2];
    if (::pipe(ready_pipe) != 0 || ::pipe(command_pipe) != 0) {
      return;
    }
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(ready_pipe[0]);
      ::close(command_pipe[1]);
      RunChild(spec_, ready_pipe[1], command_pipe[0]);
    }
    ::close(ready_pipe[1]);
    ::close(command_pipe[0]);
    command_fd_ = command_pipe[1];
    int64_t reply[3] = {-1, -1, 0};
    pollfd p{ready_pipe[0], POLLIN, 0};
    if (::poll(&p, 1, 10000) == 1 && ::read(ready_pipe[0], reply, sizeof(reply)) == sizeof(reply)) {
      ready_ = reply[0] == LLM_SUCCESS && reply[1] > 0;
      cache_id_ = reply[1];
      unregistered_addr_ = static_cast<uint64_t>(reply[2]);
    }
    ::close(ready_pipe[0]);
    if ((requested != 0U || !spec_.listen) && !ready_) {
      break;  // a fixed port was asked for, or nothing listens: do not retry elsewhere
    }
  }
}

PeerProcess::~PeerProcess() { Kill(); }

void PeerProcess::Finish() {
  if (pid_ <= 0) {
    return;
  }
  ::close(command_fd_);
  command_fd_ = -1;
  for (int i = 0; i < 500; ++i) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  Kill();
}

void PeerProcess::Kill() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
  }
  Reap();
}

void PeerProcess::Reap() {
  if (pid_ > 0) {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  if (command_fd_ >= 0) {
    ::close(command_fd_);
    command_fd_ = -1;
  }
}

// Guarded: kill(-1, ...) would signal every process we may signal.
void PeerProcess::Stop() {
  if (pid_ <= 0) {
    return;
  }
  ::kill(pid_, SIGSTOP);
  // The signal is asynchronous: wait (≤ 2 s) until the child really is stopped.
  for (int i = 0; i < 400; ++i) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG | WUNTRACED) == pid_ && WIFSTOPPED(status)) {
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void PeerProcess::Continue() {
  if (pid_ > 0) {
    ::kill(pid_, SIGCONT);
  }
}
}  // namespace ddtest
