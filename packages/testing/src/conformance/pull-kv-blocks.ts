import { CachePlacement, DataType, makeCache, makeCacheDesc, makeCacheIndex, makeKvCacheExtParam } from '@dd/sys';
import { describe, expect, it } from 'vitest';
import { pullPair, unchanged, type PullPair } from './fixtures.js';
import { statusName } from '../outcome.js';
import { blocks, expectBytes, expectStatus, initialRowOf, rowOf, type Harness } from './harness.js';

/** Every dst tensor got src block s at block d for each pair; all other dst blocks are untouched. */
function expectBlocksCopied(pair: PullPair, pairs: readonly [number, number][], tensors: readonly [number, number][] | null = null): void {
  const rows = pair.dst.tensors[0]!.length / pair.dst.stride;
  const tensorPairs = tensors ?? pair.dst.tensors.map((_tensor, t): [number, number] => [t, t]);
  pair.dst.tensors.forEach((_tensor, dstTensor) => {
    const srcTensor = tensorPairs.find(([, d]) => d === dstTensor)?.[0];
    for (let row = 0; row < rows; row += 1) {
      const source = srcTensor === undefined ? undefined : pairs.find(([, d]) => d === row)?.[0];
      const expected = source === undefined ? initialRowOf(pair.dst, dstTensor, row) : initialRowOf(pair.src, srcTensor as number, source);
      expectBytes(rowOf(pair.dst, dstTensor, row), expected, `dst tensor ${dstTensor} block ${row}`);
    }
  });
  expect(unchanged(pair.src)).toBe(true);
}

export function describePullKvBlocks(h: Harness): void {
  describe('PullKvBlocks (facts §3.8)', () => {
    it('copies the listed blocks of every tensor (upstream {1,2,3} → {1,2,3})', async () => {
      const pair = await pullPair(h);
      expectStatus(h.b.LlmDataDist_PullKvBlocks(pair.client.handle, pair.srcIndex, pair.dstCache, blocks(1, 2, 3), blocks(1, 2, 3)), 'LLM_SUCCESS');
      expectBlocksCopied(pair, [[1, 1], [2, 2], [3, 3]]);
    });

    it('index order is free: {0,1,2,3} → {3,2,1,0}', async () => {
      const pair = await pullPair(h);
      expectStatus(h.b.LlmDataDist_PullKvBlocks(pair.client.handle, pair.srcIndex, pair.dstCache, blocks(0, 1, 2, 3), blocks(3, 2, 1, 0)), 'LLM_SUCCESS');
      expectBlocksCopied(pair, [[0, 3], [1, 2], [2, 1], [3, 0]]);
    });

    it('the async twin copies the same bytes, scattered blocks included', async () => {
      const pair = await pullPair(h);
      const status = await h.b.LlmDataDist_PullKvBlocksAsync(pair.client.handle, pair.srcIndex, pair.dstCache, blocks(7, 0, 4, 5), blocks(2, 6, 3, 4));
      expectStatus(status, 'LLM_SUCCESS');
      expectBlocksCopied(pair, [[7, 2], [0, 6], [4, 3], [5, 4]]);
    });

    it('a layer range selects the tensors: T=1, layer 1 → layer 0', async () => {
      const pair = await pullPair(h);
      const ext = makeKvCacheExtParam({ src_layer_range: [1, 1], dst_layer_range: [0, 0], tensor_num_per_layer: 1 });
      expectStatus(h.b.LlmDataDist_PullKvBlocks(pair.client.handle, pair.srcIndex, pair.dstCache, blocks(2), blocks(5), ext), 'LLM_SUCCESS');
      expectBlocksCopied(pair, [[2, 5]], [[1, 0]]);
    });

    it('src batch_index other than 0 is PARAM_INVALID', async () => {
      const pair = await pullPair(h);
      expectStatus(h.b.LlmDataDist_PullKvBlocks(pair.client.handle, { ...pair.srcIndex, batch_index: 1 }, pair.dstCache, blocks(1), blocks(1)), 'LLM_PARAM_INVALID');
    });

    it('empty block lists are PARAM_INVALID', async () => {
      const pair = await pullPair(h);
      expectStatus(h.b.LlmDataDist_PullKvBlocks(pair.client.handle, pair.srcIndex, pair.dstCache, blocks(), blocks()), 'LLM_PARAM_INVALID');
    });

    it('block lists of different lengths are PARAM_INVALID', async () => {
      const pair = await pullPair(h);
      expectStatus(h.b.LlmDataDist_PullKvBlocks(pair.client.handle, pair.srcIndex, pair.dstCache, blocks(1, 2), blocks(1)), 'LLM_PARAM_INVALID');
      expect(unchanged(pair.dst)).toBe(true);
    });

    it('a dst block at or past the local block count is PARAM_INVALID', async () => {
      const pair = await pullPair(h);
      expectStatus(h.b.LlmDataDist_PullKvBlocks(pair.client.handle, pair.srcIndex, pair.dstCache, blocks(0, 1), blocks(0, 8)), 'LLM_PARAM_INVALID');
      expect(unchanged(pair.dst)).toBe(true);
    });

    it('a src block at or past the remote block count is PARAM_INVALID', async () => {
      const pair = await pullPair(h, { tensors: 2, rows: 4, rowElements: 16 }, { tensors: 2, rows: 8, rowElements: 16 });
      expectStatus(h.b.LlmDataDist_PullKvBlocks(pair.client.handle, pair.srcIndex, pair.dstCache, blocks(4), blocks(0)), 'LLM_PARAM_INVALID');
      expect(unchanged(pair.dst)).toBe(true);
    });

    it('a merged run longer than the remote tensor is PARAM_INVALID', async () => {
      const pair = await pullPair(h, { tensors: 1, rows: 3, rowElements: 16 }, { tensors: 1, rows: 4, rowElements: 16 });
      expectStatus(h.b.LlmDataDist_PullKvBlocks(pair.client.handle, pair.srcIndex, pair.dstCache, blocks(0, 1, 2, 3), blocks(0, 1, 2, 3)), 'LLM_PARAM_INVALID');
      expect(unchanged(pair.dst)).toBe(true);
    });

    it('remote blocks are checked per merged run: a run that starts past the end is PARAM_INVALID', async () => {
      // One 512-byte buffer on the server, registered twice: cache A is its first 4 blocks, cache B
      // all 8, so a run of A that starts inside A and runs on stays inside registered memory.
      const server = await h.server();
      const client = h.client();
      const shared = new Uint8Array(512).map((_byte, i) => (i * 5 + 3) & 0xff);
      const address = h.b.addressOf(shared);
      const desc = (rows: number) =>
        makeCacheDesc({ placement: CachePlacement.kHost, num_tensors: 1, data_type: DataType.DT_INT32, shape: BigInt64Array.from([BigInt(rows), 16n]) });
      const a = h.b.LlmDataDist_RegisterKvCache(server.handle, desc(4), BigUint64Array.from([address]));
      expectStatus(a.status, 'LLM_SUCCESS');
      expectStatus(h.b.LlmDataDist_RegisterKvCache(server.handle, desc(8), BigUint64Array.from([address])).status, 'LLM_SUCCESS');
      const dst = h.memory({ tensors: 1, rows: 4, rowElements: 16 }, 2);
      const dstCache = makeCache({ cache_id: h.register(client, dst) });
      h.link(client, server);
      const index = makeCacheIndex({ cluster_id: server.clusterId, cache_id: a.cache_id });

      // {3,4} → {2,0} is two runs (dst does not go up by one); the second starts at block 4 of 4.
      expectStatus(h.b.LlmDataDist_PullKvBlocks(client.handle, index, dstCache, blocks(3, 4), blocks(2, 0)), 'LLM_PARAM_INVALID');
      expect(unchanged(dst)).toBe(true);
      // {3,4} → {0,1} is one run starting at block 3. V2 checks only where a run starts and copies
      // on into the next registered bytes; the host backend keeps runs inside the tensor and
      // refuses. Either answer is allowed, nothing else: no other status, no partial write.
      const status = h.b.LlmDataDist_PullKvBlocks(client.handle, index, dstCache, blocks(3, 4), blocks(0, 1));
      if (statusName(status) === 'LLM_SUCCESS') {
        expectBytes(rowOf(dst, 0, 0, 2), shared.subarray(192, 320), 'run {3,4} → {0,1}');
        expectBytes(rowOf(dst, 0, 2, 2), initialRowOf(dst, 0, 2, 2), 'blocks 2..3 untouched');
      } else {
        expectStatus(status, 'LLM_PARAM_INVALID');
        expect(unchanged(dst)).toBe(true);
      }
    });

    it('the link and cache checks match PullKvCache', async () => {
      const pair = await pullPair(h);
      const pull = (index = pair.srcIndex, cache = pair.dstCache) => h.b.LlmDataDist_PullKvBlocks(pair.client.handle, index, cache, blocks(0), blocks(0));
      expectStatus(pull({ ...pair.srcIndex, cluster_id: pair.client.clusterId }), 'LLM_PARAM_INVALID');
      expectStatus(pull(pair.srcIndex, makeCache({ cache_id: 99n })), 'LLM_KV_CACHE_NOT_EXIST');
      expectStatus(pull({ ...pair.srcIndex, cluster_id: pair.server.clusterId + 1000n }), 'LLM_NOT_YET_LINK');
      expectStatus(pull({ ...pair.srcIndex, cache_id: 42n }), 'LLM_KV_CACHE_NOT_EXIST');
    });

    it('checks the local side before the link', async () => {
      const server = await h.server();
      const client = h.client();
      const dstId = h.register(client, h.memory({ tensors: 1, rows: 2, rowElements: 4 }, 2));
      const index = makeCacheIndex({ cluster_id: server.clusterId, cache_id: 1n });
      expectStatus(h.b.LlmDataDist_PullKvBlocks(client.handle, index, makeCache({ cache_id: 50n }), blocks(0), blocks(0)), 'LLM_KV_CACHE_NOT_EXIST');
      expectStatus(h.b.LlmDataDist_PullKvBlocks(client.handle, index, makeCache({ cache_id: dstId }), blocks(0), blocks(2)), 'LLM_PARAM_INVALID');
      expectStatus(h.b.LlmDataDist_PullKvBlocks(client.handle, index, makeCache({ cache_id: dstId }), blocks(0), blocks(1)), 'LLM_NOT_YET_LINK');
    });
  });
}
