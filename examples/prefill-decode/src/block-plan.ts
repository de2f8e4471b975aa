import type { DemoOptions } from './demo-options.js';

/**
 * Where one request's KV blocks live on each side, as a paged-attention scheduler would place
 * them: scattered over the prompt cache (its block table), packed at the front of the decode cache,
 * and a few newly generated decode blocks pushed back into blocks the prompt side has free.
 */
export interface BlockPlan {
  /** Prompt blocks holding the request, in token order. */
  readonly promptBlocks: readonly number[];
  /** Decode blocks receiving them: `promptBlocks[i]` → `decoderBlocks[i]`. */
  readonly decoderBlocks: readonly number[];
  /** Decode blocks holding generated KV, pushed back… */
  readonly pushSource: readonly number[];
  /** …into these prompt blocks, none of which belongs to the request. */
  readonly pushTarget: readonly number[];
}

/** A fixed pseudo-random permutation, so both processes and every run agree on the plan. */
function permutation(n: number, seed: number): number[] {
  const out = Array.from({ length: n }, (_, i) => i);
  let state = seed >>> 0;
  for (let i = n - 1; i > 0; i -= 1) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j] as number, out[i] as number];
  }
  return out;
}

/**
 * The request takes `requestBlocks` of the prompt cache in runs of 1 to 4 adjacent blocks (so the
 * backend both merges runs and handles scattered ones); pushes land in the first free blocks.
 */
export function planBlocks(o: Pick<DemoOptions, 'blocks' | 'requestBlocks' | 'pushBlocks'>): BlockPlan {
  const runStarts = permutation(Math.ceil(o.blocks / 4), 0x5eed);
  const promptBlocks: number[] = [];
  for (const [i, start] of runStarts.entries()) {
    const runLength = (i % 4) + 1;
    for (let b = start * 4; b < Math.min(start * 4 + runLength, o.blocks) && promptBlocks.length < o.requestBlocks; b += 1) promptBlocks.push(b);
    if (promptBlocks.length === o.requestBlocks) break;
  }
  // Short runs may not reach the count on small caches; fill from the blocks still free.
  const used = new Set(promptBlocks);
  for (let b = 0; promptBlocks.length < o.requestBlocks && b < o.blocks; b += 1) {
    if (!used.has(b)) {
      promptBlocks.push(b);
      used.add(b);
    }
  }
  const free = Array.from({ length: o.blocks }, (_, b) => b).filter((b) => !used.has(b));
  return {
    promptBlocks,
    decoderBlocks: Array.from({ length: o.requestBlocks }, (_, i) => i),
    pushSource: Array.from({ length: o.pushBlocks }, (_, i) => o.requestBlocks + i),
    pushTarget: free.slice(0, o.pushBlocks),
  };
}
