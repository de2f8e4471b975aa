// A peer engine in a child process: it listens on loopback (or, as a decoder, links to an engine
// that does), registers one cache filled with a known pattern, reports ready, and runs until told
// to finish or killed. The child is this test executable started again (fork + exec), never a bare
// fork: the parent runs engine threads, and a forked copy of a multi-threaded process may only call
// async-signal-safe functions (qemu-user, which runs the arm64 tests, aborts on it). Under an
// emulator, DD_TEST_EMULATOR names the command that runs the executable (ctest sets it for cross
// builds).
#ifndef DD_TESTS_PEER_PROCESS_H_
#define DD_TESTS_PEER_PROCESS_H_

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>

namespace ddtest {
struct PeerSpec {
  uint64_t cluster_id = 10;
  uint16_t port = 0;  // 0: pick a free one
  uint32_t tensors = 4;
  uint64_t rows = 64;
  uint64_t row_bytes = 4096;
  uint32_t seed = 3;
  std::map<std::string, std::string> options;
  bool listen = true;
  // A decoder: links to 127.0.0.1:link_port (cluster link_cluster) once initialized; ready means linked.
  uint16_t link_port = 0;
  uint64_t link_cluster = 0;
};

// argv[1] of a test executable started as a peer; main() hands such a run to RunPeerMain.
constexpr const char *kPeerFlag = "--dd-peer";
int RunPeerMain(int argc, char **argv);

class PeerProcess {
 public:
  // Starts the child and waits (≤ 10 s, ≤ 60 s under an emulator) until it is ready; ok() tells
  // whether it is.
  explicit PeerProcess(PeerSpec spec);
  ~PeerProcess();
  PeerProcess(const PeerProcess &) = delete;
  PeerProcess &operator=(const PeerProcess &) = delete;

  bool ok() const { return ready_; }
  pid_t pid() const { return pid_; }
  uint16_t port() const { return spec_.port; }
  int64_t cache_id() const { return cache_id_; }
  // A heap buffer of the child that no cache covers, filled with kUnregisteredByte.
  uint64_t unregistered_addr() const { return unregistered_addr_; }
  static constexpr uint8_t kUnregisteredByte = 0x5E;
  static constexpr size_t kUnregisteredBytes = 4096;
  // Asks the child to finalize and exit; waits ≤ 5 s, then kills it.
  void Finish();
  void Kill();
  void Stop();      // SIGSTOP
  void Continue();  // SIGCONT

 private:
  void Reap();
  PeerSpec spec_;
  pid_t pid_ = -1;
  int command_fd_ = -1;
  bool ready_ = false;
  int64_t cache_id_ = -1;
  uint64_t unregistered_addr_ = 0;
};
}  // namespace ddtest

#endif  // DD_TESTS_PEER_PROCESS_H_
