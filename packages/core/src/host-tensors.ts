import { MAX_REGISTERED_ADDRESSES, resolveCacheDesc, type CacheDesc, type CacheGeometry } from './cache-desc.js';
import { requireObject, toIntInRange } from './validate.js';

/** A cache description with its tensor count spelled out, for sizing memory before registering. */
export type SizedCacheDesc = CacheDesc & { readonly numTensors: number };

/** The geometry `desc` will have once registered (blocks, bytes per block, layers…). */
export function cacheGeometry(desc: SizedCacheDesc): CacheGeometry {
  const obj = requireObject('registerCache', 'desc', desc);
  const numTensors = toIntInRange('registerCache', 'desc.numTensors', obj.numTensors, 1, MAX_REGISTERED_ADDRESSES);
  return resolveCacheDesc('registerCache', 'desc', desc, numTensors).geometry;
}

/**
 * Zeroed JS memory for every tensor of `desc`, each exactly `tensorBytes` long. Pass the result as
 * `tensors` to `registerCache`, or let `registerHostCache` do both.
 */
export function allocateHostTensors(desc: SizedCacheDesc): Uint8Array[] {
  const geometry = cacheGeometry(desc);
  return Array.from({ length: geometry.numTensors }, () => new Uint8Array(geometry.tensorBytes));
}
