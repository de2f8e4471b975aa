// The ACL runtime's memory functions (headers/acl/acl_rt.h) on host memory, with the ACL contract:
// aclInit once per process, device ids checked against the device count, count ≤ destMax, copy
// kinds checked against where the pointers came from, ACL status codes. On Ascend the same
// functions come from libascendcl.so, so one application code path allocates, fills, registers,
// reads back and frees on both. Failures leave a reason in dd_backend_error_detail().
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "acl/acl_rt.h"
#include "device_memory.h"
#include "error_detail.h"

namespace dd::host {
namespace {
// HCCS device-to-device transfers need 2 MiB-aligned bases; huge-page policies give them.
constexpr size_t kHugeAlignment = 2U << 20U;
// The runtime rounds every device allocation up to 32 bytes and adds 32 bytes of padding.
constexpr size_t kDeviceGranule = 32U;
constexpr uint32_t kDefaultDeviceCount = 8U;
constexpr uint32_t kMaxDeviceCount = 64U;

struct AclState {
  std::mutex mutex;
  bool initialized = false;
  bool finalized = false;
  std::vector<uint32_t> device_refs;  // aclrtSetDevice reference count per device
};

AclState &State() {
  static AclState state;
  return state;
}

thread_local int32_t t_current_device = -1;

// DD_HOST_DEVICE_COUNT (1..64) sets how many devices this host pretends to have; default 8.
uint32_t DeviceCount() {
  static const uint32_t count = [] {
    const char *text = std::getenv("DD_HOST_DEVICE_COUNT");
    char *end = nullptr;
    const unsigned long value = text == nullptr ? 0UL : std::strtoul(text, &end, 10);
    return text != nullptr && *text != '\0' && *end == '\0' && value >= 1U && value <= kMaxDeviceCount
               ? static_cast<uint32_t>(value)
               : kDefaultDeviceCount;
  }();
  return count;
}

aclError AclFail(aclError code, const std::string &why) {
  FailWith(static_cast<ge::Status>(code), why);
  return code;
}

aclError RequireInitialized() {
  std::lock_guard<std::mutex> lock(State().mutex);
  if (!State().initialized) {
    return AclFail(ACL_ERROR_UNINITIALIZE, "aclInit has not been called");
  }
  return ACL_SUCCESS;
}

aclError CheckDeviceId(int32_t device) {
  if (device < 0 || static_cast<uint32_t>(device) >= DeviceCount()) {
    return AclFail(ACL_ERROR_RT_INVALID_DEVICEID, "device " + std::to_string(device) + " is not in [0, " +
                                                      std::to_string(DeviceCount()) + ") (DD_HOST_DEVICE_COUNT)");
  }
  return ACL_SUCCESS;
}

bool ValidPolicy(uint32_t policy) {
  const uint32_t placement = policy & 0xFFU;
  const uint32_t flags = policy & ~0xFFU;
  const uint32_t known_flags = ACL_MEM_TYPE_LOW_BAND_WIDTH | ACL_MEM_TYPE_HIGH_BAND_WIDTH |
                               ACL_MEM_ACCESS_USER_SPACE_READONLY;
  return placement <= ACL_MEM_MALLOC_HUGE1G_ONLY_P2P && (flags & ~known_flags) == 0U &&
         (flags & (ACL_MEM_TYPE_LOW_BAND_WIDTH | ACL_MEM_TYPE_HIGH_BAND_WIDTH)) !=
             (ACL_MEM_TYPE_LOW_BAND_WIDTH | ACL_MEM_TYPE_HIGH_BAND_WIDTH);
}

bool HugePolicy(uint32_t policy) {
  switch (policy & 0xFFU) {
    case ACL_MEM_MALLOC_NORMAL_ONLY:
    case ACL_MEM_MALLOC_NORMAL_ONLY_P2P: return false;
    default: return true;
  }
}

std::string Hex(const void *p) {
  char text[32];
  std::snprintf(text, sizeof(text), "%p", p);
  return text;
}

// Where one side of a copy lies: device memory (entirely inside one aclrtMalloc block), or host
// memory (mapped, touching no device block). Anything else is refused.
struct CopySide {
  bool device = false;
  int32_t device_id = -1;
};

aclError Classify(const char *name, const void *ptr, size_t len, CopySide &side) {
  Allocation found;
  const auto addr = reinterpret_cast<uintptr_t>(ptr);
  switch (DeviceMemory::Instance().Locate(addr, len, found)) {
    case RangePlace::kInside:
      side.device = found.kind == MemoryKind::kDevice;
      side.device_id = found.device;
      return ACL_SUCCESS;
    case RangePlace::kStraddles:
      return AclFail(ACL_ERROR_INVALID_PARAM, std::string(name) + " " + Hex(ptr) + " + " + std::to_string(len) +
                                                  " bytes runs past the end of its " +
                                                  std::to_string(found.size) + "-byte allocation");
    case RangePlace::kOutside: break;
  }
  if (!RangeIsMapped(addr, len)) {
    return AclFail(ACL_ERROR_INVALID_PARAM,
                   std::string(name) + " " + Hex(ptr) + " + " + std::to_string(len) + " bytes is not mapped memory");
  }
  side.device = false;
  return ACL_SUCCESS;
}

const char *KindName(aclrtMemcpyKind kind) {
  switch (kind) {
    case ACL_MEMCPY_HOST_TO_HOST: return "ACL_MEMCPY_HOST_TO_HOST";
    case ACL_MEMCPY_HOST_TO_DEVICE: return "ACL_MEMCPY_HOST_TO_DEVICE";
    case ACL_MEMCPY_DEVICE_TO_HOST: return "ACL_MEMCPY_DEVICE_TO_HOST";
    case ACL_MEMCPY_DEVICE_TO_DEVICE: return "ACL_MEMCPY_DEVICE_TO_DEVICE";
    case ACL_MEMCPY_DEFAULT: return "ACL_MEMCPY_DEFAULT";
    case ACL_MEMCPY_HOST_TO_BUF_TO_DEVICE: return "ACL_MEMCPY_HOST_TO_BUF_TO_DEVICE";
    case ACL_MEMCPY_INNER_DEVICE_TO_DEVICE: return "ACL_MEMCPY_INNER_DEVICE_TO_DEVICE";
    case ACL_MEMCPY_INTER_DEVICE_TO_DEVICE: return "ACL_MEMCPY_INTER_DEVICE_TO_DEVICE";
  }
  return "an unknown kind";
}

// Whether `kind` allows copying from `src` to `dst`.
bool KindFits(aclrtMemcpyKind kind, const CopySide &src, const CopySide &dst) {
  switch (kind) {
    case ACL_MEMCPY_HOST_TO_HOST: return !src.device && !dst.device;
    case ACL_MEMCPY_HOST_TO_DEVICE:
    case ACL_MEMCPY_HOST_TO_BUF_TO_DEVICE: return !src.device && dst.device;
    case ACL_MEMCPY_DEVICE_TO_HOST: return src.device && !dst.device;
    case ACL_MEMCPY_DEVICE_TO_DEVICE: return src.device && dst.device;
    case ACL_MEMCPY_INNER_DEVICE_TO_DEVICE: return src.device && dst.device && src.device_id == dst.device_id;
    case ACL_MEMCPY_INTER_DEVICE_TO_DEVICE: return src.device && dst.device && src.device_id != dst.device_id;
    case ACL_MEMCPY_DEFAULT: return true;
  }
  return false;
}

const char *Where(const CopySide &side) { return side.device ? "device memory" : "host memory"; }
}  // namespace
}  // namespace dd::host

using namespace dd::host;

extern "C" {
ACL_FUNC_VISIBILITY aclError aclInit(const char *configPath) {
  const ApiCallScope scope("aclInit");
  (void)configPath;  // no configuration applies to host memory
  std::lock_guard<std::mutex> lock(State().mutex);
  if (State().initialized || State().finalized) {
    return AclFail(ACL_ERROR_REPEAT_INITIALIZE, State().finalized ? "ACL was finalized; it cannot start again in this process"
                                                                    : "aclInit was already called in this process");
  }
  State().initialized = true;
  State().device_refs.assign(DeviceCount(), 0U);
  return ACL_SUCCESS;
}

ACL_FUNC_VISIBILITY aclError aclFinalize(void) {
  const ApiCallScope scope("aclFinalize");
  std::lock_guard<std::mutex> lock(State().mutex);
  if (State().finalized) {
    return AclFail(ACL_ERROR_REPEAT_FINALIZE, "aclFinalize was already called");
  }
  if (!State().initialized) {
    return AclFail(ACL_ERROR_UNINITIALIZE, "aclInit has not been called");
  }
  State().initialized = false;
  State().finalized = true;
  return ACL_SUCCESS;
}

ACL_FUNC_VISIBILITY aclError aclrtSetDevice(int32_t deviceId) {
  const ApiCallScope scope("aclrtSetDevice");
  if (const aclError e = RequireInitialized(); e != ACL_SUCCESS) {
    return e;
  }
  if (const aclError e = CheckDeviceId(deviceId); e != ACL_SUCCESS) {
    return e;
  }
  std::lock_guard<std::mutex> lock(State().mutex);
  State().device_refs[static_cast<size_t>(deviceId)] += 1U;
  t_current_device = deviceId;
  return ACL_SUCCESS;
}

ACL_FUNC_VISIBILITY aclError aclrtResetDevice(int32_t deviceId) {
  const ApiCallScope scope("aclrtResetDevice");
  if (const aclError e = RequireInitialized(); e != ACL_SUCCESS) {
    return e;
  }
  if (const aclError e = CheckDeviceId(deviceId); e != ACL_SUCCESS) {
    return e;
  }
  std::lock_guard<std::mutex> lock(State().mutex);
  uint32_t &refs = State().device_refs[static_cast<size_t>(deviceId)];
  refs = refs == 0U ? 0U : refs - 1U;
  if (t_current_device == deviceId) {
    t_current_device = -1;
  }
  return ACL_SUCCESS;
}

ACL_FUNC_VISIBILITY aclError aclrtGetDeviceCount(uint32_t *count) {
  const ApiCallScope scope("aclrtGetDeviceCount");
  if (count == nullptr) {
    return AclFail(ACL_ERROR_INVALID_PARAM, "count is NULL");
  }
  *count = DeviceCount();
  return ACL_SUCCESS;
}

ACL_FUNC_VISIBILITY aclError aclrtMalloc(void **devPtr, size_t size, aclrtMemMallocPolicy policy) {
  const ApiCallScope scope("aclrtMalloc");
  if (devPtr == nullptr) {
    return AclFail(ACL_ERROR_INVALID_PARAM, "devPtr is NULL");
  }
  if (size == 0U) {
    return AclFail(ACL_ERROR_INVALID_PARAM, "size is 0");
  }
  if (!ValidPolicy(static_cast<uint32_t>(policy))) {
    return AclFail(ACL_ERROR_INVALID_PARAM, "policy " + std::to_string(static_cast<uint32_t>(policy)) +
                                                " is not an aclrtMemMallocPolicy");
  }
  if (const aclError e = RequireInitialized(); e != ACL_SUCCESS) {
    return e;
  }
  if (t_current_device < 0) {
    return AclFail(ACL_ERROR_INVALID_DEVICE, "no device is set on this thread (call aclrtSetDevice first)");
  }
  const size_t rounded = (size + kDeviceGranule - 1) / kDeviceGranule * kDeviceGranule + kDeviceGranule;
  const size_t alignment = HugePolicy(static_cast<uint32_t>(policy)) ? kHugeAlignment : 4096U;
  // Only `size` bytes are the caller's: copies are bounds-checked against it, not the padding.
  const uintptr_t base = rounded < size ? 0U
                                        : DeviceMemory::Instance().Allocate(size, rounded, alignment,
                                                                            MemoryKind::kDevice, t_current_device);
  if (base == 0U) {
    return AclFail(ACL_ERROR_RT_MEMORY_ALLOCATION, "cannot allocate " + std::to_string(size) + " bytes");
  }
  *devPtr = reinterpret_cast<void *>(base);
  return ACL_SUCCESS;
}

ACL_FUNC_VISIBILITY aclError aclrtFree(void *devPtr) {
  const ApiCallScope scope("aclrtFree");
  if (devPtr == nullptr) {
    return AclFail(ACL_ERROR_INVALID_PARAM, "devPtr is NULL");
  }
  if (!DeviceMemory::Instance().Free(reinterpret_cast<uintptr_t>(devPtr), MemoryKind::kDevice)) {
    return AclFail(ACL_ERROR_RT_PARAM_INVALID, Hex(devPtr) + " is not the start of memory from aclrtMalloc");
  }
  return ACL_SUCCESS;
}

ACL_FUNC_VISIBILITY aclError aclrtMallocHost(void **hostPtr, size_t size) {
  const ApiCallScope scope("aclrtMallocHost");
  if (hostPtr == nullptr) {
    return AclFail(ACL_ERROR_INVALID_PARAM, "hostPtr is NULL");
  }
  if (size == 0U) {
    return AclFail(ACL_ERROR_INVALID_PARAM, "size is 0");
  }
  if (const aclError e = RequireInitialized(); e != ACL_SUCCESS) {
    return e;
  }
  const uintptr_t base = DeviceMemory::Instance().Allocate(size, size, 4096U, MemoryKind::kPinnedHost, -1);
  if (base == 0U) {
    return AclFail(ACL_ERROR_RT_MEMORY_ALLOCATION, "cannot allocate " + std::to_string(size) + " bytes");
  }
  *hostPtr = reinterpret_cast<void *>(base);
  return ACL_SUCCESS;
}

ACL_FUNC_VISIBILITY aclError aclrtFreeHost(void *hostPtr) {
  const ApiCallScope scope("aclrtFreeHost");
  if (hostPtr == nullptr) {
    return AclFail(ACL_ERROR_INVALID_PARAM, "hostPtr is NULL");
  }
  if (!DeviceMemory::Instance().Free(reinterpret_cast<uintptr_t>(hostPtr), MemoryKind::kPinnedHost)) {
    return AclFail(ACL_ERROR_RT_PARAM_INVALID, Hex(hostPtr) + " is not the start of memory from aclrtMallocHost");
  }
  return ACL_SUCCESS;
}

ACL_FUNC_VISIBILITY aclError aclrtMemcpy(void *dst, size_t destMax, const void *src, size_t count,
                                         aclrtMemcpyKind kind) {
  const ApiCallScope scope("aclrtMemcpy");
  if (dst == nullptr || src == nullptr) {
    return AclFail(ACL_ERROR_INVALID_PARAM, dst == nullptr ? "dst is NULL" : "src is NULL");
  }
  if (count > destMax) {
    return AclFail(ACL_ERROR_INVALID_PARAM,
                   "count " + std::to_string(count) + " is larger than destMax " + std::to_string(destMax));
  }
  if (static_cast<uint32_t>(kind) > ACL_MEMCPY_INTER_DEVICE_TO_DEVICE) {
    return AclFail(ACL_ERROR_INVALID_PARAM, "kind " + std::to_string(static_cast<uint32_t>(kind)) +
                                                " is not an aclrtMemcpyKind");
  }
  if (const aclError e = RequireInitialized(); e != ACL_SUCCESS) {
    return e;
  }
  CopySide from;
  CopySide to;
  if (const aclError e = Classify("src", src, count, from); e != ACL_SUCCESS) {
    return e;
  }
  if (const aclError e = Classify("dst", dst, count, to); e != ACL_SUCCESS) {
    return e;
  }
  if (!KindFits(kind, from, to)) {
    return AclFail(ACL_ERROR_RT_PARAM_INVALID, std::string(KindName(kind)) + " cannot copy from " + Where(from) +
                                                   " to " + Where(to));
  }
  std::memmove(dst, src, count);
  return ACL_SUCCESS;
}

ACL_FUNC_VISIBILITY aclError aclrtMemset(void *devPtr, size_t maxCount, int32_t value, size_t count) {
  const ApiCallScope scope("aclrtMemset");
  if (devPtr == nullptr) {
    return AclFail(ACL_ERROR_INVALID_PARAM, "devPtr is NULL");
  }
  if (count > maxCount) {
    return AclFail(ACL_ERROR_INVALID_PARAM,
                   "count " + std::to_string(count) + " is larger than maxCount " + std::to_string(maxCount));
  }
  if (const aclError e = RequireInitialized(); e != ACL_SUCCESS) {
    return e;
  }
  CopySide target;
  if (const aclError e = Classify("devPtr", devPtr, count, target); e != ACL_SUCCESS) {
    return e;
  }
  if (!target.device) {
    return AclFail(ACL_ERROR_RT_PARAM_INVALID, Hex(devPtr) + " is not device memory");
  }
  std::memset(devPtr, value, count);
  return ACL_SUCCESS;
}
}  // extern "C"
