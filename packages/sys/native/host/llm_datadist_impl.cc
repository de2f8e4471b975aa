#include "llm_datadist_impl.h"

#include <sys/prctl.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <shared_mutex>
#include <thread>

#include "device_memory.h"
#include "error_detail.h"
#include "link_calls.h"
#include "link_handshake.h"
#include "peer_unlink.h"
#include "socket_io.h"

namespace llm_datadist {
using dd::host::BlockRun;
using dd::host::CacheGeometry;
using dd::host::CacheTableEntry;
using dd::host::ClusterLink;
using dd::host::Deadline;
using dd::host::Fail;
using dd::host::FailWith;
using dd::host::LocalCache;
using dd::host::LocalCacheRegistry;
using dd::host::PullTensors;
using dd::host::PushLayer;
using dd::host::RangeWithin;
using dd::host::TransferDirection;
using dd::host::TransferOutcome;
using dd::host::TransferSegment;

namespace {
constexpr size_t kLinkThreads = 16;  // V2 links clusters on a 16-thread pool
// A18 step 11 / A6: one pull request holds 120 + 16·(tensors + 2·runs) bytes in a 2 MiB - 8 buffer.
constexpr uint64_t kMaxPullRequestUnits = 131064U;

bool ValidRole(int32_t role) {
  return role == static_cast<int32_t>(LlmRole::kPrompt) || role == static_cast<int32_t>(LlmRole::kDecoder) ||
         role == static_cast<int32_t>(LlmRole::kMix);
}

Status NotInitialized() { return Fail(LLM_FAILED, "the engine is not initialized (call Initialize first)"); }

// Scratch lists reused by every transfer on this thread: steady-state transfers allocate nothing.
thread_local std::vector<TransferSegment> t_segments;
thread_local std::vector<BlockRun> t_runs;
thread_local std::vector<PushLayer> t_layers;

// The local cache of a transfer, leased until the transfer is over (docs/compat.md D7).
Status LeaseLocalCache(LocalCacheRegistry &registry, int64_t cache_id, LocalCacheRegistry::Lease &lease) {
  lease = registry.Acquire(cache_id);
  if (!lease) {
    return Fail(LLM_KV_CACHE_NOT_EXIST, "local cache %lld is not registered", static_cast<long long>(cache_id));
  }
  return LLM_SUCCESS;
}

// The link one transfer runs on, locked while this lives, and the peer cache it addresses, marked
// in use (ClusterLink::BeginTransfer) so a revoke waits for it.
class LinkUse {
 public:
  explicit LinkUse(const dd::host::EngineState &state) : state_(state) {}
  ~LinkUse() {
    if (entry_ != nullptr) {
      link_->EndTransfer();
    }
  }
  LinkUse(const LinkUse &) = delete;
  LinkUse &operator=(const LinkUse &) = delete;

  // A18 step 10 / A3 step 4: the link filed under `cluster_id` (NOT_YET_LINK), held for the transfer
  // (transfers share a link; an unlink waits for them, A24; TIMEOUT when an unlink holds it past the
  // wait time).
  Status Lock(uint64_t cluster_id) {
    link_ = state_.links.Find(cluster_id);
    if (link_ == nullptr || link_->closed()) {
      return Fail(LLM_NOT_YET_LINK, "no link to cluster %llu", static_cast<unsigned long long>(cluster_id));
    }
    lock_ = std::shared_lock<std::shared_timed_mutex>(link_->use_mutex(), std::defer_lock);
    if (!lock_.try_lock_until(Deadline::AfterMs(state_.options.sync_wait_ms).At())) {
      return Fail(LLM_TIMEOUT, "the link to cluster %llu was held by an unlink for more than %d ms",
                  static_cast<unsigned long long>(cluster_id), state_.options.sync_wait_ms);
    }
    if (link_->closed()) {
      // Unlinked while this transfer waited (docs/compat.md, choices: A24).
      return Fail(LLM_NOT_YET_LINK, "no link to cluster %llu", static_cast<unsigned long long>(cluster_id));
    }
    return LLM_SUCCESS;
  }

  // A18 steps 12-13 / A3 steps 5-6: on the link's first transfer the peer's cache table is fetched
  // (within its own wait time, A8); then `cache_id` must be in it (KV_CACHE_NOT_EXIST). A peer that
  // is gone is found here, where V2's fetch would fail, fetched before or not (compat.md, choices);
  // a same-host move never involves the peer, so the socket is asked whether it dropped its side.
  Status FindRemote(int64_t cache_id) {
    if (!link_->broken() && link_->PeerHungUp()) {
      link_->MarkBroken("cluster " + std::to_string(link_->peer().cluster_id) + " closed the connection");
    }
    if (link_->broken()) {
      return LinkGone(*link_);
    }
    if (!link_->peer_table_fetched()) {
      const Deadline deadline = Deadline::AfterMs(state_.options.sync_wait_ms);
      if (deadline.Expired()) {
        return Fail(LLM_TIMEOUT, "fetching the cache table of cluster %llu: %s = 0 leaves no time",
                    static_cast<unsigned long long>(link_->peer().cluster_id), OPTION_SYNC_CACHE_WAIT_TIME);
      }
      // Concurrent first transfers fetch it once.
      std::unique_lock<std::timed_mutex> fetching(link_->fetch_mutex(), std::defer_lock);
      if (!fetching.try_lock_until(deadline.At())) {
        return Fail(LLM_TIMEOUT, "fetching the cache table of cluster %llu: not done within %d ms",
                    static_cast<unsigned long long>(link_->peer().cluster_id), state_.options.sync_wait_ms);
      }
      if (!link_->peer_table_fetched()) {
        const TransferOutcome outcome = link_->FetchPeerTable(deadline);
        const Status status = OutcomeStatus(*link_, outcome, "fetching the cache table", state_.options.sync_wait_ms);
        if (status != LLM_SUCCESS) {
          return status;
        }
      }
    }
    entry_ = link_->BeginTransfer(cache_id);
    if (entry_ == nullptr) {
      return Fail(LLM_KV_CACHE_NOT_EXIST, "cluster %llu has no cache %lld visible to this link",
                  static_cast<unsigned long long>(link_->peer().cluster_id), static_cast<long long>(cache_id));
    }
    return LLM_SUCCESS;
  }

  ClusterLink &link() const { return *link_; }
  const CacheTableEntry &remote() const { return *entry_; }

  // A link that failed under a transfer: NOT_YET_LINK when this side is unlinking it (compat.md,
  // choices: A24); otherwise its peer is gone, which gives TIMEOUT as soon as that is known
  // (choices: A1, A16).
  static Status LinkGone(ClusterLink &link) {
    const unsigned long long peer = link.peer().cluster_id;
    if (link.unlinked()) {
      return Fail(LLM_NOT_YET_LINK, "the link to cluster %llu was unlinked during the transfer", peer);
    }
    return Fail(LLM_TIMEOUT, "the peer of the link to cluster %llu is gone: %s (unlink with force_flag=true, or "
                "link again from that peer)",
                peer, link.broken_reason().c_str());
  }

  // The status of a transfer (or table fetch) outcome on `link`.
  static Status OutcomeStatus(ClusterLink &link, const TransferOutcome &outcome, const char *what, int32_t wait_ms) {
    const unsigned long long peer = link.peer().cluster_id;
    switch (outcome.kind) {
      case TransferOutcome::Kind::kDone:
        return LLM_SUCCESS;
      case TransferOutcome::Kind::kRejected:
        return Fail(dd::host::ReturnedByV2(outcome.status) ? outcome.status : LLM_FAILED, "%s with cluster %llu: %s",
                    what, peer, outcome.detail.c_str());
      case TransferOutcome::Kind::kTimeout:
        if (outcome.breaks_link) {
          link.MarkBroken(outcome.detail);
        }
        return Fail(LLM_TIMEOUT, "%s with cluster %llu: not done within %d ms (%s)", what, peer, wait_ms,
                    outcome.detail.c_str());
      case TransferOutcome::Kind::kBroken:
      case TransferOutcome::Kind::kUnsupported:
        link.MarkBroken(outcome.detail);
        return LinkGone(link);
    }
    return LLM_FAILED;
  }

 private:
  const dd::host::EngineState &state_;
  std::shared_ptr<ClusterLink> link_;
  std::shared_lock<std::shared_timed_mutex> lock_;
  std::shared_ptr<const CacheTableEntry> entry_;
};

// A18 step 16 / A3 step 11: moves the segments over the link's data path (a same-host path the
// peer cannot use falls back to TCP), within the wait time.
Status MoveBytes(const dd::host::EngineState &state, LinkUse &use, int64_t local_cache_id, TransferDirection direction,
                 const std::vector<TransferSegment> &segments) {
  ClusterLink &link = use.link();
  const unsigned long long peer = link.peer().cluster_id;
  // A23: V2 binds memory to a link's comm when the link is made; later memory is unreachable.
  if (!link.BoundLocally(local_cache_id)) {
    return Fail(LLM_FAILED, "local cache %lld was registered after the link to cluster %llu was made",
                static_cast<long long>(local_cache_id), peer);
  }
  if (!use.remote().bound) {
    return Fail(LLM_FAILED, "cache %lld of cluster %llu was registered after the link was made",
                static_cast<long long>(use.remote().cache_id), peer);
  }
  const Deadline deadline = Deadline::AfterMs(state.options.sync_wait_ms);
  if (link.broken()) {
    return LinkUse::LinkGone(link);
  }
  if (deadline.Expired()) {
    return Fail(LLM_TIMEOUT, "transfer with cluster %llu: %s = 0 leaves no time", peer, OPTION_SYNC_CACHE_WAIT_TIME);
  }
  dd::host::TransferJob job;
  job.direction = direction;
  job.remote_cache_id = use.remote().cache_id;
  job.segments = &segments;
  job.deadline = deadline;
  job.remote_mappings = use.remote().mappings.get();
  dd::host::DataPath *path = &link.ActiveDataPath();
  TransferOutcome outcome = path->Run(job);
  if (outcome.kind == TransferOutcome::Kind::kUnsupported) {
    link.DisableSameHostPath();
    path = &link.TcpDataPath();
    outcome = path->Run(job);
  }
  const Status status = LinkUse::OutcomeStatus(link, outcome, path->Name(), state.options.sync_wait_ms);
  if (status == LLM_SUCCESS && deadline.Expired()) {
    return Fail(LLM_TIMEOUT, "%s transfer with cluster %llu took longer than %d ms", path->Name(), peer,
                state.options.sync_wait_ms);
  }
  return status;
}

Status CheckNotOwnCluster(uint64_t src_cluster_id, uint64_t own_cluster_id) {
  if (src_cluster_id == own_cluster_id) {
    return Fail(LLM_PARAM_INVALID, "src cluster_id %llu is this engine's own id",
                static_cast<unsigned long long>(own_cluster_id));
  }
  return LLM_SUCCESS;
}

Status CheckBlockLists(const std::vector<uint64_t> &src_blocks, const std::vector<uint64_t> &dst_blocks) {
  if (src_blocks.empty()) {
    return Fail(LLM_PARAM_INVALID, "src_blocks is empty");
  }
  if (src_blocks.size() != dst_blocks.size()) {
    return Fail(LLM_PARAM_INVALID, "src_blocks has %zu entries but dst_blocks has %zu", src_blocks.size(),
                dst_blocks.size());
  }
  return LLM_SUCCESS;
}

// Every block of `blocks` (the list that indexes the local cache, `side` "src" or "dst") is a row.
Status CheckLocalBlocks(const CacheGeometry &geo, const std::vector<uint64_t> &blocks, const char *side) {
  for (const uint64_t block : blocks) {
    if (block >= geo.rows) {
      return Fail(LLM_PARAM_INVALID, "%s block %llu >= local block count %llu", side,
                  static_cast<unsigned long long>(block), static_cast<unsigned long long>(geo.rows));
    }
  }
  return LLM_SUCCESS;
}

// D1: both sides must have the same row size; V2 addresses the remote side with the local one.
Status CheckSameStride(const CacheGeometry &local, const CacheTableEntry &remote) {
  if (remote.geometry.stride != local.stride) {
    return Fail(LLM_PARAM_INVALID, "the remote cache %lld has %llu-byte rows, the local one %llu-byte rows",
                static_cast<long long>(remote.cache_id), static_cast<unsigned long long>(remote.geometry.stride),
                static_cast<unsigned long long>(local.stride));
  }
  return LLM_SUCCESS;
}

// A18 step 11.
Status CheckPullRequestSize(uint64_t tensors, uint64_t runs) {
  if (tensors + 2U * runs > kMaxPullRequestUnits) {
    return Fail(LLM_PARAM_INVALID, "the pull request (%llu tensors, %llu block runs) is above V2's 2 MiB request",
                static_cast<unsigned long long>(tensors), static_cast<unsigned long long>(runs));
  }
  return LLM_SUCCESS;
}

// The B §3.9 front-end checks both pushes share, after their own: ext_param, equal range lengths,
// and a layer range or a caller-filled num_tensors.
Status CheckPushRanges(const Cache &src_cache, const KvCacheExtParam &ext) {
  const Status status = dd::host::ValidateExtParam(ext);
  if (status != LLM_SUCCESS) {
    return status;
  }
  const int64_t src_len = static_cast<int64_t>(ext.src_layer_range.second) - ext.src_layer_range.first;
  const int64_t dst_len = static_cast<int64_t>(ext.dst_layer_range.second) - ext.dst_layer_range.first;
  if (src_len != dst_len) {
    return Fail(LLM_PARAM_INVALID, "src_layer_range and dst_layer_range cover different numbers of layers");
  }
  if (ext.src_layer_range.first < 0 && src_cache.cache_desc.num_tensors == 0U) {
    return Fail(LLM_PARAM_INVALID, "give src_layer_range or fill src_cache.cache_desc.num_tensors");
  }
  return LLM_SUCCESS;
}

Status CheckPushPlacement(const Cache &src_cache) {
  // B §3.9: the placement the caller put in src_cache, not the registered one.
  if (src_cache.cache_desc.placement != CachePlacement::kDevice) {
    return Fail(LLM_PARAM_INVALID, "src_cache.cache_desc.placement must be kDevice for a push");
  }
  return LLM_SUCCESS;
}

// What a push checks once per layer and what it checks only for the first (A3 steps 7–10); the
// first layer that fails ends the push, earlier layers stay written.
struct PushChecks {
  // Step 8 (with D1): the remote rows the push writes.
  std::function<Status(const CacheTableEntry &remote)> remote_rows;
  // Step 10: the local rows it reads.
  std::function<Status()> local_rows;
  // The copies of one layer: local tensor `src` to remote tensor `dst`.
  std::function<void(uint32_t src, uint32_t dst, const CacheTableEntry &remote, std::vector<TransferSegment> &)> copy;
};

Status Push(dd::host::EngineState &state, const Cache &src_cache, const CacheIndex &dst_index,
            const KvCacheExtParam &ext, LocalCacheRegistry::Lease &lease, const PushChecks &checks) {
  std::vector<PushLayer> &layers = t_layers;
  dd::host::PlanPushLayers(ext, src_cache.cache_desc.num_tensors, layers);
  LinkUse use(state);
  Status status = use.Lock(dst_index.cluster_id);
  if (status != LLM_SUCCESS || (status = use.FindRemote(dst_index.cache_id)) != LLM_SUCCESS) {
    return status;
  }
  const CacheTableEntry &remote = use.remote();
  const CacheGeometry &local = lease.get()->geometry;
  const uint32_t per_layer = ext.tensor_num_per_layer;
  const int64_t remote_layers = remote.geometry.num_tensors / per_layer;
  const int64_t local_layers = local.num_tensors % per_layer == 0U ? local.num_tensors / per_layer : 0;
  std::vector<TransferSegment> &segments = t_segments;
  segments.clear();
  Status stopped = LLM_SUCCESS;
  for (size_t i = 0; i < layers.size() && stopped == LLM_SUCCESS; ++i) {
    const PushLayer &layer = layers[i];
    if (layer.dst < 0 || layer.dst >= remote_layers) {
      stopped = Fail(LLM_PARAM_INVALID, "dst layer %lld is outside the %lld layers of remote cache %lld",
                     static_cast<long long>(layer.dst), static_cast<long long>(remote_layers),
                     static_cast<long long>(remote.cache_id));
    } else if (i == 0U && (stopped = checks.remote_rows(remote)) != LLM_SUCCESS) {
    } else if (layer.src >= local_layers) {
      stopped = Fail(LLM_PARAM_INVALID, "src layer %lld is outside the local cache (%u tensors, %u per layer)",
                     static_cast<long long>(layer.src), local.num_tensors, per_layer);
    } else if (i == 0U && (stopped = checks.local_rows()) != LLM_SUCCESS) {
    } else {
      for (uint32_t k = 0; k < per_layer; ++k) {
        checks.copy(static_cast<uint32_t>(layer.src) * per_layer + k, static_cast<uint32_t>(layer.dst) * per_layer + k,
                    remote, segments);
      }
    }
  }
  if (segments.empty() && stopped != LLM_SUCCESS) {
    return stopped;
  }
  // A3: the layers before the first failing one are written, then that failure is returned.
  status = MoveBytes(state, use, src_cache.cache_id, TransferDirection::kPush, segments);
  if (status != LLM_SUCCESS) {
    return status;
  }
  // A successful move records no detail, so the failing layer's one still stands.
  return stopped;
}

// Runs `work(i)` for i in [0, n) on up to kLinkThreads threads (inline for one item).
template <typename Work>
void RunParallel(size_t n, Work work) {
  if (n == 1U) {
    work(0);
    return;
  }
  std::atomic<size_t> next{0};
  std::vector<std::thread> threads;
  const size_t count = std::min(n, kLinkThreads);
  threads.reserve(count);
  for (size_t t = 0; t < count; ++t) {
    threads.emplace_back([&] {
      for (size_t i = next++; i < n; i = next++) {
        work(i);
      }
    });
  }
  for (std::thread &thread : threads) {
    thread.join();
  }
}

// B §3.3: one status per cluster; the call returns the last failure by index.
Status Summarize(const Status *rets, size_t count, const std::vector<std::string> &details) {
  Status last = LLM_SUCCESS;
  std::string text;
  for (size_t i = 0; i < count; ++i) {
    if (rets[i] != LLM_SUCCESS) {
      last = rets[i];
      if (text.size() < 900U) {
        text += (text.empty() ? "" : "; ") + details[i];
      }
    }
  }
  return last == LLM_SUCCESS ? LLM_SUCCESS : FailWith(last, text);
}

// B §3.3 / A20: the call-level checks of LinkLlmClusters and UnlinkLlmClusters, in V2's order:
// timeout, every IpInfo ip (remote, then local, per cluster), a non-empty list.
Status CheckClusterCall(const std::vector<ClusterInfo> &clusters, int32_t timeout_in_millis) {
  if (timeout_in_millis <= 0) {
    return Fail(LLM_PARAM_INVALID, "timeout_in_millis %d must be > 0", timeout_in_millis);
  }
  for (size_t i = 0; i < clusters.size(); ++i) {
    for (const auto *infos : {&clusters[i].remote_ip_infos, &clusters[i].local_ip_infos}) {
      for (const IpInfo &info : *infos) {
        uint32_t packed = 0;
        if (!dd::host::ParseIpv4(info.ip.GetString(), packed)) {
          return Fail(LLM_PARAM_INVALID, "clusters[%zu]: ip \"%s\" is not an IPv4 address", i, info.ip.GetString());
        }
      }
    }
  }
  if (clusters.empty()) {
    return Fail(LLM_PARAM_INVALID, "clusters is empty");
  }
  return LLM_SUCCESS;
}

// Removes the link filed under `cluster_id` on this side only, after a transfer running on it
// has finished (A24), waiting no longer than `deadline`.
void TearDownLocally(dd::host::EngineState &state, uint64_t cluster_id, const Deadline &deadline) {
  const std::shared_ptr<ClusterLink> link = state.links.Find(cluster_id);
  if (link == nullptr) {
    return;
  }
  std::unique_lock<std::shared_timed_mutex> use(link->use_mutex(), std::defer_lock);
  (void)use.try_lock_until(deadline.At());
  state.links.Remove(cluster_id, link.get());
  link->MarkClosed();
}

void AllowSameHostPeers() {
  // With Yama ptrace_scope=1, process_vm_readv from a sibling process needs our consent.
  std::ifstream yama("/proc/sys/kernel/yama/ptrace_scope");
  int scope = 0;
  if (yama >> scope && scope == 1) {
    ::prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
  }
}
}  // namespace

LlmDataDistImpl::LlmDataDistImpl(uint64_t cluster_id, LlmRole role)
    : cluster_id_(cluster_id), role_(static_cast<int32_t>(role)) {}

LlmDataDistImpl::~LlmDataDistImpl() { Finalize(); }

Status LlmDataDistImpl::Initialize(const std::map<AscendString, AscendString> &options) {
  std::lock_guard<std::mutex> lock(lifecycle_mutex_);
  if (runtime_ != nullptr) {
    return LLM_SUCCESS;  // B §3.1: a repeat call ignores its options
  }
  if (!ValidRole(role_.load())) {
    return Fail(LLM_PARAM_INVALID, "role %d is not kPrompt, kDecoder or kMix", role_.load());
  }
  // A10: option checks up to the listener, then the listener, then the data-cache options. A
  // failure leaves nothing listening (D10).
  dd::host::EngineOptions parsed;
  Status status = dd::host::ParseEngineOptions(options, parsed);
  if (status != LLM_SUCCESS) {
    return status;
  }
  dd::host::UniqueFd listener;
  std::string why;
  if (parsed.listen && !dd::host::ListenTcp(parsed.listen_address, listener, why)) {
    return FailWith(LLM_FAILED, why);
  }
  if ((status = dd::host::ParseDataCacheOptions(parsed)) != LLM_SUCCESS) {
    return status;
  }
  const bool listen = parsed.listen;
  const dd::host::ListenAddress address = parsed.listen_address;
  const bool tcp_only = parsed.tcp_only;
  auto rt = std::make_shared<Runtime>(cluster_id_, role_.load(), std::move(parsed), dd::host::LocalHostIdentity());
  if (!rt->serve.Start(why)) {
    return FailWith(LLM_FAILED, why);
  }
  if (listen) {
    rt->serve.AdoptListener(std::move(listener), address);
  }
  if (!tcp_only) {
    AllowSameHostPeers();
  }
  std::atomic_store(&runtime_, rt);
  return LLM_SUCCESS;
}

void LlmDataDistImpl::Finalize() {
  std::lock_guard<std::mutex> lock(lifecycle_mutex_);
  std::shared_ptr<Runtime> rt = std::atomic_exchange(&runtime_, std::shared_ptr<Runtime>());
  if (rt == nullptr) {
    return;
  }
  // A16: every link is torn down on this side only; peers find their side gone.
  for (const auto &link : rt->state.links.TakeAll()) {
    link->MarkClosed();
  }
  rt->serve.Stop();
}

Status LlmDataDistImpl::SetRole(LlmRole role, const std::map<AscendString, AscendString> &options) {
  std::lock_guard<std::mutex> lock(lifecycle_mutex_);
  const std::shared_ptr<Runtime> rt = runtime_;
  if (rt == nullptr) {
    return NotInitialized();
  }
  if (!ValidRole(static_cast<int32_t>(role))) {
    return Fail(LLM_PARAM_INVALID, "role %d is not kPrompt, kDecoder or kMix", static_cast<int32_t>(role));
  }
  // A17: the listen address is parsed before anything else is looked at.
  const auto it = options.find(AscendString(OPTION_LISTEN_IP_INFO));
  dd::host::ListenAddress address;
  if (it != options.end()) {
    const Status status = dd::host::ParseListenAddress(it->second.GetString(), address);
    if (status != LLM_SUCCESS) {
      return status;
    }
  }
  const dd::host::EngineOptions &engine = rt->state.options;
  if (engine.hixl()) {
    // hixl: links are not counted, the listener never moves or stops.
    if (it != options.end() &&
        (address.ip != engine.listen_address.ip || address.given_port != engine.listen_address.given_port)) {
      return Fail(LLM_FEATURE_NOT_ENABLED, "with %s=hixl the listen address cannot change", OPTION_TRANSFER_BACKEND);
    }
  } else {
    if (rt->state.links.FiledCount() != 0U) {
      return Fail(LLM_EXIST_LINK, "%zu link(s) still exist; unlink them first", rt->state.links.FiledCount());
    }
    const auto current = rt->serve.listen_address();
    if (it == options.end()) {
      rt->serve.StopListening();
    } else if (!current || current->port != address.port) {
      // The old listener stops first: a new one that cannot start leaves none (A17).
      rt->serve.StopListening();
      dd::host::UniqueFd listener;
      std::string why;
      if (!dd::host::ListenTcp(address, listener, why)) {
        return FailWith(LLM_FAILED, why);
      }
      rt->serve.AdoptListener(std::move(listener), address);
    }
  }
  role_ = static_cast<int32_t>(role);
  rt->state.role = static_cast<int32_t>(role);
  return LLM_SUCCESS;
}

Status LlmDataDistImpl::LinkOne(Runtime &rt, const ClusterInfo &cluster, bool force_link,
                                dd::host::SlotReservation slot, const Deadline &deadline, std::string &detail) {
  const std::string who = "cluster " + std::to_string(cluster.remote_cluster_id);
  if (cluster.remote_ip_infos.size() != 1U) {
    detail = who + ": " + std::to_string(cluster.remote_ip_infos.size()) + " remote_ip_infos; exactly 1 is needed";
    return LLM_PARAM_INVALID;
  }
  std::string comm_res;
  if (!rt.state.options.hixl() && !rt.state.comm_res.Get(comm_res)) {
    // A7: without llm.LocalCommRes the first link generates one from its single local address.
    if (cluster.local_ip_infos.size() != 1U) {
      detail = who + ": " + std::to_string(cluster.local_ip_infos.size()) +
               " local_ip_infos; exactly 1 is needed while the engine has no llm.LocalCommRes";
      return LLM_PARAM_INVALID;
    }
    comm_res = rt.state.comm_res.GetOrGenerate(cluster.local_ip_infos[0].ip.GetString(), rt.state.options.device_id);
  }
  const IpInfo &remote = cluster.remote_ip_infos[0];
  dd::host::LinkAttempt attempt = dd::host::EstablishLink(
      rt.state, dd::host::LinkTarget{cluster.remote_cluster_id, remote.ip.GetString(), remote.port, force_link},
      comm_res, std::move(slot), deadline);
  if (attempt.status != LLM_SUCCESS) {
    detail = attempt.detail;
    return attempt.status;
  }
  // The link can carry transfers before anything can find it in the table.
  rt.serve.AdoptLink(attempt.link, std::move(attempt.ours), std::move(attempt.theirs));
  // A1: the default backend replaces a link filed under the peer's id (a forced rebuild); hixl
  // points remote_cluster_id at the new link and keeps the old one, unnamed (A21).
  const std::shared_ptr<ClusterLink> replaced =
      rt.state.links.File(attempt.file_under, attempt.link, attempt.slot.HandOver(), rt.state.options.hixl());
  if (replaced != nullptr && !rt.state.options.hixl()) {
    replaced->MarkClosed();
  }
  return LLM_SUCCESS;
}

Status LlmDataDistImpl::LinkLlmClusters(const std::vector<ClusterInfo> &clusters, std::vector<Status> &rets,
                                        int32_t timeout_in_millis) {
  const std::shared_ptr<Runtime> rt = runtime();
  if (rt == nullptr) {
    return NotInitialized();
  }
  const Status status = CheckClusterCall(clusters, timeout_in_millis);
  if (status != LLM_SUCCESS) {
    return status;
  }
  const Deadline deadline = Deadline::AfterMs(timeout_in_millis);
  // A26: rets is appended to, never cleared.
  const size_t base = rets.size();
  rets.resize(base + clusters.size(), LLM_SUCCESS);
  std::vector<std::string> details(clusters.size());
  // D12: room for new links goes to the clusters in index order, whatever order they finish in.
  std::vector<dd::host::SlotReservation> slots;
  slots.reserve(clusters.size());
  for (size_t i = 0; i < clusters.size(); ++i) {
    slots.emplace_back(rt->state.links);
  }
  // A1: force_link is true exactly when this side has no link under the id the caller named.
  std::vector<char> force_link(clusters.size());
  // Clusters naming the same id link one after another, in call order, so both sides end up
  // holding the same (last) link; different ids link in parallel.
  std::map<uint64_t, std::vector<size_t>> by_id;
  for (size_t i = 0; i < clusters.size(); ++i) {
    force_link[i] = rt->state.links.Find(clusters[i].remote_cluster_id) == nullptr ? 1 : 0;
    by_id[clusters[i].remote_cluster_id].push_back(i);
  }
  std::vector<const std::vector<size_t> *> groups;
  for (const auto &[id, indices] : by_id) {
    groups.push_back(&indices);
  }
  RunParallel(groups.size(), [&](size_t g) {
    for (const size_t i : *groups[g]) {
      rets[base + i] = LinkOne(*rt, clusters[i], force_link[i] != 0, std::move(slots[i]), deadline, details[i]);
    }
  });
  return Summarize(rets.data() + base, clusters.size(), details);
}

Status LlmDataDistImpl::UnlinkOne(Runtime &rt, const ClusterInfo &cluster, bool force, const Deadline &deadline,
                                  std::string &detail) {
  const uint64_t cluster_id = cluster.remote_cluster_id;
  const std::string who = "cluster " + std::to_string(cluster_id);
  // A20: force, and every hixl unlink, tear down this side only.
  if (!force && !rt.state.options.hixl()) {
    if (cluster.remote_ip_infos.size() != 1U) {
      detail = who + ": " + std::to_string(cluster.remote_ip_infos.size()) + " remote_ip_infos; exactly 1 is needed";
      return LLM_PARAM_INVALID;
    }
    const IpInfo &remote = cluster.remote_ip_infos[0];
    std::string why;
    bool answered = false;
    const std::shared_ptr<ClusterLink> local = rt.state.links.Find(cluster_id);
    if (local != nullptr) {
      local->SetUnlinking(true);
    }
    const Status peer =
        dd::host::RequestPeerUnlink(rt.state, remote.ip.GetString(), remote.port, deadline, why, answered);
    // Once the peer has answered, this side drops the link filed under remote_cluster_id, whatever
    // the peer said; its status takes precedence (A20).
    if (answered) {
      TearDownLocally(rt.state, cluster_id, deadline);
    } else if (local != nullptr) {
      local->SetUnlinking(false);
    }
    if (peer != LLM_SUCCESS) {
      detail = who + " at " + remote.ip.GetString() + ":" + std::to_string(remote.port) + ": " + why;
    }
    return peer;
  }
  TearDownLocally(rt.state, cluster_id, deadline);
  return LLM_SUCCESS;
}

Status LlmDataDistImpl::UnlinkLlmClusters(const std::vector<ClusterInfo> &clusters, std::vector<Status> &rets,
                                          int32_t timeout_in_millis, bool force_flag) {
  const std::shared_ptr<Runtime> rt = runtime();
  if (rt == nullptr) {
    return NotInitialized();
  }
  const Status status = CheckClusterCall(clusters, timeout_in_millis);
  if (status != LLM_SUCCESS) {
    return status;
  }
  const Deadline deadline = Deadline::AfterMs(timeout_in_millis);
  const size_t base = rets.size();
  rets.resize(base + clusters.size(), LLM_SUCCESS);
  std::vector<std::string> details(clusters.size());
  RunParallel(clusters.size(),
              [&](size_t i) { rets[base + i] = UnlinkOne(*rt, clusters[i], force_flag, deadline, details[i]); });
  return Summarize(rets.data() + base, clusters.size(), details);
}

Status LlmDataDistImpl::PullKvCache(const CacheIndex &src_cache_index, const Cache &dst_cache, uint32_t batch_index,
                                    int64_t size, const KvCacheExtParam &ext_param) {
  const std::shared_ptr<Runtime> rt = runtime();
  if (rt == nullptr) {
    return NotInitialized();
  }
  // A18, PullKvCache order.
  if (size != -1 && size <= 0) {
    return Fail(LLM_PARAM_INVALID, "size %lld must be -1 (whole row) or > 0", static_cast<long long>(size));
  }
  Status status = dd::host::ValidateExtParam(ext_param);
  if (status != LLM_SUCCESS || (status = CheckNotOwnCluster(src_cache_index.cluster_id, cluster_id_)) != LLM_SUCCESS) {
    return status;
  }
  LocalCacheRegistry::Lease lease;
  if ((status = LeaseLocalCache(rt->state.registry, dst_cache.cache_id, lease)) != LLM_SUCCESS) {
    return status;
  }
  const LocalCache &local = *lease.get();
  const CacheGeometry &geo = local.geometry;
  if (batch_index >= geo.rows) {
    return Fail(LLM_PARAM_INVALID, "batch_index %u >= local batch size %llu", batch_index,
                static_cast<unsigned long long>(geo.rows));
  }
  if (size > 0 && static_cast<uint64_t>(size) > geo.stride) {
    return Fail(LLM_PARAM_INVALID, "size %lld > row size %llu", static_cast<long long>(size),
                static_cast<unsigned long long>(geo.stride));
  }
  PullTensors tensors;
  if ((status = dd::host::SelectLocalPullTensors(ext_param, geo.num_tensors, tensors)) != LLM_SUCCESS) {
    return status;
  }
  LinkUse use(rt->state);
  if ((status = use.Lock(src_cache_index.cluster_id)) != LLM_SUCCESS ||
      (status = CheckPullRequestSize(tensors.dst.count, 1U)) != LLM_SUCCESS ||
      (status = use.FindRemote(src_cache_index.cache_id)) != LLM_SUCCESS) {
    return status;
  }
  const CacheTableEntry &remote = use.remote();
  if ((status = dd::host::SelectRemotePullTensors(ext_param, remote.geometry.num_tensors, tensors)) != LLM_SUCCESS ||
      (status = CheckSameStride(geo, remote)) != LLM_SUCCESS) {
    return status;
  }
  if (src_cache_index.batch_index >= remote.geometry.rows) {
    // D2: V2 would read past the remote tensor.
    return Fail(LLM_PARAM_INVALID, "src batch_index %u >= remote batch size %llu", src_cache_index.batch_index,
                static_cast<unsigned long long>(remote.geometry.rows));
  }
  // B §3.7: size > 0 moves that many bytes of the row; both offsets use the (equal) row size.
  const uint64_t len = size > 0 ? static_cast<uint64_t>(size) : geo.stride;
  const uint64_t remote_offset = static_cast<uint64_t>(src_cache_index.batch_index) * geo.stride;
  std::vector<TransferSegment> &segments = t_segments;
  segments.clear();
  for (uint32_t i = 0; i < tensors.src.count; ++i) {
    segments.push_back(TransferSegment{tensors.src.first + i, remote_offset,
                                       remote.addrs[tensors.src.first + i] + remote_offset,
                                       local.addrs[tensors.dst.first + i] + batch_index * geo.stride, len});
  }
  return MoveBytes(rt->state, use, local.id, TransferDirection::kPull, segments);
}

Status LlmDataDistImpl::PullKvBlocks(const CacheIndex &src_cache_index, const Cache &dst_cache,
                                     const std::vector<uint64_t> &src_blocks, const std::vector<uint64_t> &dst_blocks,
                                     const KvCacheExtParam &ext_param) {
  const std::shared_ptr<Runtime> rt = runtime();
  if (rt == nullptr) {
    return NotInitialized();
  }
  // A18, PullKvBlocks order.
  if (src_cache_index.batch_index != 0U) {
    return Fail(LLM_PARAM_INVALID, "src batch_index %u must be 0 for block transfers", src_cache_index.batch_index);
  }
  Status status = dd::host::ValidateExtParam(ext_param);
  if (status != LLM_SUCCESS || (status = CheckBlockLists(src_blocks, dst_blocks)) != LLM_SUCCESS ||
      (status = CheckNotOwnCluster(src_cache_index.cluster_id, cluster_id_)) != LLM_SUCCESS) {
    return status;
  }
  LocalCacheRegistry::Lease lease;
  if ((status = LeaseLocalCache(rt->state.registry, dst_cache.cache_id, lease)) != LLM_SUCCESS) {
    return status;
  }
  const LocalCache &local = *lease.get();
  const CacheGeometry &geo = local.geometry;
  PullTensors tensors;
  if ((status = dd::host::SelectLocalPullTensors(ext_param, geo.num_tensors, tensors)) != LLM_SUCCESS) {
    return status;
  }
  LinkUse use(rt->state);
  if ((status = use.Lock(src_cache_index.cluster_id)) != LLM_SUCCESS) {
    return status;
  }
  std::vector<BlockRun> &runs = t_runs;
  dd::host::MergeBlockRuns(src_blocks, dst_blocks, runs);
  if ((status = CheckPullRequestSize(tensors.dst.count, runs.size())) != LLM_SUCCESS ||
      (status = CheckLocalBlocks(geo, dst_blocks, "dst")) != LLM_SUCCESS ||
      (status = use.FindRemote(src_cache_index.cache_id)) != LLM_SUCCESS) {
    return status;
  }
  const CacheTableEntry &remote = use.remote();
  if ((status = dd::host::SelectRemotePullTensors(ext_param, remote.geometry.num_tensors, tensors)) != LLM_SUCCESS ||
      (status = CheckSameStride(geo, remote)) != LLM_SUCCESS) {
    return status;
  }
  const uint64_t stride = geo.stride;
  const uint64_t remote_bytes = remote.geometry.tensor_bytes;
  for (const BlockRun &run : runs) {
    // V2 checks where a run starts; D2: the whole run must lie inside the remote tensor.
    if (run.src > UINT64_MAX / stride || !RangeWithin(run.src * stride, run.count * stride, remote_bytes)) {
      return Fail(LLM_PARAM_INVALID, "src blocks %llu..%llu are outside the remote cache of %llu blocks",
                  static_cast<unsigned long long>(run.src), static_cast<unsigned long long>(run.src + run.count - 1U),
                  static_cast<unsigned long long>(remote.geometry.rows));
    }
  }
  std::vector<TransferSegment> &segments = t_segments;
  segments.clear();
  for (uint32_t i = 0; i < tensors.src.count; ++i) {
    const uint64_t remote_base = remote.addrs[tensors.src.first + i];
    const uint64_t local_base = local.addrs[tensors.dst.first + i];
    for (const BlockRun &run : runs) {
      segments.push_back(TransferSegment{tensors.src.first + i, run.src * stride, remote_base + run.src * stride,
                                         local_base + run.dst * stride, run.count * stride});
    }
  }
  return MoveBytes(rt->state, use, local.id, TransferDirection::kPull, segments);
}

Status LlmDataDistImpl::PushKvCache(const Cache &src_cache, const CacheIndex &dst_cache_index, uint32_t src_batch_index,
                                    int64_t size, const KvCacheExtParam &ext_param) {
  const std::shared_ptr<Runtime> rt = runtime();
  if (rt == nullptr) {
    return NotInitialized();
  }
  // B §3.9, PushKvCache order: placement, size, ext_param, first-layer rule.
  Status status = CheckPushPlacement(src_cache);
  if (status != LLM_SUCCESS) {
    return status;
  }
  if (size != -1) {
    return Fail(LLM_PARAM_INVALID, "size %lld: a push moves whole rows, size must be -1", static_cast<long long>(size));
  }
  LocalCacheRegistry::Lease lease;
  if ((status = CheckPushRanges(src_cache, ext_param)) != LLM_SUCCESS ||
      (status = LeaseLocalCache(rt->state.registry, src_cache.cache_id, lease)) != LLM_SUCCESS) {
    return status;
  }
  const LocalCache &local = *lease.get();
  const uint64_t stride = local.geometry.stride;
  PushChecks checks;
  checks.remote_rows = [&](const CacheTableEntry &remote) {
    if (dst_cache_index.batch_index >= remote.geometry.rows) {
      return Fail(LLM_PARAM_INVALID, "dst batch_index %u >= remote batch size %llu", dst_cache_index.batch_index,
                  static_cast<unsigned long long>(remote.geometry.rows));
    }
    return CheckSameStride(local.geometry, remote);
  };
  checks.local_rows = [&] {
    if (src_batch_index >= local.geometry.rows) {
      return Fail(LLM_PARAM_INVALID, "src_batch_index %u >= local batch size %llu", src_batch_index,
                  static_cast<unsigned long long>(local.geometry.rows));
    }
    return LLM_SUCCESS;
  };
  // A4: each tensor's row src_batch_index goes to the remote row dst batch_index.
  checks.copy = [&](uint32_t src, uint32_t dst, const CacheTableEntry &remote, std::vector<TransferSegment> &out) {
    const uint64_t remote_offset = static_cast<uint64_t>(dst_cache_index.batch_index) * stride;
    out.push_back(TransferSegment{dst, remote_offset, remote.addrs[dst] + remote_offset,
                                  local.addrs[src] + static_cast<uint64_t>(src_batch_index) * stride, stride});
  };
  return Push(rt->state, src_cache, dst_cache_index, ext_param, lease, checks);
}

Status LlmDataDistImpl::PushKvBlocks(const Cache &src_cache, const CacheIndex &dst_cache_index,
                                     const std::vector<uint64_t> &src_blocks, const std::vector<uint64_t> &dst_blocks,
                                     const KvCacheExtParam &ext_param) {
  const std::shared_ptr<Runtime> rt = runtime();
  if (rt == nullptr) {
    return NotInitialized();
  }
  // B §3.9, PushKvBlocks order: placement, src_blocks, lengths, dst batch, ext_param, first-layer rule.
  Status status = CheckPushPlacement(src_cache);
  if (status != LLM_SUCCESS || (status = CheckBlockLists(src_blocks, dst_blocks)) != LLM_SUCCESS) {
    return status;
  }
  if (dst_cache_index.batch_index != 0U) {
    return Fail(LLM_PARAM_INVALID, "dst batch_index %u must be 0 for block transfers", dst_cache_index.batch_index);
  }
  LocalCacheRegistry::Lease lease;
  if ((status = CheckPushRanges(src_cache, ext_param)) != LLM_SUCCESS ||
      (status = LeaseLocalCache(rt->state.registry, src_cache.cache_id, lease)) != LLM_SUCCESS) {
    return status;
  }
  const LocalCache &local = *lease.get();
  const uint64_t stride = local.geometry.stride;
  std::vector<BlockRun> &runs = t_runs;
  dd::host::MergeBlockRuns(src_blocks, dst_blocks, runs);
  PushChecks checks;
  checks.remote_rows = [&](const CacheTableEntry &remote) {
    const uint64_t largest = *std::max_element(dst_blocks.begin(), dst_blocks.end());
    if (largest >= remote.geometry.rows) {
      return Fail(LLM_PARAM_INVALID, "dst block %llu >= remote block count %llu", static_cast<unsigned long long>(largest),
                  static_cast<unsigned long long>(remote.geometry.rows));
    }
    return CheckSameStride(local.geometry, remote);
  };
  checks.local_rows = [&] { return CheckLocalBlocks(local.geometry, src_blocks, "src"); };
  // A4: runs merged as for pulls, each copied whole.
  checks.copy = [&](uint32_t src, uint32_t dst, const CacheTableEntry &remote, std::vector<TransferSegment> &out) {
    for (const BlockRun &run : runs) {
      out.push_back(TransferSegment{dst, run.dst * stride, remote.addrs[dst] + run.dst * stride,
                                    local.addrs[src] + run.src * stride, run.count * stride});
    }
  };
  return Push(rt->state, src_cache, dst_cache_index, ext_param, lease, checks);
}

Status LlmDataDistImpl::RegisterKvCache(const CacheDesc &cache_desc, const std::vector<uint64_t> &addrs,
                                        int64_t &cache_id) {
  const std::shared_ptr<Runtime> rt = runtime();
  if (rt == nullptr) {
    return NotInitialized();
  }
  // A22 order.
  if (addrs.empty()) {
    return Fail(LLM_PARAM_INVALID, "addrs is empty");
  }
  if (addrs.size() != cache_desc.num_tensors) {
    return Fail(LLM_PARAM_INVALID, "%zu addrs for num_tensors %u", addrs.size(), cache_desc.num_tensors);
  }
  for (size_t i = 0; i < addrs.size(); ++i) {
    if (addrs[i] == 0U) {
      return Fail(LLM_PARAM_INVALID, "addrs[%zu] is 0", i);
    }
  }
  if (cache_desc.shape.empty() || cache_desc.shape.size() > dd::host::kMaxShapeRank) {
    return Fail(LLM_PARAM_INVALID, "shape rank %zu is outside [1, %zu]", cache_desc.shape.size(),
                dd::host::kMaxShapeRank);
  }
  // A13: from here on a failed registration still uses up its id.
  const int64_t id = rt->state.registry.TakeId();
  // Callers through the C ABI can pass any int32 here; copying the bytes reads it without
  // loading an out-of-range enum value.
  int32_t data_type = 0;
  static_assert(sizeof(data_type) == sizeof(cache_desc.data_type), "DataType is int-sized");
  std::memcpy(&data_type, &cache_desc.data_type, sizeof(data_type));
  CacheGeometry geometry;
  const Status status = dd::host::BuildGeometry(static_cast<uint32_t>(cache_desc.placement), cache_desc.num_tensors,
                                                data_type, cache_desc.shape, geometry);
  if (status != LLM_SUCCESS) {
    return status;
  }
  // A22: kDevice registers device memory; anything else fails as V2's memory registration does.
  if (geometry.placement == 1U) {
    if (const Status device = dd::host::CheckDeviceTensors(addrs, geometry.tensor_bytes); device != LLM_SUCCESS) {
      return device;
    }
  }
  // The caller's memory is used in place: only its addresses are recorded.
  switch (rt->state.registry.Add(id, std::move(geometry), addrs, rt->state.options.hixl())) {
    case LocalCacheRegistry::AddResult::kAdded: break;
    case LocalCacheRegistry::AddResult::kTableFull:
      // A6/A22 (D5): the table would pass 1 MiB; nothing stays registered.
      return Fail(LLM_PARAM_INVALID, "the cache table would grow past %llu bytes (24 + 64 + 8 per tensor per cache)",
                  static_cast<unsigned long long>(LocalCacheRegistry::kMaxTableBytes));
    case LocalCacheRegistry::AddResult::kPartialOverlap:
      return Fail(LLM_PARAM_INVALID, "a tensor partially overlaps memory already registered (%s=hixl)",
                  OPTION_TRANSFER_BACKEND);
  }
  cache_id = id;
  return LLM_SUCCESS;
}

Status LlmDataDistImpl::UnregisterKvCache(int64_t cache_id) {
  const std::shared_ptr<Runtime> rt = runtime();
  if (rt == nullptr) {
    return NotInitialized();
  }
  std::vector<std::shared_ptr<ClusterLink>> sharing;
  int64_t wait_ms = rt->state.options.sync_wait_ms;
  {
    std::lock_guard<std::mutex> lock(rt->state.sharing_mutex);
    if (!rt->state.registry.Remove(cache_id)) {
      return LLM_SUCCESS;  // B §3.5: an unknown id succeeds
    }
    for (const auto &link : rt->state.links.All()) {
      if (link->SharedWithPeer(cache_id)) {
        sharing.push_back(link);
        // From now on the serve loop refuses this link's TCP requests for the cache.
        link->ForgetShared(cache_id);
      }
      wait_ms = std::max<int64_t>(wait_ms, std::min<int64_t>(link->peer().sync_wait_ms, 600000));
    }
  }
  // D7: wait for the transfers using this memory: ours (a link lock, a table fetch and a transfer,
  // each within the wait time) and those the serve loop runs for peers (within their wait time).
  if (!rt->state.registry.WaitUntilUnused(cache_id, Deadline::AfterMs(3 * wait_ms + 500))) {
    return Fail(LLM_FAILED, "cache %lld is still in use by a transfer; its memory must stay valid",
                static_cast<long long>(cache_id));
  }
  for (const auto &link : sharing) {
    if (link->broken() || link->closed()) {
      continue;
    }
    // The peer may be reading this memory directly (same host): wait until it confirms that no
    // transfer of its own uses the cache any more. A peer that cannot confirm loses the link.
    const Deadline deadline = Deadline::AfterMs(static_cast<int64_t>(rt->state.options.sync_wait_ms) +
                                                std::min<int64_t>(link->peer().sync_wait_ms, 600000) + 500);
    std::vector<uint8_t> frame;
    dd::host::EncodeRevoke(0, cache_id, frame);
    const TransferOutcome outcome = dd::host::RunOnLink(*link, dd::host::ControlCall(std::move(frame)), deadline);
    if (outcome.kind != TransferOutcome::Kind::kDone) {
      link->MarkBroken("revoke of cache " + std::to_string(cache_id) + " not confirmed: " + outcome.detail);
    }
  }
  return LLM_SUCCESS;
}
}  // namespace llm_datadist
