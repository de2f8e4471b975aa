import type { KvCacheExtParam } from '@dd/sys';
import { invalid, ok, type Outcome } from './outcome.js';

/** A contiguous run of tensor indices of one cache. */
export interface TensorSpan {
  readonly start: number;
  readonly count: number;
}

/** B §3.10: first ≥ -1, second ≥ -1, first ≤ second, T > 0. */
export function extParamProblem(ext: KvCacheExtParam): string | null {
  for (const [name, [first, second]] of [
    ['src_layer_range', ext.src_layer_range],
    ['dst_layer_range', ext.dst_layer_range],
  ] as const) {
    if (first < -1 || second < -1 || first > second) return `${name} (${first}, ${second}) must satisfy -1 <= first <= second`;
  }
  if (ext.tensor_num_per_layer <= 0) return 'tensor_num_per_layer must be > 0';
  return null;
}

/** Layer indices are used only when both ranges start at a layer ≥ 0 (A18). */
function rangesInUse(ext: KvCacheExtParam): boolean {
  return ext.src_layer_range[0] >= 0 && ext.dst_layer_range[0] >= 0;
}

function span([first, second]: readonly [number, number], perLayer: number): TensorSpan {
  return { start: first * perLayer, count: (second - first + 1) * perLayer };
}

/**
 * A pull's local side (A18 step 9): with ranges in use, the local tensor count is a multiple of T,
 * the dst layers lie inside it, and src and dst select as many tensors; otherwise every tensor.
 */
export function pullLocalSpan(ext: KvCacheExtParam, localTensors: number): Outcome<TensorSpan> {
  if (!rangesInUse(ext)) return ok({ start: 0, count: localTensors });
  const perLayer = ext.tensor_num_per_layer;
  if (localTensors % perLayer !== 0) return invalid(`the local cache has ${localTensors} tensors, not a multiple of tensor_num_per_layer ${perLayer}`);
  const dst = span(ext.dst_layer_range, perLayer);
  if (dst.start + dst.count > localTensors) {
    return invalid(`dst layers ${ext.dst_layer_range[0]}..${ext.dst_layer_range[1]} need tensors [${dst.start}, ${dst.start + dst.count}) of the local cache's ${localTensors}`);
  }
  const src = span(ext.src_layer_range, perLayer);
  if (src.count !== dst.count) return invalid(`src layers select ${src.count} tensors, dst layers ${dst.count}`);
  return ok(dst);
}

/**
 * A pull's remote side (A18 step 14): the whole remote cache must have as many tensors as the
 * local side selects; with ranges, the src layers must lie inside the remote cache (D2).
 */
export function pullRemoteSpan(ext: KvCacheExtParam, local: TensorSpan, remoteTensors: number): Outcome<TensorSpan> {
  if (!rangesInUse(ext)) {
    return remoteTensors === local.count ? ok({ start: 0, count: remoteTensors }) : invalid(`the local cache has ${local.count} tensors, the remote cache ${remoteTensors}`);
  }
  const src = span(ext.src_layer_range, ext.tensor_num_per_layer);
  if (src.start + src.count > remoteTensors) {
    return invalid(`src layers ${ext.src_layer_range[0]}..${ext.src_layer_range[1]} need tensors [${src.start}, ${src.start + src.count}) but the remote cache has ${remoteTensors} (dd checks this, D2)`);
  }
  return ok(src);
}

/** One layer of a push: local layer `src` goes to remote layer `dst`. */
export interface PushLayer {
  readonly src: number;
  readonly dst: number;
}

/**
 * The layers a push walks (A2, B §3.9): one layer if first == second ≥ 0, else first..second, dst
 * stepping along from dst.first. With src.first = -1 the loop is 0..maxL, computed from the
 * caller's `num_tensors` (maxL = N/T - 1 when T divides N, N/T otherwise, 0 when N < T), and the
 * dst layer equals the src layer.
 */
export function pushLayers(ext: KvCacheExtParam, declaredTensors: number): PushLayer[] {
  const perLayer = ext.tensor_num_per_layer;
  const [srcFirst, srcSecond] = ext.src_layer_range;
  const [dstFirst] = ext.dst_layer_range;
  if (srcFirst >= 0) {
    return Array.from({ length: srcSecond - srcFirst + 1 }, (_x, i) => ({ src: srcFirst + i, dst: dstFirst + i }));
  }
  const lastLayer = declaredTensors < perLayer ? 0 : declaredTensors % perLayer === 0 ? declaredTensors / perLayer - 1 : Math.floor(declaredTensors / perLayer);
  return Array.from({ length: lastLayer + 1 }, (_x, layer) => ({ src: layer, dst: layer }));
}
