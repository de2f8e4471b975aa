// The same-host relay of issue 12, with every party in its own process: a victim engine V, a
// relaying server M that forwards a decoder's handshake to V byte for byte and forges V's cache
// table to point at V's unregistered heap, and the decoder D (this process). Before, D granted
// itself process_vm_readv on V from relayed bytes and read V's heap. Now the same-host path goes
// only to the process the kernel says holds the other end of D's connection (M, not V), so D's
// pulls run over TCP through M and V serves only its registered bytes — with and without a secret.
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "engine_fixture.h"
#include "forged_peer.h"
#include "harness.h"
#include "peer_process.h"
#include "wire_format.h"

using namespace ddtest;
using namespace dd::host;

namespace {
constexpr uint64_t kVictim = 10;
constexpr uint64_t kDecoder = 20;
const std::string kSecret = "correct horse battery staple";

// Copies bytes one way until either side ends.
void Pipe(int from, int to) {
  std::vector<uint8_t> buffer(65536);
  for (;;) {
    const ssize_t n = ::recv(from, buffer.data(), buffer.size(), 0);
    if (n <= 0 || !SendAll(to, buffer.data(), static_cast<size_t>(n))) {
      break;
    }
  }
  ::shutdown(to, SHUT_RDWR);
  ::shutdown(from, SHUT_RDWR);
}

// Copies frames from the victim to the decoder, rewriting every cache table an answer carries so
// that its tensors point at `forged`.
void ForgeTables(int from, int to, uint64_t forged) {
  for (;;) {
    FrameHeader header;
    std::vector<uint8_t> body;
    if (!ReadFrame(from, header, body)) {
      break;
    }
    std::vector<uint8_t> out(kFrameHeaderSize);
    EncodeHeader(header, out.data());
    out.insert(out.end(), body.begin(), body.end());
    ResultMessage result;
    std::string why;
    if (header.type == FrameType::kResult && DecodeResult(body.data(), body.size(), result, why) &&
        result.payload_len > 0U) {
      std::vector<uint8_t> payload(result.payload_len);
      if (!RecvAll(from, payload.data(), payload.size())) {
        break;
      }
      std::vector<CacheTableEntry> table;
      if (DecodeCacheTable(payload.data(), payload.size(), table, why)) {
        for (CacheTableEntry &entry : table) {
          for (uint64_t &addr : entry.addrs) {
            addr = forged;
          }
        }
        payload.clear();
        EncodeCacheTable(table, payload);
      }
      out.insert(out.end(), payload.begin(), payload.end());
    }
    if (!SendAll(to, out.data(), out.size())) {
      break;
    }
  }
  ::shutdown(to, SHUT_RDWR);
  ::shutdown(from, SHUT_RDWR);
}

// The relaying server M, in a child process: every connection it accepts is forwarded to
// 127.0.0.1:`target`; on connections that start with a HELLO, the cache tables coming back are forged.
class RelayProcess {
 public:
  RelayProcess(uint16_t target, uint64_t forged) {
    int listener = BindLoopback(port_);
    ::listen(listener, 64);
    int command[2];
    REQUIRE(::pipe(command) == 0);
    pid_ = ::fork();
    if (pid_ == 0) {
      // Keep nothing of the parent's open: a pipe end held here would keep another child waiting.
      for (int fd = 3; fd < 1024; ++fd) {
        if (fd != listener && fd != command[0]) {
          ::close(fd);
        }
      }
      ::alarm(60);
      Serve(listener, command[0], target, forged);
      ::_exit(0);
    }
    ::close(command[0]);
    ::close(listener);
    command_ = command[1];
  }
  ~RelayProcess() {
    ::close(command_);
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }

 private:
  static void Serve(int listener, int command, uint16_t target, uint64_t forged) {
    std::vector<std::thread> threads;
    for (;;) {
      pollfd fds[2] = {{listener, POLLIN, 0}, {command, POLLIN, 0}};
      if (::poll(fds, 2, 1000) < 0 || (fds[1].revents & (POLLIN | POLLHUP)) != 0) {
        break;
      }
      if ((fds[0].revents & POLLIN) == 0) {
        continue;
      }
      const int client = ::accept(listener, nullptr, nullptr);
      const int upstream = ConnectLoopback(target);
      if (client < 0 || upstream < 0) {
        continue;
      }
      threads.emplace_back([client, upstream, forged] {
        // The decoder speaks first: its first frame says whether this connection carries its requests.
        uint8_t first[kFrameHeaderSize];
        if (!RecvAll(client, first, sizeof(first)) || !SendAll(upstream, first, sizeof(first))) {
          return;
        }
        FrameHeader header;
        std::string why;
        const bool hello = DecodeHeader(first, header, why) && header.type == FrameType::kHello;
        std::thread back([&] {
          if (hello) {
            ForgeTables(upstream, client, forged);
          } else {
            Pipe(upstream, client);
          }
        });
        Pipe(client, upstream);
        back.join();
      });
    }
    ::_exit(0);  // the pipes' threads end with the process
  }

  uint16_t port_ = 0;
  pid_t pid_ = -1;
  int command_ = -1;
};

// Whether a run of the victim's unregistered bytes (64 in a row, which its cache pattern never has)
// reached `cache`.
bool HasUnregisteredBytes(const HostCache &cache) {
  for (const auto &tensor : cache.tensors) {
    size_t run = 0;
    for (const uint8_t b : tensor) {
      run = b == PeerProcess::kUnregisteredByte ? run + 1 : 0;
      if (run >= 64U) {
        return true;
      }
    }
  }
  return false;
}

void RelayCannotReachTheVictim(const std::map<std::string, std::string> &options) {
  PeerSpec spec;
  spec.cluster_id = kVictim;
  spec.rows = 16;
  spec.row_bytes = 4096;
  spec.seed = 3;
  spec.options = options;
  PeerProcess victim(spec);
  REQUIRE(victim.ok());
  HostCache local(4, 16, 4096);
  // Direct link first: D does get the same-host path to V (a stopped V is still read), so the test
  // would see it if the relay granted it too. (Where process_vm_readv is unavailable, e.g. under
  // qemu-user, there is no same-host path to grant; the rest still holds.)
  if (SameHostPathUnavailable().empty()) {
    TestEngine direct(kDecoder, false, options, LlmRole::kDecoder);
    const int64_t local_id = Register(*direct.engine, local);
    REQUIRE_STATUS(Link(*direct.engine, kVictim, victim.port()), LLM_SUCCESS);
    REQUIRE_STATUS(direct.engine->PullKvBlocks(IndexOf(kVictim, victim.cache_id()), CacheWithId(local_id), {0}, {0}),
                   LLM_SUCCESS);
    victim.Stop();
    CHECK_STATUS(direct.engine->PullKvBlocks(IndexOf(kVictim, victim.cache_id()), CacheWithId(local_id), {1}, {1}),
                 LLM_SUCCESS);
    victim.Continue();
    CHECK_STATUS(Unlink(*direct.engine, kVictim, victim.port()), LLM_SUCCESS);
  }
  RelayProcess relay(victim.port(), victim.unregistered_addr());
  std::map<std::string, std::string> with_wait = options;
  with_wait["llm.SyncKvCacheWaitTime"] = "300";
  TestEngine decoder(kDecoder, false, with_wait, LlmRole::kDecoder);
  local.Zero();
  const int64_t local_id = Register(*decoder.engine, local);
  // The relay passes the handshake through (a secret's proofs too): the link is made...
  REQUIRE_STATUS(Link(*decoder.engine, kVictim, relay.port()), LLM_SUCCESS);
  // ...but D's pulls go over TCP: V serves the bytes of its registered cache, whatever addresses
  // the forged table gave D, and not one byte of V's heap.
  REQUIRE_STATUS(decoder.engine->PullKvBlocks(IndexOf(kVictim, victim.cache_id()), CacheWithId(local_id),
                                              {0, 1, 2, 3}, {0, 1, 2, 3}),
                 LLM_SUCCESS);
  for (uint32_t t = 0; t < 4; ++t) {
    CHECK(local.RowEquals(t, 2, 3, t, 2));
  }
  CHECK(!HasUnregisteredBytes(local));
  // And a stopped V cannot answer: the pull times out, so no same-host path to V exists.
  victim.Stop();
  CHECK_STATUS(decoder.engine->PullKvBlocks(IndexOf(kVictim, victim.cache_id()), CacheWithId(local_id), {5}, {5}),
               LLM_TIMEOUT);
  victim.Continue();
  CHECK(!HasUnregisteredBytes(local));
  victim.Finish();
}
}  // namespace

DD_TEST(A25_a_relaying_server_cannot_give_a_decoder_the_victims_memory) { RelayCannotReachTheVictim({}); }

DD_TEST(A25_a_relaying_server_cannot_give_a_decoder_the_victims_memory_with_a_secret) {
  RelayCannotReachTheVictim({{"dd.AuthSecret", kSecret}});
}
