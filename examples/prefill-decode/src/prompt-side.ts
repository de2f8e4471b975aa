import { LlmDataDist, type Bindings, type KvCache, type ListenAddress } from '@dd/core';
import { planBlocks, type BlockPlan } from './block-plan.js';
import type { DemoOptions } from './demo-options.js';
import { DECODER_WRITER, PROMPT_WRITER, expectBlock, fillBlock } from './kv-pattern.js';
import { PROMPT_CLUSTER, kvCacheDesc } from './kv-layout.js';

/**
 * The prefill side: an engine listening for decoders, with one registered KV cache that stands in
 * for what the model wrote during prefill (every block holds the prompt pattern).
 */
export class PromptSide {
  readonly engine: LlmDataDist;
  readonly cache: KvCache;
  readonly plan: BlockPlan;

  private constructor(engine: LlmDataDist, cache: KvCache, plan: BlockPlan) {
    this.engine = engine;
    this.cache = cache;
    this.plan = plan;
  }

  /** Creates the engine on `listen`, registers the cache before any link, and fills it. */
  static open(o: DemoOptions, listen: ListenAddress, bindings?: Bindings): PromptSide {
    const engine = LlmDataDist.create({ clusterId: PROMPT_CLUSTER, role: 'prompt', listen, syncTimeoutMs: o.timeoutMs, bindings });
    try {
      const cache = engine.registerHostCache(kvCacheDesc(o));
      for (let t = 0; t < cache.numTensors; t += 1) {
        for (let b = 0; b < cache.numBlocks; b += 1) fillBlock(cache.block(t, b), { writer: PROMPT_WRITER, tensor: t, block: b });
      }
      return new PromptSide(engine, cache, planBlocks(o));
    } catch (error) {
      engine.close({ force: true });
      throw error;
    }
  }

  /** Bytes of the whole cache (every tensor). */
  get cacheBytes(): number {
    return this.cache.numTensors * this.cache.tensorBytes;
  }

  /**
   * Checks every byte of the cache: the blocks decode pushed back hold decode's pattern (once
   * `pushed`), every other block still holds exactly what prefill wrote. Returns the bytes checked.
   */
  verifyCache(pushed: boolean): number {
    const pushedFrom = new Map<number, number>();
    if (pushed) this.plan.pushTarget.forEach((target, i) => pushedFrom.set(target, this.plan.pushSource[i] as number));
    for (let t = 0; t < this.cache.numTensors; t += 1) {
      for (let b = 0; b < this.cache.numBlocks; b += 1) {
        const source = pushedFrom.get(b);
        const id = source === undefined ? { writer: PROMPT_WRITER, tensor: t, block: b } : { writer: DECODER_WRITER, tensor: t, block: source };
        expectBlock(`prompt cache block ${b}${source === undefined ? '' : ' (pushed by decode)'}`, this.cache.block(t, b), id);
      }
    }
    return this.cacheBytes;
  }

  /** Unregisters the cache and finalizes the engine. */
  close(): void {
    this.cache.unregister();
    this.engine.close();
  }
}
