// One JSON object per line, the only thing dd_host_node writes on stdout (the runner parses it).
#ifndef DD_HOSTS_JSON_LINE_H_
#define DD_HOSTS_JSON_LINE_H_

#include <cstdint>
#include <cstdio>
#include <string>

namespace ddhosts {
class JsonLine {
 public:
  JsonLine &Field(const char *key, const std::string &value) {
    Key(key);
    Quote(value);
    return *this;
  }
  JsonLine &Field(const char *key, const char *value) { return Field(key, std::string(value)); }
  JsonLine &Field(const char *key, double value) {
    Key(key);
    char text[64];
    std::snprintf(text, sizeof(text), "%.6g", value);
    out_ += text;
    return *this;
  }
  JsonLine &Field(const char *key, int64_t value) {
    Key(key);
    out_ += std::to_string(value);
    return *this;
  }
  JsonLine &Field(const char *key, uint64_t value) {
    Key(key);
    out_ += std::to_string(value);
    return *this;
  }
  // A value that is already JSON (an array built by the caller).
  JsonLine &Raw(const char *key, const std::string &json) {
    Key(key);
    out_ += json;
    return *this;
  }
  // Writes the object and a newline to stdout and flushes it.
  void Print() {
    out_ += "}\n";
    std::fputs(out_.c_str(), stdout);
    std::fflush(stdout);
  }
  static std::string Quoted(const std::string &text) {
    JsonLine line;
    line.out_.clear();
    line.Quote(text);
    return line.out_;
  }

 private:
  void Key(const char *key) {
    out_ += out_.size() > 1 ? ",\"" : "\"";
    out_ += key;
    out_ += "\":";
  }
  void Quote(const std::string &text) {
    out_ += '"';
    for (const char c : text) {
      if (c == '"' || c == '\\') {
        out_ += '\\';
        out_ += c;
      } else if (static_cast<unsigned char>(c) < 0x20U) {
        char escaped[8];
        std::snprintf(escaped, sizeof(escaped), "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
        out_ += escaped;
      } else {
        out_ += c;
      }
    }
    out_ += '"';
  }
  std::string out_ = "{";
};
}  // namespace ddhosts

#endif  // DD_HOSTS_JSON_LINE_H_
