// Links between engines in one process over loopback: how links are named and rebuilt (v2-rules
// A1, A21), the comm-resource check (A7), link statuses (A14, A15), Finalize (A16), unlink (A20),
// rets (A26), the call-level checks (B §3.3), the hixl backend's links, and the link cap
// (docs/compat.md D8, D9, D12). Test names start with the rule id they check.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include "engine_fixture.h"
#include "harness.h"

using namespace ddtest;

namespace {
constexpr uint64_t kServer = 10;
constexpr uint64_t kClient = 20;

bool DetailHas(const char *text) { return std::strstr(dd_backend_error_detail(), text) != nullptr; }

// SetRole answers EXIST_LINK exactly while a default-backend engine holds a link (A17).
bool HoldsLinks(TestEngine &e) {
  const Options keep_listening = e.port != 0U ? EngineOptionsFor(e.port) : Options{};
  return e.engine->SetRole(LlmRole::kPrompt, keep_listening) == LLM_EXIST_LINK;
}

// A client and a server, each with one registered cache (4 tensors × 16 rows × 256 bytes), the
// server's filled with pattern 7 and the client's with 9.
struct Pair {
  explicit Pair(const std::map<std::string, std::string> &server_options = {},
                const std::map<std::string, std::string> &client_options = {})
      : server_cache(4, 16, 256),
        client_cache(4, 16, 256),
        server(kServer, true, server_options),
        client(kClient, false, client_options) {
    server_cache.Fill(7);
    client_cache.Fill(9);
    server_id = Register(*server.engine, server_cache);
    client_id = Register(*client.engine, client_cache);
  }
  Status ClientPulls(uint64_t named_cluster) {
    return client.engine->PullKvBlocks(IndexOf(named_cluster, server_id), CacheWithId(client_id), {3}, {3});
  }
  Status ServerPulls(uint64_t named_cluster) {
    return server.engine->PullKvBlocks(IndexOf(named_cluster, client_id), CacheWithId(server_id), {5}, {5});
  }
  HostCache server_cache;
  HostCache client_cache;
  TestEngine server;
  TestEngine client;
  int64_t server_id = -1;
  int64_t client_id = -1;
};

// A listener whose accept queue is full: further connects are never answered.
struct FullBacklog {
  FullBacklog() {
    listener = BindLoopback(port);
    ::listen(listener, 0);
    for (int &fd : fillers) {
      fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(port);
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      ::connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof(addr));
    }
  }
  ~FullBacklog() {
    for (const int fd : fillers) {
      ::close(fd);
    }
    ::close(listener);
  }
  uint16_t port = 0;
  int listener = -1;
  int fillers[3] = {-1, -1, -1};
};

int64_t MsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
}

const char kCommRes[] =
    "{\"server_list\":[{\"server_id\":\"127.0.0.1\",\"device\":[{\"device_id\":\"0\",\"device_ip\":\"\","
    "\"rank_id\":\"0\"}]}],\"status\":\"completed\",\"version\":\"1.2\"}";
}  // namespace

DD_TEST(A1_link_is_named_by_the_peers_id_not_remote_cluster_id) {
  Pair p;
  std::vector<Status> rets;
  REQUIRE_STATUS(Link(*p.client.engine, 0, p.server.port), LLM_SUCCESS);
  CHECK_STATUS(p.ClientPulls(kServer), LLM_SUCCESS);
  CHECK(p.client_cache.RowEquals(0, 3, 7, 0, 3));
  CHECK_STATUS(p.ClientPulls(0), LLM_NOT_YET_LINK);
  // The accepting side holds the link too, under the client's id.
  CHECK_STATUS(p.ServerPulls(kClient), LLM_SUCCESS);
  CHECK(p.server_cache.RowEquals(0, 5, 9, 0, 5));
  CHECK(HoldsLinks(p.server));
  CHECK(HoldsLinks(p.client));
}

DD_TEST(A1_A21_a_wrong_remote_cluster_id_makes_every_relink_a_forced_rebuild) {
  Pair p;
  REQUIRE_STATUS(Link(*p.client.engine, 0, p.server.port), LLM_SUCCESS);
  REQUIRE_STATUS(p.ClientPulls(kServer), LLM_SUCCESS);
  // No link under 0 on this side: force_link, both sides rebuild, SUCCESS rather than ALREADY_LINK.
  CHECK_STATUS(Link(*p.client.engine, 0, p.server.port), LLM_SUCCESS);
  CHECK_STATUS(p.ClientPulls(kServer), LLM_SUCCESS);
  CHECK_STATUS(p.ServerPulls(kClient), LLM_SUCCESS);
  // A rebuild is the way to refresh the cache table (A23).
  HostCache late(4, 16, 256);
  late.Fill(12);
  const int64_t late_id = Register(*p.server.engine, late);
  CHECK_STATUS(Link(*p.client.engine, 0, p.server.port), LLM_SUCCESS);
  CHECK_STATUS(p.client.engine->PullKvBlocks(IndexOf(kServer, late_id), CacheWithId(p.client_id), {1}, {1}),
               LLM_SUCCESS);
  CHECK(p.client_cache.RowEquals(3, 1, 12, 3, 1));
  CHECK_STATUS(p.server.engine->UnregisterKvCache(late_id), LLM_SUCCESS);
}

DD_TEST(A1_A20_non_force_unlink_with_a_wrong_id_leaves_a_dangling_local_link) {
  Pair p;
  REQUIRE_STATUS(Link(*p.client.engine, 0, p.server.port), LLM_SUCCESS);
  // The peer drops its link to us; ours is filed under kServer, not 0, and stays.
  CHECK_STATUS(Unlink(*p.client.engine, 0, p.server.port), LLM_SUCCESS);
  CHECK(!HoldsLinks(p.server));
  CHECK(HoldsLinks(p.client));
  // Its peer is gone: LLM_TIMEOUT as soon as that is known (docs/compat.md, choices).
  CHECK(WaitUntil([&] { return p.ClientPulls(kServer) == LLM_TIMEOUT; }, 2000));
  CHECK(DetailHas("gone"));
  // Only a force unlink naming the real id clears it.
  CHECK_STATUS(Unlink(*p.client.engine, 0, p.server.port, true), LLM_SUCCESS);
  CHECK(HoldsLinks(p.client));
  CHECK_STATUS(Unlink(*p.client.engine, kServer, p.server.port, true), LLM_SUCCESS);
  CHECK(!HoldsLinks(p.client));
  CHECK_STATUS(Link(*p.client.engine, kServer, p.server.port), LLM_SUCCESS);
  CHECK_STATUS(p.ClientPulls(kServer), LLM_SUCCESS);
}

DD_TEST(A21_relink_with_the_right_id_is_already_link_and_keeps_the_link) {
  Pair p;
  REQUIRE_STATUS(Link(*p.client.engine, kServer, p.server.port), LLM_SUCCESS);
  REQUIRE_STATUS(p.ClientPulls(kServer), LLM_SUCCESS);
  std::vector<Status> rets;
  CHECK_STATUS(p.client.engine->LinkLlmClusters({ClusterTo(kServer, p.server.port)}, rets, 2000), LLM_ALREADY_LINK);
  REQUIRE(rets.size() == 1U);
  CHECK_STATUS(rets[0], LLM_ALREADY_LINK);
  p.client_cache.Zero();
  CHECK_STATUS(p.ClientPulls(kServer), LLM_SUCCESS);
  CHECK(p.client_cache.RowEquals(1, 3, 7, 1, 3));
}

DD_TEST(A21_relink_while_only_this_side_holds_the_link_is_link_failed) {
  Pair p;
  REQUIRE_STATUS(Link(*p.client.engine, kServer, p.server.port), LLM_SUCCESS);
  // The server drops its side alone.
  REQUIRE_STATUS(Unlink(*p.server.engine, kClient, 0, true), LLM_SUCCESS);
  CHECK(!HoldsLinks(p.server));
  CHECK_STATUS(Link(*p.client.engine, kServer, p.server.port), LLM_LINK_FAILED);
  CHECK(DetailHas("force_flag"));
  // Nothing changed on either side.
  CHECK(HoldsLinks(p.client));
  CHECK(!HoldsLinks(p.server));
  CHECK_STATUS(Unlink(*p.client.engine, kServer, p.server.port, true), LLM_SUCCESS);
  CHECK_STATUS(Link(*p.client.engine, kServer, p.server.port), LLM_SUCCESS);
  CHECK_STATUS(p.ClientPulls(kServer), LLM_SUCCESS);
}

DD_TEST(A1_a_second_client_with_a_linked_id_replaces_the_first) {
  Pair p;
  REQUIRE_STATUS(Link(*p.client.engine, kServer, p.server.port), LLM_SUCCESS);
  HostCache twin_cache(4, 16, 256);
  twin_cache.Fill(13);
  TestEngine twin(kClient, false);
  const int64_t twin_id = Register(*twin.engine, twin_cache);
  REQUIRE(twin_id == p.client_id);
  // The twin has no link under kServer: it forces the server to rebuild.
  CHECK_STATUS(Link(*twin.engine, kServer, p.server.port), LLM_SUCCESS);
  CHECK_STATUS(p.ServerPulls(kClient), LLM_SUCCESS);
  CHECK(p.server_cache.RowEquals(2, 5, 13, 2, 5));
  // The first client's peer dropped its link.
  CHECK(WaitUntil([&] { return p.ClientPulls(kServer) == LLM_TIMEOUT; }, 2000));
}

DD_TEST(A21_linking_the_same_server_twice_in_one_call) {
  Pair p;
  std::vector<Status> rets;
  // Neither cluster has a link yet, so both arrive forced: both succeed and one link remains.
  CHECK_STATUS(p.client.engine->LinkLlmClusters({ClusterTo(kServer, p.server.port), ClusterTo(kServer, p.server.port)},
                                                rets, 2000),
               LLM_SUCCESS);
  CHECK_EQ(rets.size(), 2U);
  CHECK(WaitUntil([&] { return p.ClientPulls(kServer) == LLM_SUCCESS && p.ServerPulls(kClient) == LLM_SUCCESS; },
                  2000));
}

DD_TEST(A7_local_comm_res_is_checked_at_every_link_on_both_ends) {
  // A bad value on the client: Initialize succeeded, every link from it fails.
  for (const char *bad : {"mock", "{\"version\":\"1.9\",\"server_list\":[]}", "{\"version\":\"1.3\"}"}) {
    Pair p({}, {{"llm.LocalCommRes", bad}});
    REQUIRE_STATUS(p.client.init_status, LLM_SUCCESS);
    std::vector<Status> rets;
    CHECK_STATUS(p.client.engine->LinkLlmClusters({ClusterTo(kServer, p.server.port)}, rets, 2000), LLM_PARAM_INVALID);
    REQUIRE(rets.size() == 1U);
    CHECK_STATUS(rets[0], LLM_PARAM_INVALID);
    // D9: neither side holds anything.
    CHECK(!HoldsLinks(p.client));
    CHECK(!HoldsLinks(p.server));
  }
  // A bad value on the server: every link to it fails.
  Pair bad_server(std::map<std::string, std::string>{{"llm.LocalCommRes", "{\"version\":\"1.0\"}"}});
  CHECK_STATUS(Link(*bad_server.client.engine, kServer, bad_server.server.port), LLM_PARAM_INVALID);
  CHECK(DetailHas("peer refused"));
  CHECK(!HoldsLinks(bad_server.client));
  // The device entry must be this engine's device.
  Pair wrong_device({}, {{"llm.LocalCommRes", kCommRes}, {"llm.DeviceId", "1"}});
  CHECK_STATUS(Link(*wrong_device.client.engine, kServer, wrong_device.server.port), LLM_PARAM_INVALID);
  // A valid value: local_ip_infos may be left out.
  Pair good({}, {{"llm.LocalCommRes", kCommRes}});
  ClusterInfo no_local = ClusterTo(kServer, good.server.port);
  no_local.local_ip_infos.clear();
  std::vector<Status> rets;
  CHECK_STATUS(good.client.engine->LinkLlmClusters({no_local}, rets, 2000), LLM_SUCCESS);
}

DD_TEST(A7_without_comm_res_the_first_link_generates_one_from_its_local_ip) {
  Pair p;
  TestEngine second(11, true);
  ClusterInfo no_local = ClusterTo(11, second.port);
  no_local.local_ip_infos.clear();
  ClusterInfo two_local = ClusterTo(kServer, p.server.port);
  two_local.local_ip_infos.push_back(two_local.local_ip_infos[0]);
  std::vector<Status> rets;
  // Per cluster, in rets; the other cluster goes on.
  CHECK_STATUS(p.client.engine->LinkLlmClusters({two_local, no_local}, rets, 2000), LLM_PARAM_INVALID);
  REQUIRE(rets.size() == 2U);
  CHECK_STATUS(rets[0], LLM_PARAM_INVALID);
  CHECK_STATUS(rets[1], LLM_PARAM_INVALID);
  rets.clear();
  CHECK_STATUS(p.client.engine->LinkLlmClusters({ClusterTo(kServer, p.server.port)}, rets, 2000), LLM_SUCCESS);
  // Generated once, kept: later links need no local address.
  CHECK_STATUS(p.client.engine->LinkLlmClusters({no_local}, rets, 2000), LLM_SUCCESS);
}

DD_TEST(A17_a_listener_gained_through_set_role_has_no_comm_res) {
  TestEngine late_server(kServer, false);
  const uint16_t port = FreePort();
  REQUIRE_STATUS(late_server.engine->SetRole(LlmRole::kPrompt, EngineOptionsFor(port)), LLM_SUCCESS);
  TestEngine client(kClient, false);
  CHECK_STATUS(Link(*client.engine, kServer, port), LLM_PARAM_INVALID);
  CHECK(DetailHas("SetRole"));
  // After it linked out once it has one.
  TestEngine other(30, true);
  REQUIRE_STATUS(Link(*late_server.engine, 30, other.port), LLM_SUCCESS);
  CHECK_STATUS(Link(*client.engine, kServer, port), LLM_SUCCESS);
}

DD_TEST(A14_link_statuses_for_refused_silent_and_unanswered_connects) {
  TestEngine client(kClient, false);
  // Nothing listening: LINK_FAILED with the reason.
  CHECK_STATUS(Link(*client.engine, 99, FreePort()), LLM_LINK_FAILED);
  CHECK(DetailHas("Connection refused"));
  CHECK(DetailHas("LinkLlmClusters: "));
  // D8: a listener that accepts and never answers: TIMEOUT by the call's timeout.
  uint16_t port = 0;
  const int silent = BindLoopback(port);
  ::listen(silent, 4);
  auto start = std::chrono::steady_clock::now();
  CHECK_STATUS(Link(*client.engine, kServer, port, 200), LLM_TIMEOUT);
  CHECK(MsSince(start) >= 190 && MsSince(start) < 5000);  // at the deadline, not a hang
  ::close(silent);
  // A connect that is not answered in time: TIMEOUT.
  FullBacklog full;
  start = std::chrono::steady_clock::now();
  CHECK_STATUS(Link(*client.engine, kServer, full.port, 200), LLM_TIMEOUT);
  CHECK(MsSince(start) >= 190 && MsSince(start) < 5000);  // at the deadline, not a hang
  CHECK(DetailHas("connect"));
}

DD_TEST(B33_A26_call_checks_then_one_status_per_cluster_appended_to_rets) {
  TestEngine a(kServer, true);
  TestEngine b(11, true);
  TestEngine client(kClient, false);
  REQUIRE(a.init_status == LLM_SUCCESS && b.init_status == LLM_SUCCESS);
  std::vector<Status> rets{LLM_FAILED};
  // Call-level checks, in order: timeout, every ip, a non-empty list. rets is left untouched.
  CHECK_STATUS(client.engine->LinkLlmClusters({ClusterTo(kServer, a.port, "x")}, rets, 0), LLM_PARAM_INVALID);
  CHECK(DetailHas("timeout"));
  CHECK_STATUS(client.engine->LinkLlmClusters({ClusterTo(kServer, a.port)}, rets, -5), LLM_PARAM_INVALID);
  CHECK_STATUS(client.engine->LinkLlmClusters({}, rets), LLM_PARAM_INVALID);
  for (const char *bad : {"", "1.2.3", "::1", "256.1.1.1", "a.b.c.d"}) {
    CHECK_STATUS(client.engine->LinkLlmClusters({ClusterTo(kServer, a.port), ClusterTo(kServer, a.port, bad)}, rets),
                 LLM_PARAM_INVALID);
  }
  ClusterInfo bad_local = ClusterTo(kServer, a.port);
  bad_local.local_ip_infos[0].ip = AscendString("300.0.0.1");
  CHECK_STATUS(client.engine->LinkLlmClusters({bad_local}, rets), LLM_PARAM_INVALID);
  CHECK_EQ(rets.size(), 1U);
  // The size checks are per cluster: the good cluster links, and rets is appended to.
  ClusterInfo two_remote = ClusterTo(11, b.port);
  two_remote.remote_ip_infos.push_back(two_remote.remote_ip_infos[0]);
  const uint16_t dead = FreePort();
  CHECK_STATUS(client.engine->LinkLlmClusters({ClusterTo(kServer, a.port), two_remote, ClusterTo(99, dead)}, rets, 2000),
               LLM_LINK_FAILED);
  REQUIRE(rets.size() == 4U);
  CHECK_STATUS(rets[0], LLM_FAILED);
  CHECK_STATUS(rets[1], LLM_SUCCESS);
  CHECK_STATUS(rets[2], LLM_PARAM_INVALID);
  CHECK_STATUS(rets[3], LLM_LINK_FAILED);
  // The call returns the last failure by index.
  rets.clear();
  CHECK_STATUS(client.engine->LinkLlmClusters({ClusterTo(99, dead), ClusterTo(kServer, a.port), ClusterTo(11, b.port)},
                                              rets, 2000),
               LLM_ALREADY_LINK);
  REQUIRE(rets.size() == 3U);
  CHECK_STATUS(rets[0], LLM_LINK_FAILED);
  CHECK_STATUS(rets[1], LLM_ALREADY_LINK);
  CHECK_STATUS(rets[2], LLM_SUCCESS);
}

DD_TEST(A20_non_force_unlink_tears_down_both_sides) {
  Pair p;
  REQUIRE_STATUS(Link(*p.client.engine, kServer, p.server.port), LLM_SUCCESS);
  CHECK(HoldsLinks(p.client) && HoldsLinks(p.server));
  CHECK_STATUS(Unlink(*p.client.engine, kServer, p.server.port), LLM_SUCCESS);
  CHECK(!HoldsLinks(p.client));
  CHECK(!HoldsLinks(p.server));
  CHECK_STATUS(p.ClientPulls(kServer), LLM_NOT_YET_LINK);
  CHECK_STATUS(Link(*p.client.engine, kServer, p.server.port), LLM_SUCCESS);
}

DD_TEST(A20_unlink_without_a_link_needs_a_reachable_peer) {
  Pair p;
  // Nothing linked, but the peer listens: SUCCESS.
  CHECK_STATUS(Unlink(*p.client.engine, 12345, p.server.port), LLM_SUCCESS);
  // Nothing linked and nobody listening: UNLINK_FAILED. Force needs no network.
  CHECK_STATUS(Unlink(*p.client.engine, 12345, FreePort()), LLM_UNLINK_FAILED);
  CHECK_STATUS(Unlink(*p.client.engine, 12345, FreePort(), true), LLM_SUCCESS);
  // An unanswered connect: TIMEOUT.
  FullBacklog full;
  std::vector<Status> rets;
  CHECK_STATUS(p.client.engine->UnlinkLlmClusters({ClusterTo(12345, full.port)}, rets, 200, false), LLM_TIMEOUT);
}

DD_TEST(A20_the_accepting_side_can_unlink_only_toward_a_listener_or_by_force) {
  Pair p;
  REQUIRE_STATUS(Link(*p.client.engine, kServer, p.server.port), LLM_SUCCESS);
  // The client does not listen.
  CHECK_STATUS(Unlink(*p.server.engine, kClient, FreePort()), LLM_UNLINK_FAILED);
  CHECK(HoldsLinks(p.server));
  CHECK_STATUS(Unlink(*p.server.engine, kClient, 0, true), LLM_SUCCESS);
  CHECK(!HoldsLinks(p.server));
  // The client's link is now dangling: its peer dropped it.
  CHECK(WaitUntil([&] { return p.ClientPulls(kServer) == LLM_TIMEOUT; }, 2000));
  CHECK(HoldsLinks(p.client));
}

DD_TEST(A20_unlink_call_checks) {
  Pair p;
  REQUIRE_STATUS(Link(*p.client.engine, kServer, p.server.port), LLM_SUCCESS);
  std::vector<Status> rets;
  CHECK_STATUS(p.client.engine->UnlinkLlmClusters({ClusterTo(kServer, p.server.port)}, rets, 0), LLM_PARAM_INVALID);
  CHECK_STATUS(p.client.engine->UnlinkLlmClusters({}, rets), LLM_PARAM_INVALID);
  // Every ip is checked, even a local one, even for a force unlink.
  ClusterInfo bad_local = ClusterTo(kServer, p.server.port);
  bad_local.local_ip_infos[0].ip = AscendString("1.2.3");
  CHECK_STATUS(p.client.engine->UnlinkLlmClusters({bad_local}, rets, 1000, true), LLM_PARAM_INVALID);
  CHECK_STATUS(p.client.engine->UnlinkLlmClusters({ClusterTo(kServer, p.server.port, "1.2.3")}, rets, 1000, true),
               LLM_PARAM_INVALID);
  CHECK(rets.empty());
  // One remote ip is a per-cluster rule of the non-force unlink.
  ClusterInfo no_remote = ClusterTo(kServer, p.server.port);
  no_remote.remote_ip_infos.clear();
  CHECK_STATUS(p.client.engine->UnlinkLlmClusters({no_remote}, rets, 1000, false), LLM_PARAM_INVALID);
  REQUIRE(rets.size() == 1U);
  CHECK_STATUS(rets[0], LLM_PARAM_INVALID);
  CHECK(HoldsLinks(p.client));
  CHECK_STATUS(p.client.engine->UnlinkLlmClusters({no_remote}, rets, 1000, true), LLM_SUCCESS);
  CHECK_EQ(rets.size(), 2U);
  CHECK(!HoldsLinks(p.client));
}

DD_TEST(A1_A16_a_gone_peer_is_found_where_the_table_fetch_would_be) {
  Pair p;
  REQUIRE_STATUS(Link(*p.client.engine, kServer, p.server.port), LLM_SUCCESS);
  REQUIRE_STATUS(p.ClientPulls(kServer), LLM_SUCCESS);  // the table is fetched
  p.server.engine->Finalize();
  // The local checks and the link lookup come first ...
  CHECK_STATUS(p.client.engine->PullKvBlocks(IndexOf(kServer, 42), CacheWithId(99), {0}, {0}), LLM_KV_CACHE_NOT_EXIST);
  CHECK_STATUS(p.client.engine->PullKvBlocks(IndexOf(kServer, 42), CacheWithId(p.client_id), {0}, {16}),
               LLM_PARAM_INVALID);
  CHECK_STATUS(p.client.engine->PullKvBlocks(IndexOf(kServer + 1, 42), CacheWithId(p.client_id), {0}, {0}),
               LLM_NOT_YET_LINK);
  // ... then TIMEOUT, before the (already fetched) table is looked at.
  CHECK_STATUS(p.client.engine->PullKvBlocks(IndexOf(kServer, 42), CacheWithId(p.client_id), {0}, {0}), LLM_TIMEOUT);
  CHECK_STATUS(p.client.engine->PushKvBlocks(CacheWithId(p.client_id, 4), IndexOf(kServer, 42), {0}, {0}), LLM_TIMEOUT);
  CHECK(p.client_cache.RowEquals(0, 0, 9, 0, 0));
}

DD_TEST(A16_finalize_tears_down_the_local_side_only) {
  Pair p;
  REQUIRE_STATUS(Link(*p.client.engine, kServer, p.server.port), LLM_SUCCESS);
  p.client.engine->Finalize();
  // The server keeps its side; transfers over it time out at once.
  CHECK(HoldsLinks(p.server));
  CHECK(WaitUntil([&] { return p.ServerPulls(kClient) == LLM_TIMEOUT; }, 2000));
  CHECK(DetailHas("gone"));
  CHECK_STATUS(Unlink(*p.server.engine, kClient, 0, true), LLM_SUCCESS);
  CHECK(!HoldsLinks(p.server));
}

DD_TEST(D12_at_most_dd_max_links_links_in_index_order_and_never_cluster_num_exceed_limit) {
  TestEngine a(kServer, true);
  TestEngine b(11, true);
  TestEngine c(12, true, {{"dd.MaxLinks", "1"}});
  TestEngine client(kClient, false, {{"dd.MaxLinks", "2"}});
  TestEngine other(21, false);
  std::vector<Status> rets;
  // The room goes to the clusters in index order, whichever handshake finishes first.
  CHECK_STATUS(client.engine->LinkLlmClusters({ClusterTo(kServer, a.port), ClusterTo(11, b.port), ClusterTo(12, c.port)},
                                              rets, 2000),
               LLM_LINK_FAILED);
  REQUIRE(rets.size() == 3U);
  CHECK_STATUS(rets[0], LLM_SUCCESS);
  CHECK_STATUS(rets[1], LLM_SUCCESS);
  CHECK_STATUS(rets[2], LLM_LINK_FAILED);
  CHECK(DetailHas("dd.MaxLinks"));
  // A forced rebuild replaces a link and needs no room.
  CHECK_STATUS(Link(*client.engine, 0, a.port), LLM_SUCCESS);
  // The accepting side: c holds at most one.
  CHECK_STATUS(Link(*other.engine, 12, c.port), LLM_SUCCESS);
  CHECK_STATUS(Link(*client.engine, 13, c.port), LLM_LINK_FAILED);
  CHECK(DetailHas("peer refused"));
  CHECK_STATUS(Unlink(*client.engine, kServer, a.port), LLM_SUCCESS);
  CHECK_STATUS(Link(*client.engine, 12, c.port), LLM_LINK_FAILED);
  CHECK_STATUS(Unlink(*other.engine, 12, c.port), LLM_SUCCESS);
  CHECK_STATUS(Link(*client.engine, 12, c.port), LLM_SUCCESS);
}

DD_TEST(A1_A21_A20_hixl_links_are_named_by_remote_cluster_id_on_the_calling_side_only) {
  HostCache first_cache(2, 8, 128);
  HostCache second_cache(2, 8, 128);
  HostCache client_cache(2, 8, 128);
  first_cache.Fill(1);
  second_cache.Fill(2);
  client_cache.Fill(3);
  const std::map<std::string, std::string> hixl{{"llm.TransferBackend", "hixl"}};
  TestEngine first(kServer, true, hixl);
  TestEngine second(11, true, hixl);
  TestEngine client(kClient, true, hixl);
  const int64_t first_id = Register(*first.engine, first_cache);
  Register(*second.engine, second_cache);
  const int64_t client_id = Register(*client.engine, client_cache);
  REQUIRE_STATUS(Link(*client.engine, 77, first.port), LLM_SUCCESS);
  CHECK_STATUS(client.engine->PullKvBlocks(IndexOf(77, first_id), CacheWithId(client_id), {2}, {2}), LLM_SUCCESS);
  CHECK(client_cache.RowEquals(1, 2, 1, 1, 2));
  CHECK_STATUS(client.engine->PullKvBlocks(IndexOf(kServer, first_id), CacheWithId(client_id), {2}, {2}),
               LLM_NOT_YET_LINK);
  // The accepting side has no link back.
  CHECK_STATUS(first.engine->PullKvBlocks(IndexOf(kClient, client_id), CacheWithId(first_id), {0}, {0}),
               LLM_NOT_YET_LINK);
  // SetRole does not count hixl links.
  CHECK_STATUS(client.engine->SetRole(LlmRole::kDecoder, EngineOptionsFor(client.port)), LLM_SUCCESS);
  // The same address again: ALREADY_LINK, whatever the id.
  CHECK_STATUS(Link(*client.engine, 78, first.port), LLM_ALREADY_LINK);
  // The same id to another address: the id now names the new link.
  CHECK_STATUS(Link(*client.engine, 77, second.port), LLM_SUCCESS);
  CHECK_STATUS(client.engine->PullKvBlocks(IndexOf(77, 1), CacheWithId(client_id), {4}, {4}), LLM_SUCCESS);
  CHECK(client_cache.RowEquals(0, 4, 2, 0, 4));
  // Unlink is local, force or not, with no network; unknown ids succeed.
  std::vector<Status> rets;
  ClusterInfo no_remote = ClusterTo(77, 0);
  no_remote.remote_ip_infos.clear();
  CHECK_STATUS(client.engine->UnlinkLlmClusters({no_remote}, rets, 1000, false), LLM_SUCCESS);
  CHECK_STATUS(client.engine->PullKvBlocks(IndexOf(77, 1), CacheWithId(client_id), {4}, {4}), LLM_NOT_YET_LINK);
  CHECK_STATUS(client.engine->UnlinkLlmClusters({no_remote}, rets, 1000, false), LLM_SUCCESS);
  // Mixed backends do not link: each is a foreign protocol to the other (LLM_FAILED), and a hixl
  // connect that is refused is LLM_FAILED too (compat.md, choices: A27).
  TestEngine plain(30, true);
  CHECK_STATUS(Link(*plain.engine, kServer, first.port), LLM_FAILED);
  CHECK_STATUS(Link(*client.engine, 30, plain.port), LLM_FAILED);
  CHECK_STATUS(Link(*client.engine, 31, FreePort()), LLM_FAILED);
}
