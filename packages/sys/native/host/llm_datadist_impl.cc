#include "llm_datadist_impl.h"

#include <sys/prctl.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <thread>

#include "error_detail.h"
#include "link_handshake.h"

namespace llm_datadist {
using dd::host::BlockRun;
using dd::host::CacheGeometry;
using dd::host::CacheTableEntry;
using dd::host::ClusterLink;
using dd::host::Deadline;
using dd::host::Fail;
using dd::host::FailWith;
using dd::host::LayerTransfer;
using dd::host::LinkTable;
using dd::host::LocalCache;
using dd::host::RangeWithin;
using dd::host::TensorSpan;
using dd::host::TransferDirection;
using dd::host::TransferOutcome;
using dd::host::TransferSegment;

namespace {
constexpr size_t kLinkThreads = 16;  // V2 links clusters on a 16-thread pool

bool ValidRole(int32_t role) {
  return role == static_cast<int32_t>(LlmRole::kPrompt) || role == static_cast<int32_t>(LlmRole::kDecoder) ||
         role == static_cast<int32_t>(LlmRole::kMix);
}

Status NotInitialized() { return Fail(LLM_FAILED, "the engine is not initialized (call Initialize first)"); }

// Scratch lists reused by every transfer on this thread: steady-state transfers allocate nothing.
thread_local std::vector<TransferSegment> t_segments;
thread_local std::vector<BlockRun> t_runs;
thread_local std::vector<LayerTransfer> t_layers;

// The link and the peer cache one transfer works on: the link's operation lock is held and the
// peer cache marked in use (see ClusterLink::BeginTransfer) until this goes out of scope. The
// transfer's SyncKvCacheWaitTime starts when this is made.
class RemoteCacheUse {
 public:
  explicit RemoteCacheUse(const dd::host::EngineState &state)
      : state_(state), deadline_(Deadline::AfterMs(state.options.sync_wait_ms)) {}
  ~RemoteCacheUse() {
    if (entry_ != nullptr) {
      link_->EndTransfer();
    }
  }
  RemoteCacheUse(const RemoteCacheUse &) = delete;
  RemoteCacheUse &operator=(const RemoteCacheUse &) = delete;

  // Locks the link to `index.cluster_id` (NOT_YET_LINK, TIMEOUT, LINK_FAILED), then finds the
  // peer's cache `index.cache_id` (KV_CACHE_NOT_EXIST).
  Status Begin(const CacheIndex &index) {
    const Status status = LockLink(index.cluster_id);
    if (status != LLM_SUCCESS) {
      return status;
    }
    entry_ = link_->BeginTransfer(index.cache_id);
    if (entry_ == nullptr) {
      return Fail(LLM_KV_CACHE_NOT_EXIST, "cluster %llu has no cache %lld visible to this link",
                  static_cast<unsigned long long>(index.cluster_id), static_cast<long long>(index.cache_id));
    }
    return LLM_SUCCESS;
  }
  ClusterLink &link() const { return *link_; }
  const Deadline &deadline() const { return deadline_; }
  const CacheTableEntry &remote() const { return *entry_; }

 private:
  Status LockLink(uint64_t cluster_id) {
    link_ = state_.links.Find(cluster_id);
    if (link_ == nullptr || link_->closed()) {
      return Fail(LLM_NOT_YET_LINK, "no link to cluster %llu", static_cast<unsigned long long>(cluster_id));
    }
    lock_ = std::unique_lock<std::timed_mutex>(link_->op_mutex(), std::defer_lock);
    if (!lock_.try_lock_until(deadline_.At())) {
      return Fail(LLM_TIMEOUT, "another transfer on the link to cluster %llu did not finish within %d ms",
                  static_cast<unsigned long long>(cluster_id), state_.options.sync_wait_ms);
    }
    if (link_->closed()) {
      return Fail(LLM_NOT_YET_LINK, "no link to cluster %llu", static_cast<unsigned long long>(cluster_id));
    }
    if (link_->broken()) {
      return Fail(LLM_LINK_FAILED, "the link to cluster %llu is broken: %s (unlink with force_flag=true and link again)",
                  static_cast<unsigned long long>(cluster_id), link_->broken_reason().c_str());
    }
    return LLM_SUCCESS;
  }

  const dd::host::EngineState &state_;
  const Deadline deadline_;
  std::shared_ptr<ClusterLink> link_;
  std::unique_lock<std::timed_mutex> lock_;
  std::shared_ptr<const CacheTableEntry> entry_;
};

Status FindLocalCache(const dd::host::LocalCacheRegistry &registry, int64_t cache_id,
                      std::shared_ptr<const LocalCache> &local) {
  local = registry.Find(cache_id);
  if (local == nullptr) {
    return Fail(LLM_KV_CACHE_NOT_EXIST, "local cache %lld is not registered", static_cast<long long>(cache_id));
  }
  return LLM_SUCCESS;
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

// FindLocalCache, then `row` (named `what` in the failure) is below its row count.
Status FindLocalRow(const dd::host::LocalCacheRegistry &registry, int64_t cache_id, uint32_t row, const char *what,
                    std::shared_ptr<const LocalCache> &local) {
  const Status status = FindLocalCache(registry, cache_id, local);
  if (status != LLM_SUCCESS) {
    return status;
  }
  if (row >= local->geometry.rows) {
    return Fail(LLM_PARAM_INVALID, "%s %u >= local batch size %llu", what, row,
                static_cast<unsigned long long>(local->geometry.rows));
  }
  return LLM_SUCCESS;
}

// FindLocalCache, then every block of `blocks` (the list that indexes the local cache, named by
// `side`, "src" or "dst") is below its row count.
Status FindLocalBlocks(const dd::host::LocalCacheRegistry &registry, int64_t cache_id, const std::vector<uint64_t> &blocks,
                       const char *side, std::shared_ptr<const LocalCache> &local) {
  const Status status = FindLocalCache(registry, cache_id, local);
  if (status != LLM_SUCCESS) {
    return status;
  }
  const CacheGeometry &geo = local->geometry;
  for (const uint64_t block : blocks) {
    if (block >= geo.rows) {
      return Fail(LLM_PARAM_INVALID, "%s block %llu >= local block count %llu", side,
                  static_cast<unsigned long long>(block), static_cast<unsigned long long>(geo.rows));
    }
  }
  return LLM_SUCCESS;
}

// The first checks LinkLlmClusters and UnlinkLlmClusters share.
Status CheckClusterCall(const std::vector<ClusterInfo> &clusters, int32_t timeout_in_millis) {
  if (timeout_in_millis <= 0) {
    return Fail(LLM_PARAM_INVALID, "timeout_in_millis %d must be > 0", timeout_in_millis);
  }
  if (clusters.empty()) {
    return Fail(LLM_PARAM_INVALID, "clusters is empty");
  }
  return LLM_SUCCESS;
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

// rets gets one status per cluster; the call returns the last failure (facts §3.3).
Status Summarize(const std::vector<Status> &rets, const std::vector<std::string> &details) {
  Status last = LLM_SUCCESS;
  std::string text;
  for (size_t i = 0; i < rets.size(); ++i) {
    if (rets[i] != LLM_SUCCESS) {
      last = rets[i];
      if (text.size() < 900U) {
        text += (text.empty() ? "" : "; ") + details[i];
      }
    }
  }
  return last == LLM_SUCCESS ? LLM_SUCCESS : FailWith(last, text);
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
    return LLM_SUCCESS;
  }
  if (!ValidRole(role_.load())) {
    return Fail(LLM_PARAM_INVALID, "role %d is not kPrompt, kDecoder or kMix", role_.load());
  }
  dd::host::EngineOptions parsed;
  const Status status = dd::host::ParseEngineOptions(options, parsed);
  if (status != LLM_SUCCESS) {
    return status == LLM_PARAM_INVALID ? status : LLM_FAILED;
  }
  const bool listen = parsed.listen;
  const dd::host::ListenAddress address = parsed.listen_address;
  const bool tcp_only = parsed.tcp_only;
  auto rt = std::make_shared<Runtime>(cluster_id_, role_.load(), std::move(parsed), dd::host::LocalHostIdentity());
  std::string why;
  if (!rt->serve.Start(why)) {
    return FailWith(LLM_FAILED, why);
  }
  if (listen && !rt->serve.Listen(address, why)) {
    rt->serve.Stop();
    return FailWith(LLM_FAILED, why);
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
  // As in V2, links this side initiated are unlinked on both sides (best effort, briefly); links a
  // peer initiated are only dropped here, and that peer finds its link broken.
  for (const auto &link : rt->state.links.All()) {
    std::unique_lock<std::timed_mutex> op(link->op_mutex(), std::defer_lock);
    if (link->initiated_locally() && !link->broken() && op.try_lock_for(std::chrono::milliseconds(100))) {
      std::vector<uint8_t> frame;
      dd::host::EncodeEmpty(dd::host::FrameType::kUnlink, link->outbound().NextRequestId(), frame);
      link->outbound().SendRequest(frame, nullptr, 0, Deadline::AfterMs(100), false);
    }
    rt->state.links.Remove(link->peer().cluster_id, link.get());
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
  if (rt->state.links.Size() != 0U) {
    return Fail(LLM_EXIST_LINK, "%zu link(s) still exist; unlink them first", rt->state.links.Size());
  }
  const auto current = rt->serve.listen_address();
  const auto it = options.find(AscendString(OPTION_LISTEN_IP_INFO));
  if (it != options.end()) {
    dd::host::ListenAddress address;
    const Status status = dd::host::ParseListenAddress(it->second.GetString(), address);
    if (status != LLM_SUCCESS) {
      return status;
    }
    if (rt->state.options.hixl && (!current || current->port != address.port || current->ip != address.ip)) {
      return Fail(LLM_PARAM_INVALID, "with %s=hixl the listen address cannot change", OPTION_TRANSFER_BACKEND);
    }
    // Same port as now: V2 keeps the running listener.
    if (!current || current->port != address.port) {
      std::string why;
      if (!rt->serve.Listen(address, why)) {
        return FailWith(LLM_FAILED, why);
      }
    }
  } else {
    if (rt->state.options.hixl) {
      return Fail(LLM_PARAM_INVALID, "with %s=hixl the engine must keep listening", OPTION_TRANSFER_BACKEND);
    }
    rt->serve.StopListening();
  }
  role_ = static_cast<int32_t>(role);
  rt->state.role = static_cast<int32_t>(role);
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
  std::vector<dd::host::LinkTarget> targets(clusters.size());
  for (size_t i = 0; i < clusters.size(); ++i) {
    const ClusterInfo &cluster = clusters[i];
    uint32_t packed = 0;
    if (cluster.remote_ip_infos.size() != 1U) {
      return Fail(LLM_PARAM_INVALID, "clusters[%zu] has %zu remote_ip_infos; exactly 1 is supported", i,
                  cluster.remote_ip_infos.size());
    }
    if (!rt->state.options.has_local_comm_res && cluster.local_ip_infos.size() != 1U) {
      return Fail(LLM_PARAM_INVALID, "clusters[%zu] has %zu local_ip_infos; exactly 1 is needed without %s", i,
                  cluster.local_ip_infos.size(), OPTION_LOCAL_COMM_RES);
    }
    for (const auto *infos : {&cluster.remote_ip_infos, &cluster.local_ip_infos}) {
      for (const IpInfo &info : *infos) {
        if (!dd::host::ParseIpv4(info.ip.GetString(), packed)) {
          return Fail(LLM_PARAM_INVALID, "clusters[%zu]: ip \"%s\" is not an IPv4 address", i, info.ip.GetString());
        }
      }
    }
    targets[i] = dd::host::LinkTarget{cluster.remote_cluster_id, cluster.remote_ip_infos[0].ip.GetString(),
                                      cluster.remote_ip_infos[0].port};
  }
  const Deadline deadline = Deadline::AfterMs(timeout_in_millis);
  rets.assign(clusters.size(), LLM_SUCCESS);
  std::vector<std::string> details(clusters.size());
  RunParallel(targets.size(), [&](size_t i) {
    const dd::host::LinkTarget &target = targets[i];
    switch (rt->state.links.Reserve(target.cluster_id)) {
      case LinkTable::Admission::kAdmitted: break;
      case LinkTable::Admission::kAlreadyLinked:
        rets[i] = LLM_ALREADY_LINK;
        details[i] = "cluster " + std::to_string(target.cluster_id) + " is already linked";
        return;
      case LinkTable::Admission::kFull:
        rets[i] = LLM_CLUSTER_NUM_EXCEED_LIMIT;
        details[i] = "cluster " + std::to_string(target.cluster_id) + ": the engine already has " +
                     std::to_string(LinkTable::kDefaultCapacity) + " links";
        return;
    }
    dd::host::LinkAttempt attempt = dd::host::EstablishLink(rt->state, target, deadline);
    if (attempt.status != LLM_SUCCESS) {
      rt->state.links.CancelReservation(target.cluster_id);
      rets[i] = attempt.status;
      details[i] = attempt.detail;
      return;
    }
    rt->state.links.CommitReservation(attempt.link);
    rt->serve.AdoptInbound(attempt.link);
  });
  return Summarize(rets, details);
}

Status LlmDataDistImpl::UnlinkOne(Runtime &rt, uint64_t cluster_id, bool force, const Deadline &deadline,
                                  std::string &detail) {
  const std::shared_ptr<ClusterLink> link = rt.state.links.Find(cluster_id);
  if (link == nullptr) {
    return LLM_SUCCESS;  // unknown cluster: nothing to do
  }
  const std::string who = "cluster " + std::to_string(cluster_id);
  if (!force) {
    std::unique_lock<std::timed_mutex> op(link->op_mutex(), std::defer_lock);
    if (!op.try_lock_until(deadline.At())) {
      detail = who + ": a transfer on the link did not finish before the unlink timeout";
      return LLM_UNLINK_FAILED;
    }
    if (link->broken()) {
      detail = who + ": the link is broken (" + link->broken_reason() + "); unlink with force_flag=true";
      return LLM_UNLINK_FAILED;
    }
    std::vector<uint8_t> frame;
    const uint32_t request_id = link->outbound().NextRequestId();
    dd::host::EncodeEmpty(dd::host::FrameType::kUnlink, request_id, frame);
    dd::host::ResultMessage result;
    bool timed_out = false;
    std::string why;
    if (link->outbound().SendRequest(frame, nullptr, 0, deadline, true).status != dd::host::IoStatus::kOk ||
        !link->outbound().ReadResult(request_id, result, deadline, timed_out, why)) {
      detail = who + ": the peer did not confirm the unlink (" + (why.empty() ? "send failed" : why) +
               "); unlink with force_flag=true";
      return LLM_UNLINK_FAILED;
    }
  }
  rt.state.links.Remove(cluster_id, link.get());
  link->MarkClosed();
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
  if (!force_flag) {
    for (size_t i = 0; i < clusters.size(); ++i) {
      uint32_t packed = 0;
      if (clusters[i].remote_ip_infos.size() != 1U || !dd::host::ParseIpv4(clusters[i].remote_ip_infos[0].ip.GetString(), packed)) {
        return Fail(LLM_PARAM_INVALID, "clusters[%zu] needs exactly one valid IPv4 remote_ip_info to unlink without force",
                    i);
      }
    }
  }
  const Deadline deadline = Deadline::AfterMs(timeout_in_millis);
  rets.assign(clusters.size(), LLM_SUCCESS);
  std::vector<std::string> details(clusters.size());
  RunParallel(clusters.size(), [&](size_t i) {
    rets[i] = UnlinkOne(*rt, clusters[i].remote_cluster_id, force_flag, deadline, details[i]);
  });
  return Summarize(rets, details);
}

namespace {
// Moves the segments over the link's data path; a same-host path the peer cannot use falls back to TCP.
Status RunTransfer(const dd::host::EngineState &state, ClusterLink &link, TransferDirection direction,
                   int64_t remote_cache_id, const std::vector<TransferSegment> &segments, const Deadline &deadline) {
  dd::host::TransferJob job;
  job.direction = direction;
  job.remote_cache_id = remote_cache_id;
  job.segments = &segments;
  job.deadline = deadline;
  dd::host::DataPath *path = &link.ActiveDataPath();
  TransferOutcome outcome = path->Run(job);
  if (outcome.kind == TransferOutcome::Kind::kUnsupported) {
    link.DisableSameHostPath();
    path = &link.TcpDataPath();
    outcome = path->Run(job);
  }
  const unsigned long long peer = link.peer().cluster_id;
  switch (outcome.kind) {
    case TransferOutcome::Kind::kDone:
      if (link.broken()) {
        return Fail(LLM_LINK_FAILED, "the link to cluster %llu broke during the transfer: %s", peer,
                    link.broken_reason().c_str());
      }
      if (deadline.Expired()) {
        return Fail(LLM_TIMEOUT, "transfer with cluster %llu took longer than %d ms", peer, state.options.sync_wait_ms);
      }
      return LLM_SUCCESS;
    case TransferOutcome::Kind::kRejected:
      return Fail(outcome.status, "cluster %llu (%s): %s", peer, path->Name(), outcome.detail.c_str());
    case TransferOutcome::Kind::kTimeout:
      if (outcome.breaks_link) {
        link.MarkBroken(outcome.detail);
      }
      return Fail(LLM_TIMEOUT, "%s transfer with cluster %llu not done within %d ms (%s)", path->Name(), peer,
                  state.options.sync_wait_ms, outcome.detail.c_str());
    case TransferOutcome::Kind::kBroken:
    case TransferOutcome::Kind::kUnsupported:
      link.MarkBroken(outcome.detail);
      return Fail(LLM_LINK_FAILED, "the link to cluster %llu broke during a %s transfer: %s", peer, path->Name(),
                  outcome.detail.c_str());
  }
  return LLM_FAILED;
}


// The part every transfer shares once the local checks pass: locks the link and marks the peer
// cache in use (RemoteCacheUse), lets `plan(remote, segments)` check the request against the
// peer's cache and list the copies, then moves them.
template <typename Plan>
Status TransferWithPeer(const dd::host::EngineState &state, const CacheIndex &remote_index,
                        TransferDirection direction, Plan plan) {
  RemoteCacheUse use(state);
  Status status = use.Begin(remote_index);
  if (status != LLM_SUCCESS) {
    return status;
  }
  std::vector<TransferSegment> &segments = t_segments;
  segments.clear();
  status = plan(use.remote(), segments);
  if (status != LLM_SUCCESS) {
    return status;
  }
  return RunTransfer(state, use.link(), direction, remote_index.cache_id, segments, use.deadline());
}

// A pull: the tensors are chosen from ext_param (facts §3.7), then
// `plan(remote, src_tensors, dst_tensors, segments)`.
template <typename Plan>
Status PullFromPeer(const dd::host::EngineState &state, const CacheIndex &src_cache_index, const KvCacheExtParam &ext,
                    const CacheGeometry &geo, Plan plan) {
  return TransferWithPeer(state, src_cache_index, TransferDirection::kPull,
                          [&](const CacheTableEntry &remote, std::vector<TransferSegment> &segments) {
                            TensorSpan src;
                            TensorSpan dst;
                            const Status status = dd::host::SelectPullTensors(ext, remote.geometry.num_tensors,
                                                                              geo.num_tensors, src, dst);
                            return status != LLM_SUCCESS ? status : plan(remote, src, dst, segments);
                          });
}

// A push: the layers are chosen from ext_param (facts §3.9), then `plan(remote, layers, segments)`.
template <typename Plan>
Status PushToPeer(const dd::host::EngineState &state, const Cache &src_cache, const CacheIndex &dst_cache_index,
                  const KvCacheExtParam &ext, const CacheGeometry &geo, Plan plan) {
  return TransferWithPeer(state, dst_cache_index, TransferDirection::kPush,
                          [&](const CacheTableEntry &remote, std::vector<TransferSegment> &segments) {
                            std::vector<LayerTransfer> &layers = t_layers;
                            const Status status = dd::host::PlanPushLayers(ext, src_cache.cache_desc.num_tensors,
                                                                           geo.num_tensors,
                                                                           remote.geometry.num_tensors, layers);
                            return status != LLM_SUCCESS ? status : plan(remote, layers, segments);
                          });
}

// Block transfers copy whole rows, merged into runs (facts §3.8).
Status MergeRowRuns(const CacheGeometry &geo, const std::vector<uint64_t> &src_blocks,
                    const std::vector<uint64_t> &dst_blocks, std::vector<BlockRun> &runs) {
  // Block offsets are multiples of the row size; a 0-byte row addresses nothing (and would divide by 0).
  if (geo.stride == 0U) {
    return Fail(LLM_PARAM_INVALID, "local rows are 0 bytes (sub-byte data type with fewer bits than rows)");
  }
  dd::host::MergeBlockRuns(src_blocks, dst_blocks, runs);
  return LLM_SUCCESS;
}

// The checks PushKvCache and PushKvBlocks share (facts §3.9).
Status CheckPushParams(const Cache &src_cache, const KvCacheExtParam &ext) {
  if (src_cache.cache_desc.placement != CachePlacement::kDevice) {
    return Fail(LLM_PARAM_INVALID, "src_cache.cache_desc.placement must be kDevice for a push");
  }
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
}  // namespace

Status LlmDataDistImpl::PullKvCache(const CacheIndex &src_cache_index, const Cache &dst_cache, uint32_t batch_index,
                                    int64_t size, const KvCacheExtParam &ext_param) {
  const std::shared_ptr<Runtime> rt = runtime();
  if (rt == nullptr) {
    return NotInitialized();
  }
  if (size != -1 && size <= 0) {
    return Fail(LLM_PARAM_INVALID, "size %lld must be -1 (whole row) or > 0", static_cast<long long>(size));
  }
  Status status = dd::host::ValidateExtParam(ext_param);
  if (status != LLM_SUCCESS) {
    return status;
  }
  status = CheckNotOwnCluster(src_cache_index.cluster_id, cluster_id_);
  if (status != LLM_SUCCESS) {
    return status;
  }
  std::shared_ptr<const LocalCache> local;
  status = FindLocalRow(rt->state.registry, dst_cache.cache_id, batch_index, "batch_index", local);
  if (status != LLM_SUCCESS) {
    return status;
  }
  const CacheGeometry &geo = local->geometry;
  if (size > 0 && static_cast<uint64_t>(size) > geo.stride) {
    return Fail(LLM_PARAM_INVALID, "size %lld > row size %llu", static_cast<long long>(size),
                static_cast<unsigned long long>(geo.stride));
  }
  const auto plan = [&](const CacheTableEntry &remote, TensorSpan src, TensorSpan dst,
                        std::vector<TransferSegment> &segments) {
    // Both offsets use the local row size (facts §3.7).
    const uint64_t len = size > 0 ? static_cast<uint64_t>(size) : geo.stride;
    const uint64_t remote_offset = static_cast<uint64_t>(src_cache_index.batch_index) * geo.stride;
    if (!RangeWithin(remote_offset, len, remote.geometry.tensor_bytes)) {
      return Fail(LLM_PARAM_INVALID,
                  "remote batch_index %u (bytes %llu..%llu) is outside the remote tensor of %llu bytes",
                  src_cache_index.batch_index, static_cast<unsigned long long>(remote_offset),
                  static_cast<unsigned long long>(remote_offset + len),
                  static_cast<unsigned long long>(remote.geometry.tensor_bytes));
    }
    for (uint32_t i = 0; i < src.count && len > 0U; ++i) {
      segments.push_back(TransferSegment{src.first + i, remote_offset,
                                         remote.addrs[src.first + i] + remote_offset,
                                         local->addrs[dst.first + i] + batch_index * geo.stride, len});
    }
    return LLM_SUCCESS;
  };
  return PullFromPeer(rt->state, src_cache_index, ext_param, geo, plan);
}

Status LlmDataDistImpl::PullKvBlocks(const CacheIndex &src_cache_index, const Cache &dst_cache,
                                     const std::vector<uint64_t> &src_blocks, const std::vector<uint64_t> &dst_blocks,
                                     const KvCacheExtParam &ext_param) {
  const std::shared_ptr<Runtime> rt = runtime();
  if (rt == nullptr) {
    return NotInitialized();
  }
  Status status = dd::host::ValidateExtParam(ext_param);
  if (status != LLM_SUCCESS) {
    return status;
  }
  if (src_cache_index.batch_index != 0U) {
    return Fail(LLM_PARAM_INVALID, "src batch_index %u must be 0 for block transfers", src_cache_index.batch_index);
  }
  status = CheckBlockLists(src_blocks, dst_blocks);
  if (status != LLM_SUCCESS) {
    return status;
  }
  status = CheckNotOwnCluster(src_cache_index.cluster_id, cluster_id_);
  if (status != LLM_SUCCESS) {
    return status;
  }
  std::shared_ptr<const LocalCache> local;
  status = FindLocalBlocks(rt->state.registry, dst_cache.cache_id, dst_blocks, "dst", local);
  if (status != LLM_SUCCESS) {
    return status;
  }
  const CacheGeometry &geo = local->geometry;
  const auto plan = [&](const CacheTableEntry &remote, TensorSpan src, TensorSpan dst,
                        std::vector<TransferSegment> &segments) {
    std::vector<BlockRun> &runs = t_runs;
    const Status merged = MergeRowRuns(geo, src_blocks, dst_blocks, runs);
    if (merged != LLM_SUCCESS) {
      return merged;
    }
    const uint64_t stride = geo.stride;
    const uint64_t remote_bytes = remote.geometry.tensor_bytes;
    const uint64_t remote_blocks = remote_bytes / stride + (remote_bytes % stride != 0U ? 1U : 0U);
    for (const BlockRun &run : runs) {
      // V2 checks only the start of a run; we also keep the whole run inside the remote
      // tensor, since nothing may be read outside registered memory.
      if (run.src >= remote_blocks || run.src > UINT64_MAX / stride ||
          !RangeWithin(run.src * stride, run.count * stride, remote_bytes)) {
        return Fail(LLM_PARAM_INVALID, "src blocks %llu..%llu are outside the remote cache of %llu blocks",
                    static_cast<unsigned long long>(run.src),
                    static_cast<unsigned long long>(run.src + run.count - 1U),
                    static_cast<unsigned long long>(remote_blocks));
      }
    }
    for (uint32_t i = 0; i < src.count; ++i) {
      const uint64_t remote_base = remote.addrs[src.first + i];
      const uint64_t local_base = local->addrs[dst.first + i];
      for (const BlockRun &run : runs) {
        segments.push_back(TransferSegment{src.first + i, run.src * stride, remote_base + run.src * stride,
                                           local_base + run.dst * stride, run.count * stride});
      }
    }
    return LLM_SUCCESS;
  };
  return PullFromPeer(rt->state, src_cache_index, ext_param, geo, plan);
}

Status LlmDataDistImpl::PushKvCache(const Cache &src_cache, const CacheIndex &dst_cache_index, uint32_t src_batch_index,
                                    int64_t size, const KvCacheExtParam &ext_param) {
  const std::shared_ptr<Runtime> rt = runtime();
  if (rt == nullptr) {
    return NotInitialized();
  }
  Status status = CheckPushParams(src_cache, ext_param);
  if (status != LLM_SUCCESS) {
    return status;
  }
  if (size != -1) {
    return Fail(LLM_PARAM_INVALID, "size %lld: a push moves whole rows, size must be -1", static_cast<long long>(size));
  }
  std::shared_ptr<const LocalCache> local;
  status = FindLocalRow(rt->state.registry, src_cache.cache_id, src_batch_index, "src_batch_index", local);
  if (status != LLM_SUCCESS) {
    return status;
  }
  const CacheGeometry &geo = local->geometry;
  const auto plan = [&](const CacheTableEntry &remote, const std::vector<LayerTransfer> &layers,
                        std::vector<TransferSegment> &segments) {
    const uint64_t stride = geo.stride;
    const uint64_t remote_offset = static_cast<uint64_t>(dst_cache_index.batch_index) * stride;
    if (!RangeWithin(remote_offset, stride, remote.geometry.tensor_bytes)) {
      return Fail(LLM_PARAM_INVALID, "dst batch_index %u is outside the remote tensor of %llu bytes",
                  dst_cache_index.batch_index,
                  static_cast<unsigned long long>(remote.geometry.tensor_bytes));
    }
    for (const LayerTransfer &layer : layers) {
      for (uint32_t i = 0; i < layer.src.count && stride > 0U; ++i) {
        const uint32_t rt_index = layer.dst.first + i;
        segments.push_back(TransferSegment{rt_index, remote_offset, remote.addrs[rt_index] + remote_offset,
                                           local->addrs[layer.src.first + i] + src_batch_index * stride,
                                           stride});
      }
    }
    return LLM_SUCCESS;
  };
  return PushToPeer(rt->state, src_cache, dst_cache_index, ext_param, geo, plan);
}

Status LlmDataDistImpl::PushKvBlocks(const Cache &src_cache, const CacheIndex &dst_cache_index,
                                     const std::vector<uint64_t> &src_blocks, const std::vector<uint64_t> &dst_blocks,
                                     const KvCacheExtParam &ext_param) {
  const std::shared_ptr<Runtime> rt = runtime();
  if (rt == nullptr) {
    return NotInitialized();
  }
  if (src_cache.cache_desc.placement != CachePlacement::kDevice) {
    return Fail(LLM_PARAM_INVALID, "src_cache.cache_desc.placement must be kDevice for a push");
  }
  Status status = CheckBlockLists(src_blocks, dst_blocks);
  if (status != LLM_SUCCESS) {
    return status;
  }
  if (dst_cache_index.batch_index != 0U) {
    return Fail(LLM_PARAM_INVALID, "dst batch_index %u must be 0 for block transfers", dst_cache_index.batch_index);
  }
  status = CheckPushParams(src_cache, ext_param);
  if (status != LLM_SUCCESS) {
    return status;
  }
  std::shared_ptr<const LocalCache> local;
  status = FindLocalBlocks(rt->state.registry, src_cache.cache_id, src_blocks, "src", local);
  if (status != LLM_SUCCESS) {
    return status;
  }
  const CacheGeometry &geo = local->geometry;
  const auto plan = [&](const CacheTableEntry &remote, const std::vector<LayerTransfer> &layers,
                        std::vector<TransferSegment> &segments) {
    std::vector<BlockRun> &runs = t_runs;
    const Status merged = MergeRowRuns(geo, src_blocks, dst_blocks, runs);
    if (merged != LLM_SUCCESS) {
      return merged;
    }
    const uint64_t stride = geo.stride;
    for (const BlockRun &run : runs) {
      if (run.dst > UINT64_MAX / stride ||
          !RangeWithin(run.dst * stride, run.count * stride, remote.geometry.tensor_bytes)) {
        return Fail(LLM_PARAM_INVALID,
                    "dst blocks %llu..%llu are outside the remote cache of %llu bytes per tensor",
                    static_cast<unsigned long long>(run.dst),
                    static_cast<unsigned long long>(run.dst + run.count - 1U),
                    static_cast<unsigned long long>(remote.geometry.tensor_bytes));
      }
    }
    for (const LayerTransfer &layer : layers) {
      for (uint32_t i = 0; i < layer.src.count; ++i) {
        const uint32_t remote_tensor = layer.dst.first + i;
        for (const BlockRun &run : runs) {
          segments.push_back(TransferSegment{remote_tensor, run.dst * stride,
                                             remote.addrs[remote_tensor] + run.dst * stride,
                                             local->addrs[layer.src.first + i] + run.src * stride,
                                             run.count * stride});
        }
      }
    }
    return LLM_SUCCESS;
  };
  return PushToPeer(rt->state, src_cache, dst_cache_index, ext_param, geo, plan);
}

Status LlmDataDistImpl::RegisterKvCache(const CacheDesc &cache_desc, const std::vector<uint64_t> &addrs,
                                        int64_t &cache_id) {
  const std::shared_ptr<Runtime> rt = runtime();
  if (rt == nullptr) {
    return NotInitialized();
  }
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
  const auto placement = static_cast<uint32_t>(cache_desc.placement);
  if (placement > static_cast<uint32_t>(CachePlacement::kDevice)) {
    return Fail(LLM_PARAM_INVALID, "placement %u is neither kHost nor kDevice", placement);
  }
  // Callers through the C ABI can pass any int32 here; copying the bytes reads it without
  // loading an out-of-range enum value.
  int32_t data_type = 0;
  static_assert(sizeof(data_type) == sizeof(cache_desc.data_type), "DataType is int-sized");
  std::memcpy(&data_type, &cache_desc.data_type, sizeof(data_type));
  CacheGeometry geometry;
  const Status status =
      dd::host::BuildGeometry(placement, cache_desc.num_tensors, data_type, cache_desc.shape, geometry);
  if (status != LLM_SUCCESS) {
    return status;
  }
  // The caller's memory is used in place: only its addresses are recorded.
  cache_id = rt->state.registry.Add(std::move(geometry), addrs);
  return LLM_SUCCESS;
}

Status LlmDataDistImpl::RevokeFromPeers(Runtime &rt, int64_t cache_id,
                                        const std::vector<std::shared_ptr<ClusterLink>> &sharing) {
  for (const auto &link : sharing) {
    if (link->broken() || link->closed()) {
      continue;
    }
    // The peer may be reading this memory directly (same host): wait until it confirms that no
    // transfer of its own uses the cache any more. A peer that cannot confirm loses the link.
    const int64_t wait_ms = static_cast<int64_t>(rt.state.options.sync_wait_ms) +
                            std::min<int64_t>(link->peer().sync_wait_ms, 600000);
    const Deadline deadline = Deadline::AfterMs(wait_ms);
    std::unique_lock<std::timed_mutex> op(link->op_mutex(), std::defer_lock);
    if (!op.try_lock_until(deadline.At())) {
      link->MarkBroken("revoke of cache " + std::to_string(cache_id) + " could not be sent in time");
      continue;
    }
    std::vector<uint8_t> frame;
    const uint32_t request_id = link->outbound().NextRequestId();
    dd::host::EncodeRevoke(request_id, cache_id, frame);
    dd::host::ResultMessage result;
    bool timed_out = false;
    std::string why;
    if (link->outbound().SendRequest(frame, nullptr, 0, deadline, true).status != dd::host::IoStatus::kOk ||
        !link->outbound().ReadResult(request_id, result, deadline, timed_out, why)) {
      link->MarkBroken("revoke of cache " + std::to_string(cache_id) + " not confirmed: " + why);
    }
  }
  return LLM_SUCCESS;
}

Status LlmDataDistImpl::UnregisterKvCache(int64_t cache_id) {
  const std::shared_ptr<Runtime> rt = runtime();
  if (rt == nullptr) {
    return NotInitialized();
  }
  if (rt->state.registry.Find(cache_id) == nullptr) {
    return LLM_SUCCESS;  // unknown id: V2 succeeds
  }
  int64_t wait_ms = rt->state.options.sync_wait_ms;
  std::vector<std::shared_ptr<ClusterLink>> sharing;
  for (const auto &link : rt->state.links.All()) {
    if (link->SharedWithPeer(cache_id)) {
      sharing.push_back(link);
      // From now on the serve loop refuses this link's TCP requests for the cache.
      link->ForgetShared(cache_id);
    }
    wait_ms = std::max<int64_t>(wait_ms, std::min<int64_t>(link->peer().sync_wait_ms, 600000));
  }
  // Wait for a TCP request the serve loop is running on this memory (bounded by its deadline).
  if (!rt->state.registry.Remove(cache_id, Deadline::AfterMs(wait_ms + 500))) {
    return Fail(LLM_FAILED, "cache %lld is still being served to a peer; its memory must stay valid",
                static_cast<long long>(cache_id));
  }
  return RevokeFromPeers(*rt, cache_id, sharing);
}
}  // namespace llm_datadist
