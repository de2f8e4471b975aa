import { DataDistArgumentError, type OperationName } from './errors.js';
import { describe, requireObject } from './validate.js';

/**
 * A **half-open** range of layers, `start` included and `end` excluded, like `Array.prototype.slice`
 * and Python's `range`: `{ start: 0, end: 2 }` is layers 0 and 1. The C++ API takes an inclusive
 * pair; the engine converts (`{ start: 0, end: 2 }` → `[0, 1]`) before calling it.
 */
export interface LayerRange {
  /** First layer, included: an integer ≥ 0. */
  readonly start: number;
  /** One past the last layer, excluded: an integer > `start`. */
  readonly end: number;
}

/** The C++ form: inclusive `[first, last]`; `[-1, -1]` selects every layer. */
export type InclusiveLayerPair = readonly [number, number];

/** The native pair that selects every layer. */
export const ALL_LAYERS: InclusiveLayerPair = [-1, -1];

const I32_MAX = 0x7fffffff;

/**
 * Checks a half-open range and converts it to the inclusive native pair. `layerCount` bounds it
 * when the cache is local (undefined for a remote cache whose geometry this side cannot know).
 */
export function toInclusivePair(op: OperationName, argument: string, value: unknown, layerCount: number | undefined): InclusiveLayerPair {
  const range = requireObject(op, argument, value);
  const { start, end } = range;
  if (typeof start !== 'number' || !Number.isInteger(start) || start < 0 || start >= I32_MAX) {
    throw new DataDistArgumentError(op, `${argument}.start`, 'must be an integer layer index ≥ 0 (ranges are half-open: start included)', describe(start));
  }
  if (typeof end !== 'number' || !Number.isInteger(end) || end <= start || end > I32_MAX) {
    throw new DataDistArgumentError(op, `${argument}.end`, `must be an integer > start (${start}); ranges are half-open: end excluded`, describe(end));
  }
  if (layerCount !== undefined && end > layerCount) {
    throw new DataDistArgumentError(op, `${argument}.end`, `must be ≤ the cache's ${layerCount} layers (half-open: end excluded)`, describe(end));
  }
  return [start, end - 1];
}
