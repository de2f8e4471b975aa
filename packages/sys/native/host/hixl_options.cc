#include "hixl_options.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <iterator>

#include "engine_options.h"
#include "error_detail.h"
#include "json_value.h"
#include "llm_datadist/llm_datadist.h"

namespace dd::host {
using llm_datadist::LLM_PARAM_INVALID;
using llm_datadist::LLM_SUCCESS;

namespace {
constexpr const char kGlobalResourceConfig[] = "llm.GlobalResourceConfig";
constexpr uint64_t kMaxCommResFileBytes = 1U << 20U;

// A JSON integer, or a string of digits (hixl accepts both).
bool IntegerOf(const JsonValue &value, int64_t &out) {
  if (value.IsString()) {
    return ParseDecimal(value.text, 0, INT64_MAX, out);
  }
  return value.AsInt64(out);
}

// A field given either as a dotted top-level key ("fabric_memory.max_capacity") or, for the
// fabric_memory group, inside a nested object of that name.
const JsonValue *Field(const JsonValue &root, const char *group, const char *name) {
  const JsonValue *flat = root.Find(std::string(group) + "." + name);
  if (flat != nullptr) {
    return flat;
  }
  const JsonValue *nested = std::string(group) == "fabric_memory" ? root.Find(group) : nullptr;
  return nested != nullptr && nested->IsObject() ? nested->Find(name) : nullptr;
}

ge::Status CheckInteger(const JsonValue &root, const char *group, const char *name, int64_t min, int64_t max,
                        int64_t *out = nullptr) {
  const JsonValue *value = Field(root, group, name);
  if (value == nullptr) {
    return LLM_SUCCESS;
  }
  int64_t n = 0;
  if (!IntegerOf(*value, n) || n < min || n > max) {
    return Fail(LLM_PARAM_INVALID, "%s: %s.%s must be an integer in %lld..%lld", kGlobalResourceConfig, group, name,
                static_cast<long long>(min), static_cast<long long>(max));
  }
  if (out != nullptr) {
    *out = n;
  }
  return LLM_SUCCESS;
}

struct GlobalConfig {
  const JsonValue *comm_res_path = nullptr;  // read only when llm.LocalCommRes is empty
  bool protocol_desc = false;  // a non-empty comm_resource_config.protocol_desc selects HIXL-CS
  const JsonValue *high_waterline = nullptr;
  const JsonValue *low_waterline = nullptr;
  const JsonValue *max_channel = nullptr;
};

ge::Status CheckGlobalConfig(const JsonValue &root, GlobalConfig &out) {
  int64_t streams = 1;
  ge::Status status = LLM_SUCCESS;
  const struct {
    const char *group;
    const char *name;
    int64_t min;
    int64_t max;
  } integers[] = {
      {"fabric_memory", "max_capacity", 1, 1024},     {"fabric_memory", "start_address", 0, 1024},
      {"connect_pool", "thread_num", 1, 64},          {"connect_pool", "task_queue_capacity", 1, 65535},
      {"comm_resource_config", "listen_port", 1, 65535}, {"comm_resource_config", "qos", 0, 7},
      {"comm_resource_config", "max_active_channels", 1, INT64_MAX},
  };
  for (const auto &field : integers) {
    if ((status = CheckInteger(root, field.group, field.name, field.min, field.max)) != LLM_SUCCESS) {
      return status;
    }
  }
  if ((status = CheckInteger(root, "fabric_memory", "task_stream_num", 1, 8, &streams)) != LLM_SUCCESS) {
    return status;
  }
  const JsonValue *unfold = Field(root, "fabric_memory", "enable_aicpu_unfold");
  const bool unfold_off = unfold != nullptr && unfold->kind == JsonValue::Kind::kBool && !unfold->boolean;
  if (streams != 1 && !unfold_off) {
    return Fail(LLM_PARAM_INVALID, "%s: fabric_memory.task_stream_num must be 1 unless enable_aicpu_unfold is false",
                kGlobalResourceConfig);
  }
  if (const JsonValue *protocol = Field(root, "comm_resource_config", "protocol_desc")) {
    if (protocol->IsString()) {
      out.protocol_desc = !protocol->text.empty();
    } else if (protocol->IsArray()) {
      for (const JsonValue &item : protocol->items) {
        if (!item.IsString()) {
          return Fail(LLM_PARAM_INVALID, "%s: comm_resource_config.protocol_desc must hold strings",
                      kGlobalResourceConfig);
        }
      }
      out.protocol_desc = !protocol->items.empty();
    } else {
      return Fail(LLM_PARAM_INVALID, "%s: comm_resource_config.protocol_desc must be a string or an array of strings",
                  kGlobalResourceConfig);
    }
  }
  out.comm_res_path = root.Find("local_comm_res_path");
  out.high_waterline = Field(root, "channel_pool", "high_waterline");
  out.low_waterline = Field(root, "channel_pool", "low_waterline");
  out.max_channel = Field(root, "channel_pool", "max_channel");
  return LLM_SUCCESS;
}

// The comm (ADXL) engine's own checks: the channel pool.
ge::Status CheckCommEngine(const JsonValue &root, const GlobalConfig &config) {
  double marks[2] = {0.0, 0.0};
  const JsonValue *lines[2] = {config.high_waterline, config.low_waterline};
  for (int i = 0; i < 2; ++i) {
    if (lines[i] != nullptr && (!lines[i]->AsDouble(marks[i]) || !(marks[i] > 0.0 && marks[i] < 1.0))) {
      return Fail(LLM_PARAM_INVALID, "%s: channel_pool.%s must be a number in (0, 1)", kGlobalResourceConfig,
                  i == 0 ? "high_waterline" : "low_waterline");
    }
  }
  int64_t max_channel = 512;
  if (config.max_channel != nullptr) {
    if (lines[0] == nullptr || lines[1] == nullptr) {
      return Fail(LLM_PARAM_INVALID, "%s: channel_pool.max_channel needs both waterlines", kGlobalResourceConfig);
    }
    const ge::Status status = CheckInteger(root, "channel_pool", "max_channel", 1, 512, &max_channel);
    if (status != LLM_SUCCESS) {
      return status;
    }
  }
  if (lines[0] != nullptr && lines[1] != nullptr) {
    const auto high = static_cast<int64_t>(marks[0] * static_cast<double>(max_channel));
    const auto low = static_cast<int64_t>(marks[1] * static_cast<double>(max_channel));
    if (high - low < 1) {
      return Fail(LLM_PARAM_INVALID, "%s: the channel_pool waterlines give marks %lld and %lld, less than 1 apart",
                  kGlobalResourceConfig, static_cast<long long>(high), static_cast<long long>(low));
    }
  }
  return LLM_SUCCESS;
}

ge::Status ReadCommResFile(const JsonValue &value, std::string &out) {
  if (!value.IsString() || value.text.empty()) {
    return Fail(LLM_PARAM_INVALID, "%s: local_comm_res_path must be a non-empty string", kGlobalResourceConfig);
  }
  const std::string &path = value.text;
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 1 ||
      static_cast<uint64_t>(st.st_size) > kMaxCommResFileBytes) {
    return Fail(LLM_PARAM_INVALID, "%s: local_comm_res_path \"%s\" is not a regular file of 1 B..1 MiB",
                kGlobalResourceConfig, path.c_str());
  }
  std::ifstream in(path, std::ios::binary);
  out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) {
    return Fail(LLM_PARAM_INVALID, "%s: cannot read \"%s\"", kGlobalResourceConfig, path.c_str());
  }
  return LLM_SUCCESS;
}

// llm.RdmaTrafficClass / llm.RdmaServiceLevel, or the HCCL environment variable when unset.
ge::Status CheckRdma(const std::map<std::string, std::string> &raw, const char *key, const char *env, int64_t max,
                     int64_t multiple_of) {
  const auto it = raw.find(key);
  const char *from_env = it == raw.end() ? std::getenv(env) : nullptr;
  if (it == raw.end() && from_env == nullptr) {
    return LLM_SUCCESS;
  }
  const std::string text = it != raw.end() ? it->second : std::string(from_env);
  int64_t value = 0;
  if (!ParseStreamInteger(text, 0, max, false, value) || value % multiple_of != 0) {
    return Fail(LLM_PARAM_INVALID, "%s = \"%s\" must be an integer in 0..%lld%s", it != raw.end() ? key : env,
                text.c_str(), static_cast<long long>(max), multiple_of > 1 ? ", a multiple of 4" : "");
  }
  return LLM_SUCCESS;
}
}  // namespace

ge::Status CheckHixlOptions(const std::map<std::string, std::string> &raw) {
  JsonValue root;
  root.kind = JsonValue::Kind::kObject;
  GlobalConfig config;
  const auto global = raw.find(kGlobalResourceConfig);
  if (global != raw.end() && !global->second.empty()) {
    std::string why;
    if (!ParseJson(global->second, root, why) || !root.IsObject()) {
      return Fail(LLM_PARAM_INVALID, "%s is not a JSON object%s%s", kGlobalResourceConfig, why.empty() ? "" : ": ",
                  why.c_str());
    }
  }
  ge::Status status = CheckGlobalConfig(root, config);
  if (status != LLM_SUCCESS) {
    return status;
  }
  const auto given = raw.find(llm_datadist::OPTION_LOCAL_COMM_RES);
  std::string comm_res = given != raw.end() ? given->second : std::string();
  if (comm_res.empty() && config.comm_res_path != nullptr &&
      (status = ReadCommResFile(*config.comm_res_path, comm_res)) != LLM_SUCCESS) {
    return status;
  }
  bool hixl_cs = config.protocol_desc;
  if (!comm_res.empty()) {
    JsonValue parsed;
    std::string why;
    if (!ParseJson(comm_res, parsed, why)) {
      return Fail(LLM_PARAM_INVALID, "%s is not JSON: %s", llm_datadist::OPTION_LOCAL_COMM_RES, why.c_str());
    }
    const JsonValue *version = parsed.Find("version");
    hixl_cs = hixl_cs || (version != nullptr && version->IsString() && version->text == "1.3");
  }
  if (!hixl_cs && (status = CheckCommEngine(root, config)) != LLM_SUCCESS) {
    return status;
  }
  if ((status = CheckRdma(raw, "llm.RdmaTrafficClass", "HCCL_RDMA_TC", 255, 4)) != LLM_SUCCESS) {
    return status;
  }
  return CheckRdma(raw, "llm.RdmaServiceLevel", "HCCL_RDMA_SL", 7, 1);
}
}  // namespace dd::host
