import { LlmRole, makeCache, makeCacheIndex, makeKvCacheExtParam } from '@dd/sys';
import { describe, expect, it } from 'vitest';
import { pullPair, unchanged, type PullPair } from './fixtures.js';
import { expectBytes, expectNotSuccess, expectStatus, initialRowOf, rowOf, type Harness } from './harness.js';

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
  describe('PullKvCache (facts §3.7)', () => {
    it('copies one batch row of every tensor, from src batch_index to the local batch_index', async () => {
      const pair = await pullPair(h);
      expectStatus(h.b.LlmDataDist_PullKvCache(pair.client.handle, { ...pair.srcIndex, batch_index: 3 }, pair.dstCache, 5), 'LLM_SUCCESS');
      expectRowCopied(pair, 3, 5);
    });

    it('the async twin copies the same bytes', async () => {
      const pair = await pullPair(h);
      expectStatus(await h.b.LlmDataDist_PullKvCacheAsync(pair.client.handle, { ...pair.srcIndex, batch_index: 6 }, pair.dstCache, 1), 'LLM_SUCCESS');
      expectRowCopied(pair, 6, 1);
    });

    it('size > 0 copies only the first size bytes of the row', async () => {
      const pair = await pullPair(h);
      expectStatus(h.b.LlmDataDist_PullKvCache(pair.client.handle, pair.srcIndex, pair.dstCache, 2, 24n), 'LLM_SUCCESS');
      expectRowCopied(pair, 0, 2, 24);
    });

    it('size equal to the row size is the whole row', async () => {
      const pair = await pullPair(h);
      expectStatus(h.b.LlmDataDist_PullKvCache(pair.client.handle, pair.srcIndex, pair.dstCache, 7, BigInt(pair.dst.stride)), 'LLM_SUCCESS');
      expectRowCopied(pair, 0, 7);
    });

    it('the role does not restrict the direction: a prompt pulls from a decoder', async () => {
      const pair = await pullPair(h, undefined, undefined, { server: LlmRole.kDecoder, client: LlmRole.kPrompt });
      expectStatus(h.b.LlmDataDist_PullKvCache(pair.client.handle, pair.srcIndex, pair.dstCache, 4), 'LLM_SUCCESS');
      expectRowCopied(pair, 0, 4);
    });

    it('both offsets use the local row size', async () => {
      // Remote rows are 128 bytes, local rows 64: src batch_index 1 starts at remote byte 64.
      const pair = await pullPair(h, { tensors: 1, rows: 4, rowElements: 32 }, { tensors: 1, rows: 8, rowElements: 16 });
      expectStatus(h.b.LlmDataDist_PullKvCache(pair.client.handle, { ...pair.srcIndex, batch_index: 1 }, pair.dstCache, 2), 'LLM_SUCCESS');
      expectBytes(rowOf(pair.dst, 0, 2), pair.src.initial[0]!.subarray(64, 128), 'local row 2');
    });

    it.each([0n, -2n])('size %d is PARAM_INVALID', async (size) => {
      const pair = await pullPair(h);
      expectStatus(h.b.LlmDataDist_PullKvCache(pair.client.handle, pair.srcIndex, pair.dstCache, 0, size), 'LLM_PARAM_INVALID');
      expect(unchanged(pair.dst)).toBe(true);
    });

    it('pulling from its own cluster id is PARAM_INVALID', async () => {
      const pair = await pullPair(h);
      expectStatus(h.b.LlmDataDist_PullKvCache(pair.client.handle, { ...pair.srcIndex, cluster_id: pair.client.clusterId }, pair.dstCache), 'LLM_PARAM_INVALID');
    });

    it('a local cache that is not registered is KV_CACHE_NOT_EXIST', async () => {
      const pair = await pullPair(h);
      expectStatus(h.b.LlmDataDist_PullKvCache(pair.client.handle, pair.srcIndex, makeCache({ cache_id: 99n })), 'LLM_KV_CACHE_NOT_EXIST');
    });

    it('batch_index at or past the local batch size is PARAM_INVALID', async () => {
      const pair = await pullPair(h);
      expectStatus(h.b.LlmDataDist_PullKvCache(pair.client.handle, pair.srcIndex, pair.dstCache, 8), 'LLM_PARAM_INVALID');
      expect(unchanged(pair.dst)).toBe(true);
    });

    it('size larger than one local row is PARAM_INVALID', async () => {
      const pair = await pullPair(h);
      expectStatus(h.b.LlmDataDist_PullKvCache(pair.client.handle, pair.srcIndex, pair.dstCache, 0, BigInt(pair.dst.stride + 1)), 'LLM_PARAM_INVALID');
    });

    it('without a link to the src cluster it is NOT_YET_LINK', async () => {
      const server = await h.server();
      const client = h.client();
      const srcId = h.register(server, h.memory({ tensors: 1, rows: 2, rowElements: 4 }, 1));
      const dstId = h.register(client, h.memory({ tensors: 1, rows: 2, rowElements: 4 }, 2));
      const index = makeCacheIndex({ cluster_id: server.clusterId, cache_id: srcId });
      expectStatus(h.b.LlmDataDist_PullKvCache(client.handle, index, makeCache({ cache_id: dstId })), 'LLM_NOT_YET_LINK');
    });

    it('a remote cache that does not exist is KV_CACHE_NOT_EXIST', async () => {
      const pair = await pullPair(h);
      expectStatus(h.b.LlmDataDist_PullKvCache(pair.client.handle, { ...pair.srcIndex, cache_id: 42n }, pair.dstCache), 'LLM_KV_CACHE_NOT_EXIST');
    });

    it('caches with different tensor counts are PARAM_INVALID', async () => {
      const pair = await pullPair(h, { tensors: 4, rows: 8, rowElements: 16 }, { tensors: 3, rows: 8, rowElements: 16 });
      expectStatus(h.b.LlmDataDist_PullKvCache(pair.client.handle, pair.srcIndex, pair.dstCache), 'LLM_PARAM_INVALID');
      expect(unchanged(pair.dst)).toBe(true);
    });

    it('checks in the documented order', async () => {
      const server = await h.server();
      const client = h.client();
      const dstId = h.register(client, h.memory({ tensors: 1, rows: 2, rowElements: 4 }, 2));
      const index = makeCacheIndex({ cluster_id: server.clusterId, cache_id: 1n });
      const missing = makeCache({ cache_id: 50n });
      const present = makeCache({ cache_id: dstId });
      const pull = (src: typeof index, dst: typeof present, batch = 0, size = -1n) => h.b.LlmDataDist_PullKvCache(client.handle, src, dst, batch, size);
      expectStatus(pull(index, missing, 0, 0n), 'LLM_PARAM_INVALID'); // size before the local cache
      expectStatus(
        h.b.LlmDataDist_PullKvCache(client.handle, index, missing, 0, -1n, makeKvCacheExtParam({ tensor_num_per_layer: 0 })),
        'LLM_PARAM_INVALID',
      ); // ext_param before the local cache
      expectStatus(pull({ ...index, cluster_id: client.clusterId }, missing), 'LLM_PARAM_INVALID'); // own cluster before the local cache
      expectStatus(pull(index, missing), 'LLM_KV_CACHE_NOT_EXIST'); // local cache before the link
      expectStatus(pull(index, present, 2), 'LLM_PARAM_INVALID'); // batch_index before the link
      expectStatus(pull(index, present, 0, 17n), 'LLM_PARAM_INVALID'); // size ≤ row before the link
      expectStatus(pull(index, present), 'LLM_NOT_YET_LINK'); // link before the remote cache
    });

    it('a read past the remote cache memory fails and writes nothing', async () => {
      const pair = await pullPair(h, { tensors: 1, rows: 2, rowElements: 16 }, { tensors: 1, rows: 8, rowElements: 16 });
      expectNotSuccess(h.b.LlmDataDist_PullKvCache(pair.client.handle, { ...pair.srcIndex, batch_index: 5 }, pair.dstCache, 0));
      expect(unchanged(pair.dst)).toBe(true);
    });
  });
}
