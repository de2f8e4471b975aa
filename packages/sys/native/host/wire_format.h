// The link protocol on the wire: 16-byte frame headers and bounds-checked little-endian bodies.
// Every decoder treats its input as hostile: lengths are checked against what is left, counts
// against caps, and geometry is recomputed rather than believed.
#ifndef DD_HOST_WIRE_FORMAT_H_
#define DD_HOST_WIRE_FORMAT_H_

#include <cstddef>
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <memory>

#include "cache_geometry.h"
#include "memory_file_span.h"

namespace dd::host {
constexpr uint32_t kWireMagic = 0x564B4444U;  // "DDKV" little-endian
constexpr uint16_t kWireVersion = 4U;  // 4: the cache table names each tensor's memory file
constexpr size_t kFrameHeaderSize = 16U;
// No frame body is larger (a block request of kMaxSegmentsPerRequest segments is ~1.3 MB); bulk
// bytes travel as payloads after a frame, never inside one.
constexpr uint32_t kMaxBodyBytes = 2U << 20U;
// A cache table answer carries at most this much (V2's table is at most 1 MiB, A6).
constexpr uint64_t kMaxTablePayloadBytes = 16U << 20U;
// A block request carries at most this many segments and bytes; bigger transfers use several.
constexpr uint32_t kMaxSegmentsPerRequest = 65536U;
constexpr uint64_t kMaxBytesPerRequest = 256ULL << 20U;
constexpr size_t kNonceWireBytes = 32U;
constexpr size_t kProofWireBytes = 32U;
constexpr size_t kMaxDetailBytes = 1024U;
// A handshake carries at most this much of an engine's llm.LocalCommRes: one byte more than a
// link accepts (64 KiB, v2-rules A7), so an oversized value still reaches the check that refuses it.
constexpr size_t kMaxCommResWireBytes = 64U * 1024U + 1U;

enum class FrameType : uint16_t {
  // Handshake (docs/design/link-transport.md §5). A refusal at any step is a kResult frame.
  kHello = 1,      // client → server: purpose, cluster id, nonce, whether it holds a secret
  kChallenge = 2,  // server → client: its cluster id, nonce, whether it holds a secret, its proof
  kProof = 3,      // client → server: its proof and V2's connect contents (timeouts, force_link, LocalCommRes)
  kWelcome = 4,    // server → client: the verdict, who it is, its LocalCommRes, the bind token
  kBind = 5,       // client → server on a further connection: attach it to the link as one of its streams
  // Link traffic.
  kResult = 6,     // answer to any request (status, payload length, detail)
  kRead = 7,       // block read request; the answer carries the bytes
  kWrite = 8,      // block write request followed by the bytes
  kHeartbeat = 9,  // liveness, no answer
  kTable = 10,     // cache table request (a link's first transfer); the answer carries the table
  kRevoke = 11,    // a cache of the sender is gone; answered once no transfer uses it
  kCommit = 12,    // server → client on every bound connection: the link is filed (its generation)
};

struct FrameHeader {
  FrameType type = FrameType::kResult;
  uint32_t body_len = 0;
  uint32_t request_id = 0;
};

void EncodeHeader(const FrameHeader &header, uint8_t out[kFrameHeaderSize]);
// Checks magic, version, type and the body cap.
bool DecodeHeader(const uint8_t in[kFrameHeaderSize], FrameHeader &out, std::string &why);
// Overwrites the request id of the frame starting at `frame`.
void PatchRequestId(uint8_t *frame, uint32_t request_id);

// One registered cache as the peer sees it. `bound`: registered before the link was made, so the
// link may move its bytes (V2 binds memory to a link's comm only when the link is made, A23).
// `files`: per tensor, the memory file that holds it in the peer (fd -1 where none does); a peer on
// the same host maps those (zero-copy, peer_memory_files.h). `mappings` is this side's, never sent.
class PeerCacheMappings;
struct CacheTableEntry {
  int64_t cache_id = 0;
  CacheGeometry geometry;
  std::vector<uint64_t> addrs;
  bool bound = true;
  std::vector<MemoryFileSpan> files;
  std::shared_ptr<PeerCacheMappings> mappings;
};

struct HostIdentity {
  uint32_t pid = 0;
  std::string boot_id;
};

using WireNonce = std::array<uint8_t, kNonceWireBytes>;

enum class HandshakePurpose : uint32_t { kLink = 0, kUnlink = 1 };

struct HelloMessage {
  uint32_t purpose = 0;  // HandshakePurpose
  uint64_t cluster_id = 0;
  WireNonce nonce{};
  uint32_t has_secret = 0;
};

struct ChallengeMessage {
  uint32_t status = 0;
  std::string detail;
  uint64_t cluster_id = 0;
  WireNonce nonce{};
  uint32_t has_secret = 0;
  std::string proof;  // kProofWireBytes with a secret, empty without
};

struct ProofMessage {
  std::string proof;  // kProofWireBytes with a secret, empty without
  int32_t role = 0;
  uint32_t sync_wait_ms = 0;
  uint32_t heartbeat_ms = 0;
  HostIdentity host;
  uint64_t probe_addr = 0;  // where the client keeps the server's nonce, for a same-host read-back
  uint32_t force_link = 0;  // 1: the client has no link under the id it asked for (A1)
  uint32_t hixl = 0;        // 1: the client runs the hixl transfer backend
  uint32_t streams = 1;     // the client's dd.StreamsPerLink
  std::string comm_res;     // the client's llm.LocalCommRes (default backend)
};

struct WelcomeMessage {
  uint32_t status = 0;
  std::string detail;
  uint32_t sync_wait_ms = 0;
  uint32_t heartbeat_ms = 0;
  HostIdentity host;
  uint64_t probe_addr = 0;  // where the server keeps the client's nonce
  uint64_t token = 0;
  uint32_t streams = 1;     // streams per direction the link uses
  std::string comm_res;     // the server's llm.LocalCommRes (default backend)
};

// Which stream a bound connection becomes: one that carries the server's requests to the client,
// or a further one for the client's requests (the hello connection is the client's first).
enum class StreamKind : uint32_t { kServerRequests = 0, kClientRequests = 1 };

struct BindMessage {
  uint64_t token = 0;
  uint32_t kind = 0;  // StreamKind
  uint32_t index = 0;
  std::string proof;  // kProofWireBytes with a secret, empty without
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
void EncodeChallenge(const ChallengeMessage &m, std::vector<uint8_t> &out);
void EncodeProof(const ProofMessage &m, std::vector<uint8_t> &out);
void EncodeWelcome(const WelcomeMessage &m, std::vector<uint8_t> &out);
void EncodeBind(const BindMessage &m, std::vector<uint8_t> &out);
void EncodeResult(uint32_t request_id, const ResultMessage &m, std::vector<uint8_t> &out);
void EncodeRevoke(uint32_t request_id, int64_t cache_id, std::vector<uint8_t> &out);
// `generation`: the order in which the server filed its links; of two links between the same two
// engines made at once, both sides keep the later one.
void EncodeCommit(uint64_t generation, std::vector<uint8_t> &out);
// A cache table as the payload of the answer to a kTable request (no frame header).
void EncodeCacheTable(const std::vector<CacheTableEntry> &table, std::vector<uint8_t> &out);
void EncodeEmpty(FrameType type, uint32_t request_id, std::vector<uint8_t> &out);
// Header and body of a block request whose segments are produced by `segment(i)`.
template <typename SegmentAt>
void EncodeBlockRequest(FrameType type, uint32_t request_id, int64_t cache_id, uint64_t total_len, size_t count,
                        SegmentAt segment, std::vector<uint8_t> &out);

// Each Decode* parses a body; false (with `why`) on any malformed byte.
bool DecodeHello(const uint8_t *body, size_t len, HelloMessage &out, std::string &why);
bool DecodeChallenge(const uint8_t *body, size_t len, ChallengeMessage &out, std::string &why);
bool DecodeProof(const uint8_t *body, size_t len, ProofMessage &out, std::string &why);
bool DecodeWelcome(const uint8_t *body, size_t len, WelcomeMessage &out, std::string &why);
bool DecodeBind(const uint8_t *body, size_t len, BindMessage &out, std::string &why);
bool DecodeResult(const uint8_t *body, size_t len, ResultMessage &out, std::string &why);
bool DecodeRevoke(const uint8_t *body, size_t len, int64_t &cache_id, std::string &why);
bool DecodeCommit(const uint8_t *body, size_t len, uint64_t &generation, std::string &why);
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
