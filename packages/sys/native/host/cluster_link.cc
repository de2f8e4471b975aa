#include "cluster_link.h"

#include <sys/socket.h>

#include <array>

#include "data_path.h"

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
                         std::shared_ptr<InboundChannel> inbound, std::vector<CacheTableEntry> peer_table,
                         std::set<int64_t> shared_with_peer)
    : peer_(std::move(peer)),
      initiated_locally_(initiated_locally),
      outbound_(std::move(outbound)),
      inbound_(std::move(inbound)),
      shared_with_peer_(std::move(shared_with_peer)) {
  for (CacheTableEntry &entry : peer_table) {
    const int64_t id = entry.cache_id;
    peer_table_.emplace(id, std::make_shared<const CacheTableEntry>(std::move(entry)));
  }
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
  if (transfer_active_) {
    deferred_revoke_answers_.push_back(request_id);
    return false;
  }
  return true;
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
