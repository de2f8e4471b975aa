#include "engine_fixture.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "acl/acl_rt.h"

extern "C" const char *dd_backend_error_detail(void);

namespace ddtest {
int BindLoopback(uint16_t &port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len);
  port = ntohs(addr.sin_port);
  return fd;
}

uint16_t FreePort() {
  uint16_t port = 0;
  ::close(BindLoopback(port));
  return port;
}

int ConnectLoopback(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

Options EngineOptionsFor(uint16_t port, const std::map<std::string, std::string> &extra) {
  Options options;
  options[AscendString(OPTION_DEVICE_ID)] = AscendString("0");
  if (port != 0U) {
    options[AscendString(OPTION_LISTEN_IP_INFO)] = AscendString(("127.0.0.1:" + std::to_string(port)).c_str());
  }
  for (const auto &[k, v] : extra) {
    options[AscendString(k.c_str())] = AscendString(v.c_str());
  }
  return options;
}

TestEngine::TestEngine(uint64_t id, bool listen, const std::map<std::string, std::string> &extra, LlmRole role)
    : cluster_id(id), engine(std::make_unique<LlmDataDist>(id, role)) {
  // A port can be taken between FreePort and bind by a parallel process: try a few.
  for (int attempt = 0; attempt < 5; ++attempt) {
    port = listen ? FreePort() : 0U;
    init_status = engine->Initialize(EngineOptionsFor(port, extra));
    if (init_status == LLM_SUCCESS || !listen) {
      break;
    }
  }
}

TestEngine::~TestEngine() { engine->Finalize(); }

bool UseAclDevice(int32_t device) {
  const aclError init = aclInit(nullptr);
  return (init == ACL_SUCCESS || init == ACL_ERROR_REPEAT_INITIALIZE) && aclrtSetDevice(device) == ACL_SUCCESS;
}

DeviceBuffers::DeviceBuffers(size_t count, size_t bytes) {
  for (size_t i = 0; i < count; ++i) {
    void *p = nullptr;
    if (aclrtMalloc(&p, bytes, ACL_MEM_MALLOC_HUGE_FIRST) != ACL_SUCCESS) {
      std::fprintf(stderr, "DeviceBuffers: aclrtMalloc(%zu) failed: %s\n", bytes, dd_backend_error_detail());
      std::abort();
    }
    addrs.push_back(reinterpret_cast<uintptr_t>(p));
  }
}

DeviceBuffers::~DeviceBuffers() {
  for (const uint64_t addr : addrs) {
    (void)aclrtFree(reinterpret_cast<void *>(static_cast<uintptr_t>(addr)));
  }
}

HostCache::HostCache(uint32_t n, uint64_t r, uint64_t rb)
    : num_tensors(n), rows(r), row_bytes(rb), tensors(n, std::vector<uint8_t>(r * rb)) {}

CacheDesc HostCache::Desc(CachePlacement placement) const {
  CacheDesc desc;
  desc.placement = placement;
  desc.num_tensors = num_tensors;
  desc.data_type = DT_UINT8;
  desc.shape = {static_cast<int64_t>(rows), static_cast<int64_t>(row_bytes)};
  return desc;
}

std::vector<uint64_t> HostCache::Addrs() {
  std::vector<uint64_t> addrs;
  for (auto &t : tensors) {
    addrs.push_back(reinterpret_cast<uintptr_t>(t.data()));
  }
  return addrs;
}

uint8_t HostCache::Pattern(uint32_t seed, uint32_t tensor, uint64_t row, uint64_t byte) {
  uint64_t x = (static_cast<uint64_t>(seed) << 40U) ^ (static_cast<uint64_t>(tensor) << 28U) ^ (row << 16U) ^ byte;
  x ^= x >> 33U;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 29U;
  return static_cast<uint8_t>(x);
}

void HostCache::Fill(uint32_t seed) {
  for (uint32_t t = 0; t < num_tensors; ++t) {
    for (uint64_t r = 0; r < rows; ++r) {
      for (uint64_t b = 0; b < row_bytes; ++b) {
        tensors[t][r * row_bytes + b] = Pattern(seed, t, r, b);
      }
    }
  }
}

bool HostCache::RowEquals(uint32_t tensor, uint64_t row, uint32_t seed, uint32_t src_tensor, uint64_t src_row) const {
  for (uint64_t b = 0; b < row_bytes; ++b) {
    if (tensors[tensor][row * row_bytes + b] != Pattern(seed, src_tensor, src_row, b)) {
      return false;
    }
  }
  return true;
}

bool HostCache::RowIsZero(uint32_t tensor, uint64_t row) const {
  for (uint64_t b = 0; b < row_bytes; ++b) {
    if (tensors[tensor][row * row_bytes + b] != 0U) {
      return false;
    }
  }
  return true;
}

void HostCache::Zero() {
  for (auto &t : tensors) {
    std::memset(t.data(), 0, t.size());
  }
}

ClusterInfo ClusterTo(uint64_t remote_cluster_id, uint16_t port, const char *ip) {
  ClusterInfo cluster;
  cluster.remote_cluster_id = remote_cluster_id;
  IpInfo local;
  local.ip = AscendString("127.0.0.1");
  local.port = 0;
  IpInfo remote;
  remote.ip = AscendString(ip);
  remote.port = port;
  cluster.local_ip_infos.push_back(local);
  cluster.remote_ip_infos.push_back(remote);
  return cluster;
}

Status Link(LlmDataDist &engine, uint64_t remote_cluster_id, uint16_t port, int32_t timeout_ms) {
  std::vector<Status> rets;
  return engine.LinkLlmClusters({ClusterTo(remote_cluster_id, port)}, rets, timeout_ms);
}

Status Unlink(LlmDataDist &engine, uint64_t remote_cluster_id, uint16_t port, bool force) {
  std::vector<Status> rets;
  return engine.UnlinkLlmClusters({ClusterTo(remote_cluster_id, port)}, rets, 2000, force);
}

Cache CacheWithId(int64_t id, uint32_t num_tensors) {
  Cache cache;
  cache.cache_id = id;
  cache.cache_desc.num_tensors = num_tensors;
  return cache;
}

CacheIndex IndexOf(uint64_t cluster_id, int64_t cache_id, uint32_t batch_index) {
  CacheIndex index{};
  index.cluster_id = cluster_id;
  index.cache_id = cache_id;
  index.batch_index = batch_index;
  return index;
}

KvCacheExtParam Ext(int32_t src_first, int32_t src_second, int32_t dst_first, int32_t dst_second, uint8_t per_layer) {
  KvCacheExtParam ext{};
  ext.src_layer_range = {src_first, src_second};
  ext.dst_layer_range = {dst_first, dst_second};
  ext.tensor_num_per_layer = per_layer;
  return ext;
}

int64_t Register(LlmDataDist &engine, HostCache &cache, CachePlacement placement) {
  int64_t id = -1;
  if (engine.RegisterKvCache(cache.Desc(placement), cache.Addrs(), RegisterCfg{}, id) != LLM_SUCCESS) {
    return -1;
  }
  return id;
}
std::string SameHostPathUnavailable() {
  char source[8] = "probe";
  char seen[8] = {};
  iovec local{seen, sizeof(seen)};
  iovec remote{source, sizeof(source)};
  if (::process_vm_readv(::getpid(), &local, 1, &remote, 1, 0) == static_cast<ssize_t>(sizeof(seen))) {
    return "";
  }
  return std::string("process_vm_readv fails here (") + std::strerror(errno) + ")";
}
}  // namespace ddtest
