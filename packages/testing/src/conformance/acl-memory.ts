import { CachePlacement, DataType, aclrtMemcpyKind, aclrtMemMallocPolicy, makeCacheDesc } from '@dd/sys';
import { describe, expect, it } from 'vitest';
import { pullPair } from './fixtures.js';
import { Harness, SUITE_DEVICE, aclName, blocks, expectBytes, expectStatus, initialRowOf, pattern, rowOf } from './harness.js';

const HUGE_PAGE = 2n << 20n;

/**
 * The ACL runtime's memory functions every backend offers next to LLM-DataDist (headers/acl): on
 * Ascend they are libascendcl.so's, on the host backend and the fake they keep the same contract
 * over host memory. And A22's rule that placement kDevice registers device memory, which is
 * aclrtMalloc memory. The harness has called aclInit and aclrtSetDevice(SUITE_DEVICE).
 */
export function describeAclMemory(h: Harness): void {
  const expectAcl = (status: number, name: string): void => {
    expect(aclName(status), h.b.lastError()).toBe(name);
  };
  /** aclrtMalloc that must succeed; the harness frees nothing of it, so the test frees it. */
  const malloc = (size: number, policy: number = aclrtMemMallocPolicy.ACL_MEM_MALLOC_HUGE_FIRST): bigint => {
    const result = h.b.aclrtMalloc(BigInt(size), policy as aclrtMemMallocPolicy);
    expectAcl(result.status, 'ACL_SUCCESS');
    return result.devPtr;
  };
  const copy = (dst: bigint, destMax: number, src: bigint, count: number, kind: number): number =>
    h.b.aclrtMemcpy(dst, BigInt(destMax), src, BigInt(count), kind as aclrtMemcpyKind);

  describe('ACL memory (aclInit … aclrtMemset)', () => {
    it('aclInit: ACL starts once per process: a repeat is ACL_ERROR_REPEAT_INITIALIZE, with the function named', () => {
      expectAcl(h.b.aclInit(null), 'ACL_ERROR_REPEAT_INITIALIZE');
      expect(h.b.lastError()).toMatch(/^aclInit: ACL_ERROR_REPEAT_INITIALIZE/);
      expectAcl(h.b.aclrtSetDevice(SUITE_DEVICE), 'ACL_SUCCESS');
      expect(h.b.lastError()).toBe('');
      expectAcl(h.b.aclrtResetDevice(SUITE_DEVICE), 'ACL_SUCCESS');
    });

    it('aclrtGetDeviceCount, aclrtSetDevice, aclrtResetDevice: device ids lie in [0, count)', () => {
      const { status, count } = h.b.aclrtGetDeviceCount();
      expectAcl(status, 'ACL_SUCCESS');
      expect(count).toBeGreaterThan(SUITE_DEVICE);
      expectAcl(h.b.aclrtSetDevice(count), 'ACL_ERROR_RT_INVALID_DEVICEID');
      expectAcl(h.b.aclrtSetDevice(-1), 'ACL_ERROR_RT_INVALID_DEVICEID');
      expectAcl(h.b.aclrtResetDevice(count), 'ACL_ERROR_RT_INVALID_DEVICEID');
    });

    it('aclrtMalloc: huge-page policies give 2 MiB-aligned bases (HCCS needs them); size 0 and an unknown policy are ACL_ERROR_INVALID_PARAM', () => {
      for (const policy of [aclrtMemMallocPolicy.ACL_MEM_MALLOC_HUGE_FIRST, aclrtMemMallocPolicy.ACL_MEM_MALLOC_HUGE_ONLY, aclrtMemMallocPolicy.ACL_MEM_MALLOC_HUGE_ONLY_P2P]) {
        const base = malloc(3 << 20, policy);
        expect(base % HUGE_PAGE).toBe(0n);
        expectAcl(h.b.aclrtFree(base), 'ACL_SUCCESS');
      }
      expectAcl(h.b.aclrtMalloc(0n, aclrtMemMallocPolicy.ACL_MEM_MALLOC_HUGE_FIRST).status, 'ACL_ERROR_INVALID_PARAM');
      expectAcl(h.b.aclrtMalloc(64n, 9 as aclrtMemMallocPolicy).status, 'ACL_ERROR_INVALID_PARAM');
      expectAcl(h.b.aclrtMalloc(64n, (aclrtMemMallocPolicy.ACL_MEM_TYPE_LOW_BAND_WIDTH | aclrtMemMallocPolicy.ACL_MEM_TYPE_HIGH_BAND_WIDTH) as aclrtMemMallocPolicy).status, 'ACL_ERROR_INVALID_PARAM');
    });

    it('aclrtMemcpy: HOST_TO_DEVICE, DEVICE_TO_DEVICE and DEVICE_TO_HOST carry the bytes', () => {
      const bytes = pattern(7, 10_000);
      const a = malloc(bytes.length);
      const b = malloc(bytes.length);
      expectAcl(copy(a, bytes.length, h.b.addressOf(bytes), bytes.length, aclrtMemcpyKind.ACL_MEMCPY_HOST_TO_DEVICE), 'ACL_SUCCESS');
      expectAcl(copy(b, bytes.length, a, bytes.length, aclrtMemcpyKind.ACL_MEMCPY_DEVICE_TO_DEVICE), 'ACL_SUCCESS');
      const back = new Uint8Array(bytes.length);
      expectAcl(copy(h.b.addressOf(back), back.length, b, back.length, aclrtMemcpyKind.ACL_MEMCPY_DEVICE_TO_HOST), 'ACL_SUCCESS');
      expectBytes(back, bytes, 'read back');
      // An offset inside an allocation is device memory too.
      const tail = new Uint8Array(100);
      expectAcl(copy(h.b.addressOf(tail), 100, b + 9_900n, 100, aclrtMemcpyKind.ACL_MEMCPY_DEVICE_TO_HOST), 'ACL_SUCCESS');
      expectBytes(tail, bytes.subarray(9_900), 'tail');
      expectAcl(h.b.aclrtFree(a), 'ACL_SUCCESS');
      expectAcl(h.b.aclrtFree(b), 'ACL_SUCCESS');
    });

    it('aclrtMemcpy: count above destMax is ACL_ERROR_INVALID_PARAM and copies nothing', () => {
      const device = malloc(64);
      const host = pattern(1, 64);
      expectAcl(copy(device, 63, h.b.addressOf(host), 64, aclrtMemcpyKind.ACL_MEMCPY_HOST_TO_DEVICE), 'ACL_ERROR_INVALID_PARAM');
      expect(h.b.lastError()).toContain('count 64 is larger than destMax 63');
      const back = new Uint8Array(64).fill(0xee);
      expectAcl(copy(h.b.addressOf(back), 64, device, 64, aclrtMemcpyKind.ACL_MEMCPY_DEVICE_TO_HOST), 'ACL_SUCCESS');
      expect(back.every((byte) => byte === 0)).toBe(true);
      expectAcl(h.b.aclrtFree(device), 'ACL_SUCCESS');
    });

    it('aclrtMemcpy: a kind that does not fit where the pointers came from is ACL_ERROR_RT_PARAM_INVALID', () => {
      const device = malloc(64);
      const host = new Uint8Array(64);
      const hostAddress = h.b.addressOf(host);
      expectAcl(copy(hostAddress, 64, device, 64, aclrtMemcpyKind.ACL_MEMCPY_HOST_TO_DEVICE), 'ACL_ERROR_RT_PARAM_INVALID');
      expect(h.b.lastError()).toContain('ACL_MEMCPY_HOST_TO_DEVICE cannot copy from device memory to host memory');
      expectAcl(copy(device, 64, hostAddress, 64, aclrtMemcpyKind.ACL_MEMCPY_DEVICE_TO_HOST), 'ACL_ERROR_RT_PARAM_INVALID');
      expectAcl(copy(hostAddress, 64, hostAddress, 64, aclrtMemcpyKind.ACL_MEMCPY_DEVICE_TO_DEVICE), 'ACL_ERROR_RT_PARAM_INVALID');
      expectAcl(copy(device, 64, device, 64, aclrtMemcpyKind.ACL_MEMCPY_INTER_DEVICE_TO_DEVICE), 'ACL_ERROR_RT_PARAM_INVALID');
      expectAcl(copy(device, 64, hostAddress, 64, aclrtMemcpyKind.ACL_MEMCPY_DEFAULT), 'ACL_SUCCESS');
      expectAcl(copy(device, 64, hostAddress, 64, 8), 'ACL_ERROR_INVALID_PARAM');
      expectAcl(h.b.aclrtFree(device), 'ACL_SUCCESS');
    });

    it('aclrtMemcpy: a range past the end of its allocation is ACL_ERROR_INVALID_PARAM', () => {
      const device = malloc(1000);
      const host = new Uint8Array(2000);
      expectAcl(copy(device, 2000, h.b.addressOf(host), 1001, aclrtMemcpyKind.ACL_MEMCPY_HOST_TO_DEVICE), 'ACL_ERROR_INVALID_PARAM');
      expect(h.b.lastError()).toContain('runs past the end of its 1000-byte allocation');
      expectAcl(copy(device + 500n, 500, h.b.addressOf(host), 500, aclrtMemcpyKind.ACL_MEMCPY_HOST_TO_DEVICE), 'ACL_SUCCESS');
      expectAcl(h.b.aclrtFree(device), 'ACL_SUCCESS');
    });

    it('aclrtMemset: sets count bytes of device memory; count above maxCount is ACL_ERROR_INVALID_PARAM; host memory is ACL_ERROR_RT_PARAM_INVALID', () => {
      const device = malloc(1000);
      expectAcl(h.b.aclrtMemset(device, 1000n, 0x5a, 600n), 'ACL_SUCCESS');
      const back = new Uint8Array(1000);
      expectAcl(copy(h.b.addressOf(back), 1000, device, 1000, aclrtMemcpyKind.ACL_MEMCPY_DEVICE_TO_HOST), 'ACL_SUCCESS');
      expect([back[0], back[599], back[600]]).toEqual([0x5a, 0x5a, 0]);
      expectAcl(h.b.aclrtMemset(device, 10n, 0, 11n), 'ACL_ERROR_INVALID_PARAM');
      expectAcl(h.b.aclrtMemset(h.b.addressOf(back), 1000n, 0, 16n), 'ACL_ERROR_RT_PARAM_INVALID');
      expectAcl(h.b.aclrtFree(device), 'ACL_SUCCESS');
    });

    it('aclrtMallocHost: page-locked host memory copies HOST_TO_HOST and DEVICE_TO_HOST, and is no device memory', () => {
      const { status, hostPtr } = h.b.aclrtMallocHost(256n);
      expectAcl(status, 'ACL_SUCCESS');
      const bytes = pattern(3, 256);
      expectAcl(copy(hostPtr, 256, h.b.addressOf(bytes), 256, aclrtMemcpyKind.ACL_MEMCPY_HOST_TO_HOST), 'ACL_SUCCESS');
      const device = malloc(256);
      expectAcl(copy(device, 256, hostPtr, 256, aclrtMemcpyKind.ACL_MEMCPY_HOST_TO_DEVICE), 'ACL_SUCCESS');
      expectAcl(h.b.aclrtMemset(hostPtr, 256n, 0, 256n), 'ACL_ERROR_RT_PARAM_INVALID');
      const back = new Uint8Array(256);
      expectAcl(copy(h.b.addressOf(back), 256, device, 256, aclrtMemcpyKind.ACL_MEMCPY_DEVICE_TO_HOST), 'ACL_SUCCESS');
      expectBytes(back, bytes, 'through pinned and device memory');
      expectAcl(h.b.aclrtFreeHost(hostPtr), 'ACL_SUCCESS');
      expectAcl(h.b.aclrtFree(device), 'ACL_SUCCESS');
    });

    it('aclrtFree, aclrtFreeHost: each frees only the start of its own allocation, once', () => {
      const device = malloc(64);
      const { hostPtr } = h.b.aclrtMallocHost(64n);
      expectAcl(h.b.aclrtFree(hostPtr), 'ACL_ERROR_RT_PARAM_INVALID');
      expectAcl(h.b.aclrtFreeHost(device), 'ACL_ERROR_RT_PARAM_INVALID');
      expectAcl(h.b.aclrtFree(device + 32n), 'ACL_ERROR_RT_PARAM_INVALID');
      expectAcl(h.b.aclrtFree(0n), 'ACL_ERROR_INVALID_PARAM');
      expectAcl(h.b.aclrtFree(device), 'ACL_SUCCESS');
      expectAcl(h.b.aclrtFree(device), 'ACL_ERROR_RT_PARAM_INVALID');
      expect(h.b.lastError()).toMatch(/^aclrtFree: ACL_ERROR_RT_PARAM_INVALID/);
      expectAcl(h.b.aclrtFreeHost(hostPtr), 'ACL_SUCCESS');
      // Freed memory is gone: a copy from it is refused, not read.
      const back = new Uint8Array(64);
      expect(aclName(copy(h.b.addressOf(back), 64, device, 64, aclrtMemcpyKind.ACL_MEMCPY_DEVICE_TO_HOST))).not.toBe('ACL_SUCCESS');
    });

    it('choice A22: placement kDevice registers only aclrtMalloc memory: host memory, page-locked memory and a tensor past its allocation are LLM_FAILED and use their id (A13)', () => {
      const dd = h.client();
      const desc = makeCacheDesc({ placement: CachePlacement.kDevice, num_tensors: 2, data_type: DataType.DT_UINT8, shape: BigInt64Array.of(4n, 16n) });
      const host = [new Uint8Array(64), new Uint8Array(64)].map((tensor) => h.b.addressOf(tensor));
      const register = (addrs: readonly bigint[]) => h.b.LlmDataDist_RegisterKvCache(dd.handle, desc, BigUint64Array.from(addrs));
      expectStatus(register(host).status, 'LLM_FAILED');
      expect(h.b.lastError()).toContain('tensor 0');
      const device = [malloc(64), malloc(64)];
      expectStatus(register([device[0]!, host[1]!]).status, 'LLM_FAILED');
      expect(h.b.lastError()).toContain('tensor 1');
      const { hostPtr } = h.b.aclrtMallocHost(64n);
      expectStatus(register([device[0]!, hostPtr]).status, 'LLM_FAILED');
      expectStatus(register([device[0]! + 32n, device[1]!]).status, 'LLM_FAILED');
      const registered = register(device);
      expectStatus(registered.status, 'LLM_SUCCESS');
      expect(registered.cache_id).toBe(5n);
      // kHost registers any host memory, the ACL runtime's included.
      const asHost = { ...desc, placement: CachePlacement.kHost };
      expectStatus(h.b.LlmDataDist_RegisterKvCache(dd.handle, asHost, BigUint64Array.from(host)).status, 'LLM_SUCCESS');
      expectStatus(h.b.LlmDataDist_RegisterKvCache(dd.handle, asHost, BigUint64Array.of(hostPtr, hostPtr)).status, 'LLM_SUCCESS');
      for (const id of [5n, 6n, 7n]) expectStatus(h.b.LlmDataDist_UnregisterKvCache(dd.handle, id), 'LLM_SUCCESS');
      expectAcl(h.b.aclrtFreeHost(hostPtr), 'ACL_SUCCESS');
      for (const address of device) expectAcl(h.b.aclrtFree(address), 'ACL_SUCCESS');
    });

    it('A22/B §3.8: device caches pull blocks between each other; the bytes read back with aclrtMemcpy are the source rows', async () => {
      const shape = { tensors: 2, rows: 8, rowElements: 16, placement: CachePlacement.kDevice };
      const pair = await pullPair(h, shape);
      const status = await h.b.LlmDataDist_PullKvBlocksAsync(pair.client.handle, pair.srcIndex, pair.dstCache, blocks(1, 2, 5), blocks(0, 6, 7));
      expectStatus(status, 'LLM_SUCCESS');
      for (let t = 0; t < 2; t += 1) {
        expectBytes(rowOf(pair.dst, t, 0), initialRowOf(pair.src, t, 1), `tensor ${t} block 0`);
        expectBytes(rowOf(pair.dst, t, 6, 2), Uint8Array.from([...initialRowOf(pair.src, t, 2), ...initialRowOf(pair.src, t, 5)]), `tensor ${t} blocks 6-7`);
        expectBytes(rowOf(pair.dst, t, 1, 5), initialRowOf(pair.dst, t, 1, 5), `tensor ${t} blocks 1-5 untouched`);
      }
    });
  });
}
