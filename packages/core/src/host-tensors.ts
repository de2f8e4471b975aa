import { MAX_REGISTERED_ADDRESSES, resolveCacheDesc, type CacheDesc, type CacheGeometry } from './cache-desc.js';
import { constants } from 'node:buffer';
import { DataDistArgumentError } from './errors.js';
import { requireObject, toIntInRange } from './validate.js';

/** A cache description with its tensor count spelled out, for sizing memory before registering. */
export type SizedCacheDesc = CacheDesc & { readonly numTensors: number };

/** The geometry `desc` will have once registered (blocks, bytes per block, layers…). */
export function cacheGeometry(desc: SizedCacheDesc): CacheGeometry {
  const obj = requireObject('registerCache', 'desc', desc);
  const numTensors = toIntInRange('registerCache', 'desc.numTensors', obj.numTensors, 1, MAX_REGISTERED_ADDRESSES);
  return resolveCacheDesc('registerCache', 'desc', desc, numTensors).geometry;
}

/** Where memory is: the bindings a cache will be registered on. */
export interface AddressSource {
  addressOf(memory: ArrayBufferView): bigint;
}

/** Bytes of a memory page: what allocateHostTensors aligns tensors to. */
const PAGE = 4096;

/**
 * Zeroed JS memory for every tensor of `desc`, each exactly `tensorBytes` long, to pass as
 * `tensors` to `registerCache` (`registerHostCache` allocates ACL memory instead, which a peer on
 * the same host can map). With `alignOn` (the bindings
 * the cache will be registered on), each tensor starts on a 4 KiB page boundary, a view into one
 * page more of memory: JS memory otherwise starts 16 bytes into a page, so every 64 KiB block
 * spans 17 pages and copies of it run misaligned (about 6 % slower pulls, measured).
 */
export function allocateHostTensors(desc: SizedCacheDesc, alignOn?: AddressSource): Uint8Array[] {
  const geometry = cacheGeometry(desc);
  const slack = alignOn === undefined ? 0 : PAGE - 1;
  // The largest typed array this Node can make; past it (or when memory runs out) the engine
  // cannot hold the cache in JS memory at all.
  if (geometry.tensorBytes + slack > constants.MAX_LENGTH) {
    throw new DataDistArgumentError(
      'registerCache',
      'desc.shape',
      `describes ${geometry.tensorBytes}-byte tensors; JS memory holds at most ${constants.MAX_LENGTH - slack} bytes per tensor (register native memory by address instead)`,
    );
  }
  const tensors: Uint8Array[] = [];
  try {
    for (let t = 0; t < geometry.numTensors; t += 1) {
      const memory = new Uint8Array(geometry.tensorBytes + slack);
      if (alignOn === undefined) {
        tensors.push(memory);
        continue;
      }
      const skip = (PAGE - Number(alignOn.addressOf(memory) % BigInt(PAGE))) % PAGE;
      tensors.push(memory.subarray(skip, skip + geometry.tensorBytes));
    }
  } catch (cause) {
    throw new DataDistArgumentError(
      'registerCache',
      'desc',
      `needs ${geometry.numTensors} × ${geometry.tensorBytes} bytes of JS memory, which cannot be allocated (${(cause as Error).message})`,
    );
  }
  return tensors;
}
