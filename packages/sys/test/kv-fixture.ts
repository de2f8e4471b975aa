import {
  CachePlacement,
  DataType,
  type Bindings,
  type CacheDesc,
  type LlmDataDistHandle,
  StatusCode,
} from '../src/index.js';

export const LAYERS = 4;
export const BLOCKS = 8;
/** int32 elements per block per tensor */
export const BLOCK_ELEMENTS = 16;
export const BLOCK_BYTES = BLOCK_ELEMENTS * 4;

export function cacheDesc(): CacheDesc {
  return {
    placement: CachePlacement.kHost,
    num_tensors: LAYERS,
    data_type: DataType.DT_INT32,
    shape: BigInt64Array.from([BigInt(BLOCKS), BigInt(BLOCK_ELEMENTS)]),
  };
}

/** One ArrayBuffer per tensor, each byte a function of (seed, tensor, offset). */
export function tensors(seed: number): ArrayBuffer[] {
  return Array.from({ length: LAYERS }, (_, t) => {
    const buffer = new ArrayBuffer(BLOCKS * BLOCK_BYTES);
    const bytes = new Uint8Array(buffer);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (seed * 131 + t * 31 + i * 7) & 0xff;
    return buffer;
  });
}

export function block(buffer: ArrayBuffer, index: number): Uint8Array {
  return new Uint8Array(buffer, index * BLOCK_BYTES, BLOCK_BYTES);
}

export function register(b: Bindings, h: LlmDataDistHandle, buffers: ArrayBuffer[]): bigint {
  const addrs = BigUint64Array.from(buffers.map((buf) => b.addressOf(buf)));
  const r = b.LlmDataDist_RegisterKvCache(h, cacheDesc(), addrs);
  if (r.status !== StatusCode.LLM_SUCCESS) throw new Error(`RegisterKvCache: ${r.status} ${b.lastError()}`);
  return r.cache_id;
}
