// The TCP transport of issue 16 on loopback: several calls in flight on one link, large calls cut
// into pieces, several connections per link, liveness by progress (a slow but moving transfer
// never breaks its link, and heartbeats pass between pieces), and bounded handshakes.
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include "engine_fixture.h"
#include "forged_peer.h"
#include "harness.h"
#include "wire_format.h"

using namespace ddtest;
using namespace dd::host;

namespace {
constexpr uint64_t kServer = 10;
constexpr uint64_t kClient = 20;

using Clock = std::chrono::steady_clock;
double MsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

std::vector<uint64_t> Range(uint64_t first, uint64_t count) {
  std::vector<uint64_t> v(count);
  for (uint64_t i = 0; i < count; ++i) {
    v[i] = first + i;
  }
  return v;
}

// Two TCP-only engines linked client → server, each with a cache of 4 tensors × 256 rows × 16 KiB.
struct TcpPair {
  using Options = std::map<std::string, std::string>;
  TcpPair() : TcpPair(Options{}, Options{}) {}
  TcpPair(const Options &client_options, const Options &server_options)
      : server_cache(4, 256, 16384),
        client_cache(4, 256, 16384),
        server(kServer, true, With(server_options)),
        client(kClient, false, With(client_options), LlmRole::kDecoder) {
    server_cache.Fill(11);
    client_cache.Fill(12);
    server_id = Register(*server.engine, server_cache);
    client_id = Register(*client.engine, client_cache);
    REQUIRE_STATUS(Link(*client.engine, kServer, server.port), LLM_SUCCESS);
  }
  static std::map<std::string, std::string> With(std::map<std::string, std::string> options) {
    options["dd.DataPath"] = "tcp";
    return options;
  }
  HostCache server_cache;
  HostCache client_cache;
  TestEngine server;
  TestEngine client;
  int64_t server_id = -1;
  int64_t client_id = -1;
};
}  // namespace

DD_TEST(concurrent_pulls_on_one_link_run_together_and_each_gets_its_bytes) {
  TcpPair p;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  // Four threads pull disjoint 64-block ranges of the same link at once, several times.
  for (uint64_t k = 0; k < 4; ++k) {
    threads.emplace_back([&, k] {
      for (int round = 0; round < 5; ++round) {
        if (p.client.engine->PullKvBlocks(IndexOf(kServer, p.server_id), CacheWithId(p.client_id), Range(64 * k, 64),
                                          Range(64 * k, 64)) != LLM_SUCCESS) {
          ++failures;
        }
      }
    });
  }
  for (std::thread &t : threads) {
    t.join();
  }
  CHECK_EQ(failures.load(), 0);
  for (uint32_t t = 0; t < 4; ++t) {
    for (uint64_t b = 0; b < 256; b += 7) {
      CHECK(p.client_cache.RowEquals(t, b, 11, t, b));
    }
  }
  // Pushes too, in both directions at once.
  p.client_cache.Fill(13);
  std::thread pusher([&] {
    CHECK_STATUS(p.client.engine->PushKvBlocks(CacheWithId(p.client_id, 4), IndexOf(kServer, p.server_id), Range(0, 128),
                                               Range(128, 128)),
                 LLM_SUCCESS);
  });
  CHECK_STATUS(p.server.engine->PullKvBlocks(IndexOf(kClient, p.client_id), CacheWithId(p.server_id), Range(0, 64),
                                             Range(0, 64)),
               LLM_SUCCESS);
  pusher.join();
  for (uint32_t t = 0; t < 4; ++t) {
    CHECK(p.server_cache.RowEquals(t, 5, 13, t, 5));      // pulled from the client
    CHECK(p.server_cache.RowEquals(t, 130, 13, t, 2));    // pushed by the client
    CHECK(p.server_cache.RowEquals(t, 100, 11, t, 100));  // untouched
  }
}

DD_TEST(a_large_call_is_cut_into_pieces_and_lands_byte_for_byte) {
  // 4 KiB pieces and a 64 KiB window: a 16 MiB pull is 4096 pieces, 16 in flight.
  TcpPair p(TcpPair::Options{{"dd.PieceBytes", "4096"}, {"dd.LinkWindowBytes", "65536"}}, TcpPair::Options{});
  std::vector<uint64_t> scattered(256);
  for (uint64_t i = 0; i < 256; ++i) {
    scattered[i] = (i * 37) % 256;  // every row, out of order
  }
  REQUIRE_STATUS(p.client.engine->PullKvBlocks(IndexOf(kServer, p.server_id), CacheWithId(p.client_id), scattered,
                                               Range(0, 256)),
                 LLM_SUCCESS);
  for (uint32_t t = 0; t < 4; ++t) {
    for (uint64_t i = 0; i < 256; ++i) {
      CHECK(p.client_cache.RowEquals(t, i, 11, t, scattered[i]));
    }
  }
  // A piece smaller than a block splits the block; a push the same way.
  p.client_cache.Fill(14);
  REQUIRE_STATUS(p.client.engine->PushKvBlocks(CacheWithId(p.client_id, 4), IndexOf(kServer, p.server_id), scattered,
                                               Range(0, 256)),
                 LLM_SUCCESS);
  for (uint32_t t = 0; t < 4; ++t) {
    for (uint64_t i = 0; i < 256; i += 3) {
      CHECK(p.server_cache.RowEquals(t, i, 14, t, scattered[i]));
    }
  }
}

DD_TEST(several_connections_per_link_carry_pulls_and_pushes) {
  // The link uses the larger of the two engines' dd.StreamsPerLink.
  TcpPair p(TcpPair::Options{{"dd.StreamsPerLink", "4"}, {"dd.PieceBytes", "65536"}},
            TcpPair::Options{{"dd.StreamsPerLink", "2"}});
  REQUIRE_STATUS(p.client.engine->PullKvBlocks(IndexOf(kServer, p.server_id), CacheWithId(p.client_id), Range(0, 256),
                                               Range(0, 256)),
                 LLM_SUCCESS);
  for (uint32_t t = 0; t < 4; ++t) {
    for (uint64_t b = 0; b < 256; b += 5) {
      CHECK(p.client_cache.RowEquals(t, b, 11, t, b));
    }
  }
  p.server_cache.Fill(15);
  REQUIRE_STATUS(p.server.engine->PushKvBlocks(CacheWithId(p.server_id, 4), IndexOf(kClient, p.client_id), Range(0, 256),
                                               Range(0, 256)),
                 LLM_SUCCESS);
  for (uint32_t t = 0; t < 4; ++t) {
    CHECK(p.client_cache.RowEquals(t, 200, 15, t, 200));
  }
  CHECK_STATUS(Unlink(*p.client.engine, kServer, p.server.port), LLM_SUCCESS);
}

DD_TEST(a_slow_but_moving_transfer_never_breaks_its_link_and_heartbeats_pass_between_pieces) {
  // The server sends heartbeats every 20 ms and counts a peer gone after 1 s without a byte.
  HostCache cache(4, 128, 65536);  // 32 MiB
  cache.Fill(16);
  TestEngine server(kServer, true, {{"dd.HeartbeatIntervalMs", "20"}});
  const int64_t id = Register(*server.engine, cache);
  ForgedPeer reader(66);
  reader.heartbeat_ms = 20;
  REQUIRE(reader.Establish(server.port));
  // 32 requests of 1 MiB, then read the answers at about 4 MiB/s for 3 s (well past the server's
  // 1 s serving deadline and its liveness bound), sending our heartbeats meanwhile.
  std::vector<uint8_t> requests;
  for (uint32_t i = 0; i < 32; ++i) {
    EncodeBlockRequest(FrameType::kRead, 100 + i, id, 1U << 20U, 1,
                       [&](size_t) { return WireSegment{i % 4, (i / 4) * (1ULL << 20U), 1ULL << 20U}; }, requests);
  }
  REQUIRE(SendAll(reader.requests.get(), requests.data(), requests.size()));
  std::vector<uint8_t> heartbeat;
  EncodeEmpty(FrameType::kHeartbeat, 0, heartbeat);
  const auto start = Clock::now();
  int heartbeats_seen = 0;
  int answers = 0;
  std::vector<uint8_t> chunk(16384);
  bool ok = true;
  auto last_heartbeat_sent = start;
  while (ok && answers < 32) {
    FrameHeader header;
    std::vector<uint8_t> body;
    ok = ReadFrame(reader.requests.get(), header, body);
    if (!ok || header.type == FrameType::kHeartbeat) {
      heartbeats_seen += ok && answers < 31 ? 1 : 0;
      continue;
    }
    ResultMessage result;
    std::string why;
    ok = DecodeResult(body.data(), body.size(), result, why) && result.status == 0U && result.payload_len == (1U << 20U);
    const uint32_t i = header.request_id - 100;
    for (uint64_t got = 0; ok && got < result.payload_len; got += chunk.size()) {
      ok = RecvAll(reader.requests.get(), chunk.data(), chunk.size());
      // The bytes are those of the requested rows.
      const uint64_t offset = (i / 4) * (1ULL << 20U) + got;
      ok = ok && std::memcmp(chunk.data(), cache.tensors[i % 4].data() + offset, chunk.size()) == 0;
      if (MsSince(start) < 3000.0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(4));
      }
      if (std::chrono::duration<double, std::milli>(Clock::now() - last_heartbeat_sent).count() > 20.0) {
        // Our heartbeats go with our answers: on the connection that carries the server's requests.
        SendAll(reader.answers.get(), heartbeat.data(), heartbeat.size());
        last_heartbeat_sent = Clock::now();
      }
    }
    ++answers;
  }
  CHECK(ok);
  CHECK_EQ(answers, 32);
  CHECK(MsSince(start) > 2000.0);
  // The server's heartbeats came between the pieces (each waits for at most the piece being
  // written), not after all of them.
  CHECK(heartbeats_seen >= 3);
  std::printf("figure: 32 MiB read at a trickle over %.0f ms: link alive, %d heartbeats came between the pieces\n",
              MsSince(start), heartbeats_seen);
}

DD_TEST(a_handshake_that_does_not_finish_in_time_is_dropped_with_a_reason) {
  TestEngine server(kServer, true, {{"dd.HandshakeTimeoutMs", "200"}});
  ForgedPeer slow(66);
  REQUIRE(slow.Hello(server.port));
  const auto start = Clock::now();
  FrameHeader header;
  std::vector<uint8_t> body;
  ResultMessage result;
  std::string why;
  // No proof follows: after dd.HandshakeTimeoutMs the server says why and closes.
  REQUIRE(ReadFrame(slow.requests.get(), header, body) && DecodeResult(body.data(), body.size(), result, why));
  CHECK_STATUS(result.status, LLM_TIMEOUT);
  CHECK(result.detail.find("dd.HandshakeTimeoutMs") != std::string::npos);
  CHECK(MsSince(start) >= 150.0 && MsSince(start) < 2000.0);
  CHECK(ClosedByPeer(slow.requests.get()));
}
