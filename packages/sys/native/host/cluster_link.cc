#include "cluster_link.h"

#include <poll.h>

#include "data_path.h"
#include "link_calls.h"
#include "link_transport.h"
#include "peer_memory_files.h"
#include "wire_format.h"

namespace dd::host {
int64_t SteadyNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now().time_since_epoch()).count();
}

ClusterLink::ClusterLink(PeerInfo peer, bool initiated_locally, std::set<int64_t> bound_local, UniqueFd watch)
    : peer_(std::move(peer)),
      initiated_locally_(initiated_locally),
      bound_local_(std::move(bound_local)),
      watch_(std::move(watch)) {}

ClusterLink::~ClusterLink() = default;

void ClusterLink::SetTransport(std::weak_ptr<LinkTransport> transport) { transport_ = std::move(transport); }

std::shared_ptr<LinkTransport> ClusterLink::transport() const { return transport_.lock(); }

void ClusterLink::SetDataPaths(std::unique_ptr<DataPath> same_host, std::unique_ptr<DataPath> tcp) {
  same_host_path_ = std::move(same_host);
  tcp_path_ = std::move(tcp);
}

DataPath &ClusterLink::ActiveDataPath() {
  if (same_host_path_ != nullptr && !same_host_disabled_.load(std::memory_order_acquire)) {
    return *same_host_path_;
  }
  return *tcp_path_;
}

void ClusterLink::DisableSameHostPath() { same_host_disabled_.store(true, std::memory_order_release); }

TransferOutcome ClusterLink::FetchPeerTable(const Deadline &deadline) {
  using Kind = TransferOutcome::Kind;
  std::vector<uint8_t> frame;
  EncodeEmpty(FrameType::kTable, 0, frame);
  const std::shared_ptr<TransferCall> call = ControlCall(std::move(frame));
  call->pieces()[0].receive_owned = true;
  call->pieces()[0].max_owned = kMaxTablePayloadBytes;
  const TransferOutcome outcome = RunOnLink(*this, call, deadline);
  if (outcome.kind == Kind::kRejected) {
    return TransferOutcome{Kind::kRejected, outcome.status, "peer refused its cache table: " + outcome.detail};
  }
  if (outcome.kind != Kind::kDone) {
    return outcome;
  }
  std::vector<CacheTableEntry> table;
  std::string why;
  const std::vector<uint8_t> &body = call->pieces()[0].payload;
  if (!DecodeCacheTable(body.data(), body.size(), table, why)) {
    return TransferOutcome{Kind::kBroken, 0, "peer sent a malformed cache table: " + why};
  }
  std::lock_guard<std::mutex> lock(table_mutex_);
  for (CacheTableEntry &entry : table) {
    // A revoke may overtake the answer that still listed the cache.
    if (revoked_.count(entry.cache_id) == 0U) {
      const int64_t id = entry.cache_id;
      if (!entry.files.empty()) {
        entry.mappings = std::make_shared<PeerCacheMappings>(entry.files, entry.geometry.tensor_bytes);
      }
      peer_table_.emplace(id, std::make_shared<const CacheTableEntry>(std::move(entry)));
    }
  }
  peer_table_fetched_.store(true, std::memory_order_release);
  return TransferOutcome{};
}

std::shared_ptr<const CacheTableEntry> ClusterLink::BeginTransfer(int64_t remote_cache_id) {
  std::lock_guard<std::mutex> lock(table_mutex_);
  const auto it = peer_table_.find(remote_cache_id);
  if (it == peer_table_.end()) {
    return nullptr;
  }
  ++transfers_active_;
  return it->second;
}

void ClusterLink::EndTransfer() {
  std::vector<uint32_t> answers;
  {
    std::lock_guard<std::mutex> lock(table_mutex_);
    if (--transfers_active_ == 0) {
      answers.swap(deferred_revoke_answers_);
    }
  }
  if (!answers.empty()) {
    if (const std::shared_ptr<LinkTransport> transport = transport_.lock()) {
      transport->PostRevokeAnswers(std::move(answers));
    }
  }
}

bool ClusterLink::RevokeRemoteCache(int64_t cache_id, uint32_t request_id) {
  std::lock_guard<std::mutex> lock(table_mutex_);
  peer_table_.erase(cache_id);
  revoked_.insert(cache_id);
  if (transfers_active_ > 0) {
    deferred_revoke_answers_.push_back(request_id);
    return false;
  }
  return true;
}

void ClusterLink::ShareWithPeer(std::set<int64_t> cache_ids) {
  std::lock_guard<std::mutex> lock(table_mutex_);
  shared_with_peer_ = std::move(cache_ids);
}

bool ClusterLink::SharedWithPeer(int64_t cache_id) {
  std::lock_guard<std::mutex> lock(table_mutex_);
  return shared_with_peer_.count(cache_id) != 0U;
}

void ClusterLink::ForgetShared(int64_t cache_id) {
  std::lock_guard<std::mutex> lock(table_mutex_);
  shared_with_peer_.erase(cache_id);
}

bool ClusterLink::RecordBroken(const std::string &reason) {
  bool first = false;
  {
    std::lock_guard<std::mutex> lock(reason_mutex_);
    if (broken_reason_.empty()) {
      broken_reason_ = reason;
      first = true;
    }
  }
  broken_.store(true, std::memory_order_release);
  return first;
}

void ClusterLink::MarkBroken(const std::string &reason) {
  RecordBroken(reason);
  if (const std::shared_ptr<LinkTransport> transport = transport_.lock()) {
    transport->PostClose();
  }
}

bool ClusterLink::PeerHungUp() {
  std::lock_guard<std::mutex> lock(watch_mutex_);
  if (!watch_) {
    return false;
  }
  pollfd p{watch_.get(), POLLRDHUP, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

std::string ClusterLink::broken_reason() {
  std::lock_guard<std::mutex> lock(reason_mutex_);
  return broken_reason_;
}

void ClusterLink::MarkClosed() {
  closed_.store(true, std::memory_order_release);
  if (const std::shared_ptr<LinkTransport> transport = transport_.lock()) {
    transport->PostClose();
  }
}

void ClusterLink::ReleaseResources() {
  {
    std::lock_guard<std::mutex> lock(watch_mutex_);
    watch_.reset();
  }
  std::lock_guard<std::mutex> lock(table_mutex_);
  peer_table_.clear();
  shared_with_peer_.clear();
}
}  // namespace dd::host
