// TCP data path: batched block requests on the link's request connection. A pull sends one READ
// frame listing (tensor, offset, len) segments and receives the bytes straight into the
// destination blocks; a push sends a WRITE frame followed by the bytes. The serving side checks
// every segment against its registered caches before touching memory.
#ifndef DD_HOST_TCP_DATA_PATH_H_
#define DD_HOST_TCP_DATA_PATH_H_

#include <sys/uio.h>

#include <vector>

#include "cluster_link.h"
#include "data_path.h"

namespace dd::host {
class TcpDataPath final : public DataPath {
 public:
  explicit TcpDataPath(OutboundChannel &channel) : channel_(channel) {}
  const char *Name() const override { return "tcp"; }
  TransferOutcome Run(const TransferJob &job) override;

 private:
  // Cuts the next request (≤ kMaxSegmentsPerRequest segments, ≤ kMaxBytesPerRequest bytes) out
  // of the job, splitting a segment that is bigger than one request may carry.
  void NextRequest(const std::vector<TransferSegment> &segments, size_t &index, uint64_t &offset);
  TransferOutcome RunRequest(const TransferJob &job);

  OutboundChannel &channel_;
  // Reused between transfers so steady-state transfers allocate nothing.
  std::vector<TransferSegment> pieces_;
  std::vector<iovec> iov_;
  std::vector<uint8_t> frame_;
};
}  // namespace dd::host

#endif  // DD_HOST_TCP_DATA_PATH_H_
