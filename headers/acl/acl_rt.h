/**
 * acl/acl_rt.h: the ACL runtime functions for device memory that dd binds: initialization,
 * device selection, device and page-locked host memory, synchronous copies and memset.
 * Written by the dd project from the public documentation of CANN's ACL runtime.
 */
#ifndef DD_HEADERS_ACL_ACL_RT_H_
#define DD_HEADERS_ACL_ACL_RT_H_

#include "acl/acl_base_rt.h"
#include "acl/error_codes/rt_error_codes.h"

#ifdef __cplusplus
extern "C" {
#endif

/** How aclrtMalloc places device memory; KV caches use huge pages (HCCS needs 2 MiB-aligned bases). */
typedef enum aclrtMemMallocPolicy {
  ACL_MEM_MALLOC_HUGE_FIRST,
  ACL_MEM_MALLOC_HUGE_ONLY,
  ACL_MEM_MALLOC_NORMAL_ONLY,
  ACL_MEM_MALLOC_HUGE_FIRST_P2P,
  ACL_MEM_MALLOC_HUGE_ONLY_P2P,
  ACL_MEM_MALLOC_NORMAL_ONLY_P2P,
  ACL_MEM_MALLOC_HUGE1G_ONLY,
  ACL_MEM_MALLOC_HUGE1G_ONLY_P2P,
  ACL_MEM_TYPE_LOW_BAND_WIDTH = 0x0100,
  ACL_MEM_TYPE_HIGH_BAND_WIDTH = 0x1000,
  ACL_MEM_ACCESS_USER_SPACE_READONLY = 0x100000,
} aclrtMemMallocPolicy;

/** Direction of a synchronous copy. */
typedef enum aclrtMemcpyKind {
  ACL_MEMCPY_HOST_TO_HOST,
  ACL_MEMCPY_HOST_TO_DEVICE,
  ACL_MEMCPY_DEVICE_TO_HOST,
  ACL_MEMCPY_DEVICE_TO_DEVICE,
  ACL_MEMCPY_DEFAULT,
  ACL_MEMCPY_HOST_TO_BUF_TO_DEVICE,
  ACL_MEMCPY_INNER_DEVICE_TO_DEVICE,
  ACL_MEMCPY_INTER_DEVICE_TO_DEVICE,
} aclrtMemcpyKind;

/** Initializes ACL once per process; configPath may be NULL. */
ACL_FUNC_VISIBILITY aclError aclInit(const char *configPath);
/** Releases ACL before the process exits. */
ACL_FUNC_VISIBILITY aclError aclFinalize(void);
/** Binds the calling thread to a device (reference-counted per process). */
ACL_FUNC_VISIBILITY aclError aclrtSetDevice(int32_t deviceId);
/** Releases this process's resources on a device. */
ACL_FUNC_VISIBILITY aclError aclrtResetDevice(int32_t deviceId);
/** The number of devices. */
ACL_FUNC_VISIBILITY aclError aclrtGetDeviceCount(uint32_t *count);
/** Allocates device memory on the current device; free it with aclrtFree. */
ACL_FUNC_VISIBILITY aclError aclrtMalloc(void **devPtr, size_t size, aclrtMemMallocPolicy policy);
/** Frees memory from aclrtMalloc. */
ACL_FUNC_VISIBILITY aclError aclrtFree(void *devPtr);
/** Allocates page-locked host memory that RDMA can read; free it with aclrtFreeHost. */
ACL_FUNC_VISIBILITY aclError aclrtMallocHost(void **hostPtr, size_t size);
/** Frees memory from aclrtMallocHost. */
ACL_FUNC_VISIBILITY aclError aclrtFreeHost(void *hostPtr);
/** Copies count bytes synchronously; count must not exceed destMax. */
ACL_FUNC_VISIBILITY aclError aclrtMemcpy(void *dst, size_t destMax, const void *src, size_t count, aclrtMemcpyKind kind);
/** Sets count bytes of device memory to value; count must not exceed maxCount. */
ACL_FUNC_VISIBILITY aclError aclrtMemset(void *devPtr, size_t maxCount, int32_t value, size_t count);

#ifdef __cplusplus
}
#endif

#endif  // DD_HEADERS_ACL_ACL_RT_H_
