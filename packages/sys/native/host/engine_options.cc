#include "engine_options.h"

#include <arpa/inet.h>

#include "error_detail.h"
#include "json_check.h"

namespace dd::host {
using namespace llm_datadist;

bool ParseDecimal(const std::string &text, int64_t min, int64_t max, int64_t &out) {
  if (text.empty() || text.size() > 19U) {
    return false;
  }
  int64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') {
      return false;
    }
    value = value * 10 + (c - '0');
  }
  if (value < min || value > max) {
    return false;
  }
  out = value;
  return true;
}

bool ParseIpv4(const std::string &text, uint32_t &packed) {
  in_addr addr{};
  if (text.empty() || inet_pton(AF_INET, text.c_str(), &addr) != 1) {
    return false;
  }
  // in_addr holds a.b.c.d in network order, i.e. a in the lowest byte on little-endian hosts;
  // build the value explicitly so the packing does not depend on host endianness.
  const auto *bytes = reinterpret_cast<const uint8_t *>(&addr.s_addr);
  packed = static_cast<uint32_t>(bytes[0]) | static_cast<uint32_t>(bytes[1]) << 8U |
           static_cast<uint32_t>(bytes[2]) << 16U | static_cast<uint32_t>(bytes[3]) << 24U;
  return true;
}

Status ParseListenAddress(const std::string &text, ListenAddress &out) {
  std::string host;
  std::string port_text;
  bool ipv6 = false;
  if (!text.empty() && text[0] == '[') {
    const size_t close = text.find(']');
    if (close == std::string::npos || close + 1U >= text.size() || text[close + 1U] != ':') {
      return Fail(LLM_PARAM_INVALID, "listen address \"%s\" is not \"[ipv6]:port\"", text.c_str());
    }
    host = text.substr(1, close - 1U);
    port_text = text.substr(close + 2U);
    ipv6 = true;
    in6_addr addr6{};
    if (inet_pton(AF_INET6, host.c_str(), &addr6) != 1) {
      return Fail(LLM_PARAM_INVALID, "listen address \"%s\": \"%s\" is not an IPv6 address", text.c_str(),
                  host.c_str());
    }
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string::npos) {
      return Fail(LLM_PARAM_INVALID, "listen address \"%s\" is not \"ip:port\"", text.c_str());
    }
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1U);
    uint32_t packed = 0;
    if (!ParseIpv4(host, packed)) {
      return Fail(LLM_PARAM_INVALID, "listen address \"%s\": \"%s\" is not an IPv4 address", text.c_str(),
                  host.c_str());
    }
  }
  int64_t port = 0;
  if (!ParseDecimal(port_text, 1, 65535, port)) {
    return Fail(LLM_PARAM_INVALID, "listen address \"%s\": port \"%s\" is not in 1..65535", text.c_str(),
                port_text.c_str());
  }
  out.ip = host;
  out.port = static_cast<uint16_t>(port);
  out.ipv6 = ipv6;
  return LLM_SUCCESS;
}

namespace {
Status ParseDeviceId(const std::map<std::string, std::string> &raw, int32_t &out) {
  const auto it = raw.find(OPTION_DEVICE_ID);
  if (it == raw.end() || it->second.empty()) {
    return Fail(LLM_PARAM_INVALID, "option %s is required (e.g. \"0\")", OPTION_DEVICE_ID);
  }
  // V1 accepts "a;b" lists of ids ≥ 0; V2 then needs a single int32, so a list fails here too.
  int64_t value = 0;
  if (!ParseDecimal(it->second, 0, INT32_MAX, value)) {
    return Fail(LLM_PARAM_INVALID, "option %s = \"%s\" is not one device id in 0..%d", OPTION_DEVICE_ID,
                it->second.c_str(), INT32_MAX);
  }
  out = static_cast<int32_t>(value);
  return LLM_SUCCESS;
}

Status CheckFlag(const std::map<std::string, std::string> &raw, const char *key) {
  const auto it = raw.find(key);
  if (it != raw.end() && it->second != "0" && it->second != "1") {
    return Fail(LLM_PARAM_INVALID, "option %s = \"%s\" must be \"0\" or \"1\"", key, it->second.c_str());
  }
  return LLM_SUCCESS;
}

Status ParseOwnOptions(const std::map<std::string, std::string> &raw, EngineOptions &out) {
  for (const auto &[key, value] : raw) {
    if (key.rfind("dd.", 0) != 0) {
      continue;
    }
    if (key == kOptionDataPath) {
      if (value != "auto" && value != "tcp") {
        return Fail(LLM_PARAM_INVALID, "option %s = \"%s\" must be \"auto\" or \"tcp\"", kOptionDataPath,
                    value.c_str());
      }
      out.tcp_only = value == "tcp";
    } else if (key == kOptionHeartbeatIntervalMs) {
      int64_t ms = 0;
      if (!ParseDecimal(value, 10, 600000, ms)) {
        return Fail(LLM_PARAM_INVALID, "option %s = \"%s\" must be an integer in 10..600000", kOptionHeartbeatIntervalMs,
                    value.c_str());
      }
      out.heartbeat_ms = static_cast<int32_t>(ms);
    } else {
      // The dd. prefix is ours: a typo must not pass silently.
      return Fail(LLM_PARAM_INVALID, "unknown option %s (known: %s, %s)", key.c_str(), kOptionDataPath,
                  kOptionHeartbeatIntervalMs);
    }
  }
  return LLM_SUCCESS;
}
}  // namespace

Status ParseEngineOptions(const std::map<ge::AscendString, ge::AscendString> &options, EngineOptions &out) {
  EngineOptions parsed;
  for (const auto &[key, value] : options) {
    parsed.raw[std::string(key.GetString(), key.GetLength())] = std::string(value.GetString(), value.GetLength());
  }
  const auto &raw = parsed.raw;
  Status status = ParseDeviceId(raw, parsed.device_id);
  if (status != LLM_SUCCESS) {
    return status;
  }
  const auto listen = raw.find(OPTION_LISTEN_IP_INFO);
  if (listen != raw.end()) {
    status = ParseListenAddress(listen->second, parsed.listen_address);
    if (status != LLM_SUCCESS) {
      return status;
    }
    parsed.listen = true;
  }
  const auto wait = raw.find(OPTION_SYNC_CACHE_WAIT_TIME);
  if (wait != raw.end()) {
    int64_t ms = 0;
    if (!ParseDecimal(wait->second, 1, INT32_MAX, ms)) {
      return Fail(LLM_PARAM_INVALID, "option %s = \"%s\" must be a positive integer (ms)", OPTION_SYNC_CACHE_WAIT_TIME,
                  wait->second.c_str());
    }
    parsed.sync_wait_ms = static_cast<int32_t>(ms);
  }
  for (const char *flag : {OPTION_ENABLE_SET_ROLE, "llm.EnableCacheManager", "llm.EnableRemoteCacheAccessible"}) {
    status = CheckFlag(raw, flag);
    if (status != LLM_SUCCESS) {
      return status;
    }
  }
  const auto backend = raw.find(OPTION_TRANSFER_BACKEND);
  if (backend != raw.end()) {
    if (backend->second != "hixl") {
      return Fail(LLM_FAILED, "option %s = \"%s\": the only transfer backend besides the default is \"hixl\"",
                  OPTION_TRANSFER_BACKEND, backend->second.c_str());
    }
    if (!parsed.listen) {
      return Fail(LLM_PARAM_INVALID, "option %s = \"hixl\" needs %s", OPTION_TRANSFER_BACKEND, OPTION_LISTEN_IP_INFO);
    }
    parsed.hixl = true;
  }
  const auto comm_res = raw.find(OPTION_LOCAL_COMM_RES);
  if (comm_res != raw.end() && !comm_res->second.empty()) {
    std::string why;
    std::string version;
    if (!CheckJsonObject(comm_res->second, why, version)) {
      return Fail(LLM_PARAM_INVALID, "option %s is not a JSON object: %s", OPTION_LOCAL_COMM_RES, why.c_str());
    }
    parsed.has_local_comm_res = true;
    parsed.unlimited_links = version == "1.3";
  } else if (comm_res != raw.end() && parsed.listen) {
    // Empty with a listen address: V2 generates the resource from the host's own address.
    parsed.has_local_comm_res = true;
  }
  status = ParseOwnOptions(raw, parsed);
  if (status != LLM_SUCCESS) {
    return status;
  }
  out = std::move(parsed);
  return LLM_SUCCESS;
}
}  // namespace dd::host
