// Helpers shared by the tests: free ports, engines that listen on loopback, host buffers with
// known byte patterns, and ClusterInfo/Cache builders.
#ifndef DD_TESTS_ENGINE_FIXTURE_H_
#define DD_TESTS_ENGINE_FIXTURE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "llm_datadist/llm_datadist.h"

namespace ddtest {
using namespace llm_datadist;

// A port nothing listens on right now (bound and released).
uint16_t FreePort();

// A TCP socket bound to 127.0.0.1 on a port the kernel picks, stored in `port`.
int BindLoopback(uint16_t &port);

// A TCP connection to 127.0.0.1:`port`, or -1 when nothing accepts it.
int ConnectLoopback(uint16_t port);

using Options = std::map<AscendString, AscendString>;
// {DeviceId: "0"} plus `extra`; with `port` != 0 also ListenIpInfo 127.0.0.1:port.
Options EngineOptionsFor(uint16_t port, const std::map<std::string, std::string> &extra = {});

// An initialized engine; `listen` picks a free port and listens on 127.0.0.1.
struct TestEngine {
  TestEngine(uint64_t cluster_id, bool listen, const std::map<std::string, std::string> &extra = {},
             LlmRole role = LlmRole::kPrompt);
  ~TestEngine();
  uint64_t cluster_id;
  uint16_t port = 0;
  std::unique_ptr<LlmDataDist> engine;
  Status init_status = LLM_FAILED;
};

// Host memory for one cache: `num_tensors` buffers of `rows` rows of `row_bytes` bytes.
struct HostCache {
  HostCache(uint32_t num_tensors, uint64_t rows, uint64_t row_bytes);
  CacheDesc Desc(CachePlacement placement = CachePlacement::kHost) const;
  std::vector<uint64_t> Addrs();
  // Byte b of (tensor t, row r): a function of (seed, t, r, b), so any misplaced byte shows.
  void Fill(uint32_t seed);
  static uint8_t Pattern(uint32_t seed, uint32_t tensor, uint64_t row, uint64_t byte);
  bool RowEquals(uint32_t tensor, uint64_t row, uint32_t seed, uint32_t src_tensor, uint64_t src_row) const;
  bool RowIsZero(uint32_t tensor, uint64_t row) const;
  void Zero();
  uint8_t *Row(uint32_t tensor, uint64_t row) { return tensors[tensor].data() + row * row_bytes; }

  uint32_t num_tensors;
  uint64_t rows;
  uint64_t row_bytes;
  std::vector<std::vector<uint8_t>> tensors;
};

// ACL memory of the host backend (headers/acl): aclInit once for the process (a repeat is fine)
// and device `device` set on this thread; false when either fails.
bool UseAclDevice(int32_t device = 0);

// `count` aclrtMalloc buffers of `bytes` each on the current device, freed by the destructor.
struct DeviceBuffers {
  DeviceBuffers(size_t count, size_t bytes);
  ~DeviceBuffers();
  DeviceBuffers(const DeviceBuffers &) = delete;
  DeviceBuffers &operator=(const DeviceBuffers &) = delete;
  std::vector<uint64_t> addrs;
};

ClusterInfo ClusterTo(uint64_t remote_cluster_id, uint16_t port, const char *ip = "127.0.0.1");
Status Link(LlmDataDist &engine, uint64_t remote_cluster_id, uint16_t port, int32_t timeout_ms = 2000);
Status Unlink(LlmDataDist &engine, uint64_t remote_cluster_id, uint16_t port, bool force = false);
Cache CacheWithId(int64_t id, uint32_t num_tensors = 0);
CacheIndex IndexOf(uint64_t cluster_id, int64_t cache_id, uint32_t batch_index = 0);
KvCacheExtParam Ext(int32_t src_first, int32_t src_second, int32_t dst_first, int32_t dst_second, uint8_t per_layer);
int64_t Register(LlmDataDist &engine, HostCache &cache, CachePlacement placement = CachePlacement::kHost);
// Why the same-host data path (process_vm_readv) cannot work in this process, or "" when it can:
// qemu-user, which runs the arm64 tests, does not implement the call (ENOSYS).
std::string SameHostPathUnavailable();

// Polls `predicate` every 5 ms for at most `ms`.
template <typename Predicate>
bool WaitUntil(Predicate predicate, int ms);
}  // namespace ddtest

#include <chrono>
#include <thread>

template <typename Predicate>
bool ddtest::WaitUntil(Predicate predicate, int ms) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < end) {
    if (predicate()) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return predicate();
}

#endif  // DD_TESTS_ENGINE_FIXTURE_H_
