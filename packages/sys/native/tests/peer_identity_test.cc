// The two facts the handshake trusts: a proof that only a holder of the secret can give for this
// handshake, and which process the kernel says holds the other end of a connection.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "engine_fixture.h"
#include "harness.h"
#include "peer_auth.h"
#include "peer_process.h"
#include "socket_peer.h"
#include "unique_fd.h"

using dd::host::ComputeProof;
using dd::host::ConnectionPeerIs;
using dd::host::HandshakeTranscript;
using dd::host::Nonce;
using dd::host::Proof;
using dd::host::ProofRole;
using dd::host::RandomNonce;
using dd::host::UniqueFd;
using dd::host::VerifyProof;

namespace {
HandshakeTranscript Transcript() {
  HandshakeTranscript t;
  REQUIRE(RandomNonce(t.client_nonce));
  REQUIRE(RandomNonce(t.server_nonce));
  t.client_cluster_id = 2;
  t.server_cluster_id = 1;
  return t;
}

// A connected pair on loopback: `client` made the connection, `accepted` is the server's end.
struct LoopbackPair {
  explicit LoopbackPair(int family = AF_INET) {
    listener.reset(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(listener);
    sockaddr_storage addr{};
    socklen_t len = 0;
    if (family == AF_INET6) {
      int v6only = 0;  // dual stack: accepts IPv4 connections with mapped addresses
      ::setsockopt(listener.get(), IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
      auto &in6 = reinterpret_cast<sockaddr_in6 &>(addr);
      in6.sin6_family = AF_INET6;
      in6.sin6_addr = in6addr_any;
      len = sizeof(in6);
    } else {
      auto &in = reinterpret_cast<sockaddr_in &>(addr);
      in.sin_family = AF_INET;
      in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      len = sizeof(in);
    }
    REQUIRE(::bind(listener.get(), reinterpret_cast<sockaddr *>(&addr), len) == 0);
    REQUIRE(::listen(listener.get(), 4) == 0);
    REQUIRE(::getsockname(listener.get(), reinterpret_cast<sockaddr *>(&addr), &len) == 0);
    const uint16_t port = family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6 &>(addr).sin6_port)
                                             : ntohs(reinterpret_cast<sockaddr_in &>(addr).sin_port);
    client.reset(ddtest::ConnectLoopback(port));
    REQUIRE(client);
    accepted.reset(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    REQUIRE(accepted);
  }
  UniqueFd listener;
  UniqueFd client;
  UniqueFd accepted;
};
}  // namespace

DD_TEST(a_proof_verifies_only_for_its_secret_role_and_handshake) {
  const HandshakeTranscript t = Transcript();
  const Proof server = ComputeProof("s3cret", ProofRole::kServer, t);
  CHECK(VerifyProof("s3cret", ProofRole::kServer, t, server.data(), server.size()));
  CHECK(!VerifyProof("s3creT", ProofRole::kServer, t, server.data(), server.size()));
  // A server's proof cannot stand in for the client's, nor a bind's.
  CHECK(!VerifyProof("s3cret", ProofRole::kClient, t, server.data(), server.size()));
  CHECK(!VerifyProof("s3cret", ProofRole::kBind, t, server.data(), server.size()));
  // Nor for another handshake: other nonces, swapped or other cluster ids.
  HandshakeTranscript other = t;
  other.server_nonce[0] ^= 1U;
  CHECK(!VerifyProof("s3cret", ProofRole::kServer, other, server.data(), server.size()));
  other = t;
  std::swap(other.client_cluster_id, other.server_cluster_id);
  CHECK(!VerifyProof("s3cret", ProofRole::kServer, other, server.data(), server.size()));
  other = t;
  other.client_cluster_id = 3;
  CHECK(!VerifyProof("s3cret", ProofRole::kServer, other, server.data(), server.size()));
  // A bind proof depends on its token.
  HandshakeTranscript bind = t;
  bind.bind_token = 77;
  const Proof bound = ComputeProof("s3cret", ProofRole::kBind, bind);
  CHECK(VerifyProof("s3cret", ProofRole::kBind, bind, bound.data(), bound.size()));
  bind.bind_token = 78;
  CHECK(!VerifyProof("s3cret", ProofRole::kBind, bind, bound.data(), bound.size()));
  // Truncated or missing proofs never verify.
  CHECK(!VerifyProof("s3cret", ProofRole::kServer, t, server.data(), server.size() - 1));
  CHECK(!VerifyProof("s3cret", ProofRole::kServer, t, nullptr, 0));
}

DD_TEST(nonces_are_fresh) {
  Nonce a{};
  Nonce b{};
  REQUIRE(RandomNonce(a));
  REQUIRE(RandomNonce(b));
  CHECK(a != b);
  CHECK(a != Nonce{});
}

DD_TEST(the_kernel_names_the_process_at_the_other_end) {
  LoopbackPair pair;
  std::string why;
  CHECK(ConnectionPeerIs(pair.client.get(), ::getpid(), why));
  CHECK(ConnectionPeerIs(pair.accepted.get(), ::getpid(), why));
  CHECK(!ConnectionPeerIs(pair.client.get(), 0, why));
}

DD_TEST(an_ipv4_connection_to_a_dual_stack_socket_is_found_in_tcp6) {
  LoopbackPair pair(AF_INET6);
  std::string why;
  CHECK(ConnectionPeerIs(pair.client.get(), ::getpid(), why));
  CHECK(ConnectionPeerIs(pair.accepted.get(), ::getpid(), why));
}

DD_TEST(the_proc_scan_fallback_finds_the_same_socket_as_sock_diag) {
  for (const int family : {AF_INET, AF_INET6}) {
    LoopbackPair pair(family);
    for (const int fd : {pair.client.get(), pair.accepted.get()}) {
      std::string why;
      const uint64_t inode = dd::host::PeerSocketInode(fd, why);
      CHECK(inode != 0U);
      CHECK_EQ(dd::host::PeerSocketInodeByScan(fd, why), inode);
    }
  }
}

DD_TEST(another_process_does_not_hold_our_connection) {
  // A process that relays our bytes elsewhere holds its own sockets, never the other end of ours.
  ddtest::PeerProcess other(ddtest::PeerSpec{});
  REQUIRE(other.ok());
  LoopbackPair pair;
  std::string why;
  CHECK(!ConnectionPeerIs(pair.client.get(), other.pid(), why));
  CHECK(why.find("does not hold") != std::string::npos);
  // Whereas a connection to that process is held by it, once it accepted the connection (before,
  // the kernel holds it in the listener's queue, and nobody has it open).
  UniqueFd to_other(ddtest::ConnectLoopback(other.port()));
  REQUIRE(to_other);
  CHECK(ddtest::WaitUntil([&] { return ConnectionPeerIs(to_other.get(), other.pid(), why); }, 2000));
  CHECK(!ConnectionPeerIs(to_other.get(), ::getpid(), why));
  other.Finish();
}

DD_TEST(a_closed_peer_is_nobody) {
  LoopbackPair pair;
  pair.accepted.reset();
  pair.listener.reset();
  std::string why;
  CHECK(!ConnectionPeerIs(pair.client.get(), ::getpid(), why));
}
