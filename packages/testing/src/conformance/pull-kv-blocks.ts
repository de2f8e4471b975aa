import { CachePlacement, DataType, makeCache, makeCacheDesc, makeCacheIndex, makeKvCacheExtParam } from '@dd/sys';
import { describe, expect, it } from 'vitest';
import { pullPair, unchanged, type PullPair } from './fixtures.js';
import { blocks, expectBytes, expectStatus, initialRowOf, rowOf, type Harness } from './harness.js';

/** Every dst tensor got src block s at block d for each pair; all other dst blocks are untouched. */
function expectBlocksCopied(pair: PullPair, pairs: readonly [number, number][], tensors: readonly [number, number][] | null = null): void {
  const rows = pair.dst.tensors[0]!.length / pair.dst.stride;
  const tensorPairs = tensors ?? pair.dst.tensors.map((_tensor, t): [number, number] => [t, t]);
  pair.dst.tensors.forEach((_tensor, dstTensor) => {
    const srcTensor = tensorPairs.find(([, d]) => d === dstTensor)?.[0];
    for (let row = 0; row < rows; row += 1) {
      // With duplicate dst blocks the last pair wins, as the copies run in order.
      const source = srcTensor === undefined ? undefined : pairs.findLast(([, d]) => d === row)?.[0];
      const expected = source === undefined ? initialRowOf(pair.dst, dstTensor, row) : initialRowOf(pair.src, srcTensor as number, source);
      expectBytes(rowOf(pair.dst, dstTensor, row), expected, `dst tensor ${dstTensor} block ${row}`);
    }
  });
  expect(unchanged(pair.src)).toBe(true);
}

export function describePullKvBlocks(h: Harness): void {
  describe('PullKvBlocks', () => {
    const pull = (pair: PullPair, src: number[], dst: number[], ext = makeKvCacheExtParam()) =>
      h.b.LlmDataDist_PullKvBlocks(pair.client.handle, pair.srcIndex, pair.dstCache, blocks(...src), blocks(...dst), ext);

    it('B §3.8: copies the listed blocks of every tensor (upstream {1,2,3} → {1,2,3})', async () => {
      const pair = await pullPair(h);
      expectStatus(pull(pair, [1, 2, 3], [1, 2, 3]), 'LLM_SUCCESS');
      expectBlocksCopied(pair, [[1, 1], [2, 2], [3, 3]]);
    });

    it('B §3.8: index order is free: {0,1,2,3} → {3,2,1,0}', async () => {
      const pair = await pullPair(h);
      expectStatus(pull(pair, [0, 1, 2, 3], [3, 2, 1, 0]), 'LLM_SUCCESS');
      expectBlocksCopied(pair, [[0, 3], [1, 2], [2, 1], [3, 0]]);
    });

    it('B §3.8: the async twin copies the same bytes, scattered blocks included', async () => {
      const pair = await pullPair(h);
      const status = await h.b.LlmDataDist_PullKvBlocksAsync(pair.client.handle, pair.srcIndex, pair.dstCache, blocks(7, 0, 4, 5), blocks(2, 6, 3, 4));
      expectStatus(status, 'LLM_SUCCESS');
      expectBlocksCopied(pair, [[7, 2], [0, 6], [4, 3], [5, 4]]);
    });

    it('B §3.6: rows = shape[0], stride = tensor bytes / rows, block b of tensor t at addr[t] + b·stride', async () => {
      // DT_INT16 [4, 3, 2]: 48 bytes per tensor, 4 blocks of 12 bytes.
      const server = await h.server();
      const client = h.client();
      const shape = makeCacheDesc({ placement: CachePlacement.kHost, num_tensors: 2, data_type: DataType.DT_INT16, shape: BigInt64Array.of(4n, 3n, 2n) });
      const src = [Uint8Array.from({ length: 48 }, (_x, i) => i + 1), Uint8Array.from({ length: 48 }, (_x, i) => 101 + i)];
      const dst = [new Uint8Array(48), new Uint8Array(48)];
      const srcId = h.b.LlmDataDist_RegisterKvCache(server.handle, shape, BigUint64Array.from(src.map((t) => h.b.addressOf(t)))).cache_id;
      const dstId = h.b.LlmDataDist_RegisterKvCache(client.handle, shape, BigUint64Array.from(dst.map((t) => h.b.addressOf(t)))).cache_id;
      h.link(client, server);
      const index = makeCacheIndex({ cluster_id: server.clusterId, cache_id: srcId });
      expectStatus(h.b.LlmDataDist_PullKvBlocks(client.handle, index, makeCache({ cache_id: dstId }), blocks(3), blocks(1)), 'LLM_SUCCESS');
      dst.forEach((tensor, t) => {
        const expected = new Uint8Array(48);
        expected.set((src[t] as Uint8Array).subarray(36, 48), 12);
        expectBytes(tensor, expected, `tensor ${t}`);
      });
    });

    it('B §3.8: duplicate dst blocks are accepted; the copies run in list order', async () => {
      const pair = await pullPair(h);
      expectStatus(pull(pair, [1, 6, 2], [4, 4, 5]), 'LLM_SUCCESS');
      expectBlocksCopied(pair, [[1, 4], [6, 4], [2, 5]]);
    });

    it('B §3.8: a layer range selects the tensors: T=1, layer 1 → layer 0', async () => {
      const pair = await pullPair(h);
      const ext = makeKvCacheExtParam({ src_layer_range: [1, 1], dst_layer_range: [0, 0], tensor_num_per_layer: 1 });
      expectStatus(pull(pair, [2], [5], ext), 'LLM_SUCCESS');
      expectBlocksCopied(pair, [[2, 5]], [[1, 0]]);
    });

    it('A18: src batch_index other than 0, empty lists and lists of different lengths are PARAM_INVALID', async () => {
      const pair = await pullPair(h);
      expectStatus(h.b.LlmDataDist_PullKvBlocks(pair.client.handle, { ...pair.srcIndex, batch_index: 1 }, pair.dstCache, blocks(1), blocks(1)), 'LLM_PARAM_INVALID');
      expectStatus(pull(pair, [], []), 'LLM_PARAM_INVALID');
      expectStatus(pull(pair, [1, 2], [1]), 'LLM_PARAM_INVALID');
      expect(unchanged(pair.dst)).toBe(true);
    });

    it('A18: a dst run whose first or last block is at or past the local block count is PARAM_INVALID', async () => {
      const pair = await pullPair(h);
      expectStatus(pull(pair, [0, 1], [0, 8]), 'LLM_PARAM_INVALID');
      expectStatus(pull(pair, [0, 1, 2], [6, 7, 8]), 'LLM_PARAM_INVALID');
      expect(unchanged(pair.dst)).toBe(true);
    });

    it('A18: a src run that starts at or past the remote block count is PARAM_INVALID', async () => {
      const pair = await pullPair(h, { tensors: 2, rows: 4, rowElements: 16 }, { tensors: 2, rows: 8, rowElements: 16 });
      expectStatus(pull(pair, [4], [0]), 'LLM_PARAM_INVALID');
      expect(unchanged(pair.dst)).toBe(true);
    });

    it('A18: a merged run longer than the remote tensor is PARAM_INVALID', async () => {
      const pair = await pullPair(h, { tensors: 1, rows: 3, rowElements: 16 }, { tensors: 1, rows: 4, rowElements: 16 });
      expectStatus(pull(pair, [0, 1, 2, 3], [0, 1, 2, 3]), 'LLM_PARAM_INVALID');
      expect(unchanged(pair.dst)).toBe(true);
    });

    it('A18: the checks run in V2\'s order: batch, ext, lists, own cluster, local cache, layers, link, then the dst blocks', async () => {
      const server = await h.server();
      const client = h.client();
      const dstId = h.register(client, h.memory({ tensors: 3, rows: 2, rowElements: 4 }, 2));
      const index = makeCacheIndex({ cluster_id: server.clusterId, cache_id: 1n });
      const present = makeCache({ cache_id: dstId });
      const layers = makeKvCacheExtParam({ src_layer_range: [0, 0], dst_layer_range: [0, 0], tensor_num_per_layer: 2 });
      const pull2 = (src: typeof index, cache: typeof present, s: number[], d: number[], ext = makeKvCacheExtParam()) =>
        h.b.LlmDataDist_PullKvBlocks(client.handle, src, cache, blocks(...s), blocks(...d), ext);
      expectStatus(pull2({ ...index, batch_index: 1 }, makeCache({ cache_id: 50n }), [], []), 'LLM_PARAM_INVALID');
      expectStatus(pull2({ ...index, cluster_id: client.clusterId }, makeCache({ cache_id: 50n }), [0], [0]), 'LLM_PARAM_INVALID');
      expectStatus(pull2(index, makeCache({ cache_id: 50n }), [0], [9]), 'LLM_KV_CACHE_NOT_EXIST'); // local cache before the dst blocks
      expectStatus(pull2(index, present, [0], [9], layers), 'LLM_PARAM_INVALID'); // 3 tensors, T=2: layers before the link
      expectStatus(pull2(index, present, [0], [9]), 'LLM_NOT_YET_LINK'); // the link before the dst blocks
    });

    it('A6: a pull request holds at most 131064 tensors + 2·runs entries: 65531 runs of 1 tensor fit, 65532 are PARAM_INVALID', async () => {
      const pair = await pullPair(h, { tensors: 1, rows: 2, rowElements: 1 });
      const zeros = (n: number) => new BigUint64Array(n);
      expectStatus(h.b.LlmDataDist_PullKvBlocks(pair.client.handle, pair.srcIndex, pair.dstCache, zeros(65532), zeros(65532)), 'LLM_PARAM_INVALID');
      expect(unchanged(pair.dst)).toBe(true);
      expectStatus(h.b.LlmDataDist_PullKvBlocks(pair.client.handle, pair.srcIndex, pair.dstCache, zeros(65531), zeros(65531)), 'LLM_SUCCESS');
      expectBytes(rowOf(pair.dst, 0, 0), initialRowOf(pair.src, 0, 0), 'block 0');
    });

    h.deviation('D2: a merged run that starts inside the remote tensor and runs past its end is PARAM_INVALID, nothing written', async () => {
      // One 512-byte buffer on the server, registered twice: cache A is its first 4 blocks, cache B
      // all 8, so V2 would read on past A into B's registered bytes.
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
      expectStatus(h.b.LlmDataDist_PullKvBlocks(client.handle, index, dstCache, blocks(3, 4), blocks(0, 1)), 'LLM_PARAM_INVALID');
      expectStatus(h.b.LlmDataDist_PullKvBlocks(client.handle, index, dstCache, blocks(3, 4), blocks(2, 0)), 'LLM_PARAM_INVALID');
      expect(unchanged(dst)).toBe(true);
    });

    h.deviation('D15: a run is copied whole even where the tensor size is not a whole number of blocks', async () => {
      // DT_INT4 [2, 5]: 5 bytes per tensor, rows of 2 bytes; V2 would copy only 5 % 2 = 1 byte of the last run.
      const server = await h.server();
      const client = h.client();
      const int4 = makeCacheDesc({ placement: CachePlacement.kHost, num_tensors: 1, data_type: DataType.DT_INT4, shape: BigInt64Array.of(2n, 5n) });
      const src = Uint8Array.of(11, 12, 13, 14, 15);
      const dst = Uint8Array.of(1, 2, 3, 4, 5);
      const srcId = h.b.LlmDataDist_RegisterKvCache(server.handle, int4, BigUint64Array.of(h.b.addressOf(src))).cache_id;
      const dstId = h.b.LlmDataDist_RegisterKvCache(client.handle, int4, BigUint64Array.of(h.b.addressOf(dst))).cache_id;
      h.link(client, server);
      const index = makeCacheIndex({ cluster_id: server.clusterId, cache_id: srcId });
      expectStatus(h.b.LlmDataDist_PullKvBlocks(client.handle, index, makeCache({ cache_id: dstId }), blocks(0, 1), blocks(0, 1)), 'LLM_SUCCESS');
      expect([...dst]).toEqual([11, 12, 13, 14, 5]);
    });
  });
}
