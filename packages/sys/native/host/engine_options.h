// Initialize/SetRole options of the host backend (facts §3.2, §3.4), parsed and validated.
#ifndef DD_HOST_ENGINE_OPTIONS_H_
#define DD_HOST_ENGINE_OPTIONS_H_

#include <cstdint>
#include <map>
#include <string>

#include "llm_datadist/llm_datadist.h"

namespace dd::host {
using ge::Status;

// Our own option keys; vendor keys are never reinterpreted.
// "auto" (default): same-host peers use process_vm_readv/writev, others TCP. "tcp": always TCP.
constexpr const char kOptionDataPath[] = "dd.DataPath";
// Interval of link heartbeats in ms (default 1000); a peer silent for 3 intervals is marked broken.
constexpr const char kOptionHeartbeatIntervalMs[] = "dd.HeartbeatIntervalMs";

// Where a server listens.
struct ListenAddress {
  std::string ip;  // textual, without brackets
  uint16_t port = 0;
  bool ipv6 = false;
};

struct EngineOptions {
  int32_t device_id = 0;
  bool listen = false;
  ListenAddress listen_address;
  int32_t sync_wait_ms = 1000;
  bool has_local_comm_res = false;
  bool unlimited_links = false;  // LocalCommRes v1.3 (HixlCS) lifts the 512-link cap
  bool hixl = false;
  bool tcp_only = false;
  int32_t heartbeat_ms = 1000;
  // Every option as given, including keys this backend does not interpret.
  std::map<std::string, std::string> raw;
};

// Validates `options` for Initialize (role already checked). LLM_PARAM_INVALID or LLM_FAILED with
// a detail on error.
Status ParseEngineOptions(const std::map<ge::AscendString, ge::AscendString> &options, EngineOptions &out);

// "a.b.c.d:port" or "[v6]:port" (port 1..65535).
Status ParseListenAddress(const std::string &text, ListenAddress &out);

// Strict dotted-quad IPv4; packs it little-endian (a | b<<8 | c<<16 | d<<24) as V2 does.
bool ParseIpv4(const std::string &text, uint32_t &packed);

// Decimal digits only, value in [min, max].
bool ParseDecimal(const std::string &text, int64_t min, int64_t max, int64_t &out);
}  // namespace dd::host

#endif  // DD_HOST_ENGINE_OPTIONS_H_
