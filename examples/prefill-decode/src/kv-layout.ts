import { DataType, type SizedCacheDesc } from '@dd/core';
import type { DemoOptions } from './demo-options.js';

/** Cluster ids of the two sides. */
export const PROMPT_CLUSTER = 1n;
export const DECODER_CLUSTER = 2n;

/**
 * The model-shaped KV cache both sides register: per layer a K and a V tensor of
 * `[blocks, blockTokens, kvHeads, headDim]` bf16. Placed on 'device' as on Ascend (the host
 * backend serves it from host memory); pushing requires a device source anyway.
 */
export function kvCacheDesc(o: Pick<DemoOptions, 'layers' | 'blocks' | 'blockTokens' | 'kvHeads' | 'headDim'>): SizedCacheDesc {
  return {
    placement: 'device',
    dataType: DataType.DT_BF16,
    shape: [o.blocks, o.blockTokens, o.kvHeads, o.headDim],
    numTensors: o.layers * 2,
    tensorsPerLayer: 2,
  };
}
