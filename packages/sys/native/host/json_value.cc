#include "json_value.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace dd::host {
namespace {
class JsonParser {
 public:
  explicit JsonParser(const std::string &text) : s_(text) {}

  bool Document(JsonValue &out, std::string &why) {
    if (!Value(0, out)) {
      why = error_ + " at offset " + std::to_string(pos_);
      return false;
    }
    SkipSpace();
    if (pos_ != s_.size()) {
      why = "trailing characters at offset " + std::to_string(pos_);
      return false;
    }
    return true;
  }

 private:
  static constexpr int kMaxDepth = 64;

  char Peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  bool AtEnd() const { return pos_ >= s_.size(); }
  void SkipSpace() {
    while (!AtEnd() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\r' || s_[pos_] == '\n')) {
      ++pos_;
    }
  }
  bool Fail(const char *what) {
    error_ = what;
    return false;
  }

  bool Value(int depth, JsonValue &out) {
    SkipSpace();
    if (AtEnd()) {
      return Fail("unexpected end");
    }
    switch (Peek()) {
      case '{': return Object(depth + 1, out);
      case '[': return Array(depth + 1, out);
      case '"': out.kind = JsonValue::Kind::kString; return String(out.text);
      case 't': out.kind = JsonValue::Kind::kBool; out.boolean = true; return Literal("true");
      case 'f': out.kind = JsonValue::Kind::kBool; out.boolean = false; return Literal("false");
      case 'n': out.kind = JsonValue::Kind::kNull; return Literal("null");
      default: out.kind = JsonValue::Kind::kNumber; return Number(out.text);
    }
  }

  bool Object(int depth, JsonValue &out) {
    if (depth > kMaxDepth) {
      return Fail("nesting too deep");
    }
    out.kind = JsonValue::Kind::kObject;
    ++pos_;  // '{'
    SkipSpace();
    if (Peek() == '}') {
      ++pos_;
      return true;
    }
    for (;;) {
      SkipSpace();
      std::string key;
      if (Peek() != '"' || !String(key)) {
        return Fail("expected a member name");
      }
      SkipSpace();
      if (Peek() != ':') {
        return Fail("expected ':'");
      }
      ++pos_;
      out.members.emplace_back(std::move(key), JsonValue());
      if (!Value(depth, out.members.back().second)) {
        return false;
      }
      SkipSpace();
      if (Peek() == ',') {
        ++pos_;
        continue;
      }
      if (Peek() == '}') {
        ++pos_;
        return true;
      }
      return Fail("expected ',' or '}'");
    }
  }

  bool Array(int depth, JsonValue &out) {
    if (depth > kMaxDepth) {
      return Fail("nesting too deep");
    }
    out.kind = JsonValue::Kind::kArray;
    ++pos_;  // '['
    SkipSpace();
    if (Peek() == ']') {
      ++pos_;
      return true;
    }
    for (;;) {
      out.items.emplace_back();
      if (!Value(depth, out.items.back())) {
        return false;
      }
      SkipSpace();
      if (Peek() == ',') {
        ++pos_;
        continue;
      }
      if (Peek() == ']') {
        ++pos_;
        return true;
      }
      return Fail("expected ',' or ']'");
    }
  }

  bool Hex4(uint32_t &out) {
    out = 0;
    for (int i = 0; i < 4; ++i, ++pos_) {
      const char c = Peek();
      uint32_t digit = 0;
      if (c >= '0' && c <= '9') {
        digit = static_cast<uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        digit = static_cast<uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        digit = static_cast<uint32_t>(c - 'A' + 10);
      } else {
        return Fail("bad \\u escape");
      }
      out = out << 4U | digit;
    }
    return true;
  }

  static void AppendUtf8(uint32_t cp, std::string &out) {
    if (cp < 0x80U) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800U) {
      out.push_back(static_cast<char>(0xC0U | cp >> 6U));
      out.push_back(static_cast<char>(0x80U | (cp & 0x3FU)));
    } else if (cp < 0x10000U) {
      out.push_back(static_cast<char>(0xE0U | cp >> 12U));
      out.push_back(static_cast<char>(0x80U | (cp >> 6U & 0x3FU)));
      out.push_back(static_cast<char>(0x80U | (cp & 0x3FU)));
    } else {
      out.push_back(static_cast<char>(0xF0U | cp >> 18U));
      out.push_back(static_cast<char>(0x80U | (cp >> 12U & 0x3FU)));
      out.push_back(static_cast<char>(0x80U | (cp >> 6U & 0x3FU)));
      out.push_back(static_cast<char>(0x80U | (cp & 0x3FU)));
    }
  }

  bool String(std::string &out) {
    ++pos_;  // '"'
    while (!AtEnd()) {
      const char c = s_[pos_++];
      if (c == '"') {
        return true;
      }
      if (static_cast<unsigned char>(c) < 0x20U) {
        return Fail("control character in string");
      }
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      const char e = Peek();
      ++pos_;
      switch (e) {
        case '"': case '\\': case '/': out.push_back(e); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
        case 'u': {
          uint32_t cp = 0;
          if (!Hex4(cp)) {
            return false;
          }
          // A high surrogate followed by an escaped low surrogate is one code point.
          if (cp >= 0xD800U && cp < 0xDC00U && Peek() == '\\' && pos_ + 1U < s_.size() && s_[pos_ + 1U] == 'u') {
            const size_t save = pos_;
            pos_ += 2U;
            uint32_t low = 0;
            if (!Hex4(low)) {
              return false;
            }
            if (low >= 0xDC00U && low < 0xE000U) {
              cp = 0x10000U + ((cp - 0xD800U) << 10U) + (low - 0xDC00U);
            } else {
              pos_ = save;
            }
          }
          AppendUtf8(cp, out);
          break;
        }
        default: return Fail("bad escape");
      }
    }
    return Fail("unterminated string");
  }

  bool Literal(const char *word) {
    const size_t n = std::strlen(word);
    if (s_.compare(pos_, n, word) != 0) {
      return Fail("unknown literal");
    }
    pos_ += n;
    return true;
  }

  bool Digits() {
    const size_t start = pos_;
    while (Peek() >= '0' && Peek() <= '9') {
      ++pos_;
    }
    return pos_ > start;
  }

  bool Number(std::string &out) {
    const size_t start = pos_;
    if (Peek() == '-') {
      ++pos_;
    }
    if (Peek() == '0') {
      ++pos_;
    } else if (!Digits()) {
      return Fail("unexpected character");
    }
    if (Peek() == '.') {
      ++pos_;
      if (!Digits()) {
        return Fail("bad number");
      }
    }
    if (Peek() == 'e' || Peek() == 'E') {
      ++pos_;
      if (Peek() == '+' || Peek() == '-') {
        ++pos_;
      }
      if (!Digits()) {
        return Fail("bad exponent");
      }
    }
    out = s_.substr(start, pos_ - start);
    return true;
  }

  const std::string &s_;
  size_t pos_ = 0;
  std::string error_;
};
}  // namespace

const JsonValue *JsonValue::Find(const std::string &key) const {
  const JsonValue *found = nullptr;
  if (kind == Kind::kObject) {
    for (const auto &[name, value] : members) {
      if (name == key) {
        found = &value;
      }
    }
  }
  return found;
}

bool JsonValue::AsInt64(int64_t &out) const {
  if (kind != Kind::kNumber || text.find_first_of(".eE") != std::string::npos) {
    return false;
  }
  errno = 0;
  char *end = nullptr;
  const long long value = std::strtoll(text.c_str(), &end, 10);
  if (errno != 0 || end == nullptr || *end != '\0') {
    return false;
  }
  out = value;
  return true;
}

bool JsonValue::AsDouble(double &out) const {
  if (kind != Kind::kNumber) {
    return false;
  }
  out = std::strtod(text.c_str(), nullptr);
  return true;
}

bool ParseJson(const std::string &text, JsonValue &out, std::string &why) {
  out = JsonValue();
  return JsonParser(text).Document(out, why);
}
}  // namespace dd::host
