// Malformed and hostile bytes: garbage on the listen port, broken handshakes, and a peer that
// completes a real handshake and then asks for memory it must not reach. Each closes (at most)
// that one connection or link; the engine keeps serving honest peers, byte for byte.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <random>

#include "engine_fixture.h"
#include "forged_peer.h"
#include "harness.h"
#include "wire_format.h"

using namespace ddtest;
using namespace dd::host;

namespace {
constexpr uint64_t kServer = 10;

int Connect(uint16_t port) { return ConnectBounded(port); }

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
    BindMessage bind;
    bind.token = 0x1234;
    EncodeBind(bind, frame);
    SendAll(fd, frame.data(), frame.size());
    FrameHeader header;
    std::vector<uint8_t> body;
    ResultMessage result;
    std::string why;
    REQUIRE(ReadFrame(fd, header, body) && DecodeResult(body.data(), body.size(), result, why));
    CHECK_STATUS(result.status, LLM_LINK_FAILED);
    ::close(fd);
  }
  // A proof whose comm resource is no rank table: refused (A7) and closed.
  {
    ForgedPeer peer(66);
    REQUIRE(peer.Hello(server.port));
    ProofMessage proof;
    proof.comm_res = "mock";
    std::vector<uint8_t> frame;
    EncodeProof(proof, frame);
    SendAll(peer.requests.get(), frame.data(), frame.size());
    FrameHeader header;
    std::vector<uint8_t> body;
    WelcomeMessage welcome;
    std::string why;
    REQUIRE(ReadFrame(peer.requests.get(), header, body) && DecodeWelcome(body.data(), body.size(), welcome, why));
    CHECK_STATUS(welcome.status, LLM_PARAM_INVALID);
    CHECK(ClosedByPeer(peer.requests.get()));
  }
  // A proof before a hello, and a proof that is too short.
  CHECK(header_only(kWireMagic, kWireVersion, static_cast<uint16_t>(FrameType::kProof), 3));
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
  ForgedPeer forged(66);
  REQUIRE(forged.Establish(server.port));
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
  SendAll(forged.requests.get(), frame.data(), frame.size());
  CHECK(ClosedByPeer(forged.requests.get()));
  // The engine keeps serving everybody else.
  ExpectHonestPullWorks(server, id);
}

DD_TEST(hostile_peer_frames_of_the_wrong_kind_break_only_its_link) {
  HostCache cache(2, 8, 512);
  cache.Fill(4);
  TestEngine server(kServer, true);
  const int64_t id = Register(*server.engine, cache);
  for (const FrameType wrong : {FrameType::kHello, FrameType::kChallenge, FrameType::kProof, FrameType::kWelcome,
                                FrameType::kBind, FrameType::kResult, FrameType::kCommit}) {
    ForgedPeer forged(66);
    REQUIRE(forged.Establish(server.port));
    std::vector<uint8_t> frame;
    EncodeEmpty(wrong, 1, frame);
    SendAll(forged.requests.get(), frame.data(), frame.size());
    CHECK(ClosedByPeer(forged.requests.get()));
  }
  {
    // Random bytes after a good handshake.
    ForgedPeer forged(67);
    REQUIRE(forged.Establish(server.port));
    std::vector<uint8_t> junk(5000, 0x5A);
    SendAll(forged.requests.get(), junk.data(), junk.size());
    CHECK(ClosedByPeer(forged.requests.get()));
  }
  {
    // A heartbeat and a table request with bodies that do not fit their kind.
    for (const FrameType kind : {FrameType::kHeartbeat, FrameType::kTable}) {
      ForgedPeer forged(68);
      REQUIRE(forged.Establish(server.port));
      std::vector<uint8_t> frame;
      const size_t body = BeginFrame(kind, 0, frame);
      frame.push_back(1);
      FinishFrame(body, frame);
      SendAll(forged.requests.get(), frame.data(), frame.size());
      CHECK(ClosedByPeer(forged.requests.get()));
    }
  }
  ExpectHonestPullWorks(server, id);
}

DD_TEST(decoders_reject_every_truncation_and_survive_mutations) {
  ProofMessage proof;
  proof.proof = std::string(32, 'p');
  proof.force_link = 1;
  proof.streams = 3;
  proof.comm_res = kTestCommRes;
  std::vector<uint8_t> frame;
  EncodeProof(proof, frame);
  const uint8_t *body = frame.data() + kFrameHeaderSize;
  const size_t len = frame.size() - kFrameHeaderSize;
  ProofMessage decoded;
  std::string why;
  REQUIRE(DecodeProof(body, len, decoded, why));
  CHECK(decoded.proof == proof.proof && decoded.force_link == 1U && decoded.streams == 3U &&
        decoded.comm_res == kTestCommRes);
  for (size_t cut = 0; cut < len; ++cut) {
    CHECK(!DecodeProof(body, cut, decoded, why));
  }
  HelloMessage hello;
  hello.cluster_id = 5;
  hello.has_secret = 1;
  std::vector<uint8_t> hello_frame;
  EncodeHello(hello, hello_frame);
  HelloMessage hello_decoded;
  REQUIRE(DecodeHello(hello_frame.data() + kFrameHeaderSize, hello_frame.size() - kFrameHeaderSize, hello_decoded, why));
  CHECK(hello_decoded.cluster_id == 5 && hello_decoded.has_secret == 1U);
  for (size_t cut = 0; cut + kFrameHeaderSize < hello_frame.size(); ++cut) {
    CHECK(!DecodeHello(hello_frame.data() + kFrameHeaderSize, cut, hello_decoded, why));
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
  ChallengeMessage challenge;
  WelcomeMessage welcome;
  BindMessage bind;
  ResultMessage result;
  int64_t revoked = 0;
  uint64_t generation = 0;
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
    if (DecodeProof(mutated.data(), mutated.size(), decoded, why)) {
      CHECK(decoded.comm_res.size() <= kMaxCommResWireBytes);
    }
    DecodeHello(mutated.data(), mutated.size(), hello_decoded, why);
    DecodeChallenge(mutated.data(), mutated.size(), challenge, why);
    DecodeWelcome(mutated.data(), mutated.size(), welcome, why);
    DecodeBind(mutated.data(), mutated.size(), bind, why);
    DecodeResult(mutated.data(), mutated.size(), result, why);
    DecodeRevoke(mutated.data(), mutated.size(), revoked, why);
    DecodeCommit(mutated.data(), mutated.size(), generation, why);
    if (DecodeBlockRequest(mutated.data(), mutated.size(), request, why)) {
      uint64_t sum = 0;
      for (const auto &s : request.segments) sum += s.len;
      CHECK_EQ(sum, request.total_len);
    }
  }
}
