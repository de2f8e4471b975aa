/**
 * acl/error_codes/rt_error_codes.h: runtime error codes the ACL memory functions return.
 * Written by the dd project from the public documentation of CANN's ACL runtime.
 */
#ifndef DD_HEADERS_ACL_ERROR_CODES_RT_ERROR_CODES_H_
#define DD_HEADERS_ACL_ERROR_CODES_RT_ERROR_CODES_H_

/** A runtime parameter is invalid (e.g. a pointer the runtime did not allocate). */
#define ACL_ERROR_RT_PARAM_INVALID 107000
/** The device id is out of range. */
#define ACL_ERROR_RT_INVALID_DEVICEID 107001
/** The runtime could not allocate memory. */
#define ACL_ERROR_RT_MEMORY_ALLOCATION 207001
/** The device could not be set up. */
#define ACL_ERROR_RT_DEV_SETUP_ERROR 507033

#endif  // DD_HEADERS_ACL_ERROR_CODES_RT_ERROR_CODES_H_
