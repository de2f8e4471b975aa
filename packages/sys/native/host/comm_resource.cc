#include "comm_resource.h"

#include "json_value.h"
#include "llm_datadist/llm_datadist.h"

namespace dd::host {
using llm_datadist::LLM_PARAM_INVALID;
using llm_datadist::LLM_SUCCESS;

namespace {
// device_id as V2 writes it (a decimal string) or as a JSON integer.
bool DeviceIdOf(const JsonValue &device, int64_t &out) {
  const JsonValue *id = device.Find("device_id");
  if (id == nullptr) {
    return false;
  }
  if (id->IsString()) {
    if (id->text.empty() || id->text.size() > 18U || id->text.find_first_not_of("0123456789") != std::string::npos) {
      return false;
    }
    out = std::stoll(id->text);
    return true;
  }
  return id->AsInt64(out);
}
}  // namespace

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
  for (const JsonValue &server : servers->items) {
    const JsonValue *devices = server.Find("device");
    if (devices == nullptr || !devices->IsArray() || devices->items.size() != 1U) {
      return refuse("has a server_list entry without exactly one device");
    }
  }
  int64_t device_id = -1;
  if (local_device_id >= 0 &&
      (servers->items.empty() || !DeviceIdOf(servers->items[0].Find("device")->items[0], device_id) ||
       device_id != local_device_id)) {
    return refuse("names a device_id other than llm.DeviceId " + std::to_string(local_device_id));
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
