/**
 * graph/ascend_string.h: the string type used for option keys and values and for IP addresses.
 * Written by the dd project from the public documentation of LLM-DataDist.
 */
#ifndef DD_HEADERS_GRAPH_ASCEND_STRING_H_
#define DD_HEADERS_GRAPH_ASCEND_STRING_H_

#include <cstddef>
#include <memory>
#include <string>

#ifndef GE_FUNC_VISIBILITY
#define GE_FUNC_VISIBILITY __attribute__((visibility("default")))
#endif

namespace ge {
/// An immutable, shareable string. A default-constructed value is null: GetString() gives ""
/// and GetLength() gives 0.
class GE_FUNC_VISIBILITY AscendString {
 public:
  AscendString() = default;
  ~AscendString() = default;
  AscendString(const char *const name);
  AscendString(const char *const name, size_t length);

  const char *GetString() const;
  size_t GetLength() const;
  size_t Find(const AscendString &ascend_string) const;
  size_t Hash() const;

  bool operator<(const AscendString &d) const;
  bool operator>(const AscendString &d) const;
  bool operator<=(const AscendString &d) const;
  bool operator>=(const AscendString &d) const;
  bool operator==(const AscendString &d) const;
  bool operator!=(const AscendString &d) const;
  bool operator==(const char *const d) const;
  bool operator!=(const char *const d) const;

 private:
  std::shared_ptr<std::string> name_;
};
}  // namespace ge

#endif  // DD_HEADERS_GRAPH_ASCEND_STRING_H_
