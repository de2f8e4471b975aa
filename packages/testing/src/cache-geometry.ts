import { DATA_TYPE_ELEMENT_BITS, type CacheDesc, type DataType } from '@dd/sys';
import { INT64_MAX } from './option-values.js';
import { invalid, ok, type Outcome } from './outcome.js';

/** The cache model: `rows` blocks (or batch rows) of `stride` bytes per tensor (B §3.6). */
export interface CacheGeometry {
  readonly rows: bigint;
  /** prod(shape) · element size, in bytes, of each tensor. */
  readonly tensorBytes: bigint;
  /** Bytes of one block (or batch row) of one tensor: tensorBytes / rows, rounded down. */
  readonly stride: bigint;
}

const MAX_RANK = 31;

/** Rank in [1, 31]: checked before the cache id is taken (A22). */
export function rankProblem(shape: ArrayLike<bigint>): string | null {
  return shape.length < 1 || shape.length > MAX_RANK ? `shape rank ${shape.length} is outside [1, ${MAX_RANK}]` : null;
}

/** Dims, overflow and element size, checked after the id is taken (A22); stride 0 is refused (D3). */
export function cacheGeometry(desc: Pick<CacheDesc, 'shape' | 'data_type'>): Outcome<CacheGeometry> {
  let elements = 1n;
  for (const dim of desc.shape) {
    if (dim <= 0n) return invalid(`shape dimension ${dim} must be > 0`);
    if (elements * dim > INT64_MAX) return invalid('shape element count overflows int64');
    elements *= dim;
  }
  const bits = DATA_TYPE_ELEMENT_BITS[desc.data_type as DataType];
  if (bits === undefined || bits <= 0) return invalid(`data type ${desc.data_type} has no element size`);
  // Whole-byte types multiply by their size; sub-byte types pack: ceil(n · bits / 8) bytes.
  const product = bits % 8 === 0 ? elements * BigInt(bits / 8) : elements * BigInt(bits);
  if (product > INT64_MAX) return invalid('tensor size overflows int64');
  const tensorBytes = bits % 8 === 0 ? product : (product + 7n) / 8n;
  const rows = desc.shape[0] as bigint;
  const stride = tensorBytes / rows;
  if (stride === 0n) return invalid(`a block of ${tensorBytes} bytes over ${rows} rows is 0 bytes (dd refuses a stride of 0, D3)`);
  return ok({ rows, tensorBytes, stride });
}
