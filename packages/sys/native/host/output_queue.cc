#include "output_queue.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

namespace dd::host {
namespace {
// The most bytes one sendmsg is handed. The kernel owns the socket for the whole of a sendmsg, and
// while it does, the sends TCP paces or that incoming ACKs release are deferred to its end; with the
// send buffer grown to a few MiB one call would copy a whole answer in and leave the wire idle for
// the copy (milliseconds per 4 MiB call, measured between network namespaces). A few hundred KiB
// per call lets TCP send between them and costs one syscall per ~0.2 ms of a 10 Gbit/s link.
constexpr size_t kMaxBytesPerSend = 256U << 10U;
}  // namespace

size_t OutputItem::size() const {
  size_t n = owned.size();
  for (const iovec &v : external) {
    n += v.iov_len;
  }
  return n;
}

void OutputQueue::Push(OutputItem item) {
  queued_ += item.size() - item.sent;
  items_.push_back(std::move(item));
}

void OutputQueue::PushControl(std::vector<uint8_t> frame) {
  OutputItem item;
  item.owned = std::move(frame);
  item.liveness = false;
  queued_ += item.owned.size();
  // Never inside an item that is partly on the wire.
  auto at = items_.begin();
  if (at != items_.end() && at->sent > 0U) {
    ++at;
  }
  while (at != items_.end() && !at->liveness && at->sent == 0U) {
    ++at;  // behind control frames already waiting, in order
  }
  items_.insert(at, std::move(item));
}

bool OutputQueue::control_waiting() const {
  for (const OutputItem &item : items_) {
    if (!item.liveness && item.sent == 0U) {
      return true;
    }
  }
  return false;
}

OutputQueue::Flushed OutputQueue::Flush(int fd) {
  Flushed result;
  while (!items_.empty()) {
    // Gather the unsent parts of as many items as one sendmsg takes, up to kMaxBytesPerSend.
    iov_.clear();
    size_t gathered = 0;
    const auto full = [&] { return iov_.size() >= static_cast<size_t>(IOV_MAX) || gathered >= kMaxBytesPerSend; };
    for (const OutputItem &item : items_) {
      size_t skip = item.sent;
      const auto add = [&](void *base, size_t len) {
        if (skip >= len) {
          skip -= len;
          return;
        }
        if (!full()) {
          const size_t take = std::min(len - skip, kMaxBytesPerSend - gathered);
          iov_.push_back(iovec{static_cast<char *>(base) + skip, take});
          gathered += take;
        }
        skip = 0;
      };
      add(const_cast<uint8_t *>(item.owned.data()), item.owned.size());
      for (const iovec &v : item.external) {
        add(v.iov_base, v.iov_len);
      }
      if (full()) {
        break;
      }
    }
    msghdr msg{};
    msg.msg_iov = iov_.data();
    msg.msg_iovlen = iov_.size();
    const ssize_t n = ::sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        return result;
      }
      result.error = errno;
      result.status = (errno == EPIPE || errno == ECONNRESET) ? IoStatus::kClosed : IoStatus::kError;
      return result;
    }
    size_t left = static_cast<size_t>(n);
    result.bytes += left;
    queued_ -= left;
    while (left > 0U && !items_.empty()) {
      OutputItem &head = items_.front();
      const size_t remaining = head.size() - head.sent;
      const size_t take = std::min(left, remaining);
      head.sent += take;
      left -= take;
      if (head.liveness) {
        result.liveness_bytes += take;
      }
      if (head.sent == head.size()) {
        items_.pop_front();
      }
    }
  }
  return result;
}

void OutputQueue::Detach(const void *owner, std::vector<uint32_t> &removed) {
  for (auto it = items_.begin(); it != items_.end();) {
    if (it->owner != owner) {
      ++it;
      continue;
    }
    if (it->sent == 0U) {
      queued_ -= it->size();
      removed.push_back(it->request_id);
      it = items_.erase(it);
      continue;
    }
    // Copy what is still to go of the caller's bytes; what was sent is dropped from both parts.
    const size_t owned_left = it->sent < it->owned.size() ? it->owned.size() - it->sent : 0U;
    std::vector<uint8_t> rest(it->owned.end() - static_cast<std::ptrdiff_t>(owned_left), it->owned.end());
    size_t skip = it->sent > it->owned.size() ? it->sent - it->owned.size() : 0U;
    for (const iovec &v : it->external) {
      if (skip >= v.iov_len) {
        skip -= v.iov_len;
        continue;
      }
      const auto *p = static_cast<const uint8_t *>(v.iov_base);
      rest.insert(rest.end(), p + skip, p + v.iov_len);
      skip = 0;
    }
    it->owned = std::move(rest);
    it->external.clear();
    it->sent = 0;
    it->owner = nullptr;
    it->keep.reset();
    ++it;
  }
}

void OutputQueue::Clear() {
  items_.clear();
  queued_ = 0;
}
}  // namespace dd::host
