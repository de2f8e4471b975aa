// The raw TCP baseline of the cross-host tier: bare request/answer reads of blocks of the same region
// the engine serves, over one persistent connection with TCP_NODELAY — what a hand-written transport
// pays for the same bytes on the same wire, with no protocol of its own.
#ifndef DD_HOSTS_RAW_BLOCK_LINK_H_
#define DD_HOSTS_RAW_BLOCK_LINK_H_

#include <cstdint>
#include <string>
#include <vector>

namespace ddhosts {
// Request on the wire: byte offset and length (little-endian host order; both ends are this program).
struct RawBlockRequest {
  uint64_t offset;
  uint64_t length;
};

// Serves `region` on `ip:port` from a background thread, one thread per connection, for the life
// of the process. Returns false (with `why`) when it cannot listen.
bool StartRawBlockServer(const std::string &ip, uint16_t port, const uint8_t *region, uint64_t region_bytes,
                         std::string &why);

class RawBlockClient {
 public:
  RawBlockClient() = default;
  ~RawBlockClient();
  RawBlockClient(const RawBlockClient &) = delete;
  RawBlockClient &operator=(const RawBlockClient &) = delete;

  bool Connect(const std::string &ip, uint16_t port, std::string &why);
  // Blocks of `block_bytes`: all requests are written back to back first (one send), then every
  // answer is read into its destination in order — a request/answer transport with the whole batch
  // in flight.
  bool ReadBlocks(const std::vector<uint64_t> &src_blocks, const std::vector<uint8_t *> &destinations,
                  uint64_t block_bytes, std::string &why);

 private:
  int fd_ = -1;
};
}  // namespace ddhosts

#endif  // DD_HOSTS_RAW_BLOCK_LINK_H_
