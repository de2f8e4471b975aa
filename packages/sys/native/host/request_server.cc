#include "request_server.h"

#include <set>

#include "cache_geometry.h"
#include "error_detail.h"
#include "link_handshake.h"

namespace dd::host {
using namespace llm_datadist;

void RequestServer::Answer(LinkStream &stream, uint32_t request_id, const ResultMessage &result) {
  OutputItem item;
  EncodeResult(request_id, result, item.owned);
  stream.out.Push(std::move(item));
}

bool RequestServer::OnFrame(LinkStream &stream, std::string &why) {
  const FrameHeader &header = stream.rx.header();
  const std::vector<uint8_t> &body = stream.rx.body();
  switch (header.type) {
    case FrameType::kHeartbeat:
      if (!body.empty()) {
        why = "a heartbeat with a body";
        return false;
      }
      return true;
    case FrameType::kRead:
    case FrameType::kWrite:
      return OnBlocks(stream, header.type == FrameType::kWrite, why);
    case FrameType::kRevoke: {
      int64_t cache_id = 0;
      if (!DecodeRevoke(body.data(), body.size(), cache_id, why)) {
        return false;
      }
      if (link_.RevokeRemoteCache(cache_id, header.request_id)) {
        Answer(stream, header.request_id, ResultMessage{});
      } else {
        revokes_[header.request_id] = stream.index;
      }
      return true;
    }
    case FrameType::kTable: {
      if (!body.empty()) {
        why = "a table request with a body";
        return false;
      }
      std::vector<CacheTableEntry> table;
      std::set<int64_t> ids;
      {
        std::lock_guard<std::mutex> sharing(state_.sharing_mutex);
        SnapshotCacheTable(state_.registry, link_, table, ids);
        link_.ShareWithPeer(std::move(ids));
      }
      std::vector<uint8_t> payload;
      EncodeCacheTable(table, payload);
      OutputItem item;
      EncodeResult(header.request_id, ResultMessage{0U, payload.size(), std::string()}, item.owned);
      item.owned.insert(item.owned.end(), payload.begin(), payload.end());
      stream.out.Push(std::move(item));
      return true;
    }
    default:
      why = "a frame of a kind the peer may not send on a link";
      return false;
  }
}

bool RequestServer::OnBlocks(LinkStream &stream, bool write, std::string &why) {
  const uint32_t request_id = stream.rx.header().request_id;
  if (!DecodeBlockRequest(stream.rx.body().data(), stream.rx.body().size(), request_, why)) {
    return false;
  }
  // Every segment is checked against what this link may address before any byte is touched.
  ResultMessage refusal;
  LocalCacheRegistry::Lease lease;
  if (!link_.SharedWithPeer(request_.cache_id)) {
    refusal.status = LLM_KV_CACHE_NOT_EXIST;
    refusal.detail = "cache " + std::to_string(request_.cache_id) + " is not in the table this link fetched";
  } else if (!(lease = state_.registry.Acquire(request_.cache_id))) {
    // D6: the live registry decides, whatever the peer's table says.
    refusal.status = LLM_KV_CACHE_NOT_EXIST;
    refusal.detail = "cache " + std::to_string(request_.cache_id) + " is no longer registered";
  } else if (!link_.BoundLocally(request_.cache_id)) {
    // A23: memory registered after the link was made is not bound to it.
    refusal.status = LLM_FAILED;
    refusal.detail = "cache " + std::to_string(request_.cache_id) +
                     " was registered after the link was made, so the link cannot reach its memory";
  } else {
    const LocalCache &cache = *lease.get();
    for (const WireSegment &segment : request_.segments) {
      if (segment.tensor >= cache.geometry.num_tensors ||
          !RangeWithin(segment.offset, segment.len, cache.geometry.tensor_bytes)) {
        refusal.status = LLM_PARAM_INVALID;
        refusal.detail = "segment (tensor " + std::to_string(segment.tensor) + ", offset " +
                         std::to_string(segment.offset) + ", length " + std::to_string(segment.len) +
                         ") is outside cache " + std::to_string(cache.id);
        break;
      }
    }
  }
  if (refusal.status != LLM_SUCCESS) {
    if (!write) {
      Answer(stream, request_id, refusal);
      return true;
    }
    // Skip the bytes that were meant for the refused segments, keeping the stream in step.
    stream.payload.Discard(request_.total_len);
    stream.payload_answer = request_id;
    stream.payload_status = refusal.status;
    stream.payload_detail = std::move(refusal.detail);
    if (!stream.payload.active()) {
      PayloadDone(stream);
    }
    return true;
  }
  const LocalCache &cache = *lease.get();
  std::vector<iovec> memory;
  memory.reserve(request_.segments.size());
  for (const WireSegment &segment : request_.segments) {
    const uint64_t addr = cache.addrs[segment.tensor] + segment.offset;
    memory.push_back(iovec{reinterpret_cast<void *>(static_cast<uintptr_t>(addr)), static_cast<size_t>(segment.len)});
  }
  // The cache stays registered (UnregisterKvCache waits, D7) until its bytes are sent or received.
  auto keep = std::make_shared<LocalCacheRegistry::Lease>(std::move(lease));
  if (!write) {
    OutputItem item;
    EncodeResult(request_id, ResultMessage{0U, request_.total_len, std::string()}, item.owned);
    item.external = std::move(memory);
    item.keep = std::move(keep);
    stream.out.Push(std::move(item));
    return true;
  }
  stream.payload.Into(std::move(memory), request_.total_len);
  stream.payload_keep = std::move(keep);
  stream.payload_answer = request_id;
  stream.payload_status = 0;
  stream.payload_detail.clear();
  return true;
}

void RequestServer::PayloadDone(LinkStream &stream) {
  stream.payload_keep.reset();
  ResultMessage result;
  result.status = stream.payload_status;
  result.detail = std::move(stream.payload_detail);
  Answer(stream, stream.payload_answer, result);
  stream.payload_detail.clear();
}

void RequestServer::AnswerDeferredRevokes(const std::vector<uint32_t> &request_ids,
                                          const std::vector<LinkStream *> &streams) {
  for (const uint32_t id : request_ids) {
    const auto it = revokes_.find(id);
    if (it == revokes_.end()) {
      continue;
    }
    for (LinkStream *stream : streams) {
      if (!stream->ours && stream->index == it->second) {
        Answer(*stream, id, ResultMessage{});
      }
    }
    revokes_.erase(it);
  }
}
}  // namespace dd::host
