import type { KvCacheExtParam } from '@dd/sys';
import { invalid, ok, type Outcome } from './outcome.js';

/** A contiguous run of tensor indices of one cache. */
export interface TensorSpan {
  readonly start: number;
  readonly count: number;
}

/** One transfer unit: which local tensors go to which remote tensors (same count on both sides). */
export interface TensorPairing {
  readonly local: TensorSpan;
  readonly remote: TensorSpan;
}

/** facts §3.10 validation: first ≥ -1, second ≥ -1, first ≤ second, T > 0. */
export function checkExtParam(ext: KvCacheExtParam): string | null {
  for (const [name, [first, second]] of [
    ['src_layer_range', ext.src_layer_range],
    ['dst_layer_range', ext.dst_layer_range],
  ] as const) {
    if (first < -1 || second < -1 || first > second) {
      return `${name} (${first}, ${second}) must satisfy -1 <= first <= second`;
    }
  }
  if (ext.tensor_num_per_layer <= 0) return 'tensor_num_per_layer must be > 0';
  return null;
}

function layerSpan(range: readonly [number, number], perLayer: number, tensors: number, side: string): Outcome<TensorSpan> {
  const [first, second] = range;
  if (tensors % perLayer !== 0) {
    return invalid(`${side} cache has ${tensors} tensors, not a multiple of tensor_num_per_layer ${perLayer}`);
  }
  const start = first * perLayer;
  const end = (second + 1) * perLayer;
  if (end > tensors) {
    return invalid(`${side} layers ${first}..${second} need tensors [${start}, ${end}) but the cache has ${tensors}`);
  }
  return ok({ start, count: end - start });
}

/**
 * Which tensors a pull copies (facts §3.7, §3.10). Indices are used only when both ranges start
 * at a layer ≥ 0; otherwise every tensor is copied and the two caches must have as many.
 */
export function pullPairing(ext: KvCacheExtParam, localTensors: number, remoteTensors: number): Outcome<TensorPairing> {
  const perLayer = ext.tensor_num_per_layer;
  if (ext.src_layer_range[0] < 0 || ext.dst_layer_range[0] < 0) {
    if (localTensors !== remoteTensors) {
      return invalid(`local cache has ${localTensors} tensors, remote cache has ${remoteTensors}`);
    }
    return ok({ local: { start: 0, count: localTensors }, remote: { start: 0, count: remoteTensors } });
  }
  const remote = layerSpan(ext.src_layer_range, perLayer, remoteTensors, 'remote');
  if (!remote.ok) return remote;
  const local = layerSpan(ext.dst_layer_range, perLayer, localTensors, 'local');
  if (!local.ok) return local;
  if (remote.value.count !== local.value.count) {
    return invalid(`src layers select ${remote.value.count} tensors, dst layers ${local.value.count}`);
  }
  return ok({ local: local.value, remote: remote.value });
}

/** Last layer index when a push uses the default range (facts §3.9): a remainder is one more layer. */
function defaultLastLayer(tensors: number, perLayer: number): number {
  if (tensors < perLayer) return 0;
  const layers = Math.floor(tensors / perLayer);
  return tensors % perLayer === 0 ? layers - 1 : layers;
}

/**
 * The per-layer transfers of a push (facts §3.9): layer l sends local tensors [l·T, l·T + n) to
 * the remote layer at the same distance from dst.first (or l itself when dst is the default).
 * `declaredTensors` is the caller's `src_cache.cache_desc.num_tensors`, which sizes the default range.
 */
export function pushPairings(
  ext: KvCacheExtParam,
  declaredTensors: number,
  localTensors: number,
  remoteTensors: number,
): Outcome<TensorPairing[]> {
  const perLayer = ext.tensor_num_per_layer;
  const [srcFirst, srcSecond] = ext.src_layer_range;
  const [dstFirst] = ext.dst_layer_range;
  const firstLayer = srcFirst >= 0 ? srcFirst : 0;
  const lastLayer = srcFirst >= 0 ? srcSecond : defaultLastLayer(declaredTensors, perLayer);
  const pairings: TensorPairing[] = [];
  for (let layer = firstLayer; layer <= lastLayer; layer += 1) {
    const start = layer * perLayer;
    const count = Math.min(perLayer, localTensors - start);
    if (count <= 0) return invalid(`layer ${layer} starts at tensor ${start} but the local cache has ${localTensors}`);
    const remoteLayer = dstFirst >= 0 ? dstFirst + (layer - firstLayer) : layer;
    const remoteStart = remoteLayer * perLayer;
    if (remoteStart + count > remoteTensors) {
      return invalid(`remote layer ${remoteLayer} needs tensors [${remoteStart}, ${remoteStart + count}) but the remote cache has ${remoteTensors}`);
    }
    pairings.push({ local: { start, count }, remote: { start: remoteStart, count } });
  }
  return ok(pairings);
}
