// The link protocol on the wire: 16-byte frame headers and bounds-checked little-endian bodies.
// Every decoder treats its input as hostile: lengths are checked against what is left, counts
// against caps, and geometry is recomputed rather than believed.
#ifndef DD_HOST_WIRE_FORMAT_H_
#define DD_HOST_WIRE_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "cache_geometry.h"

namespace dd::host {
constexpr uint32_t kWireMagic = 0x564B4444U;  // "DDKV" little-endian
constexpr uint16_t kWireVersion = 2U;
constexpr size_t kFrameHeaderSize = 16U;
constexpr uint32_t kMaxBodyBytes = 16U << 20U;
// A block request carries at most this many segments and bytes; bigger transfers use several.
constexpr uint32_t kMaxSegmentsPerRequest = 65536U;
constexpr uint64_t kMaxBytesPerRequest = 256ULL << 20U;
constexpr size_t kChallengeBytes = 16U;
constexpr size_t kMaxDetailBytes = 1024U;
// A handshake carries at most this much of an engine's llm.LocalCommRes: one byte more than a
// link accepts (64 KiB, v2-rules A7), so an oversized value still reaches the check that refuses it.
constexpr size_t kMaxCommResWireBytes = 64U * 1024U + 1U;

enum class FrameType : uint16_t {
  kHello = 1,       // client → server: who I am, force_link, my llm.LocalCommRes
  kWelcome = 2,     // server → client: the server's verdict, who it is, its llm.LocalCommRes, the link token
  kBind = 3,        // client → server on the second connection: attach it to the link
  kResult = 4,      // answer to any request (status, payload length, detail)
  kRead = 5,        // block read request; the answer carries the bytes
  kWrite = 6,       // block write request followed by the bytes
  kHeartbeat = 7,   // liveness, no answer
  kTable = 8,       // cache table request (a link's first transfer); the answer carries the table
  kRevoke = 9,      // a cache of the sender is gone; answered once no transfer uses it
  kDisconnect = 10, // on a fresh connection to the listener: drop your link to this cluster id
};

struct FrameHeader {
  FrameType type = FrameType::kResult;
  uint32_t body_len = 0;
  uint32_t request_id = 0;
};

void EncodeHeader(const FrameHeader &header, uint8_t out[kFrameHeaderSize]);
// Checks magic, version, type and the body cap.
bool DecodeHeader(const uint8_t in[kFrameHeaderSize], FrameHeader &out, std::string &why);

// One registered cache as the peer sees it. `bound`: registered before the link was made, so the
// link may move its bytes (V2 binds memory to a link's comm only when the link is made, A23).
struct CacheTableEntry {
  int64_t cache_id = 0;
  CacheGeometry geometry;
  std::vector<uint64_t> addrs;
  bool bound = true;
};

struct HostIdentity {
  uint32_t pid = 0;
  std::string boot_id;
};

struct HelloMessage {
  uint64_t cluster_id = 0;
  int32_t role = 0;
  uint32_t sync_wait_ms = 0;
  uint32_t heartbeat_ms = 0;
  HostIdentity host;
  uint8_t challenge[kChallengeBytes] = {};
  uint32_t force_link = 0;  // 1: the client has no link under the id it asked for (A1)
  uint32_t hixl = 0;        // 1: the client runs the hixl transfer backend
  std::string comm_res;     // the client's llm.LocalCommRes (default backend)
};

struct WelcomeMessage {
  uint32_t status = 0;
  std::string detail;
  uint64_t cluster_id = 0;
  uint32_t sync_wait_ms = 0;
  uint32_t heartbeat_ms = 0;
  HostIdentity host;
  uint64_t probe_addr = 0;  // where the client's challenge can be read with process_vm_readv
  uint8_t challenge[kChallengeBytes] = {};
  uint64_t token = 0;
  std::string comm_res;  // the server's llm.LocalCommRes (default backend)
};

struct BindMessage {
  uint64_t token = 0;
  uint64_t probe_addr = 0;  // where the server's challenge can be read
};

struct ResultMessage {
  uint32_t status = 0;
  uint64_t payload_len = 0;
  std::string detail;
};

struct WireSegment {
  uint32_t tensor = 0;
  uint64_t offset = 0;
  uint64_t len = 0;
};

struct BlockRequest {
  int64_t cache_id = 0;
  uint64_t total_len = 0;
  std::vector<WireSegment> segments;
};

// Each Encode* appends a full frame (header + body) to `out`.
void EncodeHello(const HelloMessage &m, std::vector<uint8_t> &out);
void EncodeWelcome(const WelcomeMessage &m, std::vector<uint8_t> &out);
void EncodeBind(const BindMessage &m, std::vector<uint8_t> &out);
void EncodeResult(uint32_t request_id, const ResultMessage &m, std::vector<uint8_t> &out);
void EncodeRevoke(uint32_t request_id, int64_t cache_id, std::vector<uint8_t> &out);
void EncodeDisconnect(uint64_t cluster_id, std::vector<uint8_t> &out);
// A cache table as the payload of the answer to a kTable request (no frame header).
void EncodeCacheTable(const std::vector<CacheTableEntry> &table, std::vector<uint8_t> &out);
void EncodeEmpty(FrameType type, uint32_t request_id, std::vector<uint8_t> &out);
// Header and body of a block request whose segments are produced by `segment(i)`.
template <typename SegmentAt>
void EncodeBlockRequest(FrameType type, uint32_t request_id, int64_t cache_id, uint64_t total_len, size_t count,
                        SegmentAt segment, std::vector<uint8_t> &out);

// Each Decode* parses a body; false (with `why`) on any malformed byte.
bool DecodeHello(const uint8_t *body, size_t len, HelloMessage &out, std::string &why);
bool DecodeWelcome(const uint8_t *body, size_t len, WelcomeMessage &out, std::string &why);
bool DecodeBind(const uint8_t *body, size_t len, BindMessage &out, std::string &why);
bool DecodeResult(const uint8_t *body, size_t len, ResultMessage &out, std::string &why);
bool DecodeRevoke(const uint8_t *body, size_t len, int64_t &cache_id, std::string &why);
bool DecodeDisconnect(const uint8_t *body, size_t len, uint64_t &cluster_id, std::string &why);
// Checks counts and ids, and recomputes every entry's sizes from its shape.
bool DecodeCacheTable(const uint8_t *body, size_t len, std::vector<CacheTableEntry> &table, std::string &why);
// Checks the count cap and that total_len is the overflow-free sum of the segment lengths.
bool DecodeBlockRequest(const uint8_t *body, size_t len, BlockRequest &out, std::string &why);

// Little-endian body writer.
class WireWriter {
 public:
  explicit WireWriter(std::vector<uint8_t> &out) : out_(out) {}
  void U8(uint8_t v) { out_.push_back(v); }
  void U16(uint16_t v) { Raw(v, 2); }
  void U32(uint32_t v) { Raw(v, 4); }
  void U64(uint64_t v) { Raw(v, 8); }
  void I32(int32_t v) { U32(static_cast<uint32_t>(v)); }
  void I64(int64_t v) { U64(static_cast<uint64_t>(v)); }
  void Bytes(const uint8_t *p, size_t n) { out_.insert(out_.end(), p, p + n); }
  void String(const std::string &s);  // u16 length + bytes (truncated to kMaxDetailBytes)
  void Text(const std::string &s);    // u32 length + bytes (truncated to kMaxCommResWireBytes)

 private:
  void Raw(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) {
      out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
    }
  }
  std::vector<uint8_t> &out_;
};

// Appends a frame header with a placeholder length and returns the body start; FinishFrame
// fills the length in.
size_t BeginFrame(FrameType type, uint32_t request_id, std::vector<uint8_t> &out);
void FinishFrame(size_t body_start, std::vector<uint8_t> &out);

template <typename SegmentAt>
void EncodeBlockRequest(FrameType type, uint32_t request_id, int64_t cache_id, uint64_t total_len, size_t count,
                        SegmentAt segment, std::vector<uint8_t> &out) {
  const size_t body = BeginFrame(type, request_id, out);
  WireWriter w(out);
  w.I64(cache_id);
  w.U32(static_cast<uint32_t>(count));
  w.U64(total_len);
  for (size_t i = 0; i < count; ++i) {
    const WireSegment s = segment(i);
    w.U32(s.tensor);
    w.U64(s.offset);
    w.U64(s.len);
  }
  FinishFrame(body, out);
}
}  // namespace dd::host

#endif  // DD_HOST_WIRE_FORMAT_H_
