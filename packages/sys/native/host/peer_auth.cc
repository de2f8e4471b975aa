#include "peer_auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <vector>

namespace dd::host {
namespace {
const char *Label(ProofRole role) {
  switch (role) {
    case ProofRole::kServer: return "dd-link-v1 server";
    case ProofRole::kClient: return "dd-link-v1 client";
    case ProofRole::kBind: return "dd-link-v1 bind";
  }
  return "";
}

void AppendU64(std::vector<uint8_t> &out, uint64_t v) {
  for (int i = 0; i < 8; ++i) {
    out.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
}
}  // namespace

bool RandomNonce(Nonce &out) { return RAND_bytes(out.data(), static_cast<int>(out.size())) == 1; }

Proof ComputeProof(const std::string &secret, ProofRole role, const HandshakeTranscript &transcript) {
  const std::string label = Label(role);
  std::vector<uint8_t> message(label.begin(), label.end());
  message.push_back(0);  // the labels are not prefixes of one another's encodings
  message.insert(message.end(), transcript.client_nonce.begin(), transcript.client_nonce.end());
  message.insert(message.end(), transcript.server_nonce.begin(), transcript.server_nonce.end());
  AppendU64(message, transcript.client_cluster_id);
  AppendU64(message, transcript.server_cluster_id);
  if (role == ProofRole::kBind) {
    AppendU64(message, transcript.bind_token);
  }
  Proof proof{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), message.data(), message.size(), proof.data(),
       &len);
  return proof;
}

bool VerifyProof(const std::string &secret, ProofRole role, const HandshakeTranscript &transcript,
                 const uint8_t *received, size_t received_len) {
  if (received == nullptr || received_len != kProofBytes) {
    return false;
  }
  const Proof expected = ComputeProof(secret, role, transcript);
  return CRYPTO_memcmp(expected.data(), received, kProofBytes) == 0;
}
}  // namespace dd::host
