import { CachePlacement, DataType, makeCache, makeCacheDesc, makeCacheIndex, type CacheDesc } from '@dd/sys';
import { describe, expect, it } from 'vitest';
import { unchanged } from './fixtures.js';
import { Harness, blocks, expectBytes, expectStatus, rowOf, type Engine } from './harness.js';

/** Tensor i of a cache whose tensors all live in one `bytes`-sized buffer, at the same address. */
function sharedTensors(h: Harness, tensors: number, bytes = 1): BigUint64Array {
  return new BigUint64Array(tensors).fill(h.b.addressOf(new ArrayBuffer(bytes)));
}

function desc(shape: readonly number[], dataType: number = DataType.DT_INT32, tensors = 1, placement: number = CachePlacement.kHost): CacheDesc {
  return makeCacheDesc({ placement: placement as CachePlacement, num_tensors: tensors, data_type: dataType as DataType, shape: BigInt64Array.from(shape.map(BigInt)) });
}

export function describeRegistration(h: Harness): void {
  /** RegisterKvCache of `tensors` fresh buffers of `bytes` each: status and id. */
  const register = (dd: Engine, cacheDesc: CacheDesc, bytes = 4096) => {
    const addrs = BigUint64Array.from(Array.from({ length: cacheDesc.num_tensors }, () => h.b.addressOf(new ArrayBuffer(bytes))));
    return h.b.LlmDataDist_RegisterKvCache(dd.handle, cacheDesc, addrs);
  };

  describe('RegisterKvCache / UnregisterKvCache', () => {
    it('A13: ids count from 1; every failure after the shape-rank check consumes one', () => {
      const dd = h.client();
      expect(register(dd, desc([4, 4])).cache_id).toBe(1n);
      expectStatus(h.b.LlmDataDist_RegisterKvCache(dd.handle, desc([4, 4]), new BigUint64Array(0)).status, 'LLM_PARAM_INVALID');
      expectStatus(register(dd, desc([])).status, 'LLM_PARAM_INVALID');
      expectStatus(register(dd, desc([4, 0])).status, 'LLM_PARAM_INVALID'); // consumes 2
      expectStatus(register(dd, desc([4, 4], DataType.DT_UNDEFINED)).status, 'LLM_PARAM_INVALID'); // consumes 3
      expect(register(dd, desc([4, 4])).cache_id).toBe(4n);
    });

    it('A22: the checks run in order: addrs, their count, address 0, rank, then (with an id taken) dims and dtype', () => {
      const dd = h.client();
      const one = sharedTensors(h, 1, 64);
      const badEverything = desc([0], DataType.DT_UNDEFINED, 2);
      expectStatus(h.b.LlmDataDist_RegisterKvCache(dd.handle, badEverything, new BigUint64Array(0)).status, 'LLM_PARAM_INVALID');
      expectStatus(h.b.LlmDataDist_RegisterKvCache(dd.handle, badEverything, one).status, 'LLM_PARAM_INVALID');
      expectStatus(h.b.LlmDataDist_RegisterKvCache(dd.handle, desc([0], DataType.DT_UNDEFINED, 1), BigUint64Array.of(0n)).status, 'LLM_PARAM_INVALID');
      expectStatus(h.b.LlmDataDist_RegisterKvCache(dd.handle, desc(Array.from({ length: 32 }, () => 0), DataType.DT_UNDEFINED), one).status, 'LLM_PARAM_INVALID');
      expect(register(dd, desc([2, 2])).cache_id).toBe(1n); // none of those took an id
    });

    it.each([
      ['rank 0', []],
      ['rank 32', Array.from({ length: 32 }, () => 1)],
      ['a zero dimension', [4, 0]],
      ['a negative dimension', [4, -2]],
      ['an element count past int64', [2 ** 31, 2 ** 31, 4]],
      ['a byte count past int64', [2 ** 31, 2 ** 30, 2]],
    ])('B §3.5: a shape with %s is PARAM_INVALID', (_name, shape) => {
      expectStatus(register(h.client(), desc(shape)).status, 'LLM_PARAM_INVALID');
    });

    it('B §3.5: rank 31 is the largest rank accepted', () => {
      expectStatus(register(h.client(), desc(Array.from({ length: 31 }, () => 1))).status, 'LLM_SUCCESS');
    });

    it.each([DataType.DT_UNDEFINED, 5, 44, -1])('B §3.5: data type %d has no element size: PARAM_INVALID', (dataType) => {
      expectStatus(register(h.client(), desc([4, 4], dataType)).status, 'LLM_PARAM_INVALID');
    });

    it('B §3.5: empty addrs, a count that is not num_tensors and an address 0 are PARAM_INVALID', () => {
      const dd = h.client();
      const memory = h.memory({ tensors: 2, rows: 4, rowElements: 8 }, 1);
      expectStatus(h.b.LlmDataDist_RegisterKvCache(dd.handle, { ...memory.desc, num_tensors: 0 }, new BigUint64Array(0)).status, 'LLM_PARAM_INVALID');
      expectStatus(h.b.LlmDataDist_RegisterKvCache(dd.handle, { ...memory.desc, num_tensors: 3 }, memory.addrs).status, 'LLM_PARAM_INVALID');
      expectStatus(h.b.LlmDataDist_RegisterKvCache(dd.handle, memory.desc, BigUint64Array.from([memory.addrs[0] ?? 1n, 0n])).status, 'LLM_PARAM_INVALID');
    });

    it.each([CachePlacement.kHost, 7])('A22: placement %d registers host memory (every value but kDevice is host memory)', (placement) => {
      expectStatus(register(h.client(), desc([4, 4], DataType.DT_INT32, 2, placement)).status, 'LLM_SUCCESS');
    });

    it('B §3.5: sub-byte types pack, STRING and STRING_REF count 16 bytes: a pulled STRING row moves 16 bytes', async () => {
      expectStatus(register(h.client(), desc([4, 3], DataType.DT_INT4)).status, 'LLM_SUCCESS');
      expectStatus(register(h.client(), desc([4, 3], DataType.DT_STRING_REF)).status, 'LLM_SUCCESS');
      const server = await h.server();
      const client = h.client();
      const src = Uint8Array.from({ length: 32 }, (_x, i) => i + 1);
      const dst = new Uint8Array(32);
      const srcId = h.b.LlmDataDist_RegisterKvCache(server.handle, desc([2, 1], DataType.DT_STRING), BigUint64Array.of(h.b.addressOf(src))).cache_id;
      const dstId = h.b.LlmDataDist_RegisterKvCache(client.handle, desc([2, 1], DataType.DT_STRING), BigUint64Array.of(h.b.addressOf(dst))).cache_id;
      h.link(client, server);
      const index = makeCacheIndex({ cluster_id: server.clusterId, cache_id: srcId });
      expectStatus(h.b.LlmDataDist_PullKvBlocks(client.handle, index, makeCache({ cache_id: dstId }), blocks(1), blocks(0)), 'LLM_SUCCESS');
      expectBytes(dst, Uint8Array.from([...src.subarray(16, 32), ...new Uint8Array(16)]), 'STRING rows of 16 bytes');
    });

    h.deviation('D3: a cache whose stride would be 0 (DT_INT4 [2,1]) is PARAM_INVALID and consumes an id', () => {
      const dd = h.client();
      expectStatus(register(dd, desc([2, 1], DataType.DT_INT4)).status, 'LLM_PARAM_INVALID');
      expect(register(dd, desc([2, 2], DataType.DT_INT4)).cache_id).toBe(2n);
    });

    h.deviation('D4: the same memory registered twice stays registered for the second cache after the first is unregistered', async () => {
      const server = await h.server();
      const client = h.client();
      const shared = h.memory({ tensors: 2, rows: 4, rowElements: 8 }, 1);
      const first = h.register(server, shared);
      const second = h.register(server, shared);
      const dst = h.memory({ tensors: 2, rows: 4, rowElements: 8 }, 2);
      const dstId = h.register(client, dst);
      h.link(client, server);
      expectStatus(h.b.LlmDataDist_UnregisterKvCache(server.handle, first), 'LLM_SUCCESS');
      const index = makeCacheIndex({ cluster_id: server.clusterId, cache_id: second });
      expectStatus(h.b.LlmDataDist_PullKvBlocks(client.handle, index, makeCache({ cache_id: dstId }), blocks(3), blocks(0)), 'LLM_SUCCESS');
      dst.tensors.forEach((_tensor, t) => expectBytes(rowOf(dst, t, 0), rowOf(shared, t, 3), `tensor ${t}`));
    });

    it('A6: the cache table holds 1 MiB: a cache of 131061 tensors fills it, any further cache is PARAM_INVALID', () => {
      const dd = h.client();
      expectStatus(h.b.LlmDataDist_RegisterKvCache(dd.handle, desc([1], DataType.DT_INT8, 131061), sharedTensors(h, 131061)).status, 'LLM_SUCCESS');
      expectStatus(h.b.LlmDataDist_RegisterKvCache(dd.handle, desc([1], DataType.DT_INT8, 1), sharedTensors(h, 1)).status, 'LLM_PARAM_INVALID');
    });

    h.deviation('D5: a registration that overflows the table leaves nothing registered; its id is consumed', () => {
      const dd = h.client();
      expectStatus(h.b.LlmDataDist_RegisterKvCache(dd.handle, desc([1], DataType.DT_INT8, 131062), sharedTensors(h, 131062)).status, 'LLM_PARAM_INVALID');
      const full = h.b.LlmDataDist_RegisterKvCache(dd.handle, desc([1], DataType.DT_INT8, 131061), sharedTensors(h, 131061));
      expectStatus(full.status, 'LLM_SUCCESS');
      expect(full.cache_id).toBe(2n);
    });

    it('B §3.5: unregistering an unknown id (77, 0, -1) is SUCCESS; an unregistered cache no longer exists', () => {
      const dd = h.client();
      for (const id of [77n, 0n, -1n]) expectStatus(h.b.LlmDataDist_UnregisterKvCache(dd.handle, id), 'LLM_SUCCESS');
      const memory = h.memory({ tensors: 1, rows: 2, rowElements: 4 }, 1);
      const cacheId = h.register(dd, memory);
      expectStatus(h.b.LlmDataDist_UnregisterKvCache(dd.handle, cacheId), 'LLM_SUCCESS');
      expectStatus(h.b.LlmDataDist_UnregisterKvCache(dd.handle, cacheId), 'LLM_SUCCESS');
      const index = makeCacheIndex({ cluster_id: dd.clusterId + 1n, cache_id: 1n });
      expectStatus(h.b.LlmDataDist_PullKvCache(dd.handle, index, makeCache({ cache_id: cacheId })), 'LLM_KV_CACHE_NOT_EXIST');
      expect(unchanged(memory)).toBe(true);
    });
  });
}
