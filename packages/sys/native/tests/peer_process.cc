#include "peer_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <sstream>
#include <thread>
#include <vector>

#include "engine_fixture.h"

namespace ddtest {
namespace {
// The child's command line: [emulator words…] <this executable> --dd-peer <ready fd> <command fd>
// <cluster id> <port> <tensors> <rows> <row bytes> <seed> <listen> <link port> <link cluster>
// [key=value…]. Built before fork so the child only calls execvp.
std::vector<std::string> ChildCommand(const PeerSpec &spec, int ready_fd, int command_fd) {
  std::vector<std::string> words;
  if (const char *emulator = std::getenv("DD_TEST_EMULATOR"); emulator != nullptr) {
    std::istringstream in(emulator);
    for (std::string word; in >> word;) {
      words.push_back(word);
    }
  }
  char self[4096] = {};
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
  words.emplace_back(n > 0 ? std::string(self, static_cast<size_t>(n)) : std::string("/proc/self/exe"));
  for (const std::string &word :
       {std::string(kPeerFlag), std::to_string(ready_fd), std::to_string(command_fd), std::to_string(spec.cluster_id),
        std::to_string(spec.port), std::to_string(spec.tensors), std::to_string(spec.rows),
        std::to_string(spec.row_bytes), std::to_string(spec.seed), std::to_string(spec.listen ? 1 : 0),
        std::to_string(spec.link_port), std::to_string(spec.link_cluster)}) {
    words.push_back(word);
  }
  for (const auto &[key, value] : spec.options) {
    words.push_back(key + "=" + value);
  }
  return words;
}

int ReadyTimeoutMs() { return std::getenv("DD_TEST_EMULATOR") != nullptr ? 60000 : 10000; }
}  // namespace

int RunPeerMain(int argc, char **argv) {
  if (argc < 13) {
    return 2;
  }
  const int ready_fd = std::atoi(argv[2]);
  const int command_fd = std::atoi(argv[3]);
  PeerSpec spec;
  spec.cluster_id = std::strtoull(argv[4], nullptr, 10);
  spec.port = static_cast<uint16_t>(std::strtoul(argv[5], nullptr, 10));
  spec.tensors = static_cast<uint32_t>(std::strtoul(argv[6], nullptr, 10));
  spec.rows = std::strtoull(argv[7], nullptr, 10);
  spec.row_bytes = std::strtoull(argv[8], nullptr, 10);
  spec.seed = static_cast<uint32_t>(std::strtoul(argv[9], nullptr, 10));
  spec.listen = std::strtoul(argv[10], nullptr, 10) != 0U;
  spec.link_port = static_cast<uint16_t>(std::strtoul(argv[11], nullptr, 10));
  spec.link_cluster = std::strtoull(argv[12], nullptr, 10);
  for (int i = 13; i < argc; ++i) {
    const std::string option = argv[i];
    const size_t eq = option.find('=');
    if (eq != std::string::npos) {
      spec.options[option.substr(0, eq)] = option.substr(eq + 1);
    }
  }
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
  return 0;
}

PeerProcess::PeerProcess(PeerSpec spec) : spec_(std::move(spec)) {
  for (int attempt = 0; attempt < 5 && !ready_; ++attempt) {
    Reap();
    const uint16_t requested = spec_.port;
    if (spec_.listen && (requested == 0U || attempt > 0)) {
      spec_.port = FreePort();
    }
    int ready_pipe[2];
    int command_pipe[2];
    // Close-on-exec, so no other child inherits them (a stray write end would keep a peer from
    // seeing EOF); the child clears the flag on its own two ends.
    if (::pipe2(ready_pipe, O_CLOEXEC) != 0 || ::pipe2(command_pipe, O_CLOEXEC) != 0) {
      return;
    }
    const std::vector<std::string> command = ChildCommand(spec_, ready_pipe[1], command_pipe[0]);
    std::vector<char *> child_argv;
    for (const std::string &word : command) {
      child_argv.push_back(const_cast<char *>(word.c_str()));
    }
    child_argv.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::fcntl(ready_pipe[1], F_SETFD, 0);
      ::fcntl(command_pipe[0], F_SETFD, 0);
      ::execvp(child_argv[0], child_argv.data());
      ::_exit(127);
    }
    ::close(ready_pipe[1]);
    ::close(command_pipe[0]);
    command_fd_ = command_pipe[1];
    int64_t reply[3] = {-1, -1, 0};
    pollfd p{ready_pipe[0], POLLIN, 0};
    if (::poll(&p, 1, ReadyTimeoutMs()) == 1 && ::read(ready_pipe[0], reply, sizeof(reply)) == sizeof(reply)) {
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
