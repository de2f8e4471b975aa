import { AclStatusCode, aclrtMemcpyKind, aclrtMemMallocPolicy } from '@dd/sys';
import { describe, expect, it } from 'vitest';
import { FakeNetwork } from '../src/index.js';

// What the conformance suite cannot show on a shared process-wide ACL (the native backends
// initialize it once for every test): the fake's runtime from its first call to aclFinalize, as
// packages/sys/native/tests/acl_memory_test.cc shows the host backend's.

const HUGE_FIRST = aclrtMemMallocPolicy.ACL_MEM_MALLOC_HUGE_FIRST;

describe('fake ACL runtime', () => {
  it('before aclInit every call but aclrtGetDeviceCount is ACL_ERROR_UNINITIALIZE, with the reason', () => {
    const { bindings: b } = new FakeNetwork();
    expect(b.aclrtGetDeviceCount()).toEqual({ status: AclStatusCode.ACL_SUCCESS, count: 8 });
    expect(b.aclrtSetDevice(0)).toBe(AclStatusCode.ACL_ERROR_UNINITIALIZE);
    expect(b.aclrtMalloc(64n, HUGE_FIRST).status).toBe(AclStatusCode.ACL_ERROR_UNINITIALIZE);
    expect(b.aclrtMallocHost(64n).status).toBe(AclStatusCode.ACL_ERROR_UNINITIALIZE);
    expect(b.lastError()).toBe('aclrtMallocHost: ACL_ERROR_UNINITIALIZE: aclInit has not been called');
    expect(b.aclFinalize()).toBe(AclStatusCode.ACL_ERROR_UNINITIALIZE);
  });

  it('aclInit is once per network (one process); aclFinalize is once and final', () => {
    const { bindings: b } = new FakeNetwork();
    expect(b.aclInit(null)).toBe(AclStatusCode.ACL_SUCCESS);
    expect(b.lastError()).toBe('');
    expect(b.aclInit('/etc/acl.json')).toBe(AclStatusCode.ACL_ERROR_REPEAT_INITIALIZE);
    expect(b.aclFinalize()).toBe(AclStatusCode.ACL_SUCCESS);
    expect(b.aclFinalize()).toBe(AclStatusCode.ACL_ERROR_REPEAT_FINALIZE);
    expect(b.aclInit(null)).toBe(AclStatusCode.ACL_ERROR_REPEAT_INITIALIZE);
    expect(b.lastError()).toMatch(/cannot start again/);
    expect(b.aclrtSetDevice(0)).toBe(AclStatusCode.ACL_ERROR_UNINITIALIZE);
    // Another network is another process.
    expect(new FakeNetwork().bindings.aclInit(null)).toBe(AclStatusCode.ACL_SUCCESS);
  });

  it('the device count is an option; aclrtMalloc needs a device set, and aclrtResetDevice of it unsets it', () => {
    const { bindings: b } = new FakeNetwork({ deviceCount: 2 });
    expect(b.aclInit(null)).toBe(AclStatusCode.ACL_SUCCESS);
    expect(b.aclrtGetDeviceCount().count).toBe(2);
    expect(b.aclrtSetDevice(2)).toBe(AclStatusCode.ACL_ERROR_RT_INVALID_DEVICEID);
    expect(b.lastError()).toBe('aclrtSetDevice: ACL_ERROR_RT_INVALID_DEVICEID: device 2 is not in [0, 2) (FakeNetworkOptions.deviceCount)');
    expect(b.aclrtMalloc(64n, HUGE_FIRST).status).toBe(AclStatusCode.ACL_ERROR_INVALID_DEVICE);
    expect(b.aclrtSetDevice(1)).toBe(AclStatusCode.ACL_SUCCESS);
    expect(b.aclrtMalloc(64n, HUGE_FIRST).status).toBe(AclStatusCode.ACL_SUCCESS);
    expect(b.aclrtResetDevice(1)).toBe(AclStatusCode.ACL_SUCCESS);
    expect(b.aclrtMalloc(64n, HUGE_FIRST).status).toBe(AclStatusCode.ACL_ERROR_INVALID_DEVICE);
    expect(() => new FakeNetwork({ deviceCount: 0 })).toThrow(RangeError);
  });

  it('device memory is bytes of the network: INNER and INTER device copies follow the device of each allocation', () => {
    const { bindings: b } = new FakeNetwork();
    b.aclInit(null);
    b.aclrtSetDevice(0);
    const onZero = b.aclrtMalloc(16n, HUGE_FIRST).devPtr;
    b.aclrtSetDevice(1);
    const onOne = b.aclrtMalloc(16n, aclrtMemMallocPolicy.ACL_MEM_MALLOC_NORMAL_ONLY).devPtr;
    expect(onZero % (2n << 20n)).toBe(0n);
    expect(onOne % 4096n).toBe(0n);
    const inner = aclrtMemcpyKind.ACL_MEMCPY_INNER_DEVICE_TO_DEVICE;
    const inter = aclrtMemcpyKind.ACL_MEMCPY_INTER_DEVICE_TO_DEVICE;
    expect(b.aclrtMemcpy(onOne, 16n, onZero, 16n, inner)).toBe(AclStatusCode.ACL_ERROR_RT_PARAM_INVALID);
    expect(b.aclrtMemset(onZero, 16n, 0x1ab, 16n)).toBe(AclStatusCode.ACL_SUCCESS);
    expect(b.aclrtMemcpy(onOne, 16n, onZero, 16n, inter)).toBe(AclStatusCode.ACL_SUCCESS);
    expect([...b.view(onOne, 16)]).toEqual(new Array(16).fill(0xab));
    expect(b.aclrtFree(onOne)).toBe(AclStatusCode.ACL_SUCCESS);
    // Freed memory is unmapped: no view, no copy.
    expect(() => b.view(onOne, 16)).toThrow(RangeError);
    expect(b.aclrtMemcpy(onZero, 16n, onOne, 16n, aclrtMemcpyKind.ACL_MEMCPY_DEFAULT)).toBe(AclStatusCode.ACL_ERROR_INVALID_PARAM);
    expect(b.lastError()).toMatch(/is not mapped memory/);
  });

  it('an allocation the network cannot hold is ACL_ERROR_RT_MEMORY_ALLOCATION; arguments outside the C types throw before the runtime', () => {
    const { bindings: b } = new FakeNetwork();
    b.aclInit(null);
    b.aclrtSetDevice(0);
    expect(b.aclrtMalloc((1n << 64n) - 17n, HUGE_FIRST).status).toBe(AclStatusCode.ACL_ERROR_RT_MEMORY_ALLOCATION);
    expect(b.aclrtMallocHost(1n << 60n).status).toBe(AclStatusCode.ACL_ERROR_RT_MEMORY_ALLOCATION);
    expect(() => b.aclrtMalloc(64 as unknown as bigint, HUGE_FIRST)).toThrow(TypeError);
    expect(() => b.aclrtMalloc(1n << 64n, HUGE_FIRST)).toThrow(RangeError);
    expect(() => b.aclrtSetDevice(2 ** 31)).toThrow(RangeError);
    expect(() => b.aclInit('a\0b')).toThrow(RangeError);
  });
});
