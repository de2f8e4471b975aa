// The attacks of issue 12 against the host backend, each reproduced on loopback with bounded counts
// and times: what the engine does now (refused how, in how long), and that an honest decoder then
// links and pulls the right bytes. Lines starting with "figure:" are the measurements the issue
// asks for (refusal times, RSS and descriptors); they are printed, never asserted as performance.
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <memory>
#include <thread>

#include "engine_fixture.h"
#include "forged_peer.h"
#include "harness.h"
#include "peer_process.h"
#include "wire_format.h"

using namespace ddtest;
using namespace dd::host;

namespace {
constexpr uint64_t kServer = 10;
constexpr uint64_t kDecoder = 20;
const std::string kSecret = "correct horse battery staple";

using Clock = std::chrono::steady_clock;
double MsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

size_t OpenFds() {
  size_t n = 0;
  if (DIR *dir = ::opendir("/proc/self/fd")) {
    while (const dirent *entry = ::readdir(dir)) {
      n += entry->d_name[0] != '.' ? 1U : 0U;
    }
    ::closedir(dir);
  }
  return n - 1U;  // the directory stream itself
}

long RssKiB() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return std::stol(line.substr(6));
    }
  }
  return -1;
}

void Figure(const std::string &text) { std::printf("figure: %s\n", text.c_str()); }

// A server engine with one registered cache of known bytes.
struct Server {
  explicit Server(const std::map<std::string, std::string> &options = {}, uint32_t tensors = 2, uint64_t rows = 8,
                  uint64_t row_bytes = 512)
      : cache(tensors, rows, row_bytes), engine(kServer, true, options) {
    cache.Fill(4);
    REQUIRE_STATUS(engine.init_status, LLM_SUCCESS);
    cache_id = Register(*engine.engine, cache);
  }
  HostCache cache;
  TestEngine engine;
  int64_t cache_id = -1;
  uint16_t port() const { return engine.port; }
};

// An honest decoder links, pulls two blocks over TCP, checks every byte, and unlinks.
void ExpectHonestDecoderWorks(Server &server, std::map<std::string, std::string> options = {}) {
  options["dd.DataPath"] = "tcp";
  TestEngine decoder(kDecoder + 100, false, options, LlmRole::kDecoder);
  HostCache local(server.cache.num_tensors, server.cache.rows, server.cache.row_bytes);
  const int64_t local_id = Register(*decoder.engine, local);
  const auto start = Clock::now();
  REQUIRE_STATUS(Link(*decoder.engine, kServer, server.port()), LLM_SUCCESS);
  const double link_ms = MsSince(start);
  REQUIRE_STATUS(decoder.engine->PullKvBlocks(IndexOf(kServer, server.cache_id), CacheWithId(local_id), {3, 4}, {0, 1}),
                 LLM_SUCCESS);
  for (uint32_t t = 0; t < local.num_tensors; ++t) {
    CHECK(local.RowEquals(t, 0, 4, t, 3));
    CHECK(local.RowEquals(t, 1, 4, t, 4));
  }
  CHECK_STATUS(Unlink(*decoder.engine, kServer, server.port()), LLM_SUCCESS);
  Figure("honest decoder afterwards: linked in " + std::to_string(link_ms) + " ms, pulled the right bytes");
}

// Whether the server's link to `peer` is broken with a reason containing `why` (a pull over it is
// LLM_TIMEOUT naming the cause, compat.md choices A1/A16).
bool LinkCut(Server &server, uint64_t peer, const char *why) {
  return server.engine.engine->PullKvBlocks(IndexOf(peer, 1), CacheWithId(server.cache_id), {0}, {0}) == LLM_TIMEOUT &&
         std::strstr(dd_backend_error_detail(), why) != nullptr;
}

// Waits (≤ `ms`) until the process holds at most `fds` descriptors.
bool FdsBackTo(size_t fds, int ms) { return WaitUntil([&] { return OpenFds() <= fds; }, ms); }
}  // namespace

DD_TEST(A25_without_the_secret_a_peer_gets_link_failed_and_learns_nothing) {
  Server server(std::map<std::string, std::string>{{"dd.AuthSecret", kSecret}});
  // A hand-made peer that claims no secret: refused in the challenge, which carries no nonce and no proof.
  {
    ForgedPeer peer(66);
    const auto start = Clock::now();
    CHECK(!peer.Hello(server.port()));
    Figure("no-secret peer refused in " + std::to_string(MsSince(start)) + " ms: " + peer.refusal);
    CHECK_STATUS(peer.refused, LLM_LINK_FAILED);
    CHECK(peer.refusal.find("dd.AuthSecret") != std::string::npos);
    CHECK(peer.challenge.proof.empty() && peer.challenge.nonce == WireNonce{});
    CHECK(ClosedByPeer(peer.requests.get()));
  }
  // A peer that claims a secret but does not hold it: the server's proof does not verify for it,
  // and its own proof is refused before the server sends anything about itself.
  {
    ForgedPeer peer(66, "not the right secret at all");
    REQUIRE(peer.Hello(server.port()));
    CHECK(!VerifyProof(peer.secret, ProofRole::kServer, peer.transcript,
                       reinterpret_cast<const uint8_t *>(peer.challenge.proof.data()), peer.challenge.proof.size()));
    const auto start = Clock::now();
    CHECK(!peer.Proof());
    Figure("wrong-secret peer refused in " + std::to_string(MsSince(start)) + " ms: " + peer.refusal);
    CHECK_STATUS(peer.refused, LLM_LINK_FAILED);
    CHECK(peer.welcome.token == 0U && peer.welcome.host.pid == 0U && peer.welcome.comm_res.empty());
    CHECK(ClosedByPeer(peer.requests.get()));
  }
  // A proof replayed from another handshake (other nonces) is refused too.
  {
    ForgedPeer first(66, kSecret);
    REQUIRE(first.Hello(server.port()));
    const Proof old = ComputeProof(kSecret, ProofRole::kClient, first.transcript);
    ForgedPeer claims(66, "a secret it does not hold!!");
    REQUIRE(claims.Hello(server.port()));
    const std::string replayed(old.begin(), old.end());
    CHECK(!claims.Proof(&replayed));
    CHECK_STATUS(claims.refused, LLM_LINK_FAILED);
  }
  // Real engines: no secret, another secret, or a server without one are LLM_LINK_FAILED with a reason.
  {
    TestEngine none(kDecoder, false, {}, LlmRole::kDecoder);
    CHECK_STATUS(Link(*none.engine, kServer, server.port()), LLM_LINK_FAILED);
    CHECK(std::strstr(dd_backend_error_detail(), "dd.AuthSecret") != nullptr);
    TestEngine other(kDecoder, false, {{"dd.AuthSecret", "another secret, 16+ bytes"}}, LlmRole::kDecoder);
    CHECK_STATUS(Link(*other.engine, kServer, server.port()), LLM_LINK_FAILED);
    CHECK(std::strstr(dd_backend_error_detail(), "failed to prove") != nullptr);
    Server open;
    TestEngine strict(kDecoder, false, {{"dd.AuthSecret", kSecret}}, LlmRole::kDecoder);
    CHECK_STATUS(Link(*strict.engine, kServer, open.port()), LLM_LINK_FAILED);
    CHECK(std::strstr(dd_backend_error_detail(), "does not authenticate") != nullptr);
  }
  ExpectHonestDecoderWorks(server, {{"dd.AuthSecret", kSecret}});
}

DD_TEST(A25_A20_with_the_secret_no_stranger_evicts_or_unlinks_a_linked_decoder) {
  Server server(std::map<std::string, std::string>{{"dd.AuthSecret", kSecret}});
  TestEngine decoder(kDecoder, false, {{"dd.AuthSecret", kSecret}, {"dd.DataPath", "tcp"}}, LlmRole::kDecoder);
  HostCache local(2, 8, 512);
  const int64_t local_id = Register(*decoder.engine, local);
  REQUIRE_STATUS(Link(*decoder.engine, kServer, server.port()), LLM_SUCCESS);
  // A stranger claims the decoder's id with force_link (V2 would replace the decoder's link, A1).
  ForgedPeer thief(kDecoder);
  CHECK(!thief.Hello(server.port()));
  CHECK_STATUS(thief.refused, LLM_LINK_FAILED);
  // A stranger asks the server to drop its link to the decoder (A20's unlink request).
  ForgedPeer unlinker(kDecoder);
  CHECK(!unlinker.Hello(server.port(), HandshakePurpose::kUnlink));
  CHECK_STATUS(unlinker.refused, LLM_UNLINK_FAILED);
  // The decoder's link is untouched.
  CHECK_STATUS(decoder.engine->PullKvBlocks(IndexOf(kServer, server.cache_id), CacheWithId(local_id), {2}, {2}),
               LLM_SUCCESS);
  CHECK(local.RowEquals(1, 2, 4, 1, 2));
  // Holders of the secret keep V2's rules: a plain unlink from the decoder works.
  CHECK_STATUS(Unlink(*decoder.engine, kServer, server.port()), LLM_SUCCESS);
  ExpectHonestDecoderWorks(server, {{"dd.AuthSecret", kSecret}});
}

DD_TEST(D17_handshakes_with_fresh_ids_dropped_at_once_give_every_slot_back) {
  Server server(std::map<std::string, std::string>{{"dd.MaxLinks", "64"}});
  const size_t fds_before = OpenFds();
  {
    std::vector<std::unique_ptr<ForgedPeer>> peers;
    for (uint64_t i = 0; i < 300; ++i) {
      auto peer = std::make_unique<ForgedPeer>(1000 + i);
      if (!peer->Establish(server.port())) {
        CHECK_STATUS(peer->refused, LLM_LINK_FAILED);  // past dd.MaxLinks
        CHECK(peer->refusal.find("dd.MaxLinks") != std::string::npos);
      }
      peers.push_back(std::move(peer));
    }
    Figure("300 fresh-id handshakes against dd.MaxLinks=64: the 65th and later refused with LLM_LINK_FAILED");
  }  // every forged peer drops its connections at once
  const auto start = Clock::now();
  CHECK(FdsBackTo(fds_before, 3000));
  Figure("their slots and descriptors came back in " + std::to_string(MsSince(start)) + " ms (fds " +
         std::to_string(fds_before) + " -> " + std::to_string(OpenFds()) + ")");
  ExpectHonestDecoderWorks(server);
}

DD_TEST(D17_killed_decoders_free_their_descriptors_at_once) {
  Server server;
  const size_t fds_before = OpenFds();
  std::vector<std::unique_ptr<PeerProcess>> decoders;
  for (uint64_t i = 0; i < 20; ++i) {
    PeerSpec spec;
    spec.cluster_id = 500 + i;
    spec.listen = false;
    spec.link_port = server.port();
    spec.link_cluster = kServer;
    spec.rows = 4;
    decoders.push_back(std::make_unique<PeerProcess>(spec));
    REQUIRE(decoders.back()->ok());
  }
  const size_t fds_linked = OpenFds();
  for (auto &decoder : decoders) {
    decoder->Kill();
  }
  const auto start = Clock::now();
  CHECK(FdsBackTo(fds_before, 3000));
  Figure("20 decoders killed with SIGKILL: server fds " + std::to_string(fds_before) + " -> " +
         std::to_string(fds_linked) + " linked -> " + std::to_string(OpenFds()) + " after " +
         std::to_string(MsSince(start)) + " ms");
  // V2 keeps the dead peers' links filed (SetRole: EXIST_LINK) until unlinked or replaced (A16).
  CHECK_STATUS(server.engine.engine->SetRole(LlmRole::kPrompt, {}), LLM_EXIST_LINK);
  ExpectHonestDecoderWorks(server);
}

DD_TEST(a_peer_that_never_reads_a_32MiB_answer_delays_nobody_and_is_cut_at_the_servers_deadline) {
  // 4 tensors of 8 MiB; the server's own wait time is 1 s.
  Server server(std::map<std::string, std::string>{}, 4, 128, 65536);
  TestEngine decoder(kDecoder, false, {{"dd.DataPath", "tcp"}, {"dd.HeartbeatIntervalMs", "50"}}, LlmRole::kDecoder);
  HostCache local(4, 128, 65536);
  const int64_t local_id = Register(*decoder.engine, local);
  REQUIRE_STATUS(Link(*decoder.engine, kServer, server.port()), LLM_SUCCESS);
  ForgedPeer attacker(66);
  attacker.sync_wait_ms = 600000;  // a 10-minute deadline
  REQUIRE(attacker.Establish(server.port()));
  const int tiny = 4096;
  ::setsockopt(attacker.requests.get(), SOL_SOCKET, SO_RCVBUF, &tiny, sizeof(tiny));
  std::vector<WireSegment> all;
  for (uint32_t t = 0; t < 4; ++t) {
    all.push_back(WireSegment{t, 0, 8ULL << 20U});
  }
  std::vector<uint8_t> frame;
  EncodeBlockRequest(FrameType::kRead, 9, server.cache_id, 32ULL << 20U, all.size(), [&](size_t i) { return all[i]; },
                     frame);
  const auto start = Clock::now();
  REQUIRE(SendAll(attacker.requests.get(), frame.data(), frame.size()));
  // Meanwhile the honest decoder's pulls are served as usual, and its link survives heartbeats of 50 ms.
  double worst = 0;
  int pulls = 0;
  while (MsSince(start) < 700.0) {
    const auto t0 = Clock::now();
    REQUIRE_STATUS(decoder.engine->PullKvBlocks(IndexOf(kServer, server.cache_id), CacheWithId(local_id), {7}, {7}),
                   LLM_SUCCESS);
    worst = std::max(worst, MsSince(t0));
    ++pulls;
  }
  CHECK(local.RowEquals(3, 7, 4, 3, 7));
  Figure("while a peer sat on a 32 MiB answer: " + std::to_string(pulls) + " honest pulls, the slowest " +
         std::to_string(worst) + " ms");
  // Links and unlinks go on too (the server is still holding the answer: its deadline is 1 s, and
  // a fresh decoder comes and goes now).
  if (MsSince(start) < 1000.0) {
    ExpectHonestDecoderWorks(server);
  }
  // The attacker's link was cut after no byte moved for the server's deadline (1 s, not 10 min).
  CHECK(WaitUntil([&] { return LinkCut(server, 66, "neither read"); }, 3000));
  Figure("the non-reading peer was cut after " + std::to_string(MsSince(start)) + " ms: " + dd_backend_error_detail());
  CHECK(MsSince(start) < 5000.0);
  CHECK(ClosedByPeer(attacker.requests.get()));
  // The first decoder's link (heartbeats of 50 ms) lived through all of it.
  CHECK_STATUS(decoder.engine->PullKvBlocks(IndexOf(kServer, server.cache_id), CacheWithId(local_id), {9}, {9}),
               LLM_SUCCESS);
  ExpectHonestDecoderWorks(server);
}

DD_TEST(a_write_that_never_sends_its_bytes_delays_nobody_and_is_cut_at_the_servers_deadline) {
  Server server;
  TestEngine decoder(kDecoder, false, {{"dd.DataPath", "tcp"}}, LlmRole::kDecoder);
  HostCache local(2, 8, 512);
  const int64_t local_id = Register(*decoder.engine, local);
  REQUIRE_STATUS(Link(*decoder.engine, kServer, server.port()), LLM_SUCCESS);
  ForgedPeer attacker(66);
  attacker.sync_wait_ms = 600000;
  REQUIRE(attacker.Establish(server.port()));
  std::vector<uint8_t> frame;
  EncodeBlockRequest(FrameType::kWrite, 9, server.cache_id, 4096, 1, [](size_t) { return WireSegment{0, 0, 4096}; },
                     frame);
  const auto start = Clock::now();
  REQUIRE(SendAll(attacker.requests.get(), frame.data(), frame.size()));  // and not one byte of the 4096
  double worst = 0;
  while (MsSince(start) < 600.0) {
    const auto t0 = Clock::now();
    REQUIRE_STATUS(decoder.engine->PullKvBlocks(IndexOf(kServer, server.cache_id), CacheWithId(local_id), {1}, {1}),
                   LLM_SUCCESS);
    worst = std::max(worst, MsSince(t0));
  }
  Figure("while a write's bytes never came: the slowest honest pull took " + std::to_string(worst) + " ms");
  CHECK(WaitUntil([&] { return LinkCut(server, 66, "neither read"); }, 3000));
  Figure("the silent writer was cut after " + std::to_string(MsSince(start)) + " ms: " + dd_backend_error_detail());
  CHECK(ClosedByPeer(attacker.requests.get()));
  CHECK(server.cache.RowEquals(0, 0, 4, 0, 0));  // nothing was written
  ExpectHonestDecoderWorks(server);
}

DD_TEST(half_open_connections_cannot_lock_out_new_links) {
  Server server;
  std::vector<UniqueFd> idle;
  for (int i = 0; i < 260; ++i) {
    idle.emplace_back(ConnectBounded(server.port()));
    if (i % 2 == 1) {
      // Half a hello.
      HelloMessage hello;
      std::vector<uint8_t> frame;
      EncodeHello(hello, frame);
      SendAll(idle.back().get(), frame.data(), frame.size() / 2);
    }
  }
  // dd.MaxPendingHandshakes (64) handshakes at most; the oldest were dropped with a reason.
  FrameHeader header;
  std::vector<uint8_t> body;
  ResultMessage result;
  std::string why;
  REQUIRE(ReadFrame(idle.front().get(), header, body) && DecodeResult(body.data(), body.size(), result, why));
  CHECK_STATUS(result.status, LLM_LINK_FAILED);
  CHECK(result.detail.find("dd.MaxPendingHandshakes") != std::string::npos);
  ExpectHonestDecoderWorks(server);
}

DD_TEST(handshakes_announcing_huge_bodies_are_closed_before_anything_is_allocated) {
  Server server;
  const long rss_before = RssKiB();
  std::vector<UniqueFd> connections;
  for (int i = 0; i < 64; ++i) {
    connections.emplace_back(ConnectBounded(server.port()));
    std::vector<uint8_t> raw;
    WireWriter w(raw);
    w.U32(kWireMagic);
    w.U16(kWireVersion);
    w.U16(static_cast<uint16_t>(FrameType::kHello));
    w.U32(16U << 20U);  // 16 MiB announced
    w.U32(0);
    raw.resize(raw.size() + 1000, 0x41);
    SendAll(connections.back().get(), raw.data(), raw.size());
  }
  for (auto &c : connections) {
    CHECK(ClosedByPeer(c.get()));
  }
  // And 64 that announce just under dd.HandshakeMaxBytes and send it slowly: bounded by the cap.
  std::vector<UniqueFd> slow;
  for (int i = 0; i < 64; ++i) {
    slow.emplace_back(ConnectBounded(server.port()));
    std::vector<uint8_t> raw;
    WireWriter w(raw);
    w.U32(kWireMagic);
    w.U16(kWireVersion);
    w.U16(static_cast<uint16_t>(FrameType::kHello));
    w.U32(128U * 1024U);
    w.U32(0);
    raw.resize(raw.size() + 100000, 0x41);
    SendAll(slow.back().get(), raw.data(), raw.size());
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the server has read what came
  const long rss_after = RssKiB();
  Figure("64 handshakes announcing 16 MiB and 64 sending 100 KB of 128 KiB: server RSS " + std::to_string(rss_before) +
         " -> " + std::to_string(rss_after) + " KiB");
  CHECK(rss_after - rss_before < 32 * 1024);
  ExpectHonestDecoderWorks(server);
}

DD_TEST(two_thousand_hostile_handshakes_and_twenty_killed_decoders_leave_rss_and_descriptors_flat) {
  Server server(std::map<std::string, std::string>{{"dd.AuthSecret", kSecret}});
  ExpectHonestDecoderWorks(server, {{"dd.AuthSecret", kSecret}});  // warm up what a link allocates
  const size_t fds_before = OpenFds();
  const long rss_before = RssKiB();
  const auto start = Clock::now();
  int refused = 0;
  for (int i = 0; i < 2000; ++i) {
    switch (i % 5) {
      case 0: {  // garbage
        UniqueFd fd(ConnectBounded(server.port()));
        const std::vector<uint8_t> junk(200, static_cast<uint8_t>(i));
        SendAll(fd.get(), junk.data(), junk.size());
        break;
      }
      case 1: {  // half-open: connect and go
        UniqueFd fd(ConnectBounded(server.port()));
        break;
      }
      case 2: {  // no secret
        ForgedPeer peer(3000 + static_cast<uint64_t>(i));
        refused += !peer.Hello(server.port()) && peer.refused == LLM_LINK_FAILED ? 1 : 0;
        break;
      }
      case 3: {  // a wrong proof
        ForgedPeer peer(3000 + static_cast<uint64_t>(i), "a guessed secret, 16+ bytes");
        refused += peer.Hello(server.port()) && !peer.Proof() && peer.refused == LLM_LINK_FAILED ? 1 : 0;
        break;
      }
      default: {  // a huge announced body
        UniqueFd fd(ConnectBounded(server.port()));
        std::vector<uint8_t> raw;
        WireWriter w(raw);
        w.U32(kWireMagic);
        w.U16(kWireVersion);
        w.U16(static_cast<uint16_t>(FrameType::kProof));
        w.U32(16U << 20U);
        w.U32(0);
        SendAll(fd.get(), raw.data(), raw.size());
        break;
      }
    }
  }
  const double hostile_ms = MsSince(start);
  CHECK_EQ(refused, 800);  // every no-secret and wrong-proof handshake got its LLM_LINK_FAILED
  std::vector<std::unique_ptr<PeerProcess>> decoders;
  for (uint64_t i = 0; i < 20; ++i) {
    PeerSpec spec;
    spec.cluster_id = 700 + i;
    spec.listen = false;
    spec.link_port = server.port();
    spec.link_cluster = kServer;
    spec.rows = 4;
    spec.options = {{"dd.AuthSecret", kSecret}};
    decoders.push_back(std::make_unique<PeerProcess>(spec));
    REQUIRE(decoders.back()->ok());
  }
  for (auto &decoder : decoders) {
    decoder->Kill();
  }
  CHECK(FdsBackTo(fds_before, 5000));
  const long rss_after = RssKiB();
  Figure("2000 hostile handshakes (" + std::to_string(hostile_ms) + " ms) and 20 killed decoders: server RSS " +
         std::to_string(rss_before) + " -> " + std::to_string(rss_after) + " KiB, fds " + std::to_string(fds_before) +
         " -> " + std::to_string(OpenFds()));
  CHECK(rss_after - rss_before < 16 * 1024);
  ExpectHonestDecoderWorks(server, {{"dd.AuthSecret", kSecret}});
}

DD_TEST(A8_a_long_pull_observes_its_deadline_between_chunks) {
  PeerSpec spec;
  spec.rows = 1024;
  spec.row_bytes = 65536;  // 4 tensors × 64 MiB
  PeerProcess peer(spec);
  REQUIRE(peer.ok());
  HostCache local(4, 1024, 65536);
  for (const bool tcp : {false, true}) {
    std::map<std::string, std::string> options = {{"llm.SyncKvCacheWaitTime", "1"}};
    if (tcp) {
      options["dd.DataPath"] = "tcp";
    }
    TestEngine self(kDecoder, false, options, LlmRole::kDecoder);
    const int64_t local_id = Register(*self.engine, local);
    REQUIRE_STATUS(Link(*self.engine, kServer, peer.port()), LLM_SUCCESS);
    // The link's first transfer fetches the peer's table within the same 1 ms; try a few times.
    Status fetched = LLM_TIMEOUT;
    for (int i = 0; i < 200 && fetched != LLM_SUCCESS; ++i) {
      fetched = self.engine->PullKvBlocks(IndexOf(kServer, peer.cache_id()), CacheWithId(local_id), {0}, {0});
    }
    REQUIRE_STATUS(fetched, LLM_SUCCESS);
    std::vector<uint64_t> blocks(1024);
    for (uint64_t b = 0; b < 1024; ++b) {
      blocks[b] = b;
    }
    const auto start = Clock::now();
    CHECK_STATUS(self.engine->PullKvBlocks(IndexOf(kServer, peer.cache_id()), CacheWithId(local_id), blocks, blocks),
                 LLM_TIMEOUT);
    const double ms = MsSince(start);
    Figure(std::string(tcp ? "tcp" : "same-host") + " 256 MiB pull with a 1 ms wait: LLM_TIMEOUT after " +
           std::to_string(ms) + " ms");
    CHECK(ms < 200.0);
    // The link still works.
    CHECK(WaitUntil([&] {
            return self.engine->PullKvBlocks(IndexOf(kServer, peer.cache_id()), CacheWithId(local_id), {5}, {6}) ==
                   LLM_SUCCESS;
          },
          2000));
    CHECK(local.RowEquals(0, 6, 3, 0, 5));
  }
  peer.Finish();
}
