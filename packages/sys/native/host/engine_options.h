// Initialize/SetRole options of the host backend, parsed and validated as V2 does (v2-rules A8–A12,
// A19, A28, B §3.2; deviations D11 and D13 of docs/compat.md).
#ifndef DD_HOST_ENGINE_OPTIONS_H_
#define DD_HOST_ENGINE_OPTIONS_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "llm_datadist/llm_datadist.h"

namespace dd::host {
using ge::Status;

// Our own option keys (the dd. prefix, docs/compat.md D16); vendor keys are never reinterpreted.
// Each is read by ParseOwnOptions (own_options.cc), which documents its range.
constexpr const char kOptionDataPath[] = "dd.DataPath";
constexpr const char kOptionHeartbeatIntervalMs[] = "dd.HeartbeatIntervalMs";
constexpr const char kOptionMaxLinks[] = "dd.MaxLinks";
constexpr const char kOptionAuthSecret[] = "dd.AuthSecret";
constexpr const char kOptionHandshakeTimeoutMs[] = "dd.HandshakeTimeoutMs";
constexpr const char kOptionHandshakeMaxBytes[] = "dd.HandshakeMaxBytes";
constexpr const char kOptionMaxPendingHandshakes[] = "dd.MaxPendingHandshakes";
constexpr const char kOptionLinkWindowBytes[] = "dd.LinkWindowBytes";
constexpr const char kOptionPieceBytes[] = "dd.PieceBytes";
constexpr const char kOptionStreamsPerLink[] = "dd.StreamsPerLink";
constexpr size_t kDefaultMaxLinks = 4096U;

// Where a server listens.
struct ListenAddress {
  std::string ip;  // textual, without brackets
  uint16_t port = 0;  // the port bound: the given one modulo 65536 (0: the kernel picks one)
  uint64_t given_port = 0;  // as written, 0..4294967295
  bool ipv6 = false;
};

enum class TransferBackend { kDefault, kHixl };

struct EngineOptions {
  int32_t device_id = 0;
  bool listen = false;
  ListenAddress listen_address;
  TransferBackend backend = TransferBackend::kDefault;
  // llm.LocalCommRes of the default backend as given, or generated from the listen address;
  // `has_comm_res` false: none yet (generated at the first link).
  bool has_comm_res = false;
  std::string comm_res;
  int32_t sync_wait_ms = 1000;  // 0 is allowed: every transfer times out
  bool tcp_only = false;
  int32_t heartbeat_ms = 1000;
  size_t max_links = kDefaultMaxLinks;
  // Peer authentication and the bounds on what one peer may cost (docs/security.md).
  std::string auth_secret;  // empty: no secret (V2's behaviour)
  int32_t handshake_timeout_ms = 5000;
  uint32_t handshake_max_bytes = 128U * 1024U;
  size_t max_pending_handshakes = 64U;
  // Transfers over TCP (docs/design/link-transport.md §2).
  uint64_t link_window_bytes = 32ULL << 20U;
  uint64_t piece_bytes = 1ULL << 20U;
  uint32_t streams_per_link = 1U;
  // Every option as given, including keys this backend does not interpret.
  std::map<std::string, std::string> raw;

  bool hixl() const { return backend == TransferBackend::kHixl; }
};

// Initialize steps 3–8 of A10 up to, not including, starting the listener: DeviceId, ListenIpInfo,
// TransferBackend, the DeviceId re-parse, llm.ListenIp/llm.ListenPort, then the backend's own
// checks (RDMA options, link retry count, LocalCommRes store or generate; hixl: A19).
// LLM_PARAM_INVALID with a detail on error.
Status ParseEngineOptions(const std::map<ge::AscendString, ge::AscendString> &options, EngineOptions &out);

// Initialize step 9, checked after the listener started: llm.SyncKvCacheWaitTime (A8, D11),
// llm.MemPoolConfig and llm.HostMemPoolConfig (A28, D13); then our dd. keys. LLM_PARAM_INVALID on
// error.
Status ParseDataCacheOptions(EngineOptions &options);

// Our dd. keys (D16): an unknown key or a value out of its range is LLM_PARAM_INVALID.
Status ParseOwnOptions(EngineOptions &options);

// ListenIpInfo as V2 reads it (A11): "ip:port" (exactly one ':'), or "[ip]:port" where the port is
// what follows the first ':' after ']'; the ip must be IPv4 or IPv6, the port a uint32 (stream read).
Status ParseListenAddress(const std::string &text, ListenAddress &out);

// Strict dotted-quad IPv4; packs it little-endian (a | b<<8 | c<<16 | d<<24) as V2 does.
bool ParseIpv4(const std::string &text, uint32_t &packed);

// Decimal digits only, value in [min, max] (V2's digits check before atoi).
bool ParseDecimal(const std::string &text, int64_t min, int64_t max, int64_t &out);

// An integer as a C++ stream extraction reads it (V2's other reader): leading white space and a
// sign pass, anything after the digits fails, the value must lie in [min, max]. `unsigned_type`:
// the target type is unsigned, and a minus sign is refused rather than wrapped.
bool ParseStreamInteger(const std::string &text, int64_t min, int64_t max, bool unsigned_type, int64_t &out);
}  // namespace dd::host

#endif  // DD_HOST_ENGINE_OPTIONS_H_
