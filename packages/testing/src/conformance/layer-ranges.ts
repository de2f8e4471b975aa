import { makeKvCacheExtParam, type KvCacheExtParam } from '@dd/sys';
import { describe, expect, it } from 'vitest';
import { pullPair, pushPair, unchanged, type PullPair } from './fixtures.js';
import { blocks, expectBytes, expectStatus, initialRowOf, rowOf, type Harness, type KvShape } from './harness.js';
import { expectPushed, layerMoves } from './push.js';

/** The upstream matrix runs on caches of 10 tensors. */
const TEN_TENSORS: KvShape = { tensors: 10, rows: 2, rowElements: 4 };

function ext(src: readonly [number, number], dst: readonly [number, number], perLayer: number): KvCacheExtParam {
  return makeKvCacheExtParam({ src_layer_range: src, dst_layer_range: dst, tensor_num_per_layer: perLayer });
}

/** Row 0 of dst tensor d holds row 0 of src tensor `map[d]`; tensors not in the map are untouched. */
function expectTensorsCopied(pair: PullPair, map: ReadonlyMap<number, number>): void {
  pair.dst.tensors.forEach((_tensor, d) => {
    const s = map.get(d);
    expectBytes(rowOf(pair.dst, d, 0), s === undefined ? initialRowOf(pair.dst, d, 0) : initialRowOf(pair.src, s, 0), `dst tensor ${d}`);
  });
}

const identity = (from: number, to: number): Map<number, number> => new Map(Array.from({ length: to - from }, (_x, i) => [from + i, from + i]));

/** The failing rows of the upstream matrix (UT/ST), each PARAM_INVALID on a pull. */
const FAILING: readonly [string, KvCacheExtParam][] = [
  ['T=7', ext([0, 0], [0, 0], 7)],
  ['T=17', ext([0, 0], [0, 0], 17)],
  ['T=3 (ST)', ext([0, 0], [0, 0], 3)],
  ['{0,1} → {0,2}', ext([0, 1], [0, 2], 2)],
  ['first = -2', ext([-2, 0], [0, 0], 2)],
  ['{4,5} with T=2 (the last layer is 4)', ext([4, 5], [4, 5], 2)],
  ['first > second', ext([1, 0], [1, 0], 2)],
  ['second = -2', ext([-1, -2], [-1, -1], 2)],
  ['T=0', ext([-1, -1], [-1, -1], 0)],
];

export function describeLayerRanges(h: Harness): void {
  describe('layer ranges (B §3.10, the upstream matrix on 10 tensors)', () => {
    const pullCache = (pair: PullPair, param: KvCacheExtParam) => h.b.LlmDataDist_PullKvCache(pair.client.handle, pair.srcIndex, pair.dstCache, 0, -1n, param);
    const pullBlocks = (pair: PullPair, param: KvCacheExtParam) => h.b.LlmDataDist_PullKvBlocks(pair.client.handle, pair.srcIndex, pair.dstCache, blocks(0), blocks(0), param);

    it.each([
      ['T=1, layers 0..1 copy tensors 0 and 1 only', ext([0, 1], [0, 1], 1), identity(0, 2)],
      ['T=2, layers 0..1 copy tensors 0..3 only', ext([0, 1], [0, 1], 2), identity(0, 4)],
      ['ranges are inclusive and map layer to layer: T=2, layer 2 → layer 0', ext([2, 2], [0, 0], 2), new Map([[0, 4], [1, 5]])],
      ['the last layer is reachable: T=2, layer 4 is tensors 8 and 9', ext([4, 4], [4, 4], 2), identity(8, 10)],
      ['T=5, layer 1 → layer 0', ext([1, 1], [0, 0], 5), new Map([[0, 5], [1, 6], [2, 7], [3, 8], [4, 9]])],
    ])('B §3.10 (UT): %s, PullKvCache and PullKvBlocks', async (_name, param, map) => {
      const pair = await pullPair(h, TEN_TENSORS);
      expectStatus(pullCache(pair, param), 'LLM_SUCCESS');
      expectTensorsCopied(pair, map);
      const blocksPair = await pullPair(h, TEN_TENSORS);
      expectStatus(pullBlocks(blocksPair, param), 'LLM_SUCCESS');
      expectTensorsCopied(blocksPair, map);
    });

    it('A18: indices are used only when both ranges start at a layer: src alone, or dst alone, copies every tensor', async () => {
      for (const param of [ext([0, 0], [-1, -1], 7), ext([-1, -1], [3, 3], 7), ext([-1, 3], [-1, 3], 3)]) {
        const pair = await pullPair(h, TEN_TENSORS);
        expectStatus(pullCache(pair, param), 'LLM_SUCCESS');
        expectTensorsCopied(pair, identity(0, 10));
      }
    });

    it.each(FAILING)('B §3.10 (UT): %s is PARAM_INVALID on PullKvCache and PullKvBlocks, nothing written', async (_name, param) => {
      const pair = await pullPair(h, TEN_TENSORS);
      expectStatus(pullCache(pair, param), 'LLM_PARAM_INVALID');
      expectStatus(pullBlocks(pair, param), 'LLM_PARAM_INVALID');
      expect(unchanged(pair.dst)).toBe(true);
    });

    it.each([
      ['T=1, layers 0..1', ext([0, 1], [0, 1], 1), [...layerMoves(1, 0, 0, 1, 0), ...layerMoves(1, 1, 1, 1, 0)]],
      ['T=2, layers 0..1', ext([0, 1], [0, 1], 2), [...layerMoves(2, 0, 0, 1, 0), ...layerMoves(2, 1, 1, 1, 0)]],
    ] as const)('B §3.10 (UT): push %s succeeds', async (_name, param, moves) => {
      const pair = await pushPair(h, TEN_TENSORS);
      expectStatus(h.b.LlmDataDist_PushKvBlocks(pair.client.handle, pair.srcCache, pair.dstIndex, blocks(1), blocks(0), param), 'LLM_SUCCESS');
      expectPushed(pair, moves);
    });

    it.each([
      ['T=7', ext([0, 0], [0, 0], 7)],
      ['T=17', ext([0, 0], [0, 0], 17)],
      ['T=3 (ST)', ext([0, 0], [0, 0], 3)],
      ['{0,1} → {0,2}', ext([0, 1], [0, 2], 2)],
      ['first = -2', ext([-2, 0], [-2, 0], 2)],
    ])('B §3.10 (UT): push with %s is PARAM_INVALID with nothing written', async (_name, param) => {
      const pair = await pushPair(h, TEN_TENSORS);
      expectStatus(h.b.LlmDataDist_PushKvBlocks(pair.client.handle, pair.srcCache, pair.dstIndex, blocks(1), blocks(0), param), 'LLM_PARAM_INVALID');
      expect(unchanged(pair.dst)).toBe(true);
    });

    it('B §3.10 (UT): push {4,5} with T=2 writes layer 4, then fails on layer 5 (A3)', async () => {
      const pair = await pushPair(h, TEN_TENSORS);
      expectStatus(h.b.LlmDataDist_PushKvBlocks(pair.client.handle, pair.srcCache, pair.dstIndex, blocks(1), blocks(0), ext([4, 5], [4, 5], 2)), 'LLM_PARAM_INVALID');
      expectPushed(pair, layerMoves(2, 4, 4, 1, 0));
    });
  });
}
