#include "comm_resource.h"

#include "json_value.h"
#include "llm_datadist/llm_datadist.h"

namespace dd::host {
using llm_datadist::LLM_PARAM_INVALID;
using llm_datadist::LLM_SUCCESS;

std::string GenerateCommRes(const std::string &server_ip, int32_t device_id) {
  return "{\"server_count\":\"1\",\"server_list\":[{\"server_id\":\"" + server_ip +
         "\",\"device\":[{\"device_id\":\"" + std::to_string(device_id) +
         "\",\"device_ip\":\"\",\"rank_id\":\"0\"}]}],\"status\":\"completed\",\"version\":\"1.0\"}";
}

ge::Status CheckCommRes(const std::string &value, const char *whose, int64_t local_device_id, std::string &why) {
  const auto refuse = [&](const std::string &fault) {
    why = std::string(whose) + " llm.LocalCommRes " + fault;
    return LLM_PARAM_INVALID;
  };
  if (value.size() > kMaxCommResBytes) {
    return refuse("has more than " + std::to_string(kMaxCommResBytes) + " bytes");
  }
  JsonValue root;
  std::string parse_error;
  if (!ParseJson(value, root, parse_error)) {
    return refuse("is not JSON: " + parse_error);
  }
  const JsonValue *version = root.Find("version");
  if (version == nullptr || !version->IsString() || (version->text != "1.0" && version->text != "1.2")) {
    return refuse("needs a string \"version\" of \"1.0\" or \"1.2\"");
  }
  const JsonValue *servers = root.Find("server_list");
  if (servers == nullptr || !servers->IsArray()) {
    return refuse("has no \"server_list\" array");
  }
  if (local_device_id >= 0 && servers->items.empty()) {
    // V2 would build a comm with no rank for this node (docs/compat.md, choices: A7).
    return refuse("has an empty \"server_list\": no entry names this node's device");
  }
  for (const JsonValue &server : servers->items) {
    const JsonValue *server_id = server.Find("server_id");
    const JsonValue *devices = server.Find("device");
    if (server_id == nullptr || !server_id->IsString() || devices == nullptr || !devices->IsArray()) {
      return refuse("has a server_list entry without a string \"server_id\" and a \"device\" array");
    }
    const JsonValue *device_id = devices->items.size() == 1U ? devices->items[0].Find("device_id") : nullptr;
    if (device_id == nullptr || !device_id->IsString()) {
      return refuse("has a server_list entry without exactly one device with a string \"device_id\"");
    }
    // Each end's own entries must be its own device (the rank table writes ids as strings).
    if (local_device_id >= 0 && device_id->text != std::to_string(local_device_id)) {
      return refuse("names device_id \"" + device_id->text + "\", not llm.DeviceId " + std::to_string(local_device_id));
    }
  }
  return LLM_SUCCESS;
}

bool CommResource::Get(std::string &out) const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (present_) {
    out = value_;
  }
  return present_;
}

std::string CommResource::GetOrGenerate(const std::string &local_ip, int32_t device_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!present_) {
    value_ = GenerateCommRes(local_ip, device_id);
    present_ = true;
  }
  return value_;
}
}  // namespace dd::host
