// Shared-secret authentication of a link handshake: each side proves it knows the secret with an
// HMAC-SHA256 over both nonces and both cluster ids, under a label that says which side speaks, so
// no proof can be replayed in another role, on another connection or between other clusters.
// HMAC, constant-time comparison and random bytes come from OpenSSL's libcrypto.
#ifndef DD_HOST_PEER_AUTH_H_
#define DD_HOST_PEER_AUTH_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace dd::host {
constexpr size_t kNonceBytes = 32U;
constexpr size_t kProofBytes = 32U;  // SHA-256
using Nonce = std::array<uint8_t, kNonceBytes>;
using Proof = std::array<uint8_t, kProofBytes>;

// Who a proof speaks for; part of what is signed.
enum class ProofRole { kServer, kClient, kBind };

// What both sides of one handshake agree on before any proof is exchanged.
struct HandshakeTranscript {
  Nonce client_nonce{};
  Nonce server_nonce{};
  uint64_t client_cluster_id = 0;
  uint64_t server_cluster_id = 0;
  uint64_t bind_token = 0;  // for ProofRole::kBind only
};

// Fills `out` from the operating system's CSPRNG (via libcrypto); false if it has none.
bool RandomNonce(Nonce &out);

// HMAC-SHA256(secret, label(role) ‖ client nonce ‖ server nonce ‖ client id ‖ server id [‖ token]).
Proof ComputeProof(const std::string &secret, ProofRole role, const HandshakeTranscript &transcript);

// Constant-time: true when `received` is the proof `role` must give for `transcript`.
bool VerifyProof(const std::string &secret, ProofRole role, const HandshakeTranscript &transcript,
                 const uint8_t *received, size_t received_len);
}  // namespace dd::host

#endif  // DD_HOST_PEER_AUTH_H_
