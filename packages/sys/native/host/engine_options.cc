#include "engine_options.h"

#include <arpa/inet.h>

#include <cctype>
#include <climits>

#include "comm_resource.h"
#include "error_detail.h"
#include "hixl_options.h"
#include "json_value.h"

namespace dd::host {
using namespace llm_datadist;

bool ParseDecimal(const std::string &text, int64_t min, int64_t max, int64_t &out) {
  if (text.empty()) {
    return false;
  }
  int64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') {
      return false;
    }
    const int64_t digit = c - '0';
    if (value > (INT64_MAX - digit) / 10) {
      return false;
    }
    value = value * 10 + digit;
  }
  if (value < min || value > max) {
    return false;
  }
  out = value;
  return true;
}

bool ParseStreamInteger(const std::string &text, int64_t min, int64_t max, bool unsigned_type, int64_t &out) {
  size_t i = 0;
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i])) != 0) {
    ++i;
  }
  bool negative = false;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
    negative = text[i] == '-';
    ++i;
  }
  if (negative && unsigned_type) {
    return false;
  }
  const size_t digits = i;
  int64_t value = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    value = value * 10 + (text[i] - '0');
    if (value > max && value > -min) {
      return false;  // already out of range either way; stop before overflowing
    }
  }
  value = negative ? -value : value;
  if (i == digits || i != text.size() || value < min || value > max) {
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
  if (!text.empty() && text[0] == '[') {
    const size_t close = text.find(']');
    const size_t colon = close == std::string::npos ? std::string::npos : text.find(':', close);
    if (colon == std::string::npos) {
      return Fail(LLM_PARAM_INVALID, "listen address \"%s\" is not \"[ip]:port\"", text.c_str());
    }
    host = text.substr(1, close - 1U);
    port_text = text.substr(colon + 1U);
  } else {
    const size_t colon = text.find(':');
    if (colon == std::string::npos || text.find(':', colon + 1U) != std::string::npos) {
      return Fail(LLM_PARAM_INVALID, "listen address \"%s\" is not \"ip:port\"", text.c_str());
    }
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1U);
  }
  in_addr addr4{};
  in6_addr addr6{};
  const bool ipv4 = inet_pton(AF_INET, host.c_str(), &addr4) == 1;
  if (!ipv4 && inet_pton(AF_INET6, host.c_str(), &addr6) != 1) {
    return Fail(LLM_PARAM_INVALID, "listen address \"%s\": \"%s\" is not an IP address", text.c_str(), host.c_str());
  }
  int64_t port = 0;
  if (!ParseStreamInteger(port_text, 0, UINT32_MAX, true, port)) {
    return Fail(LLM_PARAM_INVALID, "listen address \"%s\": port \"%s\" is not an integer in 0..4294967295",
                text.c_str(), port_text.c_str());
  }
  out.ip = host;
  out.ipv6 = !ipv4;
  out.given_port = static_cast<uint64_t>(port);
  // V2 binds to the port modulo 65536 (a uint32 through htons); 0 lets the kernel pick one.
  out.port = static_cast<uint16_t>(port);
  return LLM_SUCCESS;
}

namespace {
// A10 step 3: every ';'-separated item is an int32 ≥ 0.
Status CheckDeviceIdList(const std::map<std::string, std::string> &raw) {
  const auto it = raw.find(OPTION_DEVICE_ID);
  if (it == raw.end() || it->second.empty()) {
    return Fail(LLM_PARAM_INVALID, "option %s is required (e.g. \"0\")", OPTION_DEVICE_ID);
  }
  size_t start = 0;
  for (;;) {
    const size_t end = it->second.find(';', start);
    int64_t id = 0;
    if (!ParseStreamInteger(it->second.substr(start, end - start), 0, INT32_MAX, false, id)) {
      return Fail(LLM_PARAM_INVALID, "option %s = \"%s\": every ';'-separated item must be a device id >= 0",
                  OPTION_DEVICE_ID, it->second.c_str());
    }
    if (end == std::string::npos) {
      return LLM_SUCCESS;
    }
    start = end + 1U;
  }
}

// A10 step 6: V2 runs one device, so the whole value must be one int32.
Status ParseSingleDeviceId(const std::map<std::string, std::string> &raw, int32_t &out) {
  int64_t id = 0;
  const std::string &text = raw.at(OPTION_DEVICE_ID);
  if (!ParseStreamInteger(text, 0, INT32_MAX, false, id)) {
    return Fail(LLM_PARAM_INVALID, "option %s = \"%s\" is not one device id (one device per engine)", OPTION_DEVICE_ID,
                text.c_str());
  }
  out = static_cast<int32_t>(id);
  return LLM_SUCCESS;
}

// A12: absent is the default backend, exactly "hixl" the hixl one, anything else is refused.
Status ParseTransferBackend(const std::map<std::string, std::string> &raw, TransferBackend &out) {
  const auto it = raw.find(OPTION_TRANSFER_BACKEND);
  if (it == raw.end()) {
    out = TransferBackend::kDefault;
    return LLM_SUCCESS;
  }
  if (it->second != "hixl") {
    return Fail(LLM_PARAM_INVALID, "option %s = \"%s\": the only transfer backend besides the default is \"hixl\"",
                OPTION_TRANSFER_BACKEND, it->second.c_str());
  }
  out = TransferBackend::kHixl;
  return LLM_SUCCESS;
}

// An optional integer option V2 reads with a stream extraction.
Status CheckStreamInteger(const std::map<std::string, std::string> &raw, const char *key, int64_t min, int64_t max,
                          bool unsigned_type) {
  const auto it = raw.find(key);
  int64_t value = 0;
  if (it != raw.end() && !ParseStreamInteger(it->second, min, max, unsigned_type, value)) {
    return Fail(LLM_PARAM_INVALID, "option %s = \"%s\" must be an integer in %lld..%lld", key, it->second.c_str(),
                static_cast<long long>(min), static_cast<long long>(max));
  }
  return LLM_SUCCESS;
}

// llm.ListenIp/llm.ListenPort are the keys Initialize derives from ListenIpInfo; a caller may set
// them directly, bypassing the ListenIpInfo checks (A28). The daemon listens when a port is set; a
// port without an ip is refused; an ip that cannot be bound fails when the listener starts.
Status ParseInternalListenKeys(const std::map<std::string, std::string> &raw, EngineOptions &out) {
  const auto ip = raw.find("llm.ListenIp");
  const auto port = raw.find("llm.ListenPort");
  if (port == raw.end()) {
    return LLM_SUCCESS;
  }
  int64_t value = 0;
  if (ip == raw.end()) {
    return Fail(LLM_PARAM_INVALID, "option llm.ListenPort is set without llm.ListenIp");
  }
  if (!ParseStreamInteger(port->second, 0, UINT32_MAX, true, value)) {
    return Fail(LLM_PARAM_INVALID, "option llm.ListenPort = \"%s\" is not an integer in 0..4294967295",
                port->second.c_str());
  }
  in6_addr addr6{};
  out.listen = true;
  out.listen_address.ip = ip->second;
  out.listen_address.ipv6 = inet_pton(AF_INET6, ip->second.c_str(), &addr6) == 1;
  out.listen_address.given_port = static_cast<uint64_t>(value);
  out.listen_address.port = static_cast<uint16_t>(value);
  return LLM_SUCCESS;
}

// A10 step 8, default backend.
Status CheckDefaultBackend(EngineOptions &out) {
  const auto &raw = out.raw;
  Status status = CheckStreamInteger(raw, "llm.RdmaTrafficClass", 0, UINT32_MAX, true);
  if (status == LLM_SUCCESS) {
    status = CheckStreamInteger(raw, "llm.RdmaServiceLevel", 0, UINT32_MAX, true);
  }
  if (status == LLM_SUCCESS) {
    status = CheckStreamInteger(raw, "llm.LinkRetryCount", 1, 100, false);
  }
  if (status != LLM_SUCCESS) {
    return status;
  }
  // Stored verbatim, checked at every link (A7); generated from the listen address when absent.
  const auto comm_res = raw.find(OPTION_LOCAL_COMM_RES);
  if (comm_res != raw.end() && !comm_res->second.empty()) {
    out.has_comm_res = true;
    out.comm_res = comm_res->second;
  } else if (out.listen) {
    out.has_comm_res = true;
    out.comm_res = GenerateCommRes(out.listen_address.ip, out.device_id);
  }
  return LLM_SUCCESS;
}

// D13: validated as V2 does, nothing allocated.
Status CheckMemPoolConfig(const std::map<std::string, std::string> &raw, const char *key) {
  const auto it = raw.find(key);
  if (it == raw.end()) {
    return LLM_SUCCESS;
  }
  JsonValue root;
  std::string why;
  int64_t size = -1;
  int64_t shift = 16;
  const JsonValue *size_value = nullptr;
  const JsonValue *shift_value = nullptr;
  if (!ParseJson(it->second, root, why) || !root.IsObject() ||
      (size_value = root.Find("memory_size")) == nullptr || !size_value->AsInt64(size) || size < 0 ||
      ((shift_value = root.Find("page_shift")) != nullptr && !shift_value->AsInt64(shift)) || shift < 10 ||
      shift >= 31 || (static_cast<uint64_t>(size) >> static_cast<uint64_t>(shift)) >= UINT32_MAX) {
    return Fail(LLM_PARAM_INVALID,
                "option %s = \"%s\" must be {\"memory_size\": unsigned, \"page_shift\": 10..30} with "
                "memory_size >> page_shift below 4294967295",
                key, it->second.c_str());
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
  Status status = CheckDeviceIdList(raw);
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
  if ((status = ParseTransferBackend(raw, parsed.backend)) != LLM_SUCCESS ||
      (status = ParseSingleDeviceId(raw, parsed.device_id)) != LLM_SUCCESS ||
      (!parsed.listen && (status = ParseInternalListenKeys(raw, parsed)) != LLM_SUCCESS)) {
    return status;
  }
  if (parsed.hixl()) {
    if (!parsed.listen) {
      return Fail(LLM_PARAM_INVALID, "option %s = \"hixl\" needs %s", OPTION_TRANSFER_BACKEND, OPTION_LISTEN_IP_INFO);
    }
    status = CheckHixlOptions(raw);
  } else {
    status = CheckDefaultBackend(parsed);
  }
  if (status != LLM_SUCCESS) {
    return status;
  }
  out = std::move(parsed);
  return LLM_SUCCESS;
}

Status ParseDataCacheOptions(EngineOptions &options) {
  const auto &raw = options.raw;
  const auto wait = raw.find(OPTION_SYNC_CACHE_WAIT_TIME);
  if (wait != raw.end()) {
    int64_t ms = 0;
    if (!ParseDecimal(wait->second, 0, INT32_MAX, ms)) {
      return Fail(LLM_PARAM_INVALID, "option %s = \"%s\" must be an integer in 0..2147483647 (ms)",
                  OPTION_SYNC_CACHE_WAIT_TIME, wait->second.c_str());
    }
    options.sync_wait_ms = static_cast<int32_t>(ms);
  }
  Status status = CheckMemPoolConfig(raw, "llm.MemPoolConfig");
  if (status != LLM_SUCCESS || (status = CheckMemPoolConfig(raw, "llm.HostMemPoolConfig")) != LLM_SUCCESS) {
    return status;
  }
  return ParseOwnOptions(options);
}
}  // namespace dd::host
