// Where a registered tensor lies in a memory file of its process: what a peer on the same host
// needs to map it. The descriptor number means something only to pidfd_getfd on that process.
#ifndef DD_HOST_MEMORY_FILE_SPAN_H_
#define DD_HOST_MEMORY_FILE_SPAN_H_

#include <cstdint>

namespace dd::host {
struct MemoryFileSpan {
  int32_t fd = -1;          // -1: the tensor is not in a memory file (registered by address)
  uint64_t offset = 0;      // of the tensor's first byte in the file
  uint64_t file_bytes = 0;  // the file's size
};
}  // namespace dd::host

#endif  // DD_HOST_MEMORY_FILE_SPAN_H_
