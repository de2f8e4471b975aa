import { CachePlacement, makeCacheIndex, makeKvCacheExtParam, type Cache } from '@dd/sys';
import { describe, expect, it } from 'vitest';
import { pushPair, unchanged, type PushPair } from './fixtures.js';
import { blocks, expectBytes, expectNotSuccess, expectStatus, initialRowOf, rowOf, type Harness, type KvShape } from './harness.js';

/** dst tensor rows listed in `moves` ([srcTensor, srcRow, dstTensor, dstRow]) changed; nothing else did. */
function expectPushed(pair: PushPair, moves: readonly [number, number, number, number][]): void {
  const rows = pair.dst.tensors[0]!.length / pair.dst.stride;
  pair.dst.tensors.forEach((_tensor, t) => {
    for (let row = 0; row < rows; row += 1) {
      const move = moves.find(([, , dt, dr]) => dt === t && dr === row);
      const expected = move === undefined ? initialRowOf(pair.dst, t, row) : initialRowOf(pair.src, move[0], move[1]);
      expectBytes(rowOf(pair.dst, t, row), expected, `remote tensor ${t} row ${row}`);
    }
  });
  expect(unchanged(pair.src)).toBe(true);
}

const everyTensor = (tensors: number, srcRow: number, dstRow: number): [number, number, number, number][] =>
  Array.from({ length: tensors }, (_x, t): [number, number, number, number] => [t, srcRow, t, dstRow]);

export function describePush(h: Harness): void {
  describe('PushKvCache / PushKvBlocks (facts §3.9)', () => {
    it('PushKvBlocks layer by layer with T=1 (upstream push example)', async () => {
      const pair = await pushPair(h);
      for (let layer = 0; layer < 4; layer += 1) {
        const ext = makeKvCacheExtParam({ src_layer_range: [layer, layer], dst_layer_range: [layer, layer], tensor_num_per_layer: 1 });
        expectStatus(h.b.LlmDataDist_PushKvBlocks(pair.client.handle, pair.srcCache, pair.dstIndex, blocks(5, 6, 7), blocks(5, 6, 7), ext), 'LLM_SUCCESS');
      }
      expectPushed(pair, [5, 6, 7].flatMap((row) => everyTensor(4, row, row)));
    });

    it('PushKvCache of layer 0 with T=4 from batch 4 to batch 4 (upstream push example)', async () => {
      const pair = await pushPair(h);
      const ext = makeKvCacheExtParam({ src_layer_range: [0, 0], dst_layer_range: [0, 0], tensor_num_per_layer: 4 });
      expectStatus(h.b.LlmDataDist_PushKvCache(pair.client.handle, pair.srcCache, { ...pair.dstIndex, batch_index: 4 }, 4, -1n, ext), 'LLM_SUCCESS');
      expectPushed(pair, everyTensor(4, 4, 4));
    });

    it('the default range pushes every layer when num_tensors is filled in', async () => {
      const pair = await pushPair(h);
      expectStatus(h.b.LlmDataDist_PushKvCache(pair.client.handle, pair.srcCache, { ...pair.dstIndex, batch_index: 2 }, 1), 'LLM_SUCCESS');
      expectPushed(pair, everyTensor(4, 1, 2));
    });

    it('a remainder of tensors is one more layer (5 tensors, T=2)', async () => {
      const shape: KvShape = { tensors: 5, rows: 4, rowElements: 8 };
      const pair = await pushPair(h, shape);
      expectStatus(h.b.LlmDataDist_PushKvBlocks(pair.client.handle, pair.srcCache, pair.dstIndex, blocks(0, 1), blocks(2, 3)), 'LLM_SUCCESS');
      expectPushed(pair, [...everyTensor(5, 0, 2), ...everyTensor(5, 1, 3)]);
    });

    it('a layer range maps src layers onto dst layers (T=2, layer 1 → layer 0)', async () => {
      const pair = await pushPair(h);
      const ext = makeKvCacheExtParam({ src_layer_range: [1, 1], dst_layer_range: [0, 0] });
      expectStatus(h.b.LlmDataDist_PushKvBlocks(pair.client.handle, pair.srcCache, pair.dstIndex, blocks(3), blocks(6), ext), 'LLM_SUCCESS');
      expectPushed(pair, [[2, 3, 0, 6], [3, 3, 1, 6]]);
    });

    it('the async twins push the same bytes', async () => {
      const pair = await pushPair(h);
      expectStatus(await h.b.LlmDataDist_PushKvCacheAsync(pair.client.handle, pair.srcCache, { ...pair.dstIndex, batch_index: 0 }, 7), 'LLM_SUCCESS');
      expectStatus(await h.b.LlmDataDist_PushKvBlocksAsync(pair.client.handle, pair.srcCache, pair.dstIndex, blocks(2), blocks(5)), 'LLM_SUCCESS');
      expectPushed(pair, [...everyTensor(4, 7, 0), ...everyTensor(4, 2, 5)]);
    });

    it('the default range with num_tensors left at 0 is PARAM_INVALID', async () => {
      const pair = await pushPair(h);
      const bare: Cache = { ...pair.srcCache, cache_desc: { ...pair.srcCache.cache_desc, num_tensors: 0 } };
      expectStatus(h.b.LlmDataDist_PushKvCache(pair.client.handle, bare, pair.dstIndex), 'LLM_PARAM_INVALID');
      expectStatus(h.b.LlmDataDist_PushKvBlocks(pair.client.handle, bare, pair.dstIndex, blocks(0), blocks(0)), 'LLM_PARAM_INVALID');
      // A src layer range makes num_tensors unnecessary.
      const ext = makeKvCacheExtParam({ src_layer_range: [0, 1], dst_layer_range: [0, 1] });
      expectStatus(h.b.LlmDataDist_PushKvBlocks(pair.client.handle, bare, pair.dstIndex, blocks(1), blocks(1), ext), 'LLM_SUCCESS');
      expectPushed(pair, everyTensor(4, 1, 1));
    });

    it('a source described with kHost placement is PARAM_INVALID', async () => {
      const pair = await pushPair(h);
      const host: Cache = { ...pair.srcCache, cache_desc: { ...pair.srcCache.cache_desc, placement: CachePlacement.kHost } };
      expectStatus(h.b.LlmDataDist_PushKvCache(pair.client.handle, host, pair.dstIndex), 'LLM_PARAM_INVALID');
      expectStatus(h.b.LlmDataDist_PushKvBlocks(pair.client.handle, host, pair.dstIndex, blocks(0), blocks(0)), 'LLM_PARAM_INVALID');
      expect(unchanged(pair.dst)).toBe(true);
    });

    it('PushKvCache with size other than -1 is PARAM_INVALID', async () => {
      const pair = await pushPair(h);
      expectStatus(h.b.LlmDataDist_PushKvCache(pair.client.handle, pair.srcCache, pair.dstIndex, 0, BigInt(pair.src.stride)), 'LLM_PARAM_INVALID');
    });

    it('PushKvBlocks with empty or unequal lists, or dst batch_index ≠ 0, is PARAM_INVALID', async () => {
      const pair = await pushPair(h);
      const push = (src: BigUint64Array, dst: BigUint64Array, index = pair.dstIndex) =>
        h.b.LlmDataDist_PushKvBlocks(pair.client.handle, pair.srcCache, index, src, dst);
      expectStatus(push(blocks(), blocks()), 'LLM_PARAM_INVALID');
      expectStatus(push(blocks(1, 2), blocks(1)), 'LLM_PARAM_INVALID');
      expectStatus(push(blocks(1), blocks(1), { ...pair.dstIndex, batch_index: 1 }), 'LLM_PARAM_INVALID');
      expect(unchanged(pair.dst)).toBe(true);
    });

    it('layer ranges of different lengths are PARAM_INVALID', async () => {
      const pair = await pushPair(h);
      const ext = makeKvCacheExtParam({ src_layer_range: [0, 1], dst_layer_range: [0, 0] });
      expectStatus(h.b.LlmDataDist_PushKvBlocks(pair.client.handle, pair.srcCache, pair.dstIndex, blocks(0), blocks(0), ext), 'LLM_PARAM_INVALID');
      expectStatus(h.b.LlmDataDist_PushKvCache(pair.client.handle, pair.srcCache, pair.dstIndex, 0, -1n, ext), 'LLM_PARAM_INVALID');
    });

    it('an invalid ext_param is PARAM_INVALID', async () => {
      const pair = await pushPair(h);
      const ext = makeKvCacheExtParam({ src_layer_range: [-2, 0], dst_layer_range: [-2, 0] });
      expectStatus(h.b.LlmDataDist_PushKvCache(pair.client.handle, pair.srcCache, pair.dstIndex, 0, -1n, ext), 'LLM_PARAM_INVALID');
    });

    it('KV_CACHE_NOT_EXIST for a missing local or remote cache, NOT_YET_LINK without a link', async () => {
      const pair = await pushPair(h);
      const push = (cache: Cache, index = pair.dstIndex) => h.b.LlmDataDist_PushKvCache(pair.client.handle, cache, index);
      expectStatus(push({ ...pair.srcCache, cache_id: 99n }), 'LLM_KV_CACHE_NOT_EXIST');
      expectStatus(push(pair.srcCache, { ...pair.dstIndex, cache_id: 42n }), 'LLM_KV_CACHE_NOT_EXIST');
      expectStatus(push(pair.srcCache, makeCacheIndex({ cluster_id: pair.server.clusterId + 1000n, cache_id: 1n })), 'LLM_NOT_YET_LINK');
    });

    it('a write past the remote cache memory fails', async () => {
      const pair = await pushPair(h, { tensors: 1, rows: 8, rowElements: 16 }, { tensors: 1, rows: 2, rowElements: 16 });
      expectNotSuccess(h.b.LlmDataDist_PushKvCache(pair.client.handle, pair.srcCache, { ...pair.dstIndex, batch_index: 6 }, 0));
      expect(unchanged(pair.dst)).toBe(true);
    });
  });
}
