// What one connection still has to send: frames this queue owns, each optionally followed by bytes
// in memory it does not own (registered cache memory, kept valid by a lease the item holds, or a
// caller's memory during a push). Flush writes as much as the socket takes now, gathering several
// items into one sendmsg; it never blocks. Control frames (heartbeats) go in front of every item
// that has not started, so they wait for at most the item being written.
#ifndef DD_HOST_OUTPUT_QUEUE_H_
#define DD_HOST_OUTPUT_QUEUE_H_

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "socket_io.h"

namespace dd::host {
struct OutputItem {
  std::vector<uint8_t> owned;
  std::vector<iovec> external;   // sent after `owned`
  std::shared_ptr<void> keep;    // keeps `external` valid until the item is sent or dropped
  const void *owner = nullptr;   // the call the item belongs to, if any
  uint32_t request_id = 0;       // the request it carries, if any
  bool liveness = true;          // whether writing it shows the peer reads (heartbeats do not)
  size_t sent = 0;               // bytes of the item already written

  size_t size() const;
};

class OutputQueue {
 public:
  void Push(OutputItem item);
  // A control frame, written before every item that has not started.
  void PushControl(std::vector<uint8_t> frame);

  struct Flushed {
    IoStatus status = IoStatus::kOk;
    int error = 0;
    size_t bytes = 0;           // written by this call
    size_t liveness_bytes = 0;  // of them, bytes of items that show the peer reads
  };
  // Writes what the socket accepts now (non-blocking).
  Flushed Flush(int fd);

  // The items of `owner` that have not started are removed (their request ids are appended to
  // `removed`); one that has started gets the rest of its external bytes copied, so the stream
  // stays in step without touching the owner's memory again.
  void Detach(const void *owner, std::vector<uint32_t> &removed);

  bool empty() const { return items_.empty(); }
  // Whether a control frame is waiting that has not started.
  bool control_waiting() const;
  // Bytes still to send.
  uint64_t queued_bytes() const { return queued_; }
  // Drops everything (the connection is going away).
  void Clear();

 private:
  std::deque<OutputItem> items_;
  uint64_t queued_ = 0;
  std::vector<iovec> iov_;  // scratch for Flush
};
}  // namespace dd::host

#endif  // DD_HOST_OUTPUT_QUEUE_H_
