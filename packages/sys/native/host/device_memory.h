// The host backend's stand-in for an Ascend card's memory: what aclrtMalloc and aclrtMallocHost
// handed out, process-wide as the ACL runtime keeps it. Each allocation is its own mapping, so a
// range can be classified (device, page-locked host, other) and bounds-checked before any copy.
// Each is a memory file (memfd) mapped shared, so a peer engine on this host may map the same pages
// and move bytes with plain memory copies (docs/design/zero-copy.md).
#ifndef DD_HOST_DEVICE_MEMORY_H_
#define DD_HOST_DEVICE_MEMORY_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <vector>

#include "ge/ge_error_codes.h"
#include "memory_file_span.h"

namespace dd::host {
enum class MemoryKind { kDevice, kPinnedHost };

// The name of every memory file: a peer maps only a descriptor that /proc names "/memfd:<this>".
constexpr char kMemoryFileName[] = "dd-memory";

struct Allocation {
  uintptr_t base = 0;
  size_t size = 0;     // what the caller asked for
  size_t mapped = 0;   // what is mapped (alignment and padding included)
  uintptr_t map_base = 0;
  MemoryKind kind = MemoryKind::kDevice;
  int32_t device = -1;  // for kDevice
  int fd = -1;          // the memory file mapped at map_base (file offset 0); -1 where memfd is unavailable
};



// Where a byte range lies among the allocations.
enum class RangePlace {
  kInside,     // entirely inside one allocation (`found` says which)
  kStraddles,  // starts inside an allocation and runs past its end
  kOutside,    // touches no allocation
};

class DeviceMemory {
 public:
  // Exported, so that an ACL runtime library and an engine library built from these sources (the
  // stand-in toolkit of verify-cann-build.mjs) share one registry, as CANN's share one runtime.
  __attribute__((visibility("default"))) static DeviceMemory &Instance();

  // Maps `reserve` (≥ `size`) bytes aligned to `alignment` (a power of two ≥ the page size), of
  // which the caller may use `size`; 0 when the system has no memory for it.
  uintptr_t Allocate(size_t size, size_t reserve, size_t alignment, MemoryKind kind, int32_t device);
  // Unmaps the allocation whose base is `base` and kind is `kind`; false when there is none.
  bool Free(uintptr_t base, MemoryKind kind);
  RangePlace Locate(uintptr_t addr, size_t len, Allocation &found) const;
  // The memory file holding [addr, addr + len) entirely; fd -1 when none does.
  MemoryFileSpan FileSpanOf(uintptr_t addr, size_t len) const;

 private:
  DeviceMemory() = default;
  mutable std::mutex mutex_;
  std::map<uintptr_t, Allocation> allocations_;  // by base
};

// True when [addr, addr+len) is mapped in this process (readable memory the copy may touch).
bool RangeIsMapped(uintptr_t addr, size_t len);

// A22: placement kDevice registers device memory, which on Ascend exists only as aclrtMalloc
// memory. LLM_SUCCESS when every tensor [addr, addr + tensor_bytes) lies inside one live
// aclrtMalloc allocation; otherwise LLM_FAILED (V2's status for a failed memory registration) with
// a detail naming the tensor.
ge::Status CheckDeviceTensors(const std::vector<uint64_t> &addrs, uint64_t tensor_bytes);
}  // namespace dd::host

#endif  // DD_HOST_DEVICE_MEMORY_H_
