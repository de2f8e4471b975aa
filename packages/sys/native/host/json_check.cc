#include "json_check.h"

#include <cstring>

namespace dd::host {
namespace {
class JsonScanner {
 public:
  explicit JsonScanner(const std::string &text) : s_(text) {}

  bool Document(std::string &why, std::string &version) {
    SkipSpace();
    if (Peek() != '{') {
      return Error(why, "expected a JSON object");
    }
    if (!Object(0, &version)) {
      return Error(why, error_);
    }
    SkipSpace();
    if (pos_ != s_.size()) {
      return Error(why, "trailing characters");
    }
    return true;
  }

 private:
  static constexpr int kMaxDepth = 64;

  char Peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void SkipSpace() {
    while (pos_ < s_.size() && std::strchr(" \t\r\n", s_[pos_]) != nullptr && s_[pos_] != '\0') {
      ++pos_;
    }
  }
  bool Fail(const char *what) {
    error_ = what;
    return false;
  }
  bool Error(std::string &why, const std::string &what) const {
    why = what + " at offset " + std::to_string(pos_);
    return false;
  }

  bool Value(int depth, std::string *string_out) {
    SkipSpace();
    switch (Peek()) {
      case '{': return Object(depth + 1, nullptr);
      case '[': return Array(depth + 1);
      case '"': return String(string_out);
      case 't': return Literal("true");
      case 'f': return Literal("false");
      case 'n': return Literal("null");
      default: return Number();
    }
  }

  bool Object(int depth, std::string *version) {
    if (depth > kMaxDepth) {
      return Fail("nesting too deep");
    }
    ++pos_;  // '{'
    SkipSpace();
    if (Peek() == '}') {
      ++pos_;
      return true;
    }
    for (;;) {
      SkipSpace();
      std::string key;
      if (Peek() != '"' || !String(&key)) {
        return Fail("expected a member name");
      }
      SkipSpace();
      if (Peek() != ':') {
        return Fail("expected ':'");
      }
      ++pos_;
      std::string value;
      const bool want_version = version != nullptr && key == "version";
      SkipSpace();
      const bool is_string = Peek() == '"';
      if (!Value(depth, want_version ? &value : nullptr)) {
        return false;
      }
      if (want_version) {
        if (!is_string) {
          return Fail("\"version\" must be a string");
        }
        *version = value;
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

  bool Array(int depth) {
    if (depth > kMaxDepth) {
      return Fail("nesting too deep");
    }
    ++pos_;  // '['
    SkipSpace();
    if (Peek() == ']') {
      ++pos_;
      return true;
    }
    for (;;) {
      if (!Value(depth, nullptr)) {
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

  bool String(std::string *out) {
    ++pos_;  // '"'
    while (pos_ < s_.size()) {
      const char c = s_[pos_++];
      if (c == '"') {
        return true;
      }
      if (static_cast<unsigned char>(c) < 0x20U) {
        return Fail("control character in string");
      }
      if (c == '\\') {
        const char e = Peek();
        ++pos_;
        if (e == 'u') {
          for (int i = 0; i < 4; ++i, ++pos_) {
            if (std::strchr("0123456789abcdefABCDEF", Peek()) == nullptr || Peek() == '\0') {
              return Fail("bad \\u escape");
            }
          }
          continue;
        }
        if (std::strchr("\"\\/bfnrt", e) == nullptr || e == '\0') {
          return Fail("bad escape");
        }
        if (out != nullptr) {
          out->push_back(e);
        }
        continue;
      }
      if (out != nullptr) {
        out->push_back(c);
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

  bool Number() {
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
    return true;
  }

  const std::string &s_;
  size_t pos_ = 0;
  std::string error_;
};
}  // namespace

bool CheckJsonObject(const std::string &text, std::string &why, std::string &version) {
  return JsonScanner(text).Document(why, version);
}
}  // namespace dd::host
