import { makeKvCacheExtParam, type KvCacheExtParam } from '@dd/sys';
import { describe, expect, it } from 'vitest';
import { pullPair, unchanged, type PullPair } from './fixtures.js';
import { expectBytes, expectStatus, initialRowOf, rowOf, type Harness, type KvShape } from './harness.js';

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

export function describeLayerRanges(h: Harness): void {
  describe('layer ranges (facts §3.10, upstream matrix on 10 tensors)', () => {
    const pull = (pair: PullPair, param: KvCacheExtParam) => h.b.LlmDataDist_PullKvCache(pair.client.handle, pair.srcIndex, pair.dstCache, 0, -1n, param);

    it('T=1, layers 0..1 copy tensors 0 and 1 only', async () => {
      const pair = await pullPair(h, TEN_TENSORS);
      expectStatus(pull(pair, ext([0, 1], [0, 1], 1)), 'LLM_SUCCESS');
      expectTensorsCopied(pair, new Map([[0, 0], [1, 1]]));
    });

    it('T=2, layers 0..1 copy tensors 0..3 only', async () => {
      const pair = await pullPair(h, TEN_TENSORS);
      expectStatus(pull(pair, ext([0, 1], [0, 1], 2)), 'LLM_SUCCESS');
      expectTensorsCopied(pair, new Map([[0, 0], [1, 1], [2, 2], [3, 3]]));
    });

    it('ranges are inclusive and map layer to layer: T=2, layer 2 → layer 0', async () => {
      const pair = await pullPair(h, TEN_TENSORS);
      expectStatus(pull(pair, ext([2, 2], [0, 0], 2)), 'LLM_SUCCESS');
      expectTensorsCopied(pair, new Map([[0, 4], [1, 5]]));
    });

    it('the last layer is reachable: T=2, layer 4 is tensors 8 and 9', async () => {
      const pair = await pullPair(h, TEN_TENSORS);
      expectStatus(pull(pair, ext([4, 4], [4, 4], 2)), 'LLM_SUCCESS');
      expectTensorsCopied(pair, new Map([[8, 8], [9, 9]]));
    });

    it('indices are used only when both ranges start at a layer: src alone copies every tensor', async () => {
      const pair = await pullPair(h, TEN_TENSORS);
      expectStatus(pull(pair, ext([0, 0], [-1, -1], 7)), 'LLM_SUCCESS');
      expectTensorsCopied(pair, new Map(Array.from({ length: 10 }, (_x, t) => [t, t])));
    });

    it.each([
      ['T=7', ext([0, 0], [0, 0], 7)],
      ['T=17', ext([0, 0], [0, 0], 17)],
      ['{0,1} → {0,2}', ext([0, 1], [0, 2], 2)],
      ['first = -2', ext([-2, 0], [0, 0], 2)],
      ['{4,5} with T=2 (the last layer is 4)', ext([4, 5], [4, 5], 2)],
      ['first > second', ext([1, 0], [1, 0], 2)],
      ['second = -2', ext([-1, -2], [-1, -1], 2)],
      ['T=0', ext([-1, -1], [-1, -1], 0)],
    ])('%s is PARAM_INVALID', async (_name, param) => {
      const pair = await pullPair(h, TEN_TENSORS);
      expectStatus(pull(pair, param), 'LLM_PARAM_INVALID');
      expect(unchanged(pair.dst)).toBe(true);
    });
  });
}
