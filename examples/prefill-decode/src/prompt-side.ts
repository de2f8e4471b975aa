import { LlmDataDist, type Bindings, type KvCache, type ListenAddress, type Placement } from '@dd/core';
import { planBlocks, type BlockPlan } from './block-plan.js';
import type { DemoOptions } from './demo-options.js';
import { allBlocks, readBlocks, writePattern } from './kv-io.js';
import { DECODER_WRITER, PROMPT_WRITER, expectBlock } from './kv-pattern.js';
import { PROMPT_CLUSTER, registerKvCache } from './kv-layout.js';

/**
 * The prefill side: an engine listening for decoders, with one registered KV cache per placement
 * that stands in for what the model wrote during prefill (every block holds the prompt pattern).
 */
export class PromptSide {
  readonly engine: LlmDataDist;
  readonly caches: ReadonlyMap<Placement, KvCache>;
  readonly plan: BlockPlan;

  private constructor(engine: LlmDataDist, caches: ReadonlyMap<Placement, KvCache>, plan: BlockPlan) {
    this.engine = engine;
    this.caches = caches;
    this.plan = plan;
  }

  /** Creates the engine on `listen`, registers the caches before any link, and fills them. */
  static open(o: DemoOptions, listen: ListenAddress, bindings?: Bindings): PromptSide {
    const engine = LlmDataDist.create({ clusterId: PROMPT_CLUSTER, role: 'prompt', listen, syncTimeoutMs: o.timeoutMs, bindings });
    try {
      const caches = new Map<Placement, KvCache>();
      for (const placement of o.placements) {
        const cache = registerKvCache(engine, o, placement);
        writePattern(cache, allBlocks(cache), (tensor, block) => ({ writer: PROMPT_WRITER, tensor, block }));
        caches.set(placement, cache);
      }
      return new PromptSide(engine, caches, planBlocks(o));
    } catch (error) {
      engine.close({ force: true });
      throw error;
    }
  }

  /** The cache of `placement`. */
  cache(placement: Placement): KvCache {
    const cache = this.caches.get(placement);
    if (cache === undefined) throw new Error(`the prompt side has no '${placement}' cache`);
    return cache;
  }

  /** Bytes of one cache (every tensor). */
  get cacheBytes(): number {
    const [first] = this.caches.values();
    return first === undefined ? 0 : first.numTensors * first.tensorBytes;
  }

  /**
   * Reads back and checks every byte of the cache of `placement`: the blocks decode pushed back
   * hold decode's pattern (once `pushed`), every other block still holds exactly what prefill
   * wrote. Returns the bytes checked.
   */
  verifyCache(placement: Placement, pushed: boolean): number {
    const cache = this.cache(placement);
    const pushedFrom = new Map<number, number>();
    if (pushed) this.plan.pushTarget.forEach((target, i) => pushedFrom.set(target, this.plan.pushSource[i] as number));
    return readBlocks(cache, 0, cache.numTensors, allBlocks(cache), (t, b, bytes) => {
      const source = pushedFrom.get(b);
      const id = source === undefined ? { writer: PROMPT_WRITER, tensor: t, block: b } : { writer: DECODER_WRITER, tensor: t, block: source };
      expectBlock(`${placement} prompt cache block ${b}${source === undefined ? '' : ' (pushed by decode)'}`, bytes, id);
    });
  }

  /** Zeroes the blocks decode pushes into, in every tensor of the cache of `placement`. */
  clearPushTargets(placement: Placement): void {
    const cache = this.cache(placement);
    const zeros = new Uint8Array(cache.bytesPerBlock);
    for (let t = 0; t < cache.numTensors; t += 1) for (const b of this.plan.pushTarget) cache.writeBlock(t, b, zeros);
  }

  /** Unregisters the caches (which frees their device memory) and finalizes the engine. */
  close(): void {
    for (const cache of this.caches.values()) cache.unregister();
    this.engine.close();
  }
}
