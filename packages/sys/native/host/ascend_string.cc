// ge::AscendString for the host backend: an immutable shared string, null when default-built.
#include "graph/ascend_string.h"

#include <cstring>
#include <functional>

namespace ge {
AscendString::AscendString(const char *const name) {
  if (name != nullptr) {
    name_ = std::make_shared<std::string>(name);
  }
}

AscendString::AscendString(const char *const name, size_t length) {
  if (name != nullptr) {
    name_ = std::make_shared<std::string>(name, length);
  }
}

const char *AscendString::GetString() const { return name_ == nullptr ? "" : name_->c_str(); }

size_t AscendString::GetLength() const { return name_ == nullptr ? 0U : name_->size(); }

size_t AscendString::Find(const AscendString &ascend_string) const {
  if (name_ == nullptr || ascend_string.name_ == nullptr) {
    return std::string::npos;
  }
  return name_->find(*ascend_string.name_);
}

size_t AscendString::Hash() const {
  return name_ == nullptr ? std::hash<std::string>()(std::string()) : std::hash<std::string>()(*name_);
}

// A null string compares equal to "" so that map lookups behave like std::string keys.
bool AscendString::operator<(const AscendString &d) const { return std::strcmp(GetString(), d.GetString()) < 0; }
bool AscendString::operator>(const AscendString &d) const { return std::strcmp(GetString(), d.GetString()) > 0; }
bool AscendString::operator<=(const AscendString &d) const { return !(*this > d); }
bool AscendString::operator>=(const AscendString &d) const { return !(*this < d); }
bool AscendString::operator==(const AscendString &d) const { return std::strcmp(GetString(), d.GetString()) == 0; }
bool AscendString::operator!=(const AscendString &d) const { return !(*this == d); }
bool AscendString::operator==(const char *const d) const {
  return std::strcmp(GetString(), d == nullptr ? "" : d) == 0;
}
bool AscendString::operator!=(const char *const d) const { return !(*this == d); }
}  // namespace ge
