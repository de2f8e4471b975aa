import {
  CachePlacement,
  DATA_TYPE_ELEMENT_BITS,
  DataType,
  kDefaultTensorNumPerLayer,
  makeCacheDesc,
  type CacheDesc as NativeCacheDesc,
} from '@dd/sys';
import { DataDistArgumentError, type OperationName } from './errors.js';
import { describe, requireObject, toIntInRange } from './validate.js';

/** Where cache memory lives: `'host'` (CPU memory) or `'device'` (accelerator memory; served from host memory by the host backend). */
export type Placement = 'host' | 'device';

/** The most addresses one engine may register (upstream limit, from its fixed message buffers). */
export const MAX_REGISTERED_ADDRESSES = 240;

/**
 * What a KV cache looks like: `numTensors` buffers of the same `shape` and `dataType`.
 * `shape[0]` is the number of blocks (or batch rows); one block of one tensor is
 * `bytes(shape) / shape[0]` bytes. A typical tensor is one layer's K or V:
 * `[numBlocks, blockTokens, heads, headDim]`.
 */
export interface CacheDesc {
  /** Where the memory lives. Pushing requires a `'device'` source cache (upstream rule). */
  readonly placement: Placement;
  /** Element type, e.g. `DataType.DT_BF16`. Types without an element size are rejected. */
  readonly dataType: DataType;
  /** Dimensions, rank 1 to 31, each a positive safe integer; `shape[0]` is the block count. */
  readonly shape: readonly (number | bigint)[];
  /** Number of tensors; defaults to the number of buffers or addresses registered. At most 240. */
  readonly numTensors?: number;
  /**
   * Tensors per layer (K and V → 2, the default; separate K and V caches → 1). Layer ranges in
   * transfers count layers of this many tensors.
   */
  readonly tensorsPerLayer?: number;
}

/** The geometry a registered cache knows about itself. */
export interface CacheGeometry {
  readonly placement: Placement;
  readonly dataType: DataType;
  readonly shape: readonly number[];
  readonly numTensors: number;
  /** `shape[0]`: blocks per tensor (also the batch size for whole-cache transfers). */
  readonly numBlocks: number;
  /** Bytes of one tensor: `ceil(prod(shape) × elementBits / 8)`. */
  readonly tensorBytes: number;
  /** Bytes of one block of one tensor: `tensorBytes / numBlocks` (the native stride). */
  readonly bytesPerBlock: number;
  readonly tensorsPerLayer: number;
  /** `ceil(numTensors / tensorsPerLayer)`: a remainder counts as one more layer, as upstream does. */
  readonly numLayers: number;
}

/** Validates a CacheDesc given `tensorCount` buffers or addresses, and builds the geometry and the native struct. */
export function resolveCacheDesc(
  op: OperationName,
  argument: string,
  value: unknown,
  tensorCount: number,
): { readonly geometry: CacheGeometry; readonly native: NativeCacheDesc } {
  const desc = requireObject(op, argument, value);
  const placement = desc.placement;
  if (placement !== 'host' && placement !== 'device') {
    throw new DataDistArgumentError(op, `${argument}.placement`, "must be 'host' or 'device'", describe(placement));
  }
  const dataType = desc.dataType;
  const bits = typeof dataType === 'number' ? DATA_TYPE_ELEMENT_BITS[dataType as DataType] : undefined;
  if (bits === undefined || bits <= 0) {
    throw new DataDistArgumentError(op, `${argument}.dataType`, 'must be a DataType with an element size (e.g. DataType.DT_BF16)', describe(dataType));
  }
  const shape = toShape(op, `${argument}.shape`, desc.shape);
  const numTensors = desc.numTensors === undefined ? tensorCount : toIntInRange(op, `${argument}.numTensors`, desc.numTensors, 1, MAX_REGISTERED_ADDRESSES);
  if (numTensors !== tensorCount) {
    throw new DataDistArgumentError(op, `${argument}.numTensors`, `must equal the number of tensors given (${tensorCount})`, describe(numTensors));
  }
  const tensorsPerLayer =
    desc.tensorsPerLayer === undefined ? kDefaultTensorNumPerLayer : toIntInRange(op, `${argument}.tensorsPerLayer`, desc.tensorsPerLayer, 1, 255);

  const elements = shape.reduce((acc, dim) => acc * BigInt(dim), 1n);
  const tensorBytesBig = (elements * BigInt(bits) + 7n) / 8n;
  if (tensorBytesBig > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new DataDistArgumentError(op, `${argument}.shape`, 'describes a tensor larger than 2^53 bytes', `${tensorBytesBig} bytes`);
  }
  const tensorBytes = Number(tensorBytesBig);
  const numBlocks = shape[0] as number;
  const geometry: CacheGeometry = {
    placement,
    dataType: dataType as DataType,
    shape,
    numTensors,
    numBlocks,
    tensorBytes,
    bytesPerBlock: Math.floor(tensorBytes / numBlocks),
    tensorsPerLayer,
    numLayers: Math.ceil(numTensors / tensorsPerLayer),
  };
  const native = makeCacheDesc({
    placement: placement === 'host' ? CachePlacement.kHost : CachePlacement.kDevice,
    num_tensors: numTensors,
    data_type: dataType as DataType,
    shape: BigInt64Array.from(shape, (dim) => BigInt(dim)),
  });
  return { geometry, native };
}

function toShape(op: OperationName, argument: string, value: unknown): number[] {
  if (!Array.isArray(value) || value.length < 1 || value.length >= 32) {
    throw new DataDistArgumentError(op, argument, 'must be an array of 1 to 31 dimensions', describe(value));
  }
  return value.map((dim: unknown, i) => {
    const n = typeof dim === 'bigint' && dim <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(dim) : dim;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n <= 0) {
      throw new DataDistArgumentError(op, `${argument}[${i}]`, 'must be a positive safe integer', describe(dim));
    }
    return n;
  });
}
