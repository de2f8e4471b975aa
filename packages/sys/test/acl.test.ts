// The ACL memory functions through the library the loader finds (the host backend here): the
// library exports them and their shim pass-throughs, and through koffi a device buffer is
// allocated, written, read back, registered as kDevice and freed, with the host backend's
// reasons in lastError().
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  AclStatusCode,
  CachePlacement,
  DataType,
  LlmRole,
  OptionKey,
  StatusCode,
  aclrtMemcpyKind,
  aclrtMemMallocPolicy,
  loadNativeBindings,
  makeCacheDesc,
  type Bindings,
} from '../src/index.js';

const b: Bindings = loadNativeBindings();

const FUNCTIONS = ['aclInit', 'aclFinalize', 'aclrtSetDevice', 'aclrtResetDevice', 'aclrtGetDeviceCount', 'aclrtMalloc', 'aclrtFree', 'aclrtMallocHost', 'aclrtFreeHost', 'aclrtMemcpy', 'aclrtMemset'];

describe('ACL memory functions of the host backend library', () => {
  it('are exported by the library, each with the shim function that passes it through', () => {
    const exported = execFileSync('nm', ['-D', '--defined-only', b.backend.library as string], { encoding: 'utf8' });
    for (const fn of FUNCTIONS) {
      expect(exported).toMatch(new RegExp(` T ${fn}$`, 'm'));
      expect(exported).toMatch(new RegExp(` T dd_${fn}$`, 'm'));
    }
  });

  it('allocate, copy both ways, register as kDevice and free device memory, with reasons on failure', () => {
    expect([AclStatusCode.ACL_SUCCESS, AclStatusCode.ACL_ERROR_REPEAT_INITIALIZE]).toContain(b.aclInit(null));
    expect(b.aclrtSetDevice(0)).toBe(AclStatusCode.ACL_SUCCESS);
    const { status, devPtr } = b.aclrtMalloc(256n, aclrtMemMallocPolicy.ACL_MEM_MALLOC_HUGE_FIRST);
    expect(status).toBe(AclStatusCode.ACL_SUCCESS);
    expect(devPtr % (2n << 20n)).toBe(0n);
    const bytes = Uint8Array.from({ length: 256 }, (_x, i) => 255 - i);
    expect(b.aclrtMemcpy(devPtr, 256n, b.addressOf(bytes), 256n, aclrtMemcpyKind.ACL_MEMCPY_HOST_TO_DEVICE)).toBe(0);
    const back = new Uint8Array(256);
    expect(b.aclrtMemcpy(b.addressOf(back), 256n, devPtr, 256n, aclrtMemcpyKind.ACL_MEMCPY_DEVICE_TO_HOST)).toBe(0);
    expect(back).toEqual(bytes);
    expect(b.aclrtMemcpy(b.addressOf(back), 256n, devPtr, 257n, aclrtMemcpyKind.ACL_MEMCPY_DEVICE_TO_HOST)).toBe(AclStatusCode.ACL_ERROR_INVALID_PARAM);
    expect(b.lastError()).toBe('aclrtMemcpy: ACL_ERROR_INVALID_PARAM: count 257 is larger than destMax 256');

    const { handle } = b.LlmDataDist_create(9n, LlmRole.kMix);
    expect(b.LlmDataDist_Initialize(handle, { [OptionKey.OPTION_DEVICE_ID]: '0' })).toBe(StatusCode.LLM_SUCCESS);
    const desc = makeCacheDesc({ placement: CachePlacement.kDevice, num_tensors: 1, data_type: DataType.DT_UINT8, shape: BigInt64Array.of(4n, 64n) });
    const registered = b.LlmDataDist_RegisterKvCache(handle, desc, BigUint64Array.of(devPtr));
    expect(registered.status).toBe(StatusCode.LLM_SUCCESS);
    expect(b.LlmDataDist_RegisterKvCache(handle, desc, BigUint64Array.of(b.addressOf(bytes))).status).toBe(StatusCode.LLM_FAILED);
    expect(b.lastError()).toMatch(/^RegisterKvCache: LLM_FAILED: tensor 0 at 0x[0-9a-f]+ \(\+256 bytes\) is not memory from aclrtMalloc: placement kDevice registers device memory \(A22\)$/);
    expect(b.LlmDataDist_UnregisterKvCache(handle, registered.cache_id)).toBe(StatusCode.LLM_SUCCESS);
    b.LlmDataDist_Finalize(handle);
    b.LlmDataDist_destroy(handle);

    expect(b.aclrtFree(devPtr)).toBe(AclStatusCode.ACL_SUCCESS);
    expect(b.aclrtFree(devPtr)).toBe(AclStatusCode.ACL_ERROR_RT_PARAM_INVALID);
    expect(b.lastError()).toMatch(/^aclrtFree: ACL_ERROR_RT_PARAM_INVALID: 0x[0-9a-f]+ is not the start of memory from aclrtMalloc$/);
    expect(b.aclrtResetDevice(0)).toBe(AclStatusCode.ACL_SUCCESS);
    expect(b.lastError()).toBe('');
  });
});
