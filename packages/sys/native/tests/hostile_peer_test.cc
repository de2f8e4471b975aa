// Malformed and hostile bytes: garbage on the listen port, broken handshakes, and a peer that
// completes a real handshake and then asks for memory it must not reach. Each closes (at most)
// that one connection or link; the engine keeps serving honest peers, byte for byte.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <random>

#include "engine_fixture.h"
#include "harness.h"
#include "wire_format.h"

using namespace ddtest;
using namespace dd::host;

namespace {
constexpr uint64_t kServer = 10;

int Connect(uint16_t port) {
  const int fd = ConnectLoopback(port);
  if (fd < 0) {
    return -1;
  }
  timeval tv{3, 0};  // every read in these tests is bounded
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

bool SendAll(int fd, const void *data, size_t len) {
  const auto *p = static_cast<const uint8_t *>(data);
  while (len > 0U) {
    const ssize_t n = ::send(fd, p, len, MSG_NOSIGNAL);
    if (n <= 0) {
      return false;
    }
    p += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

bool RecvAll(int fd, void *data, size_t len) {
  auto *p = static_cast<uint8_t *>(data);
  while (len > 0U) {
    const ssize_t n = ::recv(fd, p, len, 0);
    if (n <= 0) {
      return false;
    }
    p += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

bool ReadFrame(int fd, FrameHeader &header, std::vector<uint8_t> &body) {
  uint8_t raw[kFrameHeaderSize];
  std::string why;
  if (!RecvAll(fd, raw, sizeof(raw)) || !DecodeHeader(raw, header, why)) {
    return false;
  }
  body.resize(header.body_len);
  return RecvAll(fd, body.data(), body.size());
}

// True when the server closed `fd` (EOF or reset) within the receive timeout.
bool ClosedByPeer(int fd) {
  uint8_t byte;
  for (int i = 0; i < 100; ++i) {
    const ssize_t n = ::recv(fd, &byte, 1, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      return true;
    }
    if (n < 0) {
      return false;
    }
  }
  return false;
}

const char kCommRes[] =
    "{\"server_list\":[{\"server_id\":\"127.0.0.1\",\"device\":[{\"device_id\":\"0\"}]}],\"version\":\"1.0\"}";

// The honest client side of a handshake and of the first transfer's table fetch, done by hand so
// that requests can be forged afterwards.
struct ForgedLink {
  int requests = -1;
  int answers = -1;
  std::vector<CacheTableEntry> table;
  ~ForgedLink() {
    if (requests >= 0) ::close(requests);
    if (answers >= 0) ::close(answers);
  }
  bool Establish(uint16_t port, uint64_t cluster_id) {
    requests = Connect(port);
    if (requests < 0) return false;
    HelloMessage hello;
    hello.cluster_id = cluster_id;
    hello.role = 2;
    hello.sync_wait_ms = 1000;
    hello.heartbeat_ms = 60000;
    hello.force_link = 1;
    hello.comm_res = kCommRes;
    std::vector<uint8_t> frame;
    EncodeHello(hello, frame);
    FrameHeader header;
    std::vector<uint8_t> body;
    WelcomeMessage welcome;
    std::string why;
    if (!SendAll(requests, frame.data(), frame.size()) || !ReadFrame(requests, header, body) ||
        !DecodeWelcome(body.data(), body.size(), welcome, why) || welcome.status != 0U) {
      return false;
    }
    answers = Connect(port);
    BindMessage bind;
    bind.token = welcome.token;
    frame.clear();
    EncodeBind(bind, frame);
    ResultMessage result;
    if (!SendAll(answers, frame.data(), frame.size()) || !ReadFrame(answers, header, body) ||
        !DecodeResult(body.data(), body.size(), result, why) || result.status != 0U) {
      return false;
    }
    // The first transfer's table fetch.
    frame.clear();
    EncodeEmpty(FrameType::kTable, 1, frame);
    if (!SendAll(requests, frame.data(), frame.size()) || !ReadFrame(requests, header, body) ||
        !DecodeResult(body.data(), body.size(), result, why) || result.status != 0U) {
      return false;
    }
    std::vector<uint8_t> payload(result.payload_len);
    return RecvAll(requests, payload.data(), payload.size()) &&
           DecodeCacheTable(payload.data(), payload.size(), table, why);
  }
  // Sends a block request and returns the peer's status (payload, if any, is read and dropped).
  bool Request(FrameType type, int64_t cache_id, std::vector<WireSegment> segments, uint64_t total, uint32_t &status,
               const std::vector<uint8_t> &payload = {}) {
    std::vector<uint8_t> frame;
    EncodeBlockRequest(type, 7, cache_id, total, segments.size(), [&](size_t i) { return segments[i]; }, frame);
    frame.insert(frame.end(), payload.begin(), payload.end());
    FrameHeader header;
    std::vector<uint8_t> body;
    ResultMessage result;
    std::string why;
    if (!SendAll(requests, frame.data(), frame.size()) || !ReadFrame(requests, header, body) ||
        !DecodeResult(body.data(), body.size(), result, why)) {
      return false;
    }
    std::vector<uint8_t> sink(result.payload_len);
    if (!RecvAll(requests, sink.data(), sink.size())) {
      return false;
    }
    status = result.status;
    return true;
  }
};

// An honest linked client proves the server still works, byte for byte.
void ExpectHonestPullWorks(TestEngine &server, int64_t server_cache) {
  TestEngine client(20, false);
  HostCache local(2, 8, 512);
  const int64_t local_id = Register(*client.engine, local);
  REQUIRE_STATUS(Link(*client.engine, kServer, server.port), LLM_SUCCESS);
  CHECK_STATUS(client.engine->PullKvBlocks(IndexOf(kServer, server_cache), CacheWithId(local_id), {3, 4}, {0, 1}),
               LLM_SUCCESS);
  CHECK(local.RowEquals(1, 1, 4, 1, 4));
  CHECK_STATUS(Unlink(*client.engine, kServer, server.port), LLM_SUCCESS);
}
}  // namespace

DD_TEST(garbage_on_the_listen_port_closes_only_that_connection) {
  HostCache cache(2, 8, 512);
  cache.Fill(4);
  TestEngine server(kServer, true);
  const int64_t id = Register(*server.engine, cache);
  std::mt19937 random(1234);
  for (int round = 0; round < 20; ++round) {
    const int fd = Connect(server.port);
    REQUIRE(fd >= 0);
    std::vector<uint8_t> junk(1 + random() % 4096);
    for (auto &b : junk) b = static_cast<uint8_t>(random());
    SendAll(fd, junk.data(), junk.size());
    CHECK(ClosedByPeer(fd));
    ::close(fd);
  }
  // Well-formed headers with bad contents.
  const auto header_only = [&](uint32_t magic, uint16_t version, uint16_t type, uint32_t body_len) {
    std::vector<uint8_t> raw;
    WireWriter w(raw);
    w.U32(magic);
    w.U16(version);
    w.U16(type);
    w.U32(body_len);
    w.U32(0);
    if (body_len <= 64U) {
      raw.resize(raw.size() + body_len, 0);  // a body of the announced (short) length
    }
    const int fd = Connect(server.port);
    SendAll(fd, raw.data(), raw.size());
    const bool closed = ClosedByPeer(fd);
    ::close(fd);
    return closed;
  };
  CHECK(header_only(0xDEADBEEF, kWireVersion, 1, 0));
  CHECK(header_only(kWireMagic, 99, 1, 0));
  CHECK(header_only(kWireMagic, kWireVersion, 77, 0));
  CHECK(header_only(kWireMagic, kWireVersion, 1, 0xFFFFFFFFU));  // body above the cap
  CHECK(header_only(kWireMagic, kWireVersion, 1, 3));            // hello too short for its fields
  CHECK(header_only(kWireMagic, kWireVersion, static_cast<uint16_t>(FrameType::kRead), 0));  // request before a link
  // A bind with a token nobody issued.
  {
    const int fd = Connect(server.port);
    std::vector<uint8_t> frame;
    EncodeBind(BindMessage{0x1234, 0}, frame);
    SendAll(fd, frame.data(), frame.size());
    FrameHeader header;
    std::vector<uint8_t> body;
    ResultMessage result;
    std::string why;
    REQUIRE(ReadFrame(fd, header, body) && DecodeResult(body.data(), body.size(), result, why));
    CHECK_STATUS(result.status, LLM_LINK_FAILED);
    ::close(fd);
  }
  // A hello whose comm resource is no rank table: refused (A7) and closed.
  {
    HelloMessage hello;
    hello.cluster_id = 66;
    hello.comm_res = "mock";
    std::vector<uint8_t> frame;
    EncodeHello(hello, frame);
    const int fd = Connect(server.port);
    SendAll(fd, frame.data(), frame.size());
    FrameHeader header;
    std::vector<uint8_t> body;
    WelcomeMessage welcome;
    std::string why;
    REQUIRE(ReadFrame(fd, header, body) && DecodeWelcome(body.data(), body.size(), welcome, why));
    CHECK_STATUS(welcome.status, LLM_PARAM_INVALID);
    CHECK(ClosedByPeer(fd));
    ::close(fd);
  }
  // An unlink request that is too short.
  CHECK(header_only(kWireMagic, kWireVersion, static_cast<uint16_t>(FrameType::kDisconnect), 3));
  // A connection that sends half a frame and goes away.
  {
    const int fd = Connect(server.port);
    std::vector<uint8_t> frame;
    EncodeHello(HelloMessage{}, frame);
    SendAll(fd, frame.data(), frame.size() / 2);
    ::close(fd);
  }
  ExpectHonestPullWorks(server, id);
}

DD_TEST(hostile_linked_peer_cannot_reach_unregistered_memory) {
  HostCache cache(2, 8, 512);
  cache.Fill(4);
  TestEngine server(kServer, true, {{"dd.DataPath", "tcp"}});
  const int64_t id = Register(*server.engine, cache);
  ForgedLink forged;
  REQUIRE(forged.Establish(server.port, 66));
  REQUIRE(forged.table.size() == 1U);
  const uint64_t tensor_bytes = 8 * 512;
  uint32_t status = 0;
  // An honest read works and returns the bytes.
  REQUIRE(forged.Request(FrameType::kRead, id, {{1, 512, 512}}, 512, status));
  CHECK_STATUS(status, LLM_SUCCESS);
  // Unknown cache, tensor out of range, offset past the end, offset + len wrapping around.
  REQUIRE(forged.Request(FrameType::kRead, 99, {{0, 0, 16}}, 16, status));
  CHECK_STATUS(status, LLM_KV_CACHE_NOT_EXIST);
  REQUIRE(forged.Request(FrameType::kRead, id, {{2, 0, 16}}, 16, status));
  CHECK_STATUS(status, LLM_PARAM_INVALID);
  REQUIRE(forged.Request(FrameType::kRead, id, {{0, tensor_bytes, 1}}, 1, status));
  CHECK_STATUS(status, LLM_PARAM_INVALID);
  REQUIRE(forged.Request(FrameType::kRead, id, {{0, tensor_bytes - 8, 16}}, 16, status));
  CHECK_STATUS(status, LLM_PARAM_INVALID);
  REQUIRE(forged.Request(FrameType::kRead, id, {{0, UINT64_MAX - 7, 16}}, 16, status));
  CHECK_STATUS(status, LLM_PARAM_INVALID);
  // A write outside the cache is refused, its payload skipped, and the memory untouched.
  const std::vector<uint8_t> payload(64, 0xCC);
  REQUIRE(forged.Request(FrameType::kWrite, id, {{0, tensor_bytes - 32, 64}}, 64, status, payload));
  CHECK_STATUS(status, LLM_PARAM_INVALID);
  CHECK(cache.RowEquals(0, 7, 4, 0, 7));
  // The connection is still in step: an in-bounds write lands exactly where asked.
  REQUIRE(forged.Request(FrameType::kWrite, id, {{1, 0, 64}}, 64, status, payload));
  CHECK_STATUS(status, LLM_SUCCESS);
  CHECK_EQ(static_cast<int>(cache.Row(1, 0)[63]), 0xCC);
  CHECK_EQ(static_cast<int>(cache.Row(1, 0)[64]), static_cast<int>(HostCache::Pattern(4, 1, 0, 64)));
  cache.Fill(4);
  // A request whose lengths do not add up breaks the protocol: that link is closed.
  std::vector<uint8_t> frame;
  EncodeBlockRequest(FrameType::kRead, 9, id, 100, 1, [](size_t) { return WireSegment{0, 0, 16}; }, frame);
  SendAll(forged.requests, frame.data(), frame.size());
  CHECK(ClosedByPeer(forged.requests));
  // The engine keeps serving everybody else.
  ExpectHonestPullWorks(server, id);
}

DD_TEST(hostile_peer_frames_of_the_wrong_kind_break_only_its_link) {
  HostCache cache(2, 8, 512);
  cache.Fill(4);
  TestEngine server(kServer, true);
  const int64_t id = Register(*server.engine, cache);
  for (const FrameType wrong :
       {FrameType::kHello, FrameType::kWelcome, FrameType::kBind, FrameType::kResult, FrameType::kDisconnect}) {
    ForgedLink forged;
    REQUIRE(forged.Establish(server.port, 66));
    std::vector<uint8_t> frame;
    EncodeEmpty(wrong, 1, frame);
    SendAll(forged.requests, frame.data(), frame.size());
    CHECK(ClosedByPeer(forged.requests));
  }
  {
    // Random bytes after a good handshake.
    ForgedLink forged;
    REQUIRE(forged.Establish(server.port, 67));
    std::vector<uint8_t> junk(5000, 0x5A);
    SendAll(forged.requests, junk.data(), junk.size());
    CHECK(ClosedByPeer(forged.requests));
  }
  {
    // A heartbeat and a table request with bodies that do not fit their kind.
    for (const FrameType kind : {FrameType::kHeartbeat, FrameType::kTable}) {
      ForgedLink forged;
      REQUIRE(forged.Establish(server.port, 68));
      std::vector<uint8_t> frame;
      const size_t body = BeginFrame(kind, 0, frame);
      frame.push_back(1);
      FinishFrame(body, frame);
      SendAll(forged.requests, frame.data(), frame.size());
      CHECK(ClosedByPeer(forged.requests));
    }
  }
  ExpectHonestPullWorks(server, id);
}

DD_TEST(decoders_reject_every_truncation_and_survive_mutations) {
  HelloMessage hello;
  hello.cluster_id = 5;
  hello.force_link = 1;
  hello.comm_res = kCommRes;
  std::vector<uint8_t> frame;
  EncodeHello(hello, frame);
  const uint8_t *body = frame.data() + kFrameHeaderSize;
  const size_t len = frame.size() - kFrameHeaderSize;
  HelloMessage decoded;
  std::string why;
  REQUIRE(DecodeHello(body, len, decoded, why));
  CHECK(decoded.cluster_id == 5 && decoded.force_link == 1U && decoded.comm_res == kCommRes);
  for (size_t cut = 0; cut < len; ++cut) {
    CHECK(!DecodeHello(body, cut, decoded, why));
  }
  // A cache table, as a table answer carries it.
  std::vector<CacheTableEntry> table(1);
  table[0].cache_id = 3;
  REQUIRE_STATUS(BuildGeometry(1, 2, DT_BF16, {16, 8, 4}, table[0].geometry), LLM_SUCCESS);
  table[0].addrs = {0x1000, 0x2000};
  table[0].bound = false;
  std::vector<uint8_t> table_bytes;
  EncodeCacheTable(table, table_bytes);
  std::vector<CacheTableEntry> decoded_table;
  REQUIRE(DecodeCacheTable(table_bytes.data(), table_bytes.size(), decoded_table, why));
  REQUIRE(decoded_table.size() == 1U);
  CHECK(decoded_table[0].addrs[1] == 0x2000 && !decoded_table[0].bound);
  CHECK_EQ(decoded_table[0].geometry.tensor_bytes, 16U * 8U * 4U * 2U);
  for (size_t cut = 0; cut < table_bytes.size(); ++cut) {
    CHECK(!DecodeCacheTable(table_bytes.data(), cut, decoded_table, why));
  }
  // A table that lies about its sizes is refused.
  std::vector<CacheTableEntry> lying = table;
  lying[0].geometry.tensor_bytes = 1ULL << 40;
  std::vector<uint8_t> lying_bytes;
  EncodeCacheTable(lying, lying_bytes);
  CHECK(!DecodeCacheTable(lying_bytes.data(), lying_bytes.size(), decoded_table, why));
  std::mt19937 random(99);
  std::vector<uint8_t> mutated;
  BlockRequest request;
  WelcomeMessage welcome;
  ResultMessage result;
  uint64_t cluster_id = 0;
  for (int i = 0; i < 20000; ++i) {
    const bool mutate_table = i % 2 == 0;
    const uint8_t *source = mutate_table ? table_bytes.data() : body;
    mutated.assign(source, source + (mutate_table ? table_bytes.size() : len));
    for (int k = 0; k < 1 + static_cast<int>(random() % 4); ++k) {
      mutated[random() % mutated.size()] = static_cast<uint8_t>(random());
    }
    // Whatever the bytes, decoding either fails or yields self-consistent geometry.
    if (DecodeCacheTable(mutated.data(), mutated.size(), decoded_table, why)) {
      for (const auto &e : decoded_table) {
        CHECK_EQ(e.addrs.size(), static_cast<size_t>(e.geometry.num_tensors));
        CHECK(e.geometry.stride > 0U && e.geometry.rows * e.geometry.stride <= e.geometry.tensor_bytes);
      }
    }
    if (DecodeHello(mutated.data(), mutated.size(), decoded, why)) {
      CHECK(decoded.comm_res.size() <= kMaxCommResWireBytes);
    }
    DecodeWelcome(mutated.data(), mutated.size(), welcome, why);
    DecodeResult(mutated.data(), mutated.size(), result, why);
    DecodeDisconnect(mutated.data(), mutated.size(), cluster_id, why);
    if (DecodeBlockRequest(mutated.data(), mutated.size(), request, why)) {
      uint64_t sum = 0;
      for (const auto &s : request.segments) sum += s.len;
      CHECK_EQ(sum, request.total_len);
    }
  }
}
