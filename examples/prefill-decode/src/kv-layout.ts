import { DataType, type KvCache, type LlmDataDist, type Placement, type SizedCacheDesc } from '@dd/core';
import type { DemoOptions } from './demo-options.js';

/** Cluster ids of the two sides. */
export const PROMPT_CLUSTER = 1n;
export const DECODER_CLUSTER = 2n;

type Geometry = Pick<DemoOptions, 'layers' | 'blocks' | 'blockTokens' | 'kvHeads' | 'headDim'>;

/**
 * The model-shaped KV cache both sides register: per layer a K and a V tensor of
 * `[blocks, blockTokens, kvHeads, headDim]` bf16.
 */
export function kvCacheDesc(o: Geometry, placement: Placement): SizedCacheDesc {
  return {
    placement,
    dataType: DataType.DT_BF16,
    shape: [o.blocks, o.blockTokens, o.kvHeads, o.headDim],
    numTensors: o.layers * 2,
    tensorsPerLayer: 2,
  };
}

/**
 * Registers the KV cache of one placement on `engine`: device memory the cache owns (ACL
 * aclrtMalloc on the engine's device, as on Ascend), or zeroed page-locked host memory for `'host'`
 * (aclrtMallocHost, through registerHostCache).
 */
export function registerKvCache(engine: LlmDataDist, o: Geometry, placement: Placement): KvCache {
  const desc = kvCacheDesc(o, placement);
  return placement === 'device' ? engine.allocateCache(desc) : engine.registerHostCache(desc);
}
