// One API call's requests on a link (a transfer cut into pieces, a cache-table fetch, a revoke),
// shared between the caller's thread, which builds it and waits, and the reactor, which sends the
// pieces and reads their answers. The reactor touches the caller's memory only until the call is
// finished: every piece answered, one failed, or the caller gave up and the reactor took note
// (Abandon); after that the caller may return.
#ifndef DD_HOST_TRANSFER_CALL_H_
#define DD_HOST_TRANSFER_CALL_H_

#include <sys/uio.h>

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <vector>

#include "data_path.h"
#include "deadline.h"

namespace dd::host {
// One request of a call.
struct RequestPiece {
  std::vector<uint8_t> frame;   // the encoded request; its id is filled in when it is sent
  std::vector<iovec> send;      // bytes that follow the frame (a push), in the caller's memory
  std::vector<iovec> receive;   // where the answer's bytes go (a pull), in the caller's memory
  bool receive_owned = false;   // the answer's bytes go to `payload` instead (a table)
  uint64_t max_owned = 0;       // the most bytes `payload` may take
  std::vector<uint8_t> payload;
  uint64_t window_bytes = 0;    // what the piece counts against the link's window
  uint64_t expected_payload() const;
};

class TransferCall {
 public:
  explicit TransferCall(std::vector<RequestPiece> pieces) : pieces_(std::move(pieces)) {}
  TransferCall(const TransferCall &) = delete;
  TransferCall &operator=(const TransferCall &) = delete;

  // Reactor side.
  std::vector<RequestPiece> &pieces() { return pieces_; }
  // One piece was answered successfully; the last one finishes the call.
  void PieceDone();
  // Finishes the call with `outcome` (the first failure wins); the reactor has let go of it.
  void Finish(TransferOutcome outcome);
  bool finished() const;

  // Caller side: waits until finished or `deadline`; true when finished.
  bool WaitUntil(const Deadline &deadline);
  // Waits until finished, at most `ms` (for the reactor's answer to an Abandon).
  bool WaitFinishedFor(int64_t ms);
  TransferOutcome outcome() const;

 private:
  std::vector<RequestPiece> pieces_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  size_t done_ = 0;
  bool finished_ = false;
  TransferOutcome outcome_;
};
}  // namespace dd::host

#endif  // DD_HOST_TRANSFER_CALL_H_
