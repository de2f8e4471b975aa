// dd's own option keys (docs/compat.md D16, docs/host-backend.md "Options"). The fake
// (packages/testing/src/engine-options.ts) accepts the same keys with the same ranges.
#include "engine_options.h"
#include "error_detail.h"

namespace dd::host {
using namespace llm_datadist;

namespace {
// An integer option: decimal digits only, within [min, max].
struct IntegerOption {
  const char *key;
  int64_t min;
  int64_t max;
  void (*store)(EngineOptions &, int64_t);
};

constexpr int64_t kMiB = 1 << 20;

const IntegerOption kIntegerOptions[] = {
    {kOptionHeartbeatIntervalMs, 10, 600000, [](EngineOptions &o, int64_t v) { o.heartbeat_ms = static_cast<int32_t>(v); }},
    {kOptionMaxLinks, 1, 1048576, [](EngineOptions &o, int64_t v) { o.max_links = static_cast<size_t>(v); }},
    {kOptionHandshakeTimeoutMs, 100, 600000,
     [](EngineOptions &o, int64_t v) { o.handshake_timeout_ms = static_cast<int32_t>(v); }},
    {kOptionHandshakeMaxBytes, 1024, 16 * kMiB,
     [](EngineOptions &o, int64_t v) { o.handshake_max_bytes = static_cast<uint32_t>(v); }},
    {kOptionMaxPendingHandshakes, 1, 65536,
     [](EngineOptions &o, int64_t v) { o.max_pending_handshakes = static_cast<size_t>(v); }},
    {kOptionLinkWindowBytes, 64 * 1024, 1024 * kMiB,
     [](EngineOptions &o, int64_t v) { o.link_window_bytes = static_cast<uint64_t>(v); }},
    {kOptionPieceBytes, 4096, 256 * kMiB, [](EngineOptions &o, int64_t v) { o.piece_bytes = static_cast<uint64_t>(v); }},
    {kOptionStreamsPerLink, 1, 16, [](EngineOptions &o, int64_t v) { o.streams_per_link = static_cast<uint32_t>(v); }},
};

// A shared secret shorter than this is too easy to guess from a captured handshake.
constexpr size_t kMinSecretBytes = 16U;
constexpr size_t kMaxSecretBytes = 4096U;

std::string KnownKeys() {
  std::string keys = std::string(kOptionDataPath) + ", " + kOptionAuthSecret;
  for (const IntegerOption &option : kIntegerOptions) {
    keys += std::string(", ") + option.key;
  }
  return keys;
}
}  // namespace

Status ParseOwnOptions(EngineOptions &out) {
  for (const auto &[key, value] : out.raw) {
    if (key.rfind("dd.", 0) != 0) {
      continue;
    }
    if (key == kOptionDataPath) {
      if (value != "auto" && value != "tcp") {
        return Fail(LLM_PARAM_INVALID, "option %s = \"%s\" must be \"auto\" or \"tcp\"", kOptionDataPath,
                    value.c_str());
      }
      out.tcp_only = value == "tcp";
      continue;
    }
    if (key == kOptionAuthSecret) {
      // The value is never echoed.
      if (value.size() < kMinSecretBytes || value.size() > kMaxSecretBytes) {
        return Fail(LLM_PARAM_INVALID, "option %s must be %zu..%zu bytes long (it is %zu)", kOptionAuthSecret,
                    kMinSecretBytes, kMaxSecretBytes, value.size());
      }
      out.auth_secret = value;
      continue;
    }
    const IntegerOption *option = nullptr;
    for (const IntegerOption &candidate : kIntegerOptions) {
      if (key == candidate.key) {
        option = &candidate;
      }
    }
    if (option == nullptr) {
      // The dd. prefix is ours: a typo must not pass silently.
      return Fail(LLM_PARAM_INVALID, "unknown option %s (known: %s)", key.c_str(), KnownKeys().c_str());
    }
    int64_t number = 0;
    if (!ParseDecimal(value, option->min, option->max, number)) {
      return Fail(LLM_PARAM_INVALID, "option %s = \"%s\" must be an integer in %lld..%lld", key.c_str(), value.c_str(),
                  static_cast<long long>(option->min), static_cast<long long>(option->max));
    }
    option->store(out, number);
  }
  return LLM_SUCCESS;
}
}  // namespace dd::host
