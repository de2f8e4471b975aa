#include "link_transport.h"

#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>

namespace dd::host {
namespace {
// Work one stream may do per wake-up before the reactor turns to others.
constexpr int kFramesPerWakeup = 64;
constexpr size_t kBytesPerWakeup = 2U << 20U;
}  // namespace

class LinkTransport::StreamHandler final : public IoHandler {
 public:
  StreamHandler(LinkTransport &transport, LinkStream &stream) : transport_(transport), stream_(stream) {}
  void OnIo(uint32_t events) override { transport_.OnIo(stream_, events); }

 private:
  LinkTransport &transport_;
  LinkStream &stream_;
};

LinkTransport::LinkTransport(Reactor &reactor, EngineState &state, std::shared_ptr<ClusterLink> link,
                             std::vector<UniqueFd> ours, std::vector<UniqueFd> theirs, LinkLimits limits)
    : reactor_(reactor),
      state_(state),
      link_(std::move(link)),
      limits_(limits),
      pipeline_(limits.window_bytes,
                [&] {
                  for (size_t i = 0; i < ours.size(); ++i) {
                    streams_.push_back(std::make_unique<LinkStream>(std::move(ours[i]), true, i));
                    ours_.push_back(streams_.back().get());
                  }
                  return ours_;
                }()),
      server_(state, *link_) {
  for (size_t i = 0; i < theirs.size(); ++i) {
    streams_.push_back(std::make_unique<LinkStream>(std::move(theirs[i]), false, i));
  }
  for (const auto &stream : streams_) {
    all_.push_back(stream.get());
  }
}

LinkTransport::~LinkTransport() = default;

std::string LinkTransport::Peer() const { return "cluster " + std::to_string(link_->peer().cluster_id); }

void LinkTransport::Open(std::function<void(LinkTransport *)> on_closed) {
  on_closed_ = std::move(on_closed);
  open_ = true;
  const int64_t now = SteadyNowMs();
  last_from_peer_ms_ = now;
  last_heartbeat_ms_ = now;
  for (LinkStream *stream : all_) {
    handlers_.push_back(std::make_unique<StreamHandler>(*this, *stream));
    stream->last_io_ms = now;
    stream->watched = EPOLLIN | EPOLLRDHUP;
    reactor_.Watch(stream->fd.get(), stream->watched, handlers_.back().get());
  }
  if (link_->broken() || link_->closed()) {
    Close();
  }
}

bool LinkTransport::Reading(const LinkStream &stream) const {
  // Back-pressure: a peer that does not read our answers stops being read.
  return stream.ours || stream.out.queued_bytes() < limits_.window_bytes;
}

void LinkTransport::UpdateInterest(LinkStream &stream) {
  if (!open_) {
    return;
  }
  const uint32_t want = EPOLLRDHUP | (Reading(stream) ? EPOLLIN : 0U) | (stream.out.empty() ? 0U : EPOLLOUT);
  if (want != stream.watched) {
    stream.watched = want;
    reactor_.Modify(stream.fd.get(), want);
  }
}

void LinkTransport::Moved(LinkStream &stream, size_t bytes, bool from_peer) {
  if (bytes == 0U) {
    return;
  }
  const int64_t now = SteadyNowMs();
  stream.last_io_ms = now;
  if (from_peer) {
    last_from_peer_ms_ = now;
  }
}

void LinkTransport::OnIo(LinkStream &stream, uint32_t events) {
  if (!open_) {
    return;
  }
  // Closing hands the transport back to its owner, which may drop it: stay alive until done.
  const std::shared_ptr<LinkTransport> self = shared_from_this();
  const bool hung_up = (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0U;
  if ((events & EPOLLIN) != 0U || hung_up) {
    ReadStream(stream, hung_up);
  }
  if (open_ && (events & EPOLLOUT) != 0U) {
    Flush(stream);
  }
  if (open_) {
    UpdateInterest(stream);
  }
}

void LinkTransport::ReadStream(LinkStream &stream, bool hung_up) {
  const uint64_t before = stream.rx.bytes_read();
  size_t payload_bytes = 0;
  std::string why;
  bool answered = false;  // a requester stream freed window room
  for (int frames = 0; frames < kFramesPerWakeup && payload_bytes < kBytesPerWakeup && open_;) {
    if (!Reading(stream)) {
      if (hung_up) {
        // Our protocol never half-closes: a peer that hung up is gone, whatever it left unread.
        Break(Peer() + " closed the connection");
      }
      break;
    }
    if (stream.payload.active()) {
      size_t got = 0;
      const IoResult io = stream.payload.Read(stream.fd.get(), got);
      payload_bytes += got;
      Moved(stream, got, true);
      if (io.status != IoStatus::kOk) {
        Break(Peer() + ": " + (io.status == IoStatus::kClosed ? std::string("the peer closed the connection")
                                                               : DescribeIo(io, "recv")));
        return;
      }
      if (stream.payload.active()) {
        break;  // nothing more now
      }
      if (stream.ours) {
        pipeline_.PayloadDone(stream);
        answered = true;
      } else {
        server_.PayloadDone(stream);
      }
      continue;
    }
    const FrameAssembler::State st = stream.rx.Pump(stream.fd.get(), why);
    Moved(stream, static_cast<size_t>(stream.rx.bytes_read() - before), true);
    if (st == FrameAssembler::State::kIncomplete) {
      break;
    }
    if (st == FrameAssembler::State::kClosed) {
      Break(Peer() + " closed the connection");
      return;
    }
    if (st != FrameAssembler::State::kComplete) {
      Break(Peer() + " broke the protocol: " + why, true);
      return;
    }
    ++frames;
    bool ok = true;
    if (stream.ours) {
      const FrameHeader &header = stream.rx.header();
      if (header.type == FrameType::kHeartbeat) {
        ok = stream.rx.body().empty();
        why = "a heartbeat with a body";
      } else if (header.type != FrameType::kResult) {
        ok = false;
        why = "a frame other than an answer on a connection that carries our requests";
      } else {
        ResultMessage result;
        ok = DecodeResult(stream.rx.body().data(), stream.rx.body().size(), result, why) &&
             pipeline_.OnResult(stream, header.request_id, result, why);
        answered = true;
      }
    } else {
      ok = server_.OnFrame(stream, why);
    }
    if (!ok) {
      Break(Peer() + " broke the protocol: " + why, true);
      return;
    }
  }
  if (!open_) {
    return;
  }
  if (answered && pipeline_.Pump()) {
    FlushAll();
  }
  if (!stream.ours && !stream.out.empty()) {
    Flush(stream);
  }
}

void LinkTransport::Flush(LinkStream &stream) {
  const OutputQueue::Flushed flushed = stream.out.Flush(stream.fd.get());
  Moved(stream, flushed.bytes, false);
  if (flushed.status != IoStatus::kOk) {
    Break(Peer() + ": " + DescribeIo(IoResult{flushed.status, flushed.error, 0}, "send"));
  }
}

void LinkTransport::FlushAll() {
  for (LinkStream *stream : all_) {
    if (!open_) {
      return;
    }
    if (!stream->out.empty()) {
      Flush(*stream);
      UpdateInterest(*stream);
    }
  }
}

void LinkTransport::Tick(int64_t now) {
  if (!open_) {
    return;
  }
  const int64_t silent = now - last_from_peer_ms_;
  if (silent > limits_.dead_after_ms) {
    Break("no byte from " + Peer() + " for " + std::to_string(silent) + " ms");
    return;
  }
  for (LinkStream *stream : all_) {
    if (stream->ours) {
      continue;
    }
    // A peer that does not read its answers, or does not send the bytes it announced, costs
    // nobody else anything; after the serving deadline it is cut.
    const bool waiting = !stream->out.empty() || stream->payload.active() || stream->rx.mid_frame();
    const int64_t stalled = now - stream->last_io_ms;
    if (waiting && stalled > limits_.serve_ms) {
      Break(Peer() + " neither read its answers nor sent its bytes for " + std::to_string(stalled) + " ms", true);
      return;
    }
  }
  if (now - last_heartbeat_ms_ >= limits_.heartbeat_ms) {
    last_heartbeat_ms_ = now;
    // Heartbeats go with our answers: the peer always reads those.
    for (LinkStream *stream : all_) {
      if (!stream->ours) {
        if (stream->out.control_waiting()) {
          break;  // the last one has not gone out yet
        }
        std::vector<uint8_t> frame;
        EncodeEmpty(FrameType::kHeartbeat, 0, frame);
        stream->out.PushControl(std::move(frame));
        Flush(*stream);
        if (open_) {
          UpdateInterest(*stream);
        }
        break;
      }
    }
  }
}

void LinkTransport::Break(const std::string &reason, bool abortive) {
  link_->RecordBroken(reason);
  abort_ = abortive;
  Close();
}

void LinkTransport::Close() {
  if (!open_) {
    return;
  }
  open_ = false;
  const std::string reason = link_->broken_reason();
  pipeline_.FailAll(TransferOutcome{TransferOutcome::Kind::kBroken, 0,
                                    reason.empty() ? std::string("the link was unlinked") : reason});
  for (LinkStream *stream : all_) {
    reactor_.Unwatch(stream->fd.get());
    if (abort_) {
      const linger reset{1, 0};
      ::setsockopt(stream->fd.get(), SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
    }
    stream->out.Clear();
    stream->payload_keep.reset();
    stream->fd.reset();
  }
  link_->ReleaseResources();
  if (on_closed_) {
    const auto on_closed = std::move(on_closed_);
    on_closed_ = nullptr;
    on_closed(this);
  }
}

bool LinkTransport::Submit(std::shared_ptr<TransferCall> call) {
  const std::shared_ptr<LinkTransport> self = shared_from_this();
  return reactor_.Post([self, call = std::move(call)]() mutable {
    if (!self->open_) {
      const std::string reason = self->link_->broken_reason();
      call->Finish(TransferOutcome{TransferOutcome::Kind::kBroken, 0,
                                   reason.empty() ? std::string("the link was unlinked") : reason});
      return;
    }
    self->pipeline_.Add(std::move(call));
    if (self->pipeline_.Pump()) {
      self->FlushAll();
    }
  });
}

void LinkTransport::Abandon(const std::shared_ptr<TransferCall> &call, TransferOutcome outcome) {
  const std::shared_ptr<LinkTransport> self = shared_from_this();
  // When the reactor no longer takes tasks, its last one finishes every call still submitted.
  reactor_.Post([self, call, outcome = std::move(outcome)]() mutable {
    if (self->open_) {
      self->pipeline_.Abandon(call, std::move(outcome));
      // Detached items may have emptied a queue.
      for (LinkStream *stream : self->ours_) {
        self->UpdateInterest(*stream);
      }
      if (self->pipeline_.Pump()) {
        self->FlushAll();
      }
    } else {
      call->Finish(std::move(outcome));
    }
  });
}

void LinkTransport::PostRevokeAnswers(std::vector<uint32_t> request_ids) {
  const std::shared_ptr<LinkTransport> self = shared_from_this();
  reactor_.Post([self, ids = std::move(request_ids)] {
    if (self->open_) {
      self->server_.AnswerDeferredRevokes(ids, self->all_);
      self->FlushAll();
    }
  });
}

void LinkTransport::PostClose() {
  const std::shared_ptr<LinkTransport> self = shared_from_this();
  reactor_.Post([self] { self->Close(); });
}
}  // namespace dd::host
