#include "cluster_link.h"

#include <poll.h>
#include <sys/socket.h>

#include <array>

#include "data_path.h"
#include "wire_format.h"

namespace dd::host {
int64_t SteadyNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now().time_since_epoch()).count();
}

IoResult OutboundChannel::SendRequest(const std::vector<uint8_t> &frame, iovec *payload, size_t payload_count,
                                      const Deadline &deadline, bool expects_result) {
  std::lock_guard<std::mutex> lock(write_mutex_);
  if (expects_result) {
    ++unanswered_;
  }
  IoResult io = SendBuffer(fd_.get(), frame.data(), frame.size(), deadline);
  if (io.status == IoStatus::kOk && payload_count > 0U) {
    io = SendFully(fd_.get(), payload, payload_count, deadline);
  }
  return io;
}

bool OutboundChannel::TrySendHeartbeat(std::string &why) {
  std::unique_lock<std::mutex> lock(write_mutex_, std::try_to_lock);
  if (!lock.owns_lock()) {
    return true;
  }
  std::vector<uint8_t> frame;
  EncodeEmpty(FrameType::kHeartbeat, 0, frame);
  const IoResult io = SendBuffer(fd_.get(), frame.data(), frame.size(), Deadline::AfterMs(200));
  if (io.status != IoStatus::kOk) {
    why = DescribeIo(io, "heartbeat");
    return false;
  }
  return true;
}

bool OutboundChannel::Discard(const Deadline &deadline, bool &timed_out, std::string &why) {
  std::array<uint8_t, 65536> scratch;
  while (discard_ > 0U) {
    const size_t chunk = discard_ < scratch.size() ? static_cast<size_t>(discard_) : scratch.size();
    const IoResult io = RecvBuffer(fd_.get(), scratch.data(), chunk, deadline);
    discard_ -= io.bytes;
    if (io.status != IoStatus::kOk) {
      timed_out = io.status == IoStatus::kTimeout;
      why = DescribeIo(io, "discarding an abandoned answer");
      return false;
    }
  }
  return true;
}

bool OutboundChannel::ReadResult(uint32_t request_id, ResultMessage &out, const Deadline &deadline, bool &timed_out,
                                 std::string &why) {
  timed_out = false;
  for (;;) {
    if (!Discard(deadline, timed_out, why)) {
      return false;
    }
    const FrameAssembler::State state = rx_.PumpUntil(fd_.get(), deadline, why);
    if (state == FrameAssembler::State::kIncomplete) {
      timed_out = true;
      why = "no answer from the peer before the deadline";
      return false;
    }
    if (state == FrameAssembler::State::kClosed) {
      why = "peer closed the connection";
      return false;
    }
    if (state != FrameAssembler::State::kComplete) {
      return false;
    }
    if (rx_.header().type != FrameType::kResult || unanswered_ == 0U) {
      why = "unexpected frame on the request connection";
      return false;
    }
    ResultMessage result;
    if (!DecodeResult(rx_.body().data(), rx_.body().size(), result, why)) {
      return false;
    }
    --unanswered_;
    if (rx_.header().request_id != request_id) {
      // The answer to a request given up earlier: skip its bytes.
      discard_ = result.payload_len;
      continue;
    }
    if (result.status != 0U) {
      // A refusal carries no bytes we want; a hostile peer's stray payload is skipped.
      discard_ = result.payload_len;
    }
    out = std::move(result);
    return true;
  }
}

bool OutboundChannel::ReadPayload(iovec *iov, size_t count, uint64_t len, const Deadline &deadline, bool &timed_out,
                                  std::string &why) {
  timed_out = false;
  const IoResult io = RecvFully(fd_.get(), iov, count, deadline);
  if (io.status != IoStatus::kOk) {
    discard_ = len - io.bytes;
    timed_out = io.status == IoStatus::kTimeout;
    why = DescribeIo(io, "receiving blocks");
    return false;
  }
  return true;
}

void OutboundChannel::Shutdown() { ::shutdown(fd_.get(), SHUT_RDWR); }

void InboundChannel::Shutdown() { ::shutdown(fd_.get(), SHUT_RDWR); }

ClusterLink::ClusterLink(PeerInfo peer, bool initiated_locally, std::unique_ptr<OutboundChannel> outbound,
                         std::shared_ptr<InboundChannel> inbound, std::set<int64_t> bound_local)
    : peer_(std::move(peer)),
      initiated_locally_(initiated_locally),
      outbound_(std::move(outbound)),
      inbound_(std::move(inbound)),
      bound_local_(std::move(bound_local)) {
  last_inbound_ms = SteadyNowMs();
  last_heartbeat_sent_ms = SteadyNowMs();
}

ClusterLink::~ClusterLink() = default;

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
  table_frame_.clear();
  const uint32_t request_id = outbound_->NextRequestId();
  EncodeEmpty(FrameType::kTable, request_id, table_frame_);
  const IoResult sent = outbound_->SendRequest(table_frame_, nullptr, 0, deadline, true);
  if (sent.status != IoStatus::kOk) {
    TransferOutcome outcome{sent.status == IoStatus::kTimeout ? Kind::kTimeout : Kind::kBroken, 0,
                            DescribeIo(sent, "requesting the cache table")};
    outcome.breaks_link = true;
    return outcome;
  }
  ResultMessage result;
  bool timed_out = false;
  std::string why;
  if (!outbound_->ReadResult(request_id, result, deadline, timed_out, why)) {
    return TransferOutcome{timed_out ? Kind::kTimeout : Kind::kBroken, 0, why};
  }
  if (result.status != 0U) {
    return TransferOutcome{Kind::kRejected, result.status, "peer refused its cache table: " + result.detail};
  }
  if (result.payload_len > kMaxBodyBytes) {
    return TransferOutcome{Kind::kBroken, 0, "peer announced a cache table above the cap"};
  }
  std::vector<uint8_t> body(static_cast<size_t>(result.payload_len));
  iovec iov{body.data(), body.size()};
  if (!body.empty() && !outbound_->ReadPayload(&iov, 1, body.size(), deadline, timed_out, why)) {
    return TransferOutcome{timed_out ? Kind::kTimeout : Kind::kBroken, 0, why};
  }
  std::vector<CacheTableEntry> table;
  if (!DecodeCacheTable(body.data(), body.size(), table, why)) {
    return TransferOutcome{Kind::kBroken, 0, "peer sent a malformed cache table: " + why};
  }
  std::lock_guard<std::mutex> lock(table_mutex_);
  for (CacheTableEntry &entry : table) {
    // A revoke may overtake the answer that still listed the cache.
    if (revoked_.count(entry.cache_id) == 0U) {
      const int64_t id = entry.cache_id;
      peer_table_.emplace(id, std::make_shared<const CacheTableEntry>(std::move(entry)));
    }
  }
  peer_table_fetched_ = true;
  return TransferOutcome{};
}

std::shared_ptr<const CacheTableEntry> ClusterLink::BeginTransfer(int64_t remote_cache_id) {
  std::lock_guard<std::mutex> lock(table_mutex_);
  const auto it = peer_table_.find(remote_cache_id);
  if (it == peer_table_.end()) {
    return nullptr;
  }
  transfer_active_ = true;
  return it->second;
}

void ClusterLink::EndTransfer() {
  std::vector<uint32_t> answers;
  {
    std::lock_guard<std::mutex> lock(table_mutex_);
    transfer_active_ = false;
    answers.swap(deferred_revoke_answers_);
  }
  if (!answers.empty()) {
    SendRevokeAnswers(answers);
  }
}

bool ClusterLink::RevokeRemoteCache(int64_t cache_id, uint32_t request_id) {
  std::lock_guard<std::mutex> lock(table_mutex_);
  peer_table_.erase(cache_id);
  revoked_.insert(cache_id);
  if (transfer_active_) {
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

void ClusterLink::SendRevokeAnswers(const std::vector<uint32_t> &request_ids) {
  std::vector<uint8_t> frames;
  for (const uint32_t id : request_ids) {
    EncodeResult(id, ResultMessage{}, frames);
  }
  std::lock_guard<std::mutex> lock(inbound_->write_mutex());
  const IoResult io = SendBuffer(inbound_->fd(), frames.data(), frames.size(), Deadline::AfterMs(1000));
  if (io.status != IoStatus::kOk) {
    MarkBroken(DescribeIo(io, "answering a revoke"));
  }
}

void ClusterLink::MarkBroken(const std::string &reason) {
  {
    std::lock_guard<std::mutex> lock(reason_mutex_);
    if (broken_reason_.empty()) {
      broken_reason_ = reason;
    }
  }
  broken_.store(true, std::memory_order_release);
  outbound_->Shutdown();
  inbound_->Shutdown();
}

bool ClusterLink::PeerHungUp() const {
  pollfd p{outbound_->fd(), POLLRDHUP, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

std::string ClusterLink::broken_reason() {
  std::lock_guard<std::mutex> lock(reason_mutex_);
  return broken_reason_;
}

void ClusterLink::MarkClosed() {
  closed_.store(true, std::memory_order_release);
  outbound_->Shutdown();
  inbound_->Shutdown();
}
}  // namespace dd::host
