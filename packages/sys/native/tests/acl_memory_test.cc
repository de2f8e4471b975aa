// The ACL memory functions of the host backend keep the ACL contract (headers/acl/acl_rt.h):
// aclInit once, device ids against the device count, count ≤ destMax, copy kinds against where
// the pointers came from, bounds of every device range, and ACL status codes with a reason.
// One process, one ACL: the cases run in order and share the initialized runtime.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "acl/acl_rt.h"
#include "harness.h"

namespace {
std::string Detail() { return dd_backend_error_detail(); }

// aclInit once for the whole executable (a second aclInit is itself a case below).
void EnsureInit() {
  static const bool done = [] {
    uint32_t count = 0;
    CHECK_EQ(aclrtGetDeviceCount(&count), ACL_SUCCESS);  // needs no aclInit
    return aclInit(nullptr) == ACL_SUCCESS;
  }();
  REQUIRE(done);
}
}  // namespace

DD_TEST(acl_calls_before_aclinit_are_uninitialize) {
  void *p = nullptr;
  CHECK_EQ(aclrtSetDevice(0), ACL_ERROR_UNINITIALIZE);
  CHECK_EQ(aclrtMalloc(&p, 64, ACL_MEM_MALLOC_HUGE_FIRST), ACL_ERROR_UNINITIALIZE);
  CHECK_EQ(aclrtMallocHost(&p, 64), ACL_ERROR_UNINITIALIZE);
  CHECK(Detail().find("aclrtMallocHost: aclInit has not been called") == 0U);
}

DD_TEST(aclinit_is_once_per_process) {
  EnsureInit();
  CHECK_EQ(aclInit(nullptr), ACL_ERROR_REPEAT_INITIALIZE);
}

DD_TEST(device_ids_are_checked_against_the_device_count) {
  EnsureInit();
  uint32_t count = 0;
  REQUIRE(aclrtGetDeviceCount(&count) == ACL_SUCCESS);
  CHECK_EQ(count, 8U);  // the default; DD_HOST_DEVICE_COUNT changes it
  CHECK_EQ(aclrtGetDeviceCount(nullptr), ACL_ERROR_INVALID_PARAM);
  CHECK_EQ(aclrtSetDevice(static_cast<int32_t>(count)), ACL_ERROR_RT_INVALID_DEVICEID);
  CHECK(Detail().find("device 8 is not in [0, 8)") != std::string::npos);
  CHECK_EQ(aclrtSetDevice(-1), ACL_ERROR_RT_INVALID_DEVICEID);
  CHECK_EQ(aclrtResetDevice(99), ACL_ERROR_RT_INVALID_DEVICEID);
}

DD_TEST(malloc_needs_a_device_on_the_thread_and_a_valid_request) {
  EnsureInit();
  void *p = nullptr;
  REQUIRE(aclrtSetDevice(1) == ACL_SUCCESS);
  REQUIRE(aclrtResetDevice(1) == ACL_SUCCESS);  // this thread has no device now
  CHECK_EQ(aclrtMalloc(&p, 64, ACL_MEM_MALLOC_HUGE_ONLY), ACL_ERROR_INVALID_DEVICE);
  REQUIRE(aclrtSetDevice(1) == ACL_SUCCESS);
  CHECK_EQ(aclrtMalloc(nullptr, 64, ACL_MEM_MALLOC_HUGE_ONLY), ACL_ERROR_INVALID_PARAM);
  CHECK_EQ(aclrtMalloc(&p, 0, ACL_MEM_MALLOC_HUGE_ONLY), ACL_ERROR_INVALID_PARAM);
  CHECK_EQ(aclrtMalloc(&p, 64, static_cast<aclrtMemMallocPolicy>(9)), ACL_ERROR_INVALID_PARAM);
  CHECK_EQ(aclrtMalloc(&p, 64, static_cast<aclrtMemMallocPolicy>(ACL_MEM_TYPE_LOW_BAND_WIDTH | ACL_MEM_TYPE_HIGH_BAND_WIDTH)),
           ACL_ERROR_INVALID_PARAM);
  CHECK_EQ(aclrtMalloc(&p, SIZE_MAX - 16, ACL_MEM_MALLOC_HUGE_ONLY), ACL_ERROR_RT_MEMORY_ALLOCATION);
  REQUIRE(aclrtMalloc(&p, 1000, static_cast<aclrtMemMallocPolicy>(ACL_MEM_MALLOC_NORMAL_ONLY | ACL_MEM_TYPE_HIGH_BAND_WIDTH)) ==
          ACL_SUCCESS);
  CHECK_EQ(aclrtFree(p), ACL_SUCCESS);
}

DD_TEST(huge_page_policies_give_2mib_aligned_bases) {
  EnsureInit();
  REQUIRE(aclrtSetDevice(0) == ACL_SUCCESS);
  for (const auto policy : {ACL_MEM_MALLOC_HUGE_FIRST, ACL_MEM_MALLOC_HUGE_ONLY, ACL_MEM_MALLOC_HUGE_ONLY_P2P}) {
    void *p = nullptr;
    REQUIRE(aclrtMalloc(&p, 3U << 20U, policy) == ACL_SUCCESS);
    CHECK_EQ(reinterpret_cast<uintptr_t>(p) % (2U << 20U), 0U);
    CHECK_EQ(aclrtFree(p), ACL_SUCCESS);
  }
}

DD_TEST(memcpy_kinds_must_match_where_the_pointers_came_from) {
  EnsureInit();
  REQUIRE(aclrtSetDevice(0) == ACL_SUCCESS);
  void *dev = nullptr;
  void *dev2 = nullptr;
  void *pinned = nullptr;
  REQUIRE(aclrtMalloc(&dev, 4096, ACL_MEM_MALLOC_HUGE_FIRST) == ACL_SUCCESS);
  REQUIRE(aclrtMalloc(&dev2, 4096, ACL_MEM_MALLOC_HUGE_FIRST) == ACL_SUCCESS);
  REQUIRE(aclrtMallocHost(&pinned, 4096) == ACL_SUCCESS);
  std::vector<uint8_t> host(4096);
  for (size_t i = 0; i < host.size(); ++i) {
    host[i] = static_cast<uint8_t>(i * 7 + 1);
  }
  CHECK_EQ(aclrtMemcpy(dev, 4096, host.data(), 4096, ACL_MEMCPY_HOST_TO_DEVICE), ACL_SUCCESS);
  CHECK_EQ(aclrtMemcpy(dev2, 4096, dev, 4096, ACL_MEMCPY_DEVICE_TO_DEVICE), ACL_SUCCESS);
  CHECK_EQ(aclrtMemcpy(pinned, 4096, dev2, 4096, ACL_MEMCPY_DEVICE_TO_HOST), ACL_SUCCESS);
  CHECK(std::memcmp(pinned, host.data(), 4096) == 0);
  // Wrong kinds, each named in the reason.
  CHECK_EQ(aclrtMemcpy(host.data(), 4096, dev, 4096, ACL_MEMCPY_HOST_TO_DEVICE), ACL_ERROR_RT_PARAM_INVALID);
  CHECK(Detail().find("ACL_MEMCPY_HOST_TO_DEVICE cannot copy from device memory to host memory") != std::string::npos);
  CHECK_EQ(aclrtMemcpy(dev, 4096, pinned, 4096, ACL_MEMCPY_DEVICE_TO_HOST), ACL_ERROR_RT_PARAM_INVALID);
  CHECK_EQ(aclrtMemcpy(host.data(), 4096, pinned, 4096, ACL_MEMCPY_DEVICE_TO_DEVICE), ACL_ERROR_RT_PARAM_INVALID);
  CHECK_EQ(aclrtMemcpy(dev, 4096, dev2, 4096, ACL_MEMCPY_INTER_DEVICE_TO_DEVICE), ACL_ERROR_RT_PARAM_INVALID);
  CHECK_EQ(aclrtMemcpy(dev, 4096, dev2, 4096, ACL_MEMCPY_INNER_DEVICE_TO_DEVICE), ACL_SUCCESS);
  CHECK_EQ(aclrtMemcpy(host.data(), 4096, dev, 4096, ACL_MEMCPY_DEFAULT), ACL_SUCCESS);
  CHECK_EQ(aclrtMemcpy(dev, 4096, host.data(), 16, static_cast<aclrtMemcpyKind>(8)), ACL_ERROR_INVALID_PARAM);
  CHECK_EQ(aclrtFree(dev), ACL_SUCCESS);
  CHECK_EQ(aclrtFree(dev2), ACL_SUCCESS);
  CHECK_EQ(aclrtFreeHost(pinned), ACL_SUCCESS);
}

DD_TEST(memcpy_and_memset_check_sizes_and_bounds) {
  EnsureInit();
  REQUIRE(aclrtSetDevice(0) == ACL_SUCCESS);
  void *dev = nullptr;
  REQUIRE(aclrtMalloc(&dev, 1000, ACL_MEM_MALLOC_NORMAL_ONLY) == ACL_SUCCESS);
  std::vector<uint8_t> host(2048, 0xAB);
  CHECK_EQ(aclrtMemcpy(dev, 100, host.data(), 101, ACL_MEMCPY_HOST_TO_DEVICE), ACL_ERROR_INVALID_PARAM);
  CHECK(Detail().find("count 101 is larger than destMax 100") != std::string::npos);
  // Past the end of the allocation, though destMax allows it.
  CHECK_EQ(aclrtMemcpy(dev, 2048, host.data(), 1001, ACL_MEMCPY_HOST_TO_DEVICE), ACL_ERROR_INVALID_PARAM);
  CHECK(Detail().find("runs past the end of its 1000-byte allocation") != std::string::npos);
  CHECK_EQ(aclrtMemcpy(static_cast<uint8_t *>(dev) + 500, 500, host.data(), 500, ACL_MEMCPY_HOST_TO_DEVICE), ACL_SUCCESS);
  CHECK_EQ(aclrtMemcpy(nullptr, 10, host.data(), 10, ACL_MEMCPY_HOST_TO_DEVICE), ACL_ERROR_INVALID_PARAM);
  // Unmapped host memory is refused before any byte is touched.
  CHECK_EQ(aclrtMemcpy(dev, 1000, reinterpret_cast<void *>(uintptr_t{4096}), 16, ACL_MEMCPY_HOST_TO_DEVICE),
           ACL_ERROR_INVALID_PARAM);
  CHECK(Detail().find("is not mapped memory") != std::string::npos);
  CHECK_EQ(aclrtMemset(dev, 1000, 0x5A, 1000), ACL_SUCCESS);
  CHECK_EQ(aclrtMemcpy(host.data(), 2048, dev, 1000, ACL_MEMCPY_DEVICE_TO_HOST), ACL_SUCCESS);
  CHECK_EQ(host[999], 0x5A);
  CHECK_EQ(host[1000], 0xAB);
  CHECK_EQ(aclrtMemset(dev, 10, 0, 11), ACL_ERROR_INVALID_PARAM);
  CHECK_EQ(aclrtMemset(dev, 2000, 0, 1001), ACL_ERROR_INVALID_PARAM);
  CHECK_EQ(aclrtMemset(host.data(), 2048, 0, 16), ACL_ERROR_RT_PARAM_INVALID);
  CHECK_EQ(aclrtFree(dev), ACL_SUCCESS);
}

DD_TEST(free_takes_only_what_its_malloc_gave) {
  EnsureInit();
  REQUIRE(aclrtSetDevice(0) == ACL_SUCCESS);
  void *dev = nullptr;
  void *pinned = nullptr;
  REQUIRE(aclrtMalloc(&dev, 64, ACL_MEM_MALLOC_HUGE_FIRST) == ACL_SUCCESS);
  REQUIRE(aclrtMallocHost(&pinned, 64) == ACL_SUCCESS);
  CHECK_EQ(aclrtFree(pinned), ACL_ERROR_RT_PARAM_INVALID);
  CHECK_EQ(aclrtFreeHost(dev), ACL_ERROR_RT_PARAM_INVALID);
  CHECK_EQ(aclrtFree(static_cast<uint8_t *>(dev) + 32), ACL_ERROR_RT_PARAM_INVALID);
  CHECK_EQ(aclrtFree(nullptr), ACL_ERROR_INVALID_PARAM);
  CHECK_EQ(aclrtFree(dev), ACL_SUCCESS);
  CHECK_EQ(aclrtFree(dev), ACL_ERROR_RT_PARAM_INVALID);  // no double free
  CHECK_EQ(aclrtFreeHost(pinned), ACL_SUCCESS);
}

DD_TEST(aclfinalize_is_once_and_final) {
  EnsureInit();
  CHECK_EQ(aclFinalize(), ACL_SUCCESS);
  CHECK_EQ(aclFinalize(), ACL_ERROR_REPEAT_FINALIZE);
  CHECK_EQ(aclInit(nullptr), ACL_ERROR_REPEAT_INITIALIZE);
  CHECK_EQ(aclrtSetDevice(0), ACL_ERROR_UNINITIALIZE);
}
