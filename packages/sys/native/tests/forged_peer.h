// A peer made by hand: raw sockets with bounded waits, and the client side of the link handshake
// step by step, so that a test can forge, skip or stall any step and then speak the link protocol
// itself.
#ifndef DD_TESTS_FORGED_PEER_H_
#define DD_TESTS_FORGED_PEER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "peer_auth.h"
#include "unique_fd.h"
#include "wire_format.h"

namespace ddtest {
// A connection to 127.0.0.1:`port` whose reads give up after `timeout_ms`; -1 when refused.
int ConnectBounded(uint16_t port, int timeout_ms = 3000);
bool SendAll(int fd, const void *data, size_t len);
bool RecvAll(int fd, void *data, size_t len);
bool ReadFrame(int fd, dd::host::FrameHeader &header, std::vector<uint8_t> &body);
// True when the server closed `fd` (EOF or reset) within the receive timeout.
bool ClosedByPeer(int fd);

extern const char kTestCommRes[];

struct ForgedPeer {
  explicit ForgedPeer(uint64_t id, std::string auth_secret = std::string())
      : cluster_id(id), secret(std::move(auth_secret)) {}

  // Connects and sends HELLO; reads CHALLENGE (or a refusal into `refused`). False when the server
  // refused or closed.
  bool Hello(uint16_t port, dd::host::HandshakePurpose purpose = dd::host::HandshakePurpose::kLink);
  // Sends PROOF (a valid one for `secret`, unless `proof` is given) and reads WELCOME.
  bool Proof(const std::string *proof = nullptr);
  // Opens the second connection and binds it; reads the server's commit.
  bool Bind(uint16_t port);
  // The whole handshake and the first transfer's table fetch.
  bool Establish(uint16_t port);
  // Sends a block request and reads the status (a payload, if any, is read and dropped).
  bool Request(dd::host::FrameType type, int64_t cache_id, std::vector<dd::host::WireSegment> segments,
               uint64_t total, uint32_t &status, const std::vector<uint8_t> &payload = {});

  uint64_t cluster_id;
  std::string secret;
  uint32_t sync_wait_ms = 1000;
  uint32_t heartbeat_ms = 60000;
  uint32_t force_link = 1;
  dd::host::UniqueFd requests;
  dd::host::UniqueFd answers;
  dd::host::ChallengeMessage challenge;
  dd::host::WelcomeMessage welcome;
  dd::host::HandshakeTranscript transcript;
  uint32_t refused = 0;  // the status of the last refusal
  std::string refusal;   // and its reason
  std::vector<dd::host::CacheTableEntry> table;
};
}  // namespace ddtest

#endif  // DD_TESTS_FORGED_PEER_H_
