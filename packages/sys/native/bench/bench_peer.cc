#include "bench_peer.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <thread>

#include "acl/acl_rt.h"
#include "llm_datadist/llm_datadist.h"

namespace ddbench {
using namespace llm_datadist;

void PinToCpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  ::sched_setaffinity(0, sizeof(set), &set);
}

namespace {
bool ReadExact(int fd, void *data, size_t len) {
  auto *p = static_cast<uint8_t *>(data);
  while (len > 0U) {
    const ssize_t n = ::read(fd, p, len);
    if (n <= 0) {
      return false;
    }
    p += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

// write(), not send(): also used on the pipe to the parent. SIGPIPE is ignored in the child.
bool WriteExact(int fd, const void *data, size_t len) {
  const auto *p = static_cast<const uint8_t *>(data);
  while (len > 0U) {
    const ssize_t n = ::write(fd, p, len);
    if (n <= 0) {
      return false;
    }
    p += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

int ListenAnyPort(uint16_t &port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof(addr));
  ::listen(fd, 8);
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len);
  port = ntohs(addr.sin_port);
  return fd;
}

// The raw TCP baseline: a loop that answers block requests straight from the region, the way
// transport-measurements.md measured a hand-written TCP pull. One connection at a time.
void ServeRaw(int listener, uint8_t *region, uint64_t region_bytes) {
  for (;;) {
    const int fd = ::accept(listener, nullptr, nullptr);
    if (fd < 0) {
      return;
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    RawRequest request{};
    while (ReadExact(fd, &request, sizeof(request))) {
      if (request.offset > region_bytes || request.length > region_bytes - request.offset) {
        break;
      }
      uint8_t *block = region + request.offset;
      const bool ok = (request.flags & kRawWrite) != 0U ? ReadExact(fd, block, request.length)
                                                         : WriteExact(fd, block, request.length);
      const uint8_t ack = 1;
      if (!ok || ((request.flags & kRawAck) != 0U && !WriteExact(fd, &ack, 1))) {
        break;
      }
    }
    ::close(fd);
  }
}

// The peer's pattern: the 8-byte word at offset o of a region holds o * 0x9E3779B97F4A7C15.
void FillPattern(uint8_t *region, uint64_t bytes) {
  for (uint64_t i = 0; i < bytes; i += 8) {
    const uint64_t v = i * 0x9E3779B97F4A7C15ULL;
    std::memcpy(region + i, &v, 8);
  }
}

// Memory in one of dd's memory files (the host backend's aclrtMallocHost), filled with the pattern.
// Registers `region` as one tensor of `region_bytes / block_bytes` blocks; the status.
int32_t RegisterBlocks(LlmDataDist &engine, uintptr_t region, uint64_t region_bytes, uint64_t block_bytes,
                       int64_t &cache_id) {
  CacheDesc desc;
  desc.placement = CachePlacement::kHost;
  desc.num_tensors = 1;
  desc.data_type = DT_UINT8;
  desc.shape = {static_cast<int64_t>(region_bytes / block_bytes), static_cast<int64_t>(block_bytes)};
  return static_cast<int32_t>(engine.RegisterKvCache(desc, {region}, RegisterCfg{}, cache_id));
}

uint8_t *MemoryFileRegion(uint64_t bytes) {
  const aclError init = aclInit(nullptr);
  void *p = nullptr;
  if ((init != ACL_SUCCESS && init != ACL_ERROR_REPEAT_INITIALIZE) || aclrtMallocHost(&p, bytes) != ACL_SUCCESS) {
    return nullptr;
  }
  auto *region = static_cast<uint8_t *>(p);
  FillPattern(region, bytes);
  return region;
}

[[noreturn]] void RunChild(uint64_t cluster_id, uint64_t region_bytes, int cpu, const std::string &auth_secret,
                           bool memory_files, int from_parent, int to_parent) {
  ::alarm(600);  // never outlive a stuck benchmark
  ::signal(SIGPIPE, SIG_IGN);
  PinToCpu(cpu);
  PeerInfo info;
  info.pid = static_cast<int32_t>(::getpid());
  info.region_bytes = region_bytes;
  void *mapped = ::mmap(nullptr, region_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  auto *region = static_cast<uint8_t *>(mapped);
  FillPattern(region, region_bytes);
  info.region_addr = reinterpret_cast<uintptr_t>(region);
  uint16_t raw_port = 0;
  const int raw_listener = ListenAnyPort(raw_port);
  info.raw_port = raw_port;
  std::thread(ServeRaw, raw_listener, region, region_bytes).detach();
  LlmDataDist engine(cluster_id, LlmRole::kPrompt);
  for (int attempt = 0; attempt < 5 && info.status != 0; ++attempt) {
    uint16_t port = 0;
    ::close(ListenAnyPort(port));
    std::map<AscendString, AscendString> options{
        {AscendString(OPTION_DEVICE_ID), AscendString("0")},
        {AscendString(OPTION_LISTEN_IP_INFO), AscendString(("127.0.0.1:" + std::to_string(port)).c_str())},
        {AscendString(OPTION_SYNC_CACHE_WAIT_TIME), AscendString("10000")}};
    if (!auth_secret.empty()) {
      options[AscendString("dd.AuthSecret")] = AscendString(auth_secret.c_str());
    }
    info.status = static_cast<int32_t>(engine.Initialize(options));
    info.engine_port = port;
  }
  for (size_t i = 0; i < kBlockSizeCount && info.status == 0; ++i) {
    info.status = RegisterBlocks(engine, reinterpret_cast<uintptr_t>(region), region_bytes, kBlockSizes[i],
                                 info.cache_ids[i]);
  }
  if (memory_files && info.status == 0) {
    uint8_t *file_region = MemoryFileRegion(region_bytes);
    uint8_t *prompt = MemoryFileRegion(kPromptRegionBytes);
    info.status = file_region != nullptr && prompt != nullptr ? 0 : -1;
    info.file_region_addr = reinterpret_cast<uintptr_t>(file_region);
    info.prompt_region_addr = reinterpret_cast<uintptr_t>(prompt);
    for (size_t i = 0; i < kBlockSizeCount && info.status == 0; ++i) {
      info.status = RegisterBlocks(engine, info.file_region_addr, region_bytes, kBlockSizes[i], info.file_cache_ids[i]);
    }
    if (info.status == 0) {
      CacheDesc desc;
      desc.placement = CachePlacement::kHost;
      desc.num_tensors = kPromptTensors;
      desc.data_type = DT_UINT8;
      desc.shape = {static_cast<int64_t>(kPromptCacheBlocks), static_cast<int64_t>(kPromptBlockBytes)};
      std::vector<uint64_t> addrs;
      for (uint32_t t = 0; t < kPromptTensors; ++t) {
        addrs.push_back(info.prompt_region_addr + t * kPromptTensorBytes);
      }
      info.status = static_cast<int32_t>(engine.RegisterKvCache(desc, addrs, RegisterCfg{}, info.prompt_cache_id));
    }
  }
  WriteExact(to_parent, &info, sizeof(info));
  char command = 0;
  [[maybe_unused]] const ssize_t n = ::read(from_parent, &command, 1);
  engine.Finalize();
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  const int64_t max_rss_kb = usage.ru_maxrss;
  WriteExact(to_parent, &max_rss_kb, sizeof(max_rss_kb));
  ::_exit(0);
}
}  // namespace

std::unique_ptr<BenchPeer> BenchPeer::Spawn(uint64_t cluster_id, uint64_t region_bytes, int cpu,
                                            const std::string &auth_secret, bool memory_files) {
  int down[2];
  int up[2];
  if (::pipe(down) != 0 || ::pipe(up) != 0) {
    return nullptr;
  }
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(down[1]);
    ::close(up[0]);
    RunChild(cluster_id, region_bytes, cpu, auth_secret, memory_files, down[0], up[1]);
  }
  ::close(down[0]);
  ::close(up[1]);
  std::unique_ptr<BenchPeer> peer(new BenchPeer());
  peer->pid_ = pid;
  peer->to_child_ = down[1];
  peer->from_child_ = up[0];
  pollfd p{up[0], POLLIN, 0};
  if (::poll(&p, 1, 20000) != 1 || !ReadExact(up[0], &peer->info_, sizeof(peer->info_)) || peer->info_.status != 0) {
    return nullptr;
  }
  return peer;
}

int64_t BenchPeer::Finish() {
  int64_t max_rss_kb = -1;
  if (pid_ > 0) {
    const char command = 'q';
    [[maybe_unused]] const ssize_t n = ::write(to_child_, &command, 1);
    pollfd p{from_child_, POLLIN, 0};
    if (::poll(&p, 1, 10000) != 1 || !ReadExact(from_child_, &max_rss_kb, sizeof(max_rss_kb))) {
      max_rss_kb = -1;
    }
  }
  Kill();
  return max_rss_kb;
}

void BenchPeer::Kill() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  if (to_child_ >= 0) {
    ::close(to_child_);
    ::close(from_child_);
    to_child_ = from_child_ = -1;
  }
}

BenchPeer::~BenchPeer() { Kill(); }
}  // namespace ddbench
