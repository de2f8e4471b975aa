// The boundary between the link logic and the ways bytes move. A data path moves a list of
// segments between local memory and one registered cache of the peer; another transport (RDMA,
// UCX, a GPU copy engine) plugs in here.
#ifndef DD_HOST_DATA_PATH_H_
#define DD_HOST_DATA_PATH_H_

#include <cstdint>
#include <string>
#include <vector>

#include "deadline.h"
#include "ge/ge_error_codes.h"

namespace dd::host {
struct TransferSegment {
  uint32_t remote_tensor = 0;
  uint64_t remote_offset = 0;  // within the remote tensor, already checked against its size
  uint64_t remote_addr = 0;    // remote tensor address + offset (for paths that address memory)
  uint64_t local_addr = 0;
  uint64_t len = 0;
};

enum class TransferDirection { kPull, kPush };

class PeerCacheMappings;

struct TransferJob {
  TransferDirection direction = TransferDirection::kPull;
  int64_t remote_cache_id = 0;
  const std::vector<TransferSegment> *segments = nullptr;
  Deadline deadline = Deadline::AfterMs(0);
  // The remote cache's memory files as this side maps them (null: it has none).
  PeerCacheMappings *remote_mappings = nullptr;
};

struct TransferOutcome {
  enum class Kind {
    kDone,
    kRejected,     // the peer refused (status says why); the link is fine
    kTimeout,      // the deadline passed; the link may still be fine
    kBroken,       // the peer is gone or broke the protocol
    kUnsupported,  // this path cannot reach the peer (EPERM); another path may
  };
  Kind kind = Kind::kDone;
  ge::Status status = 0;
  std::string detail;
  // A timeout that left a stream half-written: the link cannot carry another request.
  bool breaks_link = false;
};

class DataPath {
 public:
  virtual ~DataPath() = default;
  virtual const char *Name() const = 0;
  virtual TransferOutcome Run(const TransferJob &job) = 0;
};
}  // namespace dd::host

#endif  // DD_HOST_DATA_PATH_H_
