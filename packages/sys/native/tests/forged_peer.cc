#include "forged_peer.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "engine_fixture.h"

using namespace dd::host;

namespace ddtest {
const char kTestCommRes[] =
    "{\"server_list\":[{\"server_id\":\"127.0.0.1\",\"device\":[{\"device_id\":\"0\"}]}],\"version\":\"1.0\"}";

int ConnectBounded(uint16_t port, int timeout_ms) {
  const int fd = ConnectLoopback(port);
  if (fd < 0) {
    return -1;
  }
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
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

bool ClosedByPeer(int fd) {
  uint8_t byte;
  for (int i = 0; i < 100000; ++i) {
    const ssize_t n = ::recv(fd, &byte, 1, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      return true;
    }
    if (n < 0) {
      return false;  // the receive timeout passed with the connection open
    }
  }
  return false;
}

namespace {
// Reads a frame of `type`; a result frame instead is a refusal, recorded in `peer`.
bool Expect(ForgedPeer &peer, int fd, FrameType type, std::vector<uint8_t> &body) {
  FrameHeader header;
  if (!ReadFrame(fd, header, body)) {
    return false;
  }
  if (header.type == type) {
    return true;
  }
  ResultMessage result;
  std::string why;
  if (header.type == FrameType::kResult && DecodeResult(body.data(), body.size(), result, why)) {
    peer.refused = result.status;
    peer.refusal = result.detail;
  }
  return false;
}
}  // namespace

bool ForgedPeer::Hello(uint16_t port, HandshakePurpose purpose) {
  requests.reset(ConnectBounded(port));
  if (!requests) {
    return false;
  }
  HelloMessage hello;
  hello.purpose = static_cast<uint32_t>(purpose);
  hello.cluster_id = cluster_id;
  hello.has_secret = secret.empty() ? 0U : 1U;
  RandomNonce(hello.nonce);
  std::vector<uint8_t> frame;
  EncodeHello(hello, frame);
  std::vector<uint8_t> body;
  std::string why;
  if (!SendAll(requests.get(), frame.data(), frame.size()) || !Expect(*this, requests.get(), FrameType::kChallenge, body) ||
      !DecodeChallenge(body.data(), body.size(), challenge, why)) {
    return false;
  }
  if (challenge.status != 0U) {
    refused = challenge.status;
    refusal = challenge.detail;
    return false;
  }
  transcript = HandshakeTranscript{};
  transcript.client_nonce = hello.nonce;
  transcript.server_nonce = challenge.nonce;
  transcript.client_cluster_id = cluster_id;
  transcript.server_cluster_id = challenge.cluster_id;
  return true;
}

bool ForgedPeer::Proof(const std::string *proof_bytes) {
  ProofMessage proof;
  if (proof_bytes != nullptr) {
    proof.proof = *proof_bytes;
  } else if (!secret.empty()) {
    const dd::host::Proof p = ComputeProof(secret, ProofRole::kClient, transcript);
    proof.proof.assign(p.begin(), p.end());
  }
  proof.role = 2;
  proof.sync_wait_ms = sync_wait_ms;
  proof.heartbeat_ms = heartbeat_ms;
  proof.force_link = force_link;
  proof.comm_res = kTestCommRes;
  std::vector<uint8_t> frame;
  EncodeProof(proof, frame);
  std::vector<uint8_t> body;
  std::string why;
  if (!SendAll(requests.get(), frame.data(), frame.size()) || !Expect(*this, requests.get(), FrameType::kWelcome, body) ||
      !DecodeWelcome(body.data(), body.size(), welcome, why)) {
    return false;
  }
  if (welcome.status != 0U) {
    refused = welcome.status;
    refusal = welcome.detail;
    return false;
  }
  transcript.bind_token = welcome.token;
  return true;
}

bool ForgedPeer::Bind(uint16_t port) {
  answers.reset(ConnectBounded(port));
  if (!answers) {
    return false;
  }
  BindMessage bind;
  bind.token = welcome.token;
  if (!secret.empty()) {
    const dd::host::Proof p = ComputeProof(secret, ProofRole::kBind, transcript);
    bind.proof.assign(p.begin(), p.end());
  }
  std::vector<uint8_t> frame;
  EncodeBind(bind, frame);
  std::vector<uint8_t> body;
  uint64_t generation = 0;
  std::string why;
  return SendAll(answers.get(), frame.data(), frame.size()) && Expect(*this, answers.get(), FrameType::kCommit, body) &&
         DecodeCommit(body.data(), body.size(), generation, why);
}

bool ForgedPeer::Establish(uint16_t port) {
  if (!Hello(port) || !Proof() || !Bind(port)) {
    return false;
  }
  std::vector<uint8_t> frame;
  EncodeEmpty(FrameType::kTable, 1, frame);
  FrameHeader header;
  std::vector<uint8_t> body;
  ResultMessage result;
  std::string why;
  // The server's heartbeats come on this connection too; skip them.
  if (!SendAll(requests.get(), frame.data(), frame.size())) {
    return false;
  }
  do {
    if (!ReadFrame(requests.get(), header, body)) {
      return false;
    }
  } while (header.type == FrameType::kHeartbeat);
  if (!DecodeResult(body.data(), body.size(), result, why) || result.status != 0U) {
    return false;
  }
  std::vector<uint8_t> payload(result.payload_len);
  return RecvAll(requests.get(), payload.data(), payload.size()) &&
         DecodeCacheTable(payload.data(), payload.size(), table, why);
}

bool ForgedPeer::Request(FrameType type, int64_t cache_id, std::vector<WireSegment> segments, uint64_t total,
                         uint32_t &status, const std::vector<uint8_t> &payload) {
  std::vector<uint8_t> frame;
  EncodeBlockRequest(type, 7, cache_id, total, segments.size(), [&](size_t i) { return segments[i]; }, frame);
  frame.insert(frame.end(), payload.begin(), payload.end());
  FrameHeader header;
  std::vector<uint8_t> body;
  ResultMessage result;
  std::string why;
  if (!SendAll(requests.get(), frame.data(), frame.size())) {
    return false;
  }
  do {
    if (!ReadFrame(requests.get(), header, body)) {
      return false;
    }
  } while (header.type == FrameType::kHeartbeat);
  if (!DecodeResult(body.data(), body.size(), result, why)) {
    return false;
  }
  std::vector<uint8_t> sink(result.payload_len);
  if (!RecvAll(requests.get(), sink.data(), sink.size())) {
    return false;
  }
  status = result.status;
  return true;
}
}  // namespace ddtest
