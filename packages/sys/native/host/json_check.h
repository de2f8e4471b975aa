// Syntax check of the JSON option values (llm.LocalCommRes) without building a document.
#ifndef DD_HOST_JSON_CHECK_H_
#define DD_HOST_JSON_CHECK_H_

#include <string>

namespace dd::host {
// True when `text` is one JSON object (RFC 8259 syntax, nesting ≤ 64). On failure `why` names the
// byte offset. On success `version` receives the top-level string member "version", if any.
bool CheckJsonObject(const std::string &text, std::string &why, std::string &version);
}  // namespace dd::host

#endif  // DD_HOST_JSON_CHECK_H_
