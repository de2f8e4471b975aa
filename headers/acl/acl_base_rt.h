/**
 * acl/acl_base_rt.h: the base types and status values of the ACL runtime that dd binds.
 * Written by the dd project from the public documentation of CANN's ACL runtime; only the part
 * that device memory for KV caches needs.
 */
#ifndef DD_HEADERS_ACL_ACL_BASE_RT_H_
#define DD_HEADERS_ACL_ACL_BASE_RT_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Functions are exported with default visibility when the compiler supports it. */
#if defined(__GNUC__)
#define ACL_FUNC_VISIBILITY __attribute__((visibility("default")))
#else
#define ACL_FUNC_VISIBILITY
#endif

/** Result of every ACL call: 0 on success, otherwise an error code. */
typedef int aclError;

/** The call succeeded. */
static const int ACL_SUCCESS = 0;
/** The call succeeded (older name). */
static const int ACL_ERROR_NONE = 0;
/** An argument is invalid. */
static const int ACL_ERROR_INVALID_PARAM = 100000;
/** aclInit has not been called. */
static const int ACL_ERROR_UNINITIALIZE = 100001;
/** aclInit was called a second time. */
static const int ACL_ERROR_REPEAT_INITIALIZE = 100002;
/** aclFinalize was called a second time. */
static const int ACL_ERROR_REPEAT_FINALIZE = 100037;
/** Memory could not be allocated. */
static const int ACL_ERROR_BAD_ALLOC = 200000;
/** The device id is not a device of this machine. */
static const int ACL_ERROR_INVALID_DEVICE = 200002;

#ifdef __cplusplus
}
#endif

#endif  // DD_HEADERS_ACL_ACL_BASE_RT_H_
