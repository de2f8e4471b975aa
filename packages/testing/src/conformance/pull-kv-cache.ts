import { LlmRole, makeCache, makeCacheIndex, makeKvCacheExtParam } from '@dd/sys';
import { describe, expect, it } from 'vitest';
import { pullPair, unchanged, type PullPair } from './fixtures.js';
import { expectBytes, expectStatus, initialRowOf, rowOf, type Harness } from './harness.js';

/** Row `dstRow` of every dst tensor now holds row `srcRow` of the src tensor; every other row is untouched. */
function expectRowCopied(pair: PullPair, srcRow: number, dstRow: number, bytes = pair.dst.stride): void {
  const rows = pair.dst.tensors[0]!.length / pair.dst.stride;
  pair.dst.tensors.forEach((_tensor, t) => {
    const copied = rowOf(pair.dst, t, dstRow);
    expectBytes(copied.subarray(0, bytes), initialRowOf(pair.src, t, srcRow).subarray(0, bytes), `tensor ${t} row ${dstRow}`);
    expectBytes(copied.subarray(bytes), initialRowOf(pair.dst, t, dstRow).subarray(bytes), `tensor ${t} row ${dstRow} past size`);
    for (let row = 0; row < rows; row += 1) {
      if (row !== dstRow) expectBytes(rowOf(pair.dst, t, row), initialRowOf(pair.dst, t, row), `tensor ${t} row ${row}`);
    }
  });
  expect(unchanged(pair.src)).toBe(true);
}

export function describePullKvCache(h: Harness): void {
  describe('PullKvCache', () => {
    it('B §3.7: copies one batch row of every tensor, from the src batch_index to the local batch_index', async () => {
      const pair = await pullPair(h);
      expectStatus(h.b.LlmDataDist_PullKvCache(pair.client.handle, { ...pair.srcIndex, batch_index: 3 }, pair.dstCache, 5), 'LLM_SUCCESS');
      expectRowCopied(pair, 3, 5);
    });

    it('B §3.7: the async twin copies the same bytes', async () => {
      const pair = await pullPair(h);
      expectStatus(await h.b.LlmDataDist_PullKvCacheAsync(pair.client.handle, { ...pair.srcIndex, batch_index: 6 }, pair.dstCache, 1), 'LLM_SUCCESS');
      expectRowCopied(pair, 6, 1);
    });

    it('B §3.7: size > 0 copies the first size bytes of the row; size equal to the row is the whole row', async () => {
      const pair = await pullPair(h);
      expectStatus(h.b.LlmDataDist_PullKvCache(pair.client.handle, pair.srcIndex, pair.dstCache, 2, 24n), 'LLM_SUCCESS');
      expectRowCopied(pair, 0, 2, 24);
      const whole = await pullPair(h);
      expectStatus(h.b.LlmDataDist_PullKvCache(whole.client.handle, whole.srcIndex, whole.dstCache, 7, BigInt(whole.dst.stride)), 'LLM_SUCCESS');
      expectRowCopied(whole, 0, 7);
    });

    it('B §3.7: only dst_cache.cache_id is read: the rest of the Cache argument is ignored', async () => {
      const pair = await pullPair(h);
      const junk = makeCache({ cache_id: pair.dstCache.cache_id, tensor_addrs: BigUint64Array.of(1n, 2n), cache_desc: { ...pair.dst.desc, num_tensors: 9, shape: BigInt64Array.of(3n) } });
      expectStatus(h.b.LlmDataDist_PullKvCache(pair.client.handle, pair.srcIndex, junk, 4), 'LLM_SUCCESS');
      expectRowCopied(pair, 0, 4);
    });

    it('B §3.7: the role does not restrict the direction: a prompt pulls from a decoder', async () => {
      const pair = await pullPair(h, undefined, undefined, { server: LlmRole.kDecoder, client: LlmRole.kPrompt });
      expectStatus(h.b.LlmDataDist_PullKvCache(pair.client.handle, pair.srcIndex, pair.dstCache, 4), 'LLM_SUCCESS');
      expectRowCopied(pair, 0, 4);
    });

    it.each([0n, -2n])('A18: size %d is PARAM_INVALID', async (size) => {
      const pair = await pullPair(h);
      expectStatus(h.b.LlmDataDist_PullKvCache(pair.client.handle, pair.srcIndex, pair.dstCache, 0, size), 'LLM_PARAM_INVALID');
      expect(unchanged(pair.dst)).toBe(true);
    });

    it('A18: pulling from its own cluster id is PARAM_INVALID', async () => {
      const pair = await pullPair(h);
      expectStatus(h.b.LlmDataDist_PullKvCache(pair.client.handle, { ...pair.srcIndex, cluster_id: pair.client.clusterId }, pair.dstCache), 'LLM_PARAM_INVALID');
    });

    it('A18: a local cache that is not registered is KV_CACHE_NOT_EXIST', async () => {
      const pair = await pullPair(h);
      expectStatus(h.b.LlmDataDist_PullKvCache(pair.client.handle, pair.srcIndex, makeCache({ cache_id: 99n })), 'LLM_KV_CACHE_NOT_EXIST');
    });

    it('A18: batch_index at or past the local rows, and size past one local row, are PARAM_INVALID', async () => {
      const pair = await pullPair(h);
      expectStatus(h.b.LlmDataDist_PullKvCache(pair.client.handle, pair.srcIndex, pair.dstCache, 8), 'LLM_PARAM_INVALID');
      expectStatus(h.b.LlmDataDist_PullKvCache(pair.client.handle, pair.srcIndex, pair.dstCache, 0, BigInt(pair.dst.stride + 1)), 'LLM_PARAM_INVALID');
      expect(unchanged(pair.dst)).toBe(true);
    });

    it('A18: without a link to the src cluster it is NOT_YET_LINK', async () => {
      const server = await h.server();
      const client = h.client();
      const srcId = h.register(server, h.memory({ tensors: 1, rows: 2, rowElements: 4 }, 1));
      const dstId = h.register(client, h.memory({ tensors: 1, rows: 2, rowElements: 4 }, 2));
      expectStatus(h.b.LlmDataDist_PullKvCache(client.handle, makeCacheIndex({ cluster_id: server.clusterId, cache_id: srcId }), makeCache({ cache_id: dstId })), 'LLM_NOT_YET_LINK');
    });

    it.each([42n, 0n, -1n])('A18: remote cache %d does not exist: KV_CACHE_NOT_EXIST', async (cacheId) => {
      const pair = await pullPair(h);
      expectStatus(h.b.LlmDataDist_PullKvCache(pair.client.handle, { ...pair.srcIndex, cache_id: cacheId }, pair.dstCache), 'LLM_KV_CACHE_NOT_EXIST');
    });

    it('A18: without layer ranges the two caches must have as many tensors: PARAM_INVALID', async () => {
      const pair = await pullPair(h, { tensors: 4, rows: 8, rowElements: 16 }, { tensors: 3, rows: 8, rowElements: 16 });
      expectStatus(h.b.LlmDataDist_PullKvCache(pair.client.handle, pair.srcIndex, pair.dstCache), 'LLM_PARAM_INVALID');
      expect(unchanged(pair.dst)).toBe(true);
    });

    it('A18: the checks run in V2\'s order: size, ext_param, own cluster, local cache, batch, size ≤ row, layers, link, remote cache', async () => {
      const server = await h.server();
      const client = h.client();
      const dstId = h.register(client, h.memory({ tensors: 3, rows: 2, rowElements: 4 }, 2));
      const index = makeCacheIndex({ cluster_id: server.clusterId, cache_id: 1n });
      const missing = makeCache({ cache_id: 50n });
      const present = makeCache({ cache_id: dstId });
      const badExt = makeKvCacheExtParam({ tensor_num_per_layer: 0 });
      const layers = makeKvCacheExtParam({ src_layer_range: [0, 0], dst_layer_range: [0, 0], tensor_num_per_layer: 2 });
      const pull = (src: typeof index, dst: typeof present, batch = 0, size = -1n, ext = makeKvCacheExtParam()) => h.b.LlmDataDist_PullKvCache(client.handle, src, dst, batch, size, ext);
      expectStatus(pull(index, missing, 9, 0n, badExt), 'LLM_PARAM_INVALID'); // size first
      expectStatus(pull(index, missing, 9, -1n, badExt), 'LLM_PARAM_INVALID'); // ext_param before the local cache
      expectStatus(pull({ ...index, cluster_id: client.clusterId }, missing), 'LLM_PARAM_INVALID'); // own cluster before the local cache
      expectStatus(pull(index, missing), 'LLM_KV_CACHE_NOT_EXIST'); // local cache before the link
      expectStatus(pull(index, present, 2), 'LLM_PARAM_INVALID'); // batch_index before the link
      expectStatus(pull(index, present, 0, 17n), 'LLM_PARAM_INVALID'); // size ≤ row before the link
      expectStatus(pull(index, present, 0, -1n, layers), 'LLM_PARAM_INVALID'); // 3 tensors, T=2: layers before the link
      expectStatus(pull({ ...index, cache_id: 77n }, present), 'LLM_NOT_YET_LINK'); // link before the remote cache
    });

    h.deviation('D1: caches whose rows differ in size are PARAM_INVALID before any byte moves', async () => {
      const pair = await pullPair(h, { tensors: 1, rows: 4, rowElements: 32 }, { tensors: 1, rows: 8, rowElements: 16 });
      expectStatus(h.b.LlmDataDist_PullKvCache(pair.client.handle, { ...pair.srcIndex, batch_index: 1 }, pair.dstCache, 2), 'LLM_PARAM_INVALID');
      expectStatus(h.b.LlmDataDist_PullKvCache(pair.client.handle, pair.srcIndex, pair.dstCache, 2, 16n), 'LLM_PARAM_INVALID');
      expect(unchanged(pair.dst)).toBe(true);
    });

    h.deviation('D2: a src batch_index at or past the remote rows is PARAM_INVALID before any byte moves', async () => {
      const pair = await pullPair(h, { tensors: 1, rows: 2, rowElements: 16 }, { tensors: 1, rows: 8, rowElements: 16 });
      expectStatus(h.b.LlmDataDist_PullKvCache(pair.client.handle, { ...pair.srcIndex, batch_index: 2 }, pair.dstCache, 0), 'LLM_PARAM_INVALID');
      expect(unchanged(pair.dst)).toBe(true);
      expectStatus(h.b.LlmDataDist_PullKvCache(pair.client.handle, { ...pair.srcIndex, batch_index: 1 }, pair.dstCache, 0), 'LLM_SUCCESS');
    });

    h.deviation('D2: a src layer range past the remote tensors is PARAM_INVALID before any byte moves', async () => {
      const pair = await pullPair(h, { tensors: 2, rows: 2, rowElements: 4 }, { tensors: 4, rows: 2, rowElements: 4 });
      const ext = makeKvCacheExtParam({ src_layer_range: [1, 1], dst_layer_range: [1, 1], tensor_num_per_layer: 2 });
      expectStatus(h.b.LlmDataDist_PullKvCache(pair.client.handle, pair.srcIndex, pair.dstCache, 0, -1n, ext), 'LLM_PARAM_INVALID');
      expect(unchanged(pair.dst)).toBe(true);
    });
  });
}
