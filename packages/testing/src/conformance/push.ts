import { CachePlacement, makeCacheIndex, makeKvCacheExtParam, type Cache, type KvCacheExtParam } from '@dd/sys';
import { describe, expect, it } from 'vitest';
import { pushPair, unchanged, type PushPair } from './fixtures.js';
import { blocks, expectBytes, expectStatus, initialRowOf, rowOf, type Harness, type KvShape } from './harness.js';

type Move = readonly [srcTensor: number, srcRow: number, dstTensor: number, dstRow: number];

/** dst tensor rows listed in `moves` hold the src rows; nothing else changed on either side. */
export function expectPushed(pair: PushPair, moves: readonly Move[]): void {
  const rows = pair.dst.tensors[0]!.length / pair.dst.stride;
  pair.dst.tensors.forEach((_tensor, t) => {
    for (let row = 0; row < rows; row += 1) {
      const move = moves.findLast(([, , dt, dr]) => dt === t && dr === row);
      const expected = move === undefined ? initialRowOf(pair.dst, t, row) : initialRowOf(pair.src, move[0], move[1]);
      expectBytes(rowOf(pair.dst, t, row), expected, `remote tensor ${t} row ${row}`);
    }
  });
  expect(unchanged(pair.src)).toBe(true);
}

export const everyTensor = (tensors: number, srcRow: number, dstRow: number): Move[] => Array.from({ length: tensors }, (_x, t): Move => [t, srcRow, t, dstRow]);

/** Rows of whole layers: local layer `src` → remote layer `dst`, T tensors each. */
export const layerMoves = (perLayer: number, src: number, dst: number, srcRow: number, dstRow: number): Move[] =>
  Array.from({ length: perLayer }, (_x, k): Move => [src * perLayer + k, srcRow, dst * perLayer + k, dstRow]);

function ext(src: readonly [number, number], dst: readonly [number, number], perLayer = 2): KvCacheExtParam {
  return makeKvCacheExtParam({ src_layer_range: src, dst_layer_range: dst, tensor_num_per_layer: perLayer });
}

export function describePush(h: Harness): void {
  const pushCache = (pair: PushPair, srcBatch: number, dstBatch: number, param = makeKvCacheExtParam(), cache: Cache = pair.srcCache) =>
    h.b.LlmDataDist_PushKvCache(pair.client.handle, cache, { ...pair.dstIndex, batch_index: dstBatch }, srcBatch, -1n, param);
  const pushBlocks = (pair: PushPair, src: number[], dst: number[], param = makeKvCacheExtParam(), cache: Cache = pair.srcCache) =>
    h.b.LlmDataDist_PushKvBlocks(pair.client.handle, cache, pair.dstIndex, blocks(...src), blocks(...dst), param);
  const declaring = (pair: PushPair, tensors: number): Cache => ({ ...pair.srcCache, cache_desc: { ...pair.srcCache.cache_desc, num_tensors: tensors } });

  describe('PushKvCache / PushKvBlocks', () => {
    it('B §3.9: PushKvBlocks layer by layer with T=1 (upstream push example)', async () => {
      const pair = await pushPair(h);
      for (let layer = 0; layer < 4; layer += 1) {
        expectStatus(pushBlocks(pair, [5, 6, 7], [5, 6, 7], ext([layer, layer], [layer, layer], 1)), 'LLM_SUCCESS');
      }
      expectPushed(pair, [5, 6, 7].flatMap((row) => everyTensor(4, row, row)));
    });

    it('B §3.9: PushKvCache of layer 0 with T=4 from batch 4 to batch 4 (upstream push example)', async () => {
      const pair = await pushPair(h);
      expectStatus(pushCache(pair, 4, 4, ext([0, 0], [0, 0], 4)), 'LLM_SUCCESS');
      expectPushed(pair, everyTensor(4, 4, 4));
    });

    it('B §3.9: the async twins push the same bytes', async () => {
      const pair = await pushPair(h);
      expectStatus(await h.b.LlmDataDist_PushKvCacheAsync(pair.client.handle, pair.srcCache, { ...pair.dstIndex, batch_index: 0 }, 7), 'LLM_SUCCESS');
      expectStatus(await h.b.LlmDataDist_PushKvBlocksAsync(pair.client.handle, pair.srcCache, pair.dstIndex, blocks(2), blocks(5)), 'LLM_SUCCESS');
      expectPushed(pair, [...everyTensor(4, 7, 0), ...everyTensor(4, 2, 5)]);
    });

    it('B §3.9: a layer range maps src layers onto dst layers (T=2, layer 1 → layer 0)', async () => {
      const pair = await pushPair(h);
      expectStatus(pushBlocks(pair, [3], [6], ext([1, 1], [0, 0])), 'LLM_SUCCESS');
      expectPushed(pair, layerMoves(2, 1, 0, 3, 6));
    });

    it('B §3.9: the placement checked is the caller\'s description, not the registered one', async () => {
      const pair = await pushPair(h, { tensors: 2, rows: 4, rowElements: 4, placement: CachePlacement.kHost });
      const host: Cache = { ...pair.srcCache, cache_desc: { ...pair.srcCache.cache_desc, placement: CachePlacement.kHost } };
      expectStatus(pushCache(pair, 0, 0, makeKvCacheExtParam(), host), 'LLM_PARAM_INVALID');
      expectStatus(pushBlocks(pair, [0], [0], makeKvCacheExtParam(), host), 'LLM_PARAM_INVALID');
      expect(unchanged(pair.dst)).toBe(true);
      const device: Cache = { ...pair.srcCache, cache_desc: { ...pair.srcCache.cache_desc, placement: CachePlacement.kDevice } };
      expectStatus(pushBlocks(pair, [1], [2], makeKvCacheExtParam(), device), 'LLM_SUCCESS');
      expectPushed(pair, everyTensor(2, 1, 2));
    });

    it('B §3.9: PushKvCache takes only size -1', async () => {
      const pair = await pushPair(h);
      expectStatus(h.b.LlmDataDist_PushKvCache(pair.client.handle, pair.srcCache, pair.dstIndex, 0, BigInt(pair.src.stride)), 'LLM_PARAM_INVALID');
      expect(unchanged(pair.dst)).toBe(true);
    });

    it('B §3.9: PushKvBlocks with empty or unequal lists, or dst batch_index ≠ 0, is PARAM_INVALID', async () => {
      const pair = await pushPair(h);
      expectStatus(pushBlocks(pair, [], []), 'LLM_PARAM_INVALID');
      expectStatus(pushBlocks(pair, [1, 2], [1]), 'LLM_PARAM_INVALID');
      expectStatus(h.b.LlmDataDist_PushKvBlocks(pair.client.handle, pair.srcCache, { ...pair.dstIndex, batch_index: 1 }, blocks(1), blocks(1)), 'LLM_PARAM_INVALID');
      expect(unchanged(pair.dst)).toBe(true);
    });

    it('B §3.9: ranges of different lengths and an invalid ext_param are PARAM_INVALID', async () => {
      const pair = await pushPair(h);
      expectStatus(pushBlocks(pair, [0], [0], ext([0, 1], [0, 0])), 'LLM_PARAM_INVALID');
      expectStatus(pushCache(pair, 0, 0, ext([0, 1], [0, 0])), 'LLM_PARAM_INVALID');
      expectStatus(pushCache(pair, 0, 0, ext([-2, 0], [-2, 0])), 'LLM_PARAM_INVALID');
      expect(unchanged(pair.dst)).toBe(true);
    });

    it('B §3.9: with src.first = -1 the caller must fill in num_tensors; a src range makes it unnecessary', async () => {
      const pair = await pushPair(h);
      const bare = declaring(pair, 0);
      expectStatus(pushCache(pair, 0, 0, makeKvCacheExtParam(), bare), 'LLM_PARAM_INVALID');
      expectStatus(pushBlocks(pair, [0], [0], makeKvCacheExtParam(), bare), 'LLM_PARAM_INVALID');
      expectStatus(pushBlocks(pair, [1], [1], ext([0, 1], [0, 1]), bare), 'LLM_SUCCESS');
      expectPushed(pair, everyTensor(4, 1, 1));
    });

    it('A2: the default range pushes every layer of num_tensors, dst layer = src layer', async () => {
      const pair = await pushPair(h);
      expectStatus(pushCache(pair, 1, 2), 'LLM_SUCCESS');
      expectPushed(pair, everyTensor(4, 1, 2));
    });

    it('A2: dst_layer_range is ignored while src.first is -1', async () => {
      const pair = await pushPair(h);
      expectStatus(pushBlocks(pair, [2], [3], ext([-1, 0], [7, 8])), 'LLM_SUCCESS');
      expectPushed(pair, everyTensor(4, 2, 3));
    });

    it.each([
      ['5 tensors, T=2 (the remainder layer never moves data)', { tensors: 5, rows: 4, rowElements: 4 }, 2],
      ['2 tensors, T=4 (fewer tensors than one layer)', { tensors: 2, rows: 4, rowElements: 4 }, 4],
    ] as const)('A2: %s: the first layer fails, PARAM_INVALID with nothing written', async (_name, shape: KvShape, perLayer) => {
      const pair = await pushPair(h, shape);
      expectStatus(pushBlocks(pair, [0], [1], makeKvCacheExtParam({ tensor_num_per_layer: perLayer })), 'LLM_PARAM_INVALID');
      expectStatus(pushCache(pair, 0, 1, makeKvCacheExtParam({ tensor_num_per_layer: perLayer })), 'LLM_PARAM_INVALID');
      expect(unchanged(pair.dst)).toBe(true);
    });

    it('A2: num_tensors smaller than registered pushes only its own layers: SUCCESS', async () => {
      const pair = await pushPair(h);
      expectStatus(pushBlocks(pair, [3], [4], makeKvCacheExtParam(), declaring(pair, 2)), 'LLM_SUCCESS');
      expectPushed(pair, layerMoves(2, 0, 0, 3, 4));
    });

    it('A2/A3: num_tensors larger than registered writes the real layers, then the next one fails: PARAM_INVALID after a partial push', async () => {
      const pair = await pushPair(h);
      expectStatus(pushBlocks(pair, [3], [4], makeKvCacheExtParam(), declaring(pair, 6)), 'LLM_PARAM_INVALID');
      expectPushed(pair, everyTensor(4, 3, 4));
    });

    it('A2/B §3.9: src.first ≥ 0 with dst.first = -1 fails at the first layer: PARAM_INVALID, nothing written', async () => {
      const pair = await pushPair(h);
      expectStatus(pushBlocks(pair, [0], [0], ext([0, 0], [-1, -1])), 'LLM_PARAM_INVALID');
      expect(unchanged(pair.dst)).toBe(true);
    });

    it('A3 (UT): {4,5} → {0,1} on 10 tensors, T=2, writes layer 4 into layer 0, then fails on layer 5', async () => {
      const pair = await pushPair(h, { tensors: 10, rows: 2, rowElements: 4 });
      expectStatus(pushBlocks(pair, [1], [0], ext([4, 5], [0, 1])), 'LLM_PARAM_INVALID');
      expectPushed(pair, layerMoves(2, 4, 0, 1, 0));
    });

    it('A3 (UT): {0,1} → {4,5} on 10 tensors, T=2, writes layer 0 into layer 4, then fails on remote layer 5', async () => {
      const pair = await pushPair(h, { tensors: 10, rows: 2, rowElements: 4 });
      expectStatus(pushCache(pair, 1, 1, ext([0, 1], [4, 5])), 'LLM_PARAM_INVALID');
      expectPushed(pair, layerMoves(2, 0, 4, 1, 1));
    });

    it('A3: each layer checks the local cache, the link and the remote cache before its layer and row checks', async () => {
      const pair = await pushPair(h);
      const bad = ext([9, 9], [9, 9]);
      expectStatus(pushCache(pair, 0, 0, bad, { ...pair.srcCache, cache_id: 99n }), 'LLM_KV_CACHE_NOT_EXIST');
      expectStatus(h.b.LlmDataDist_PushKvCache(pair.client.handle, pair.srcCache, makeCacheIndex({ cluster_id: pair.server.clusterId + 1000n, cache_id: 77n }), 0, -1n, bad), 'LLM_NOT_YET_LINK');
      expectStatus(h.b.LlmDataDist_PushKvCache(pair.client.handle, pair.srcCache, { ...pair.dstIndex, cache_id: 42n }, 0, -1n, bad), 'LLM_KV_CACHE_NOT_EXIST');
      expectStatus(h.b.LlmDataDist_PushKvCache(pair.client.handle, pair.srcCache, { ...pair.dstIndex, cache_id: 0n }), 'LLM_KV_CACHE_NOT_EXIST');
      expectStatus(pushCache(pair, 0, 0, bad), 'LLM_PARAM_INVALID');
      expect(unchanged(pair.dst)).toBe(true);
    });

    it('A3: the remote row, the local layer and the local rows are checked per layer: PARAM_INVALID, nothing written', async () => {
      const pair = await pushPair(h);
      expectStatus(pushCache(pair, 0, 8), 'LLM_PARAM_INVALID'); // dst batch_index past the remote rows
      expectStatus(pushCache(pair, 8, 0), 'LLM_PARAM_INVALID'); // src_batch_index past the local rows
      expectStatus(pushBlocks(pair, [0, 1], [6, 8]), 'LLM_PARAM_INVALID'); // largest dst block past the remote rows
      expectStatus(pushBlocks(pair, [6, 7, 8], [0, 1, 2]), 'LLM_PARAM_INVALID'); // a src run past the local rows
      expectStatus(pushBlocks(pair, [0], [0], ext([2, 2], [0, 0])), 'LLM_PARAM_INVALID'); // local layer 2 of 2
      expect(unchanged(pair.dst)).toBe(true);
    });

    it('A4: PushKvBlocks copies merged runs and accepts duplicate blocks, in list order', async () => {
      const pair = await pushPair(h);
      expectStatus(pushBlocks(pair, [0, 1, 2, 6, 5, 3], [4, 5, 6, 0, 0, 7]), 'LLM_SUCCESS');
      expectPushed(pair, [0, 1, 2, 6, 5, 3].flatMap((src, i) => everyTensor(4, src, [4, 5, 6, 0, 0, 7][i] as number)));
    });

    h.deviation('D1: a push between caches whose rows differ in size is PARAM_INVALID with nothing written', async () => {
      const pair = await pushPair(h, { tensors: 2, rows: 8, rowElements: 16 }, { tensors: 2, rows: 8, rowElements: 32 });
      expectStatus(pushCache(pair, 0, 0), 'LLM_PARAM_INVALID');
      expectStatus(pushBlocks(pair, [0], [0]), 'LLM_PARAM_INVALID');
      expect(unchanged(pair.dst)).toBe(true);
    });

    it('B §3.9: a push needs a link from the pusher: NOT_YET_LINK to an unknown cluster', async () => {
      const pair = await pushPair(h);
      const unknown = makeCacheIndex({ cluster_id: pair.server.clusterId + 1000n, cache_id: 1n });
      expectStatus(h.b.LlmDataDist_PushKvBlocks(pair.client.handle, pair.srcCache, unknown, blocks(0), blocks(0)), 'LLM_NOT_YET_LINK');
    });
  });
}
