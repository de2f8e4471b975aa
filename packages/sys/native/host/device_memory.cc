#include "device_memory.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>

#include "error_detail.h"
#include "unique_fd.h"
#include "llm_datadist/llm_datadist.h"

namespace dd::host {
DeviceMemory &DeviceMemory::Instance() {
  static DeviceMemory memory;
  return memory;
}

uintptr_t DeviceMemory::Allocate(size_t size, size_t reserve, size_t alignment, MemoryKind kind, int32_t device) {
  // Over-map by the alignment, then trim the ends so the base is aligned.
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const size_t length = (reserve + page - 1) / page * page;
  if (reserve < size || length < reserve || length + alignment < length) {
    return 0;
  }
  // The memory file first; where the kernel has no memfd (qemu-user), anonymous memory as before.
  UniqueFd file(static_cast<int>(::memfd_create(kMemoryFileName, MFD_CLOEXEC)));
  if (file && ::ftruncate(file.get(), static_cast<off_t>(length)) != 0) {
    return 0;
  }
  void *raw = ::mmap(nullptr, length + alignment, file ? PROT_NONE : PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (raw == MAP_FAILED) {
    return 0;
  }
  const auto start = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t base = (start + alignment - 1) & ~(static_cast<uintptr_t>(alignment) - 1);
  // The file replaces the aligned part of the reservation, so no other mapping can land there.
  if (file && ::mmap(reinterpret_cast<void *>(base), length, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
                     file.get(), 0) == MAP_FAILED) {
    ::munmap(raw, length + alignment);
    return 0;
  }
  if (base > start) {
    ::munmap(raw, base - start);
  }
  const uintptr_t end = start + length + alignment;
  if (end > base + length) {
    ::munmap(reinterpret_cast<void *>(base + length), end - (base + length));
  }
  Allocation allocation{base, size, length, base, kind, device, file.release()};
  std::lock_guard<std::mutex> lock(mutex_);
  allocations_[base] = allocation;
  return base;
}

bool DeviceMemory::Free(uintptr_t base, MemoryKind kind) {
  Allocation allocation;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = allocations_.find(base);
    if (it == allocations_.end() || it->second.kind != kind) {
      return false;
    }
    allocation = it->second;
    allocations_.erase(it);
  }
  ::munmap(reinterpret_cast<void *>(allocation.map_base), allocation.mapped);
  // A peer's mapping of the file keeps its pages until the peer lets go; ours are gone.
  if (allocation.fd >= 0) {
    ::close(allocation.fd);
  }
  return true;
}

MemoryFileSpan DeviceMemory::FileSpanOf(uintptr_t addr, size_t len) const {
  Allocation found;
  if (Locate(addr, len, found) != RangePlace::kInside || found.fd < 0) {
    return MemoryFileSpan{};
  }
  return MemoryFileSpan{found.fd, addr - found.map_base, found.mapped};
}

RangePlace DeviceMemory::Locate(uintptr_t addr, size_t len, Allocation &found) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = allocations_.upper_bound(addr);
  if (it == allocations_.begin()) {
    return RangePlace::kOutside;
  }
  --it;
  const Allocation &a = it->second;
  if (addr >= a.base + a.size) {
    return RangePlace::kOutside;
  }
  found = a;
  return len <= a.base + a.size - addr ? RangePlace::kInside : RangePlace::kStraddles;
}

bool RangeIsMapped(uintptr_t addr, size_t len) {
  if (len == 0U) {
    return true;
  }
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t first = addr & ~(page - 1);
  if (addr + len < addr) {
    return false;
  }
  const uintptr_t last = (addr + len + page - 1) & ~(page - 1);
  // mincore fails with ENOMEM exactly when part of the range is not mapped; asked in chunks so
  // the residency vector stays small whatever the range.
  unsigned char residency[4096];
  for (uintptr_t at = first; at < last;) {
    const uintptr_t chunk = std::min<uintptr_t>(last - at, sizeof(residency) * page);
    if (::mincore(reinterpret_cast<void *>(at), chunk, residency) != 0) {
      return false;
    }
    at += chunk;
  }
  return true;
}
ge::Status CheckDeviceTensors(const std::vector<uint64_t> &addrs, uint64_t tensor_bytes) {
  for (size_t i = 0; i < addrs.size(); ++i) {
    Allocation found;
    const RangePlace place = DeviceMemory::Instance().Locate(addrs[i], tensor_bytes, found);
    if (place == RangePlace::kInside && found.kind == MemoryKind::kDevice) {
      continue;
    }
    const char *why = place == RangePlace::kOutside     ? "is not memory from aclrtMalloc"
                      : found.kind != MemoryKind::kDevice ? "is page-locked host memory (aclrtMallocHost), not device memory"
                                                          : "runs past the end of its aclrtMalloc allocation";
    return Fail(llm_datadist::LLM_FAILED,
                "tensor %zu at 0x%" PRIx64 " (+%" PRIu64 " bytes) %s: placement kDevice registers device memory (A22)", i,
                addrs[i], tensor_bytes, why);
  }
  return llm_datadist::LLM_SUCCESS;
}
}  // namespace dd::host
