import { CachePlacement, DataType, makeCache, makeCacheDesc, makeCacheIndex } from '@dd/sys';
import { describe, expect, it } from 'vitest';
import { expectStatus, type Harness } from './harness.js';

export function describeRegistration(h: Harness): void {
  describe('RegisterKvCache / UnregisterKvCache (facts §3.5, §3.6)', () => {
    const register = (shape: readonly number[], dataType: number = DataType.DT_INT32, tensors = 1, bytes = 4096) => {
      const dd = h.client();
      const buffers = Array.from({ length: tensors }, () => new ArrayBuffer(bytes));
      const desc = makeCacheDesc({ placement: CachePlacement.kHost, num_tensors: tensors, data_type: dataType as DataType, shape: BigInt64Array.from(shape.map(BigInt)) });
      return h.b.LlmDataDist_RegisterKvCache(dd.handle, desc, BigUint64Array.from(buffers.map((buffer) => h.b.addressOf(buffer)))).status;
    };

    it('cache ids count from 1, one per successful registration; a failure uses none', () => {
      const dd = h.client();
      const memory = h.memory({ tensors: 2, rows: 4, rowElements: 8 }, 1);
      expect(h.register(dd, memory)).toBe(1n);
      expect(h.register(dd, memory)).toBe(2n); // the same addresses again are fine
      expectStatus(h.b.LlmDataDist_RegisterKvCache(dd.handle, memory.desc, new BigUint64Array(0)).status, 'LLM_PARAM_INVALID');
      expect(h.register(dd, h.memory({ tensors: 1, rows: 2, rowElements: 2 }, 2))).toBe(3n);
    });

    it('empty addrs is PARAM_INVALID', () => {
      const dd = h.client();
      const desc = makeCacheDesc({ num_tensors: 0, data_type: DataType.DT_INT32, shape: BigInt64Array.from([4n]) });
      expectStatus(h.b.LlmDataDist_RegisterKvCache(dd.handle, desc, new BigUint64Array(0)).status, 'LLM_PARAM_INVALID');
    });

    it('addrs.size() != num_tensors is PARAM_INVALID', () => {
      const dd = h.client();
      const memory = h.memory({ tensors: 2, rows: 4, rowElements: 8 }, 1);
      expectStatus(h.b.LlmDataDist_RegisterKvCache(dd.handle, { ...memory.desc, num_tensors: 3 }, memory.addrs).status, 'LLM_PARAM_INVALID');
    });

    it('an address of 0 is PARAM_INVALID', () => {
      const dd = h.client();
      const memory = h.memory({ tensors: 2, rows: 4, rowElements: 8 }, 1);
      expectStatus(h.b.LlmDataDist_RegisterKvCache(dd.handle, memory.desc, BigUint64Array.from([memory.addrs[0] ?? 1n, 0n])).status, 'LLM_PARAM_INVALID');
    });

    it.each([
      ['rank 0', []],
      ['rank 32', Array.from({ length: 32 }, () => 1)],
      ['a zero dimension', [4, 0]],
      ['a negative dimension', [4, -2]],
    ])('a shape with %s is PARAM_INVALID', (_name, shape) => {
      expectStatus(register(shape), 'LLM_PARAM_INVALID');
    });

    it('a shape whose element count overflows int64 is PARAM_INVALID', () => {
      expectStatus(register([2 ** 31, 2 ** 31, 4]), 'LLM_PARAM_INVALID');
    });

    it('rank 31 is the largest rank accepted', () => {
      expectStatus(register(Array.from({ length: 31 }, () => 1)), 'LLM_SUCCESS');
    });

    it('a data type without an element size is PARAM_INVALID', () => {
      expectStatus(register([4, 4], DataType.DT_UNDEFINED), 'LLM_PARAM_INVALID');
    });

    it('sub-byte and 16-byte data types register', () => {
      expectStatus(register([4, 3], DataType.DT_INT4), 'LLM_SUCCESS');
      expectStatus(register([4, 3], DataType.DT_COMPLEX128), 'LLM_SUCCESS');
    });

    it('unregistering an unknown id is SUCCESS; an unregistered cache no longer exists', () => {
      const dd = h.client();
      expectStatus(h.b.LlmDataDist_UnregisterKvCache(dd.handle, 77n), 'LLM_SUCCESS');
      const cacheId = h.register(dd, h.memory({ tensors: 1, rows: 2, rowElements: 4 }, 1));
      expectStatus(h.b.LlmDataDist_UnregisterKvCache(dd.handle, cacheId), 'LLM_SUCCESS');
      const index = makeCacheIndex({ cluster_id: dd.clusterId + 1n, cache_id: 1n });
      expectStatus(h.b.LlmDataDist_PullKvCache(dd.handle, index, makeCache({ cache_id: cacheId })), 'LLM_KV_CACHE_NOT_EXIST');
    });
  });
}
