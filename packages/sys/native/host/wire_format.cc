#include "wire_format.h"

#include <cstring>
#include <set>

namespace dd::host {
namespace {
constexpr uint32_t kMaxCaches = 65536U;
constexpr uint32_t kMaxTensorsPerCache = 65536U;
constexpr size_t kSegmentBytes = 20U;

class WireReader {
 public:
  WireReader(const uint8_t *p, size_t n) : p_(p), left_(n) {}
  bool ok() const { return ok_; }
  size_t left() const { return left_; }
  uint8_t U8() { return static_cast<uint8_t>(Raw(1)); }
  uint16_t U16() { return static_cast<uint16_t>(Raw(2)); }
  uint32_t U32() { return static_cast<uint32_t>(Raw(4)); }
  uint64_t U64() { return Raw(8); }
  int32_t I32() { return static_cast<int32_t>(U32()); }
  int64_t I64() { return static_cast<int64_t>(U64()); }
  void Bytes(uint8_t *dst, size_t n) {
    if (!Take(n)) {
      return;
    }
    std::memcpy(dst, p_ - n, n);
  }
  std::string String() {
    const uint16_t n = U16();
    if (n > kMaxDetailBytes || !Take(n)) {
      ok_ = false;
      return {};
    }
    return std::string(reinterpret_cast<const char *>(p_ - n), n);
  }
  std::string Text() {
    const uint32_t n = U32();
    if (n > kMaxCommResWireBytes || !Take(n)) {
      ok_ = false;
      return {};
    }
    return std::string(reinterpret_cast<const char *>(p_ - n), n);
  }

 private:
  bool Take(size_t n) {
    if (!ok_ || n > left_) {
      ok_ = false;
      return false;
    }
    p_ += n;
    left_ -= n;
    return true;
  }
  uint64_t Raw(int n) {
    if (!Take(static_cast<size_t>(n))) {
      return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < n; ++i) {
      v |= static_cast<uint64_t>(p_[i - n]) << (8 * i);
    }
    return v;
  }
  const uint8_t *p_;
  size_t left_;
  bool ok_ = true;
};

void EncodeTable(WireWriter &w, const std::vector<CacheTableEntry> &table) {
  w.U32(static_cast<uint32_t>(table.size()));
  for (const CacheTableEntry &e : table) {
    w.I64(e.cache_id);
    w.U32(e.geometry.placement);
    w.I32(e.geometry.data_type);
    w.U32(e.geometry.num_tensors);
    w.U32(static_cast<uint32_t>(e.geometry.shape.size()));
    for (const int64_t d : e.geometry.shape) {
      w.I64(d);
    }
    w.U64(e.geometry.tensor_bytes);
    w.U8(e.bound ? 1U : 0U);
    for (const uint64_t a : e.addrs) {
      w.U64(a);
    }
    for (size_t t = 0; t < e.addrs.size(); ++t) {
      const MemoryFileSpan span = t < e.files.size() ? e.files[t] : MemoryFileSpan{};
      w.I32(span.fd);
      w.U64(span.offset);
      w.U64(span.file_bytes);
    }
  }
}

bool DecodeTable(WireReader &r, std::vector<CacheTableEntry> &table, std::string &why) {
  const uint32_t n = r.U32();
  if (!r.ok() || n > kMaxCaches) {
    why = "cache table count missing or above the cap";
    return false;
  }
  std::set<int64_t> seen;
  table.clear();
  for (uint32_t i = 0; i < n; ++i) {
    CacheTableEntry e;
    e.cache_id = r.I64();
    const uint32_t placement = r.U32();
    const int32_t data_type = r.I32();
    const uint32_t num_tensors = r.U32();
    const uint32_t rank = r.U32();
    if (!r.ok() || rank == 0U || rank >= 32U || num_tensors == 0U || num_tensors > kMaxTensorsPerCache ||
        placement > 1U || e.cache_id <= 0 || !seen.insert(e.cache_id).second) {
      why = "malformed cache table entry";
      return false;
    }
    std::vector<int64_t> shape(rank);
    for (int64_t &d : shape) {
      d = r.I64();
    }
    const uint64_t tensor_bytes = r.U64();
    const uint8_t bound = r.U8();
    if (!r.ok() || bound > 1U || r.left() / 8U < num_tensors) {
      why = "truncated cache table entry";
      return false;
    }
    // The peer's sizes are recomputed from its shape, never believed.
    if (BuildGeometry(placement, num_tensors, data_type, shape, e.geometry) != 0U ||
        e.geometry.tensor_bytes != tensor_bytes) {
      why = "cache table entry with inconsistent geometry";
      return false;
    }
    e.bound = bound == 1U;
    e.addrs.resize(num_tensors);
    for (uint64_t &a : e.addrs) {
      a = r.U64();
    }
    // A memory file must hold the whole tensor; a span that does not is refused, never clipped.
    bool any_file = false;
    e.files.resize(num_tensors);
    for (MemoryFileSpan &span : e.files) {
      span.fd = r.I32();
      span.offset = r.U64();
      span.file_bytes = r.U64();
      uint64_t end = 0;
      if (!r.ok() || span.fd < -1 ||
          (span.fd >= 0 && (__builtin_add_overflow(span.offset, tensor_bytes, &end) || end > span.file_bytes))) {
        why = "cache table entry with a malformed memory file span";
        return false;
      }
      any_file = any_file || span.fd >= 0;
    }
    if (!any_file) {
      e.files.clear();
    }
    table.push_back(std::move(e));
  }
  return r.ok();
}

bool Finish(const WireReader &r, std::string &why, const char *what) {
  if (!r.ok() || r.left() != 0U) {
    why = std::string("malformed ") + what;
    return false;
  }
  return true;
}

// Each message lists its fields once, in wire order (the *Fields functions below); a FieldWriter
// encodes them and a FieldReader decodes them, so the two directions cannot drift apart.
class FieldWriter {
 public:
  explicit FieldWriter(std::vector<uint8_t> &out) : w_(out) {}
  void operator()(uint32_t v) { w_.U32(v); }
  void operator()(int32_t v) { w_.I32(v); }
  void operator()(uint64_t v) { w_.U64(v); }
  void operator()(int64_t v) { w_.I64(v); }
  void operator()(const std::string &s) { w_.String(s); }
  void operator()(const WireNonce &nonce) { w_.Bytes(nonce.data(), nonce.size()); }
  void Text(const std::string &s) { w_.Text(s); }

 private:
  WireWriter w_;
};

class FieldReader {
 public:
  FieldReader(const uint8_t *body, size_t len) : r_(body, len) {}
  void operator()(uint32_t &v) { v = r_.U32(); }
  void operator()(int32_t &v) { v = r_.I32(); }
  void operator()(uint64_t &v) { v = r_.U64(); }
  void operator()(int64_t &v) { v = r_.I64(); }
  void operator()(std::string &s) { s = r_.String(); }
  void operator()(WireNonce &nonce) { r_.Bytes(nonce.data(), nonce.size()); }
  void Text(std::string &s) { s = r_.Text(); }

  // True when every field was read and no byte is left; otherwise `why` says what is wrong.
  bool Done(std::string &why, const char *what) const { return Finish(r_, why, what); }

 private:
  WireReader r_;
};

template <typename Wire, typename Host>
void HostFields(Wire &wire, Host &host) {
  wire(host.pid);
  wire(host.boot_id);
}

template <typename Wire, typename Hello>
void HelloFields(Wire &wire, Hello &m) {
  wire(m.purpose);
  wire(m.cluster_id);
  wire(m.nonce);
  wire(m.has_secret);
}

template <typename Wire, typename Challenge>
void ChallengeFields(Wire &wire, Challenge &m) {
  wire(m.status);
  wire(m.detail);
  wire(m.cluster_id);
  wire(m.nonce);
  wire(m.has_secret);
  wire(m.proof);
}

template <typename Wire, typename Proof>
void ProofFields(Wire &wire, Proof &m) {
  wire(m.proof);
  wire(m.role);
  wire(m.sync_wait_ms);
  wire(m.heartbeat_ms);
  HostFields(wire, m.host);
  wire(m.probe_addr);
  wire(m.force_link);
  wire(m.hixl);
  wire(m.streams);
  wire.Text(m.comm_res);
}

template <typename Wire, typename Welcome>
void WelcomeFields(Wire &wire, Welcome &m) {
  wire(m.status);
  wire(m.detail);
  wire(m.sync_wait_ms);
  wire(m.heartbeat_ms);
  HostFields(wire, m.host);
  wire(m.probe_addr);
  wire(m.token);
  wire(m.streams);
  wire.Text(m.comm_res);
}

template <typename Wire, typename Bind>
void BindFields(Wire &wire, Bind &m) {
  wire(m.token);
  wire(m.kind);
  wire(m.index);
  wire(m.proof);
}

template <typename Wire, typename Result>
void ResultFields(Wire &wire, Result &m) {
  wire(m.status);
  wire(m.payload_len);
  wire(m.detail);
}

// A frame whose body is what `fields(FieldWriter &)` writes.
template <typename Fields>
void EncodeFrame(FrameType type, uint32_t request_id, std::vector<uint8_t> &out, Fields fields) {
  const size_t body = BeginFrame(type, request_id, out);
  FieldWriter writer(out);
  fields(writer);
  FinishFrame(body, out);
}

// Reads a body with `fields(FieldReader &)`; `what` names the message in the failure reason.
template <typename Fields>
bool DecodeBody(const uint8_t *body, size_t len, std::string &why, const char *what, Fields fields) {
  FieldReader reader(body, len);
  fields(reader);
  return reader.Done(why, what);
}
}  // namespace

void WireWriter::String(const std::string &s) {
  const size_t n = s.size() < kMaxDetailBytes ? s.size() : kMaxDetailBytes;
  U16(static_cast<uint16_t>(n));
  Bytes(reinterpret_cast<const uint8_t *>(s.data()), n);
}

void WireWriter::Text(const std::string &s) {
  const size_t n = s.size() < kMaxCommResWireBytes ? s.size() : kMaxCommResWireBytes;
  U32(static_cast<uint32_t>(n));
  Bytes(reinterpret_cast<const uint8_t *>(s.data()), n);
}

void EncodeHeader(const FrameHeader &header, uint8_t out[kFrameHeaderSize]) {
  std::vector<uint8_t> buf;
  WireWriter w(buf);
  w.U32(kWireMagic);
  w.U16(kWireVersion);
  w.U16(static_cast<uint16_t>(header.type));
  w.U32(header.body_len);
  w.U32(header.request_id);
  std::memcpy(out, buf.data(), kFrameHeaderSize);
}

bool DecodeHeader(const uint8_t in[kFrameHeaderSize], FrameHeader &out, std::string &why) {
  WireReader r(in, kFrameHeaderSize);
  const uint32_t magic = r.U32();
  const uint16_t version = r.U16();
  const uint16_t type = r.U16();
  out.body_len = r.U32();
  out.request_id = r.U32();
  if (magic != kWireMagic) {
    why = "bad frame magic";
    return false;
  }
  if (version != kWireVersion) {
    why = "unsupported protocol version " + std::to_string(version);
    return false;
  }
  if (type < static_cast<uint16_t>(FrameType::kHello) || type > static_cast<uint16_t>(FrameType::kCommit)) {
    why = "unknown frame type " + std::to_string(type);
    return false;
  }
  if (out.body_len > kMaxBodyBytes) {
    why = "frame body of " + std::to_string(out.body_len) + " bytes is above the cap";
    return false;
  }
  out.type = static_cast<FrameType>(type);
  return true;
}

void PatchRequestId(uint8_t *frame, uint32_t request_id) {
  for (int i = 0; i < 4; ++i) {
    frame[12 + i] = static_cast<uint8_t>(request_id >> (8 * i));
  }
}

size_t BeginFrame(FrameType type, uint32_t request_id, std::vector<uint8_t> &out) {
  const size_t start = out.size();
  out.resize(start + kFrameHeaderSize);
  FrameHeader header;
  header.type = type;
  header.request_id = request_id;
  EncodeHeader(header, out.data() + start);
  return out.size();
}

void FinishFrame(size_t body_start, std::vector<uint8_t> &out) {
  const auto len = static_cast<uint32_t>(out.size() - body_start);
  uint8_t *len_field = out.data() + body_start - kFrameHeaderSize + 8U;
  for (int i = 0; i < 4; ++i) {
    len_field[i] = static_cast<uint8_t>(len >> (8 * i));
  }
}

void EncodeHello(const HelloMessage &m, std::vector<uint8_t> &out) {
  EncodeFrame(FrameType::kHello, 0, out, [&](FieldWriter &wire) { HelloFields(wire, m); });
}

bool DecodeHello(const uint8_t *body, size_t len, HelloMessage &out, std::string &why) {
  return DecodeBody(body, len, why, "hello", [&](FieldReader &wire) { HelloFields(wire, out); });
}

void EncodeChallenge(const ChallengeMessage &m, std::vector<uint8_t> &out) {
  EncodeFrame(FrameType::kChallenge, 0, out, [&](FieldWriter &wire) { ChallengeFields(wire, m); });
}

bool DecodeChallenge(const uint8_t *body, size_t len, ChallengeMessage &out, std::string &why) {
  return DecodeBody(body, len, why, "challenge", [&](FieldReader &wire) { ChallengeFields(wire, out); });
}

void EncodeProof(const ProofMessage &m, std::vector<uint8_t> &out) {
  EncodeFrame(FrameType::kProof, 0, out, [&](FieldWriter &wire) { ProofFields(wire, m); });
}

bool DecodeProof(const uint8_t *body, size_t len, ProofMessage &out, std::string &why) {
  return DecodeBody(body, len, why, "proof", [&](FieldReader &wire) { ProofFields(wire, out); });
}

void EncodeWelcome(const WelcomeMessage &m, std::vector<uint8_t> &out) {
  EncodeFrame(FrameType::kWelcome, 0, out, [&](FieldWriter &wire) { WelcomeFields(wire, m); });
}

bool DecodeWelcome(const uint8_t *body, size_t len, WelcomeMessage &out, std::string &why) {
  return DecodeBody(body, len, why, "welcome", [&](FieldReader &wire) { WelcomeFields(wire, out); });
}

void EncodeBind(const BindMessage &m, std::vector<uint8_t> &out) {
  EncodeFrame(FrameType::kBind, 0, out, [&](FieldWriter &wire) { BindFields(wire, m); });
}

bool DecodeBind(const uint8_t *body, size_t len, BindMessage &out, std::string &why) {
  return DecodeBody(body, len, why, "bind", [&](FieldReader &wire) { BindFields(wire, out); });
}

void EncodeResult(uint32_t request_id, const ResultMessage &m, std::vector<uint8_t> &out) {
  EncodeFrame(FrameType::kResult, request_id, out, [&](FieldWriter &wire) { ResultFields(wire, m); });
}

bool DecodeResult(const uint8_t *body, size_t len, ResultMessage &out, std::string &why) {
  return DecodeBody(body, len, why, "result", [&](FieldReader &wire) { ResultFields(wire, out); });
}

void EncodeRevoke(uint32_t request_id, int64_t cache_id, std::vector<uint8_t> &out) {
  EncodeFrame(FrameType::kRevoke, request_id, out, [&](FieldWriter &wire) { wire(cache_id); });
}

bool DecodeRevoke(const uint8_t *body, size_t len, int64_t &cache_id, std::string &why) {
  return DecodeBody(body, len, why, "revoke", [&](FieldReader &wire) { wire(cache_id); });
}

void EncodeCommit(uint64_t generation, std::vector<uint8_t> &out) {
  EncodeFrame(FrameType::kCommit, 0, out, [&](FieldWriter &wire) { wire(generation); });
}

bool DecodeCommit(const uint8_t *body, size_t len, uint64_t &generation, std::string &why) {
  return DecodeBody(body, len, why, "commit", [&](FieldReader &wire) { wire(generation); });
}

void EncodeCacheTable(const std::vector<CacheTableEntry> &table, std::vector<uint8_t> &out) {
  WireWriter w(out);
  EncodeTable(w, table);
}

bool DecodeCacheTable(const uint8_t *body, size_t len, std::vector<CacheTableEntry> &table, std::string &why) {
  WireReader r(body, len);
  if (!DecodeTable(r, table, why)) {
    if (why.empty()) {
      why = "malformed cache table";
    }
    return false;
  }
  return Finish(r, why, "cache table");
}

void EncodeEmpty(FrameType type, uint32_t request_id, std::vector<uint8_t> &out) {
  const size_t body = BeginFrame(type, request_id, out);
  FinishFrame(body, out);
}

bool DecodeBlockRequest(const uint8_t *body, size_t len, BlockRequest &out, std::string &why) {
  WireReader r(body, len);
  out.cache_id = r.I64();
  const uint32_t count = r.U32();
  out.total_len = r.U64();
  if (!r.ok() || count == 0U || count > kMaxSegmentsPerRequest || r.left() != static_cast<size_t>(count) * kSegmentBytes) {
    why = "malformed block request";
    return false;
  }
  if (out.total_len > kMaxBytesPerRequest) {
    why = "block request of " + std::to_string(out.total_len) + " bytes is above the cap";
    return false;
  }
  out.segments.resize(count);
  uint64_t sum = 0;
  for (WireSegment &s : out.segments) {
    s.tensor = r.U32();
    s.offset = r.U64();
    s.len = r.U64();
    if (s.len == 0U || __builtin_add_overflow(sum, s.len, &sum)) {
      why = "block request with an empty or overflowing segment";
      return false;
    }
  }
  if (sum != out.total_len) {
    why = "block request whose segment lengths do not add up to its total";
    return false;
  }
  return Finish(r, why, "block request");
}
}  // namespace dd::host
