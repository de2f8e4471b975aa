// TCP data path: a transfer's segments are cut into pieces of at most dd.PieceBytes (and
// kMaxSegmentsPerRequest segments), each one block request, and handed to the link's transport,
// which keeps up to dd.LinkWindowBytes of them in flight. A pull piece is a READ frame whose answer
// carries the bytes, received straight into the destination blocks; a push piece is a WRITE frame
// followed by the bytes. The serving side checks every piece against its registered caches
// before touching memory.
#ifndef DD_HOST_TCP_DATA_PATH_H_
#define DD_HOST_TCP_DATA_PATH_H_

#include <cstdint>

#include "cluster_link.h"
#include "data_path.h"

namespace dd::host {
class TcpDataPath final : public DataPath {
 public:
  TcpDataPath(ClusterLink &link, uint64_t piece_bytes) : link_(link), piece_bytes_(piece_bytes) {}
  const char *Name() const override { return "tcp"; }
  TransferOutcome Run(const TransferJob &job) override;

 private:
  ClusterLink &link_;
  const uint64_t piece_bytes_;
};
}  // namespace dd::host

#endif  // DD_HOST_TCP_DATA_PATH_H_
