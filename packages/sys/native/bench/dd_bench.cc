// dd_bench: bandwidth and latency of the host backend's pulls and pushes (same-host and TCP
// paths; 4 KiB, 64 KiB and 1 MiB blocks; batches of 1 and 64) out of a cold 256 MiB region in
// another process, each next to a baseline measured in the same run: memcpy, raw
// process_vm_readv/writev, and a raw TCP block server. Also link setup, dead-peer detection and
// the peak RSS of both processes next to the memory they registered.
//
//   dd_bench [--quick] [--json FILE] [--direct-only | --direct-rounds] [--auth]
//     --quick        smaller budgets, whole run < 30 s
//     --auth         every engine holds dd.AuthSecret (the data path is the same; the ratios to the
//                    same-run baselines should not move)
//     --json FILE    also write [{ name, value, unit, baseline?, ratio? }]; baseline names another
//                    entry of the same array and ratio = value / baseline value
//     --direct-only  only the C++-direct 64 KiB pulls (1 and 64 blocks, ns/op), the reference for
//                    the FFI-overhead comparison of the TypeScript benchmark
//     --direct-rounds the same pulls, one timed round per request, so that a caller can alternate
//                    them with its own rounds (this machine drifts by tens of percent in a minute):
//                    prints "READY <port> <cluster id> <cache id>" (the serving peer, so the caller
//                    can pull the same memory from the same process), then for each stdin line
//                    "<batch> <ops>" (batch 1 or 64) runs one untimed and <ops> timed pulls and
//                    prints "ROUND <batch> <ns per op>"; ends at end of input
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench_peer.h"
#include "bench_report.h"
#include "llm_datadist/llm_datadist.h"
#include "raw_baselines.h"

using namespace llm_datadist;
using namespace ddbench;

extern "C" const char *dd_backend_error_detail(void);

namespace {
constexpr uint64_t kRegionBytes = 256ULL << 20U;
constexpr uint64_t kPeerCluster = 10;
constexpr int kPeerCpu = 0;
constexpr int kClientCpu = 1;
constexpr size_t kBatches[] = {1, 64};
constexpr uint64_t kPromptRegionBytesMoved = kPromptTensors * kPromptRequestBlocks * kPromptBlockBytes;  // 512 MiB
const char *const kPromptName = "prompt 4k tokens (16384 x 32KiB)";
const char *const kBlockNames[] = {"4KiB", "64KiB", "1MiB"};

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

struct Budget {
  double max_seconds;  // per round
  uint64_t target_bytes;
  size_t min_ops;
  int rounds;
};

struct Measured {
  bool ok = false;
  double seconds = 0;
  size_t ops = 0;
  uint64_t bytes = 0;
  double gbps() const { return seconds > 0 ? static_cast<double>(bytes) / seconds / 1e9 : 0; }
  double us_per_op() const { return ops > 0 ? seconds * 1e6 / static_cast<double>(ops) : 0; }
};

// Runs op(i) on consecutive schedule entries from `cursor` (which it advances, so successive
// measurements keep reaching cold memory) until the byte target and op minimum are met or time
// runs out; one untimed operation first.
Measured Measure(const Budget &budget, size_t schedule_len, size_t &cursor, uint64_t bytes_per_op,
                 const std::function<bool(size_t)> &op) {
  Measured m;
  if (!op(cursor++ % schedule_len)) {
    return m;
  }
  const auto start = Clock::now();
  for (;;) {
    if (!op(cursor++ % schedule_len)) {
      return m;
    }
    ++m.ops;
    m.bytes += bytes_per_op;
    m.seconds = Seconds(start);
    if ((m.bytes >= budget.target_bytes && m.ops >= budget.min_ops) || m.seconds >= budget.max_seconds) {
      break;
    }
  }
  m.ok = true;
  return m;
}

// Baseline and measured operation alternate for `budget.rounds` rounds; the median round of each
// is kept. Neighbours on a shared 2-core machine then bias both sides alike.
struct PairResult {
  Measured baseline;
  Measured ours;
};

Measured Median(std::vector<Measured> rounds) {
  for (const Measured &m : rounds) {
    if (!m.ok) {
      return m;
    }
  }
  std::sort(rounds.begin(), rounds.end(), [](const Measured &a, const Measured &b) { return a.us_per_op() < b.us_per_op(); });
  return rounds[rounds.size() / 2];
}

PairResult MeasurePair(const Budget &budget, size_t schedule_len, uint64_t bytes_per_op,
                       const std::function<bool(size_t)> &baseline, const std::function<bool(size_t)> &ours) {
  size_t cursor = 0;
  std::vector<Measured> base_rounds;
  std::vector<Measured> our_rounds;
  for (int round = 0; round < budget.rounds; ++round) {
    base_rounds.push_back(Measure(budget, schedule_len, cursor, bytes_per_op, baseline));
    our_rounds.push_back(Measure(budget, schedule_len, cursor, bytes_per_op, ours));
  }
  return PairResult{Median(base_rounds), Median(our_rounds)};
}

// Batches covering the whole region in random order, on both sides: every operation touches
// memory that is cold (the region is 8× the L3 cache).
struct Schedule {
  std::vector<std::vector<uint64_t>> src;
  std::vector<std::vector<uint64_t>> dst;
};

Schedule MakeSchedule(uint64_t blocks, size_t batch, uint64_t seed) {
  std::mt19937_64 random(seed);
  std::vector<uint64_t> src(blocks);
  std::vector<uint64_t> dst(blocks);
  for (uint64_t i = 0; i < blocks; ++i) {
    src[i] = dst[i] = i;
  }
  std::shuffle(src.begin(), src.end(), random);
  std::shuffle(dst.begin(), dst.end(), random);
  Schedule schedule;
  for (uint64_t first = 0; first + batch <= blocks; first += batch) {
    schedule.src.emplace_back(src.begin() + static_cast<ptrdiff_t>(first), src.begin() + static_cast<ptrdiff_t>(first + batch));
    schedule.dst.emplace_back(dst.begin() + static_cast<ptrdiff_t>(first), dst.begin() + static_cast<ptrdiff_t>(first + batch));
  }
  return schedule;
}

std::string Label(const char *what, size_t block_index, size_t batch) {
  return std::string(what) + " " + kBlockNames[block_index] + " x" + std::to_string(batch);
}

uint8_t *MapRegion(uint64_t bytes, uint8_t fill) {
  void *p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    return nullptr;
  }
  std::memset(p, fill, bytes);  // touched, so RSS counts it and no first-touch faults are timed
  return static_cast<uint8_t *>(p);
}

// One engine of the measuring process, with the local region registered once per block size.
struct ClientEngine {
  std::unique_ptr<LlmDataDist> engine;
  int64_t ids[kBlockSizeCount] = {};
  Status status = LLM_FAILED;

  int64_t prompt_id = 0;

  // With `prompt`, also registers the prompt-shaped cache there (kPromptTensors tensors in a row).
  ClientEngine(uint64_t cluster_id, bool tcp, uint8_t *region, uint64_t region_bytes,
               const std::string &auth_secret = std::string(), uint8_t *prompt = nullptr) {
    engine = std::make_unique<LlmDataDist>(cluster_id, LlmRole::kDecoder);
    std::map<AscendString, AscendString> options{{AscendString(OPTION_DEVICE_ID), AscendString("0")},
                                                 {AscendString(OPTION_SYNC_CACHE_WAIT_TIME), AscendString("10000")}};
    if (tcp) {
      options[AscendString("dd.DataPath")] = AscendString("tcp");
    }
    if (!auth_secret.empty()) {
      options[AscendString("dd.AuthSecret")] = AscendString(auth_secret.c_str());
    }
    status = engine->Initialize(options);
    for (size_t i = 0; i < kBlockSizeCount && status == LLM_SUCCESS; ++i) {
      CacheDesc desc;
      desc.placement = CachePlacement::kHost;
      desc.num_tensors = 1;
      desc.data_type = DT_UINT8;
      desc.shape = {static_cast<int64_t>(region_bytes / kBlockSizes[i]), static_cast<int64_t>(kBlockSizes[i])};
      status = engine->RegisterKvCache(desc, {reinterpret_cast<uintptr_t>(region)}, RegisterCfg{}, ids[i]);
    }
    if (prompt != nullptr && status == LLM_SUCCESS) {
      CacheDesc desc;
      desc.placement = CachePlacement::kHost;
      desc.num_tensors = kPromptTensors;
      desc.data_type = DT_UINT8;
      desc.shape = {static_cast<int64_t>(kPromptCacheBlocks), static_cast<int64_t>(kPromptBlockBytes)};
      std::vector<uint64_t> addrs;
      for (uint32_t t = 0; t < kPromptTensors; ++t) {
        addrs.push_back(reinterpret_cast<uintptr_t>(prompt) + t * kPromptTensorBytes);
      }
      status = engine->RegisterKvCache(desc, addrs, RegisterCfg{}, prompt_id);
    }
  }
  ~ClientEngine() { engine->Finalize(); }

  Status Link(uint64_t cluster_id, uint16_t port) {
    ClusterInfo cluster;
    cluster.remote_cluster_id = cluster_id;
    IpInfo local{};
    local.ip = AscendString("127.0.0.1");
    IpInfo remote{};
    remote.ip = AscendString("127.0.0.1");
    remote.port = port;
    cluster.local_ip_infos = {local};
    cluster.remote_ip_infos = {remote};
    std::vector<Status> rets;
    return engine->LinkLlmClusters({cluster}, rets, 5000);
  }

  Status Unlink(uint64_t cluster_id, uint16_t port) {
    ClusterInfo cluster;
    cluster.remote_cluster_id = cluster_id;
    IpInfo remote{};
    remote.ip = AscendString("127.0.0.1");
    remote.port = port;
    cluster.remote_ip_infos = {remote};
    std::vector<Status> rets;
    return engine->UnlinkLlmClusters({cluster}, rets, 5000, false);
  }

  Status Pull(uint64_t peer, int64_t remote_id, size_t size_index, const std::vector<uint64_t> &src,
              const std::vector<uint64_t> &dst) {
    CacheIndex index{};
    index.cluster_id = peer;
    index.cache_id = remote_id;
    Cache cache;
    cache.cache_id = ids[size_index];
    return engine->PullKvBlocks(index, cache, src, dst);
  }

  // The prompt's blocks (one block table for every layer), layers [first, last] in one call.
  Status PullPrompt(uint64_t peer, int64_t remote_id, const std::vector<uint64_t> &src, const std::vector<uint64_t> &dst,
                    int32_t first_layer, int32_t last_layer) {
    CacheIndex index{};
    index.cluster_id = peer;
    index.cache_id = remote_id;
    Cache cache;
    cache.cache_id = prompt_id;
    cache.cache_desc.num_tensors = kPromptTensors;
    KvCacheExtParam layers;
    layers.src_layer_range = {first_layer, last_layer};
    layers.dst_layer_range = {first_layer, last_layer};
    layers.tensor_num_per_layer = 2;
    return engine->PullKvBlocks(index, cache, src, dst, layers);
  }

  Status Push(uint64_t peer, int64_t remote_id, size_t size_index, const std::vector<uint64_t> &src,
              const std::vector<uint64_t> &dst) {
    CacheIndex index{};
    index.cluster_id = peer;
    index.cache_id = remote_id;
    Cache cache;
    cache.cache_id = ids[size_index];
    cache.cache_desc.num_tensors = 1;
    // One tensor is one layer: with the default of 2 tensors per layer V2 refuses the push (A2).
    KvCacheExtParam one_per_layer;
    one_per_layer.tensor_num_per_layer = 1;
    return engine->PushKvBlocks(cache, index, src, dst, one_per_layer);
  }
};

// The prompt's block table on each side (scattered, distinct), and the same blocks as indices of
// kPromptBlockBytes blocks of the whole region (tensors one after another), for the baselines.
struct PromptSchedule {
  std::vector<uint64_t> src;
  std::vector<uint64_t> dst;
  std::vector<uint64_t> region_src;
  std::vector<uint64_t> region_dst;
};

PromptSchedule MakePromptSchedule() {
  const Schedule table = MakeSchedule(kPromptCacheBlocks, kPromptRequestBlocks, 400);
  PromptSchedule p{table.src[0], table.dst[0], {}, {}};
  for (uint32_t t = 0; t < kPromptTensors; ++t) {
    for (uint64_t i = 0; i < kPromptRequestBlocks; ++i) {
      p.region_src.push_back(t * kPromptCacheBlocks + p.src[i]);
      p.region_dst.push_back(t * kPromptCacheBlocks + p.dst[i]);
    }
  }
  return p;
}

// memcpy baselines run in a child process so that their second 256 MiB arena does not inflate
// the measuring process's peak RSS. Results come back as (GB/s, µs/op) pairs.
std::vector<double> MemcpyBaselines(const Budget &budget) {
  int fds[2];
  if (::pipe(fds) != 0) {
    return {};
  }
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    PinToCpu(kClientCpu);
    uint8_t *src = MapRegion(kRegionBytes, 0x11);
    uint8_t *dst = MapRegion(kRegionBytes, 0x22);
    std::vector<double> out;
    for (size_t s = 0; s < kBlockSizeCount; ++s) {
      for (const size_t batch : kBatches) {
        const Schedule schedule = MakeSchedule(kRegionBytes / kBlockSizes[s], batch, 1 + s);
        size_t cursor = 0;
        std::vector<Measured> rounds;
        for (int round = 0; round < budget.rounds; ++round) {
          rounds.push_back(Measure(budget, schedule.src.size(), cursor, batch * kBlockSizes[s], [&](size_t i) {
            CopyBlocks(BlockBatch{&schedule.src[i], &schedule.dst[i], kBlockSizes[s]}, src, dst);
            return true;
          }));
        }
        const Measured m = Median(rounds);
        out.push_back(m.gbps());
        out.push_back(m.us_per_op());
      }
    }
    [[maybe_unused]] const ssize_t n = ::write(fds[1], out.data(), out.size() * sizeof(double));
    ::_exit(0);
  }
  ::close(fds[1]);
  std::vector<double> results(kBlockSizeCount * 2 * 2);
  size_t have = 0;
  auto *bytes = reinterpret_cast<uint8_t *>(results.data());
  while (have < results.size() * sizeof(double)) {
    const ssize_t n = ::read(fds[0], bytes + have, results.size() * sizeof(double) - have);
    if (n <= 0) {
      break;
    }
    have += static_cast<size_t>(n);
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return have == results.size() * sizeof(double) ? results : std::vector<double>();
}

// Time from SIGKILL of a linked peer until a pull on the link fails.
double DeadPeerDetectionMs(bool tcp, uint8_t *region) {
  auto victim = BenchPeer::Spawn(kPeerCluster + 1, 16ULL << 20U, kPeerCpu);
  if (victim == nullptr) {
    return -1;
  }
  ClientEngine client(tcp ? 41 : 40, tcp, region, 16ULL << 20U);
  if (client.status != LLM_SUCCESS || client.Link(kPeerCluster + 1, victim->info().engine_port) != LLM_SUCCESS) {
    return -1;
  }
  const std::vector<uint64_t> one{3};
  if (client.Pull(kPeerCluster + 1, victim->info().cache_ids[1], 1, one, one) != LLM_SUCCESS) {
    return -1;
  }
  const auto start = Clock::now();
  ::kill(victim->info().pid, SIGKILL);
  while (client.Pull(kPeerCluster + 1, victim->info().cache_ids[1], 1, one, one) == LLM_SUCCESS) {
    if (Seconds(start) > 5) {
      return -1;
    }
  }
  return Seconds(start) * 1e3;
}

int64_t PeakRssKb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) {
      return std::stoll(line.substr(6));
    }
  }
  return -1;
}

// The peer fills its region so that the 8-byte word at offset o holds o * 0x9E3779B97F4A7C15.
bool BlockHoldsPeerPattern(const uint8_t *block, uint64_t len, uint64_t region_offset) {
  for (uint64_t i = 0; i < len; i += 8) {
    uint64_t word = 0;
    std::memcpy(&word, block + i, sizeof(word));
    if (word != (region_offset + i) * 0x9E3779B97F4A7C15ULL) {
      return false;
    }
  }
  return true;
}
// --direct-rounds: one timed round of `pull` per stdin request, until end of input; `finish`
// ends the engines and the peer. Each batch size keeps its own place in its schedule, so every
// round reaches memory the previous ones did not.
int ServeDirectRounds(const PeerInfo &peer, const std::function<bool(const Schedule &, size_t)> &pull, const std::function<void()> &finish) {
  std::map<size_t, Schedule> schedules;
  std::map<size_t, size_t> cursors;
  for (const size_t batch : kBatches) schedules.emplace(batch, MakeSchedule(kRegionBytes / kBlockSizes[1], batch, 7));
  std::printf("READY %u %llu %lld\n", static_cast<unsigned>(peer.engine_port), static_cast<unsigned long long>(kPeerCluster),
              static_cast<long long>(peer.cache_ids[1]));
  std::fflush(stdout);
  char line[64];
  int status = 0;
  while (std::fgets(line, sizeof line, stdin) != nullptr) {
    size_t batch = 0;
    size_t ops = 0;
    const auto found = std::sscanf(line, "%zu %zu", &batch, &ops) == 2 ? schedules.find(batch) : schedules.end();
    if (found == schedules.end() || ops == 0) {
      std::fprintf(stderr, "dd_bench: a round request must be \"<batch> <ops>\" with batch 1 or 64, got: %s", line);
      status = 2;
      break;
    }
    const Schedule &schedule = found->second;
    size_t &cursor = cursors[batch];
    bool ok = pull(schedule, cursor++ % schedule.src.size());
    const auto start = Clock::now();
    for (size_t n = 0; ok && n < ops; ++n) ok = pull(schedule, cursor++ % schedule.src.size());
    const double seconds = Seconds(start);
    if (!ok) {
      std::fprintf(stderr, "dd_bench: a pull failed: %s\n", dd_backend_error_detail());
      status = 1;
      break;
    }
    std::printf("ROUND %zu %.0f\n", batch, seconds * 1e9 / static_cast<double>(ops));
    std::fflush(stdout);
  }
  finish();
  return status;
}

}  // namespace

int main(int argc, char **argv) {
  bool quick = false;
  bool direct_only = false;
  bool direct_rounds = false;
  std::string json;
  std::string auth;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--quick") {
      quick = true;
    } else if (arg == "--direct-only") {
      direct_only = true;
    } else if (arg == "--direct-rounds") {
      direct_only = true;
      direct_rounds = true;
    } else if (arg == "--auth") {
      auth = "dd_bench shared secret, 32 bytes";
    } else if (arg == "--json" && i + 1 < argc) {
      json = argv[++i];
    } else {
      std::fprintf(stderr, "usage: %s [--quick] [--json FILE] [--direct-only | --direct-rounds] [--auth]\n", argv[0]);
      return 2;
    }
  }
  const Budget budget = quick ? Budget{0.04, 32ULL << 20U, 32, 3} : Budget{0.15, 192ULL << 20U, 64, 5};
  BenchReport report;
  const auto run_start = Clock::now();

  // Forks happen before this process starts any thread.
  std::vector<double> memcpy_results;
  if (!direct_only) {
    std::printf("dd_bench: memcpy baselines\n");
    memcpy_results = MemcpyBaselines(budget);
  }
  auto peer = BenchPeer::Spawn(kPeerCluster, kRegionBytes, kPeerCpu, auth, !direct_only);
  if (peer == nullptr) {
    std::fprintf(stderr, "dd_bench: the serving process did not start\n");
    return 1;
  }
  PinToCpu(kClientCpu);
  const PeerInfo &info = peer->info();
  uint8_t *local = MapRegion(kRegionBytes, 0);
  uint8_t *local_prompt = direct_only ? nullptr : MapRegion(kPromptRegionBytes, 0);
  ClientEngine same_host(20, false, local, kRegionBytes, auth, local_prompt);
  ClientEngine tcp(21, true, local, kRegionBytes, auth, local_prompt);
  if (same_host.status != LLM_SUCCESS || tcp.status != LLM_SUCCESS || same_host.Link(kPeerCluster, info.engine_port) != LLM_SUCCESS ||
      tcp.Link(kPeerCluster, info.engine_port) != LLM_SUCCESS) {
    std::fprintf(stderr, "dd_bench: engines did not initialize or link: %s\n", dd_backend_error_detail());
    return 1;
  }
  RawProcessVm raw_vm(info.pid, info.region_addr, local);
  // Before anything is timed: both paths deliver the peer's bytes, word for word.
  for (ClientEngine *engine : {&same_host, &tcp}) {
    const uint64_t block = 1234;
    std::memset(local, 0, kBlockSizes[1]);
    if (engine->Pull(kPeerCluster, info.cache_ids[1], 1, {block}, {0}) != LLM_SUCCESS ||
        !BlockHoldsPeerPattern(local, kBlockSizes[1], block * kBlockSizes[1])) {
      std::fprintf(stderr, "dd_bench: a verification pull returned wrong bytes: %s\n", dd_backend_error_detail());
      return 1;
    }
  }
  // The zero-copy path and the prompt-shaped pulls deliver the peer's bytes too.
  if (!direct_only) {
    const uint64_t block = 2345;
    std::memset(local, 0, kBlockSizes[1]);
    if (same_host.Pull(kPeerCluster, info.file_cache_ids[1], 1, {block}, {0}) != LLM_SUCCESS ||
        !BlockHoldsPeerPattern(local, kBlockSizes[1], block * kBlockSizes[1])) {
      std::fprintf(stderr, "dd_bench: a zero-copy verification pull returned wrong bytes: %s\n", dd_backend_error_detail());
      return 1;
    }
    const PromptSchedule prompt = MakePromptSchedule();
    for (ClientEngine *engine : {&same_host, &tcp}) {
      std::memset(local_prompt, 0, kPromptRegionBytes);
      if (engine->PullPrompt(kPeerCluster, info.prompt_cache_id, prompt.src, prompt.dst, 0,
                             static_cast<int32_t>(kPromptLayers) - 1) != LLM_SUCCESS) {
        std::fprintf(stderr, "dd_bench: a prompt-shaped pull failed: %s\n", dd_backend_error_detail());
        return 1;
      }
      for (size_t i = 0; i < prompt.region_src.size(); i += 97) {
        if (!BlockHoldsPeerPattern(local_prompt + prompt.region_dst[i] * kPromptBlockBytes, kPromptBlockBytes,
                                   prompt.region_src[i] * kPromptBlockBytes)) {
          std::fprintf(stderr, "dd_bench: a prompt-shaped pull returned wrong bytes\n");
          return 1;
        }
      }
    }
  }

  if (direct_rounds) {
    return ServeDirectRounds(
        info,
        [&](const Schedule &schedule, size_t i) {
          return same_host.Pull(kPeerCluster, info.cache_ids[1], 1, schedule.src[i], schedule.dst[i]) == LLM_SUCCESS;
        },
        [&] {
          same_host.engine->Finalize();
          tcp.engine->Finalize();
          peer->Finish();
        });
  }
  if (direct_only) {
    std::printf("dd_bench: C++-direct pulls (64 KiB blocks)\n");
    for (const size_t batch : kBatches) {
      const Schedule schedule = MakeSchedule(kRegionBytes / kBlockSizes[1], batch, 7);
      const PairResult r = MeasurePair(
          budget, schedule.src.size(), batch * kBlockSizes[1],
          [&](size_t i) { return raw_vm.Read(BlockBatch{&schedule.src[i], &schedule.dst[i], kBlockSizes[1]}); },
          [&](size_t i) {
            return same_host.Pull(kPeerCluster, info.cache_ids[1], 1, schedule.src[i], schedule.dst[i]) == LLM_SUCCESS;
          });
      const std::string base = Label("raw process_vm_readv", 1, batch) + " ns/op";
      report.Add(base, r.baseline.us_per_op() * 1e3, "ns/op");
      report.AddVersus(Label("direct C++ pull same-host", 1, batch) + " ns/op", r.ours.us_per_op() * 1e3, "ns/op", base);
    }
  } else {
    RawTcpClient raw_tcp(info.raw_port, local);
    if (!raw_tcp.ok()) {
      std::fprintf(stderr, "dd_bench: raw TCP baseline server unreachable\n");
      return 1;
    }
    std::printf("dd_bench: transfers from a cold 256 MiB region (value, ratio to the same-run baseline)\n");
    for (size_t s = 0; s < kBlockSizeCount; ++s) {
      const uint64_t block = kBlockSizes[s];
      for (size_t b = 0; b < 2; ++b) {
        const size_t batch = kBatches[b];
        const Schedule schedule = MakeSchedule(kRegionBytes / block, batch, 100 + s * 2 + b);
        const uint64_t bytes = batch * block;
        const auto batch_of = [&](size_t i) { return BlockBatch{&schedule.src[i], &schedule.dst[i], block}; };
        const auto check = [&](const std::string &name, const Measured &m) {
          if (!m.ok) {
            std::fprintf(stderr, "dd_bench: %s failed: %s\n", name.c_str(), dd_backend_error_detail());
            std::exit(1);
          }
        };
        // Reports a baseline and our figure for it (bandwidth and time per operation).
        const auto pair = [&](const std::string &base_name, const std::string &our_name,
                              const std::function<bool(size_t)> &baseline, const std::function<bool(size_t)> &ours) {
          const PairResult r = MeasurePair(budget, schedule.src.size(), bytes, baseline, ours);
          check(base_name, r.baseline);
          check(our_name, r.ours);
          report.Add(base_name + " GB/s", r.baseline.gbps(), "GB/s");
          report.Add(base_name + " latency", r.baseline.us_per_op(), "us/op");
          report.AddVersus(our_name + " GB/s", r.ours.gbps(), "GB/s", base_name + " GB/s");
          report.AddVersus(our_name + " latency", r.ours.us_per_op(), "us/op", base_name + " latency");
        };
        if (!memcpy_results.empty()) {
          const size_t at = (s * 2 + b) * 2;
          report.Add(Label("memcpy", s, batch) + " GB/s", memcpy_results[at], "GB/s");
          report.Add(Label("memcpy", s, batch) + " latency", memcpy_results[at + 1], "us/op");
        }
        pair(Label("raw process_vm_readv", s, batch), Label("pull same-host", s, batch),
             [&](size_t i) { return raw_vm.Read(batch_of(i)); },
             [&](size_t i) {
               return same_host.Pull(kPeerCluster, info.cache_ids[s], s, schedule.src[i], schedule.dst[i]) == LLM_SUCCESS;
             });
        pair(Label("raw process_vm_writev", s, batch), Label("push same-host", s, batch),
             [&](size_t i) { return raw_vm.Write(batch_of(i)); },
             [&](size_t i) {
               return same_host.Push(kPeerCluster, info.cache_ids[s], s, schedule.dst[i], schedule.src[i]) == LLM_SUCCESS;
             });
        pair(Label("raw tcp pull", s, batch), Label("pull tcp", s, batch), [&](size_t i) { return raw_tcp.Pull(batch_of(i)); },
             [&](size_t i) {
               return tcp.Pull(kPeerCluster, info.cache_ids[s], s, schedule.src[i], schedule.dst[i]) == LLM_SUCCESS;
             });
        pair(Label("raw tcp push", s, batch), Label("push tcp", s, batch), [&](size_t i) { return raw_tcp.Push(batch_of(i)); },
             [&](size_t i) {
               return tcp.Push(kPeerCluster, info.cache_ids[s], s, schedule.dst[i], schedule.src[i]) == LLM_SUCCESS;
             });
      }
    }
  }

  if (!direct_only) {
    // Zero-copy against memcpy of the same blocks, the two alternating round by round (a memcpy
    // measured at another moment of a loaded machine says nothing about this one). The memcpy moves
    // blocks between the client's two arenas: the prompt arena (as source) and the region.
    std::printf("dd_bench: zero-copy pulls and pushes (caches in memory files), each against memcpy of the same blocks\n");
    // A cache's first transfer maps the peer's file. Its first pass over the pages then pays what
    // a fresh mapping costs on this machine (page tables built on first touch; on a virtual machine
    // with shadow paging that is most of it), once per mapping, as the local arenas paid at their
    // memset: measured on its own, then every cache is warmed before its figures.
    for (size_t s = 0; s < kBlockSizeCount; ++s) {
      const Schedule whole = MakeSchedule(kRegionBytes / kBlockSizes[s], kBlockSizes[s] >= (1U << 20U) ? 16 : 256, 250 + s);
      const auto start = Clock::now();
      for (size_t i = 0; i < whole.src.size(); ++i) {
        if (same_host.Pull(kPeerCluster, info.file_cache_ids[s], s, whole.src[i], whole.dst[i]) != LLM_SUCCESS) {
          std::fprintf(stderr, "dd_bench: warming the zero-copy cache failed: %s\n", dd_backend_error_detail());
          return 1;
        }
      }
      if (s == 1) {
        report.Add("pull same-host zero-copy, first pass over a fresh 256 MiB mapping GB/s",
                   static_cast<double>(kRegionBytes) / Seconds(start) / 1e9, "GB/s");
      }
    }
    for (size_t s = 0; s < kBlockSizeCount; ++s) {
      for (size_t b = 0; b < 2; ++b) {
        const size_t batch = kBatches[b];
        const uint64_t block = kBlockSizes[s];
        const Schedule schedule = MakeSchedule(kRegionBytes / block, batch, 200 + s * 2 + b);
        const auto batch_of = [&](size_t i) { return BlockBatch{&schedule.src[i], &schedule.dst[i], block}; };
        const auto pair = [&](const char *what, const char *base, const std::function<bool(size_t)> &baseline,
                              const std::function<bool(size_t)> &ours) {
          const PairResult r = MeasurePair(budget, schedule.src.size(), batch * block, baseline, ours);
          if (!r.ours.ok || !r.baseline.ok) {
            std::fprintf(stderr, "dd_bench: %s failed: %s\n", what, dd_backend_error_detail());
            std::exit(1);
          }
          const std::string base_name = Label(base, s, batch);
          report.Add(base_name + " GB/s", r.baseline.gbps(), "GB/s");
          report.Add(base_name + " latency", r.baseline.us_per_op(), "us/op");
          report.AddVersus(Label(what, s, batch) + " GB/s", r.ours.gbps(), "GB/s", base_name + " GB/s");
          report.AddVersus(Label(what, s, batch) + " latency", r.ours.us_per_op(), "us/op", base_name + " latency");
        };
        pair("pull same-host zero-copy", "memcpy (paired with zero-copy pull)",
             [&](size_t i) {
               CopyBlocks(batch_of(i), local_prompt, local);
               return true;
             },
             [&](size_t i) {
               return same_host.Pull(kPeerCluster, info.file_cache_ids[s], s, schedule.src[i], schedule.dst[i]) == LLM_SUCCESS;
             });
        pair("push same-host zero-copy", "memcpy (paired with zero-copy push)",
             [&](size_t i) {
               CopyBlocks(BlockBatch{&schedule.dst[i], &schedule.src[i], block}, local, local_prompt);
               return true;
             },
             [&](size_t i) {
               return same_host.Push(kPeerCluster, info.file_cache_ids[s], s, schedule.dst[i], schedule.src[i]) == LLM_SUCCESS;
             });
      }
    }

    std::printf("dd_bench: the prompt-shaped workload (%s)\n", kPromptName);
    const PromptSchedule prompt = MakePromptSchedule();
    // memcpy of as many blocks of the same size into the same destinations, from the client's
    // 256 MiB region (the prompt's source blocks taken modulo its size): paired with each figure.
    const uint64_t region_blocks = kRegionBytes / kPromptBlockBytes;
    const auto memcpy_prompt = [&](size_t) {
      for (size_t i = 0; i < prompt.region_src.size(); ++i) {
        std::memcpy(local_prompt + prompt.region_dst[i] * kPromptBlockBytes,
                    local + (prompt.region_src[i] % region_blocks) * kPromptBlockBytes, kPromptBlockBytes);
      }
      return true;
    };
    // Raw process_vm_readv of the same blocks, IOV_MAX blocks per call.
    std::vector<std::vector<uint64_t>> raw_src;
    std::vector<std::vector<uint64_t>> raw_dst;
    for (size_t first = 0; first < prompt.region_src.size(); first += 1024) {
      const size_t last = std::min(first + 1024, prompt.region_src.size());
      raw_src.emplace_back(prompt.region_src.begin() + static_cast<ptrdiff_t>(first), prompt.region_src.begin() + static_cast<ptrdiff_t>(last));
      raw_dst.emplace_back(prompt.region_dst.begin() + static_cast<ptrdiff_t>(first), prompt.region_dst.begin() + static_cast<ptrdiff_t>(last));
    }
    RawProcessVm raw_prompt(info.pid, info.prompt_region_addr, local_prompt);
    const auto raw_pull = [&](size_t) {
      for (size_t piece = 0; piece < raw_src.size(); ++piece) {
        if (!raw_prompt.Read(BlockBatch{&raw_src[piece], &raw_dst[piece], kPromptBlockBytes})) {
          return false;
        }
      }
      return true;
    };
    const std::string memcpy_name = std::string("memcpy ") + kPromptName;
    const std::string raw_name = std::string("raw process_vm_readv ") + kPromptName;
    {
      const PairResult r = MeasurePair(budget, 1, kPromptRegionBytesMoved, memcpy_prompt, raw_pull);
      if (!r.ours.ok) {
        std::fprintf(stderr, "dd_bench: raw process_vm_readv of the prompt failed\n");
        return 1;
      }
      report.Add(memcpy_name + " (paired with raw process_vm_readv) GB/s", r.baseline.gbps(), "GB/s");
      report.AddVersus(raw_name + " GB/s", r.ours.gbps(), "GB/s", memcpy_name + " (paired with raw process_vm_readv) GB/s");
    }
    for (ClientEngine *engine : {&same_host, &tcp}) {
      const std::string path = engine == &same_host ? "same-host" : "tcp";
      const auto per_layer = [&](size_t) {
        for (int32_t layer = 0; layer < static_cast<int32_t>(kPromptLayers); ++layer) {
          if (engine->PullPrompt(kPeerCluster, info.prompt_cache_id, prompt.src, prompt.dst, layer, layer) != LLM_SUCCESS) {
            return false;
          }
        }
        return true;
      };
      const auto per_request = [&](size_t) {
        return engine->PullPrompt(kPeerCluster, info.prompt_cache_id, prompt.src, prompt.dst, 0,
                                  static_cast<int32_t>(kPromptLayers) - 1) == LLM_SUCCESS;
      };
      for (const auto &[how, op] : {std::pair<const char *, std::function<bool(size_t)>>{"one pullBlocks per layer", per_layer},
                                    std::pair<const char *, std::function<bool(size_t)>>{"one pullBlocks per request", per_request}}) {
        const std::string name = "pull " + path + " " + kPromptName + ", " + how;
        const PairResult r = MeasurePair(budget, 1, kPromptRegionBytesMoved, memcpy_prompt, op);
        if (!r.ours.ok) {
          std::fprintf(stderr, "dd_bench: prompt-shaped pull (%s, %s) failed: %s\n", path.c_str(), how, dd_backend_error_detail());
          return 1;
        }
        const std::string base = memcpy_name + " (paired with " + path + ", " + how + ") GB/s";
        report.Add(base, r.baseline.gbps(), "GB/s");
        report.AddVersus(name + " GB/s", r.ours.gbps(), "GB/s", base);
        report.AddVersus(name + " GB/s vs raw process_vm_readv", r.ours.gbps(), "GB/s", raw_name + " GB/s");
      }
    }
  }

  if (!direct_only) {
    // Four callers pulling on one TCP link at once share its window (issue 16: they were served
    // one at a time), against one caller's figure from the same run.
    {
      const Schedule schedule = MakeSchedule(kRegionBytes / kBlockSizes[1], 64, 300);
      const size_t per_caller = quick ? 8 : 32;
      std::atomic<bool> ok{true};
      const auto start = Clock::now();
      std::vector<std::thread> callers;
      for (size_t c = 0; c < 4; ++c) {
        callers.emplace_back([&, c] {
          for (size_t i = 0; i < per_caller; ++i) {
            const size_t at = (c * per_caller + i) % schedule.src.size();
            ok = ok && tcp.Pull(kPeerCluster, info.cache_ids[1], 1, schedule.src[at], schedule.dst[at]) == LLM_SUCCESS;
          }
        });
      }
      for (std::thread &caller : callers) {
        caller.join();
      }
      if (!ok) {
        std::fprintf(stderr, "dd_bench: concurrent pulls failed: %s\n", dd_backend_error_detail());
        return 1;
      }
      const double gbps = static_cast<double>(4 * per_caller * 64 * kBlockSizes[1]) / Seconds(start) / 1e9;
      report.AddVersus("pull tcp 64KiB x64, 4 callers on one link GB/s", gbps, "GB/s", Label("pull tcp", 1, 64) + " GB/s");
    }
    // Link setup against a live engine, without and with a shared secret.
    const int rounds = quick ? 10 : 40;
    const auto link_setup = [&](ClientEngine &client, uint64_t peer_cluster, uint16_t port, double &mean_ms,
                                double &worst_ms) {
      double total_ms = 0;
      worst_ms = 0;
      for (int i = 0; i < rounds; ++i) {
        if (client.Unlink(peer_cluster, port) != LLM_SUCCESS) {
          std::fprintf(stderr, "dd_bench: unlink failed: %s\n", dd_backend_error_detail());
          return false;
        }
        const auto start = Clock::now();
        if (client.Link(peer_cluster, port) != LLM_SUCCESS) {
          std::fprintf(stderr, "dd_bench: link failed: %s\n", dd_backend_error_detail());
          return false;
        }
        const double ms = Seconds(start) * 1e3;
        total_ms += ms;
        worst_ms = std::max(worst_ms, ms);
      }
      mean_ms = total_ms / rounds;
      return true;
    };
    double mean_ms = 0;
    double worst_ms = 0;
    if (!link_setup(same_host, kPeerCluster, info.engine_port, mean_ms, worst_ms)) {
      return 1;
    }
    report.Add("link setup (mean)", mean_ms, "ms");
    report.Add("link setup (worst)", worst_ms, "ms");
    {
      const std::string secret = "dd_bench shared secret, 32 bytes";
      auto guarded = BenchPeer::Spawn(kPeerCluster + 2, 16ULL << 20U, kPeerCpu, secret);
      ClientEngine with_secret(22, false, local, 16ULL << 20U, secret);
      if (guarded == nullptr || with_secret.status != LLM_SUCCESS ||
          with_secret.Link(kPeerCluster + 2, guarded->info().engine_port) != LLM_SUCCESS ||
          !link_setup(with_secret, kPeerCluster + 2, guarded->info().engine_port, mean_ms, worst_ms)) {
        std::fprintf(stderr, "dd_bench: link with dd.AuthSecret failed: %s\n", dd_backend_error_detail());
        return 1;
      }
      report.AddVersus("link setup with dd.AuthSecret (mean)", mean_ms, "ms", "link setup (mean)");
      report.AddVersus("link setup with dd.AuthSecret (worst)", worst_ms, "ms", "link setup (worst)");
      with_secret.engine->Finalize();
      guarded->Finish();
    }
    report.Add("dead peer detected same-host", DeadPeerDetectionMs(false, local), "ms");
    report.Add("dead peer detected tcp", DeadPeerDetectionMs(true, local), "ms");
  }

  const double registered_mib = static_cast<double>(kRegionBytes) / (1 << 20);
  // The serving process also holds the region again and the prompt-shaped cache in memory files.
  const double server_registered_mib =
      direct_only ? registered_mib : static_cast<double>(2 * kRegionBytes + kPromptRegionBytes) / (1 << 20);
  const double client_registered_mib =
      direct_only ? registered_mib : static_cast<double>(kRegionBytes + kPromptRegionBytes) / (1 << 20);
  same_host.engine->Finalize();
  tcp.engine->Finalize();
  const int64_t server_rss_kb = peer->Finish();
  report.Add("server registered memory", server_registered_mib, "MiB");
  report.AddVersus("server peak RSS", static_cast<double>(server_rss_kb) / 1024.0, "MiB", "server registered memory");
  report.Add("client registered memory", client_registered_mib, "MiB");
  report.AddVersus("client peak RSS", static_cast<double>(PeakRssKb()) / 1024.0, "MiB", "client registered memory");
  report.PrintTable();
  std::printf("\ndd_bench: done in %.1f s\n", Seconds(run_start));
  if (!json.empty() && !report.WriteJson(json)) {
    std::fprintf(stderr, "dd_bench: cannot write %s\n", json.c_str());
    return 1;
  }
  return 0;
}
