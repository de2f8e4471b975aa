import { DATA_TYPE_ELEMENT_BITS, type CacheDesc, type DataType } from '@dd/sys';
import { invalid, ok, type Outcome } from './outcome.js';

/** The cache model of facts §3.6: `rows` blocks (or batch rows) of `stride` bytes per tensor. */
export interface CacheGeometry {
  readonly rows: bigint;
  /** prod(shape) · element size, in bytes, of each tensor. */
  readonly tensorBytes: bigint;
  /** Bytes of one block (or batch row) of one tensor: tensorBytes / rows. */
  readonly stride: bigint;
}

const MAX_RANK = 32;
const INT64_MAX = (1n << 63n) - 1n;

export function cacheGeometry(desc: Pick<CacheDesc, 'shape' | 'data_type'>): Outcome<CacheGeometry> {
  const { shape } = desc;
  if (shape.length < 1 || shape.length >= MAX_RANK) return invalid(`shape rank ${shape.length} is outside [1, ${MAX_RANK})`);
  let elements = 1n;
  for (const dim of shape) {
    if (dim <= 0n) return invalid(`shape dimension ${dim} must be > 0`);
    elements *= dim;
    if (elements > INT64_MAX) return invalid('shape element count overflows int64');
  }
  const bits = DATA_TYPE_ELEMENT_BITS[desc.data_type as DataType];
  if (bits === undefined || bits <= 0) return invalid(`data type ${desc.data_type} has no element size`);
  // Sub-byte types pack: ceil(n · bits / 8) bytes.
  const tensorBytes = (elements * BigInt(bits) + 7n) / 8n;
  if (tensorBytes > INT64_MAX) return invalid('tensor size overflows int64');
  const rows = shape[0] as bigint;
  return ok({ rows, tensorBytes, stride: tensorBytes / rows });
}
