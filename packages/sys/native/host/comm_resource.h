// llm.LocalCommRes of the default backend (v2-rules A7): stored verbatim at Initialize, generated
// when absent, and checked on both ends of every link handshake.
#ifndef DD_HOST_COMM_RESOURCE_H_
#define DD_HOST_COMM_RESOURCE_H_

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>

#include "ge/ge_error_codes.h"

namespace dd::host {
// Longest value a link accepts from either end (A7).
constexpr size_t kMaxCommResBytes = 64U * 1024U;

// The value V2 generates for a host without an Ascend SoC: version "1.0", server_id = `server_ip`,
// device_id = `device_id`, and no device_ip (a missing one is not an error).
std::string GenerateCommRes(const std::string &server_ip, int32_t device_id);

// The link-time check of one end's value (A7): ≤ 64 KiB, valid JSON, string "version" "1.0" or
// "1.2", a "server_list" array whose every entry has a string "server_id" and exactly one device
// with a string "device_id"; our own value (`local_device_id` ≥ 0) needs at least one entry and
// every device_id must be that id. Otherwise
// LLM_PARAM_INVALID, with `why` naming `whose` value and the fault (links run on worker threads,
// so the reason is handed back rather than recorded).
ge::Status CheckCommRes(const std::string &value, const char *whose, int64_t local_device_id, std::string &why);

// This engine's value: set at Initialize (given, or generated from the listen address), or
// generated at the first link from that cluster's local IpInfo, then kept for the engine's life.
class CommResource {
 public:
  // `present` false: none yet.
  CommResource(bool present, std::string value) : value_(std::move(value)), present_(present) {}
  CommResource(const CommResource &) = delete;
  CommResource &operator=(const CommResource &) = delete;

  // False while the engine has none yet.
  bool Get(std::string &out) const;
  // The value, generated from `local_ip` first when there is none yet.
  std::string GetOrGenerate(const std::string &local_ip, int32_t device_id);

 private:
  mutable std::mutex mutex_;
  std::string value_;
  bool present_ = false;
};
}  // namespace dd::host

#endif  // DD_HOST_COMM_RESOURCE_H_
