#include "handshake_client.h"

#include "error_detail.h"

namespace dd::host {
using namespace llm_datadist;

ge::Status SendStatus(const IoResult &io) {
  return io.status == IoStatus::kOk ? LLM_SUCCESS : io.status == IoStatus::kTimeout ? LLM_TIMEOUT : LLM_FAILED;
}

ge::Status ReadHandshakeFrame(int fd, FrameType type, const Deadline &deadline, FrameAssembler &rx, std::string &why) {
  switch (rx.PumpUntil(fd, deadline, why)) {
    case FrameAssembler::State::kComplete:
      break;
    case FrameAssembler::State::kIncomplete: why = "the handshake did not finish in time"; return LLM_TIMEOUT;
    case FrameAssembler::State::kClosed: why = "peer closed the connection during the handshake"; return LLM_FAILED;
    default: return LLM_FAILED;
  }
  if (rx.header().type == type) {
    return LLM_SUCCESS;
  }
  ResultMessage refusal;
  if (rx.header().type == FrameType::kResult && DecodeResult(rx.body().data(), rx.body().size(), refusal, why) &&
      refusal.status != LLM_SUCCESS) {
    why = "peer refused: " + refusal.detail;
    return ReturnedByV2(refusal.status) ? refusal.status : LLM_FAILED;
  }
  why = "unexpected frame during the handshake";
  return LLM_FAILED;
}

std::string ProofOf(const EngineState &state, ProofRole role, const HandshakeTranscript &transcript) {
  if (state.options.auth_secret.empty()) {
    return std::string();
  }
  const Proof proof = ComputeProof(state.options.auth_secret, role, transcript);
  return std::string(proof.begin(), proof.end());
}

ProofMessage ClientProof(const EngineState &state, const HandshakeTranscript &transcript) {
  ProofMessage proof;
  proof.proof = ProofOf(state, ProofRole::kClient, transcript);
  proof.role = state.role.load();
  proof.sync_wait_ms = static_cast<uint32_t>(state.options.sync_wait_ms);
  proof.heartbeat_ms = static_cast<uint32_t>(state.options.heartbeat_ms);
  proof.host = state.identity;
  return proof;
}

HandshakeOpening OpenHandshake(const EngineState &state, int fd, HandshakePurpose purpose, ge::Status auth_failure,
                               const Deadline &deadline) {
  HandshakeOpening opening;
  const bool secret = !state.options.auth_secret.empty();
  HelloMessage hello;
  hello.purpose = static_cast<uint32_t>(purpose);
  hello.cluster_id = state.cluster_id;
  hello.has_secret = secret ? 1U : 0U;
  if (!RandomNonce(hello.nonce)) {
    opening.status = LLM_FAILED;
    opening.why = "no random source for the handshake nonce";
    return opening;
  }
  std::vector<uint8_t> frame;
  EncodeHello(hello, frame);
  const IoResult io = SendBuffer(fd, frame.data(), frame.size(), deadline);
  if (io.status != IoStatus::kOk) {
    opening.status = SendStatus(io);
    opening.why = DescribeIo(io, "hello");
    return opening;
  }
  FrameAssembler rx;
  if ((opening.status = ReadHandshakeFrame(fd, FrameType::kChallenge, deadline, rx, opening.why)) != LLM_SUCCESS) {
    return opening;
  }
  ChallengeMessage &challenge = opening.challenge;
  if (!DecodeChallenge(rx.body().data(), rx.body().size(), challenge, opening.why)) {
    opening.status = LLM_PARAM_INVALID;
    opening.why = "malformed answer: " + opening.why;
    return opening;
  }
  if (challenge.status != LLM_SUCCESS) {
    opening.status = ReturnedByV2(challenge.status) ? challenge.status : LLM_FAILED;
    opening.why = "peer refused: " + challenge.detail;
    return opening;
  }
  opening.transcript.client_nonce = hello.nonce;
  opening.transcript.server_nonce = challenge.nonce;
  opening.transcript.client_cluster_id = state.cluster_id;
  opening.transcript.server_cluster_id = challenge.cluster_id;
  if (secret) {
    // Nothing more goes to a server that has not proven it holds the secret.
    if (challenge.has_secret == 0U) {
      opening.status = auth_failure;
      opening.why = "the peer does not authenticate (it has no dd.AuthSecret) and this engine requires it";
      return opening;
    }
    if (!VerifyProof(state.options.auth_secret, ProofRole::kServer, opening.transcript,
                     reinterpret_cast<const uint8_t *>(challenge.proof.data()), challenge.proof.size())) {
      opening.status = auth_failure;
      opening.why = "the peer failed to prove it holds dd.AuthSecret (the secrets differ?)";
      return opening;
    }
  }
  return opening;
}
}  // namespace dd::host
