// A small JSON document model for the option values V2 parses (llm.LocalCommRes,
// llm.GlobalResourceConfig, llm.MemPoolConfig): RFC 8259 syntax, bounded nesting, no exceptions.
#ifndef DD_HOST_JSON_VALUE_H_
#define DD_HOST_JSON_VALUE_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace dd::host {
struct JsonValue {
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };
  Kind kind = Kind::kNull;
  bool boolean = false;
  std::string text;  // a string's value, or a number as written
  std::vector<JsonValue> items;
  std::vector<std::pair<std::string, JsonValue>> members;

  bool IsObject() const { return kind == Kind::kObject; }
  bool IsArray() const { return kind == Kind::kArray; }
  bool IsString() const { return kind == Kind::kString; }
  // The member `key` of an object (the last one when a key repeats), or null.
  const JsonValue *Find(const std::string &key) const;
  // A number written as an integer (no fraction or exponent) that fits int64.
  bool AsInt64(int64_t &out) const;
  // Any number, as a double.
  bool AsDouble(double &out) const;
};

// Parses one JSON value filling the whole of `text` (nesting ≤ 64). On failure `why` names the
// byte offset.
bool ParseJson(const std::string &text, JsonValue &out, std::string &why);
}  // namespace dd::host

#endif  // DD_HOST_JSON_VALUE_H_
