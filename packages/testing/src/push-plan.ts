import { CachePlacement, StatusCode, type Cache, type CacheIndex, type KvCacheExtParam } from '@dd/sys';
import { mergeRuns, runPastRows, type BlockRun } from './block-runs.js';
import type { RegisteredCache } from './cache-registry.js';
import type { FakeDataDist } from './data-dist.js';
import { extParamProblem, pushLayers, type PushLayer } from './layer-range.js';
import { fail, invalid, ok, type Failure, type Outcome } from './outcome.js';
import { boundToLink, fetchCacheTable, linkTo, remoteCache } from './remote-view.js';
import { resolveCopies, type CopySegment, type TensorCopy, type TransferPlan } from './transfer-plan.js';

/*
 * PushKvCache and PushKvBlocks (A2, A3, A4, B §3.9): front-end checks once, then one transfer per
 * layer, each with its own checks; a failing layer stops the push and earlier layers stay written.
 */

/** What one layer copies: a batch row (PushKvCache) or merged block runs (PushKvBlocks). */
type PushRows =
  | { readonly kind: 'PushKvCache'; readonly srcBatch: number; readonly dstBatch: number }
  | { readonly kind: 'PushKvBlocks'; readonly runs: readonly BlockRun[]; readonly largestDst: bigint };

function firstFailure(steps: readonly Outcome<unknown>[]): Outcome<void> {
  for (const step of steps) if (!step.ok) return step;
  return ok(undefined);
}

/** ext_param, equal range lengths, then the first-layer rule, on the caller's description of the source. */
function checkPushExt(srcCache: Cache, ext: KvCacheExtParam): Outcome<void> {
  const problem = extParamProblem(ext);
  if (problem !== null) return invalid(problem);
  const [srcFirst, srcSecond] = ext.src_layer_range;
  const [dstFirst, dstSecond] = ext.dst_layer_range;
  if (srcSecond - srcFirst !== dstSecond - dstFirst) return invalid(`src_layer_range (${srcFirst}, ${srcSecond}) and dst_layer_range (${dstFirst}, ${dstSecond}) differ in length`);
  if (srcFirst < 0 && srcCache.cache_desc.num_tensors <= 0) return invalid('with src_layer_range.first = -1, src_cache.cache_desc.num_tensors must be filled in (> 0)');
  return ok(undefined);
}

/** V2 reads the caller's placement here, not the registered one. */
function checkPlacement(srcCache: Cache): Outcome<void> {
  return srcCache.cache_desc.placement === CachePlacement.kDevice ? ok(undefined) : invalid('src_cache.cache_desc.placement must be kDevice to push');
}

/** A3 steps 7-10 for one layer, against the remote and the local cache. */
function layerProblem(layer: PushLayer, perLayer: number, local: RegisteredCache, remote: RegisteredCache, rows: PushRows): Failure | null {
  const remoteLayers = Math.floor(remote.addrs.length / perLayer);
  if (layer.dst < 0 || layer.dst >= remoteLayers) return invalid(`remote layer ${layer.dst} is not below the remote cache's ${remoteLayers} layers of ${perLayer} tensors`);
  const remoteLast = rows.kind === 'PushKvCache' ? BigInt(rows.dstBatch) : rows.largestDst;
  if (remoteLast >= remote.rows) return invalid(`remote ${rows.kind === 'PushKvCache' ? 'batch index' : 'block'} ${remoteLast} is not below the remote cache's ${remote.rows} rows`);
  if (remote.stride !== local.stride) return invalid(`the remote cache has ${remote.stride}-byte blocks, the local one ${local.stride}-byte blocks (dd refuses differing strides, D1)`);
  const localTensors = local.addrs.length;
  if (localTensors % perLayer !== 0 || layer.src >= Math.floor(localTensors / perLayer)) {
    return invalid(`local layer ${layer.src} is not one of the ${Math.floor(localTensors / perLayer)} whole layers of ${perLayer} tensors in the local cache (${localTensors} tensors)`);
  }
  if (rows.kind === 'PushKvCache' && BigInt(rows.srcBatch) >= local.rows) return invalid(`src_batch_index ${rows.srcBatch} is not below the local batch size ${local.rows}`);
  const pastLocal = rows.kind === 'PushKvBlocks' ? runPastRows(rows.runs, 'src', local.rows) : undefined;
  if (pastLocal !== undefined) return invalid(`src blocks ${pastLocal.src}..${pastLocal.src + pastLocal.length - 1n} are not below the local block count ${local.rows}`);
  return null;
}

function layerCopies(layer: PushLayer, perLayer: number, stride: bigint, rows: PushRows): TensorCopy[] {
  const pieces =
    rows.kind === 'PushKvCache'
      ? [{ fromOffset: BigInt(rows.srcBatch) * stride, toOffset: BigInt(rows.dstBatch) * stride, length: stride }]
      : rows.runs.map((run) => ({ fromOffset: run.src * stride, toOffset: run.dst * stride, length: run.length * stride }));
  const copies: TensorCopy[] = [];
  for (let k = 0; k < perLayer; k += 1) {
    for (const piece of pieces) copies.push({ ...piece, fromTensor: layer.src * perLayer + k, toTensor: layer.dst * perLayer + k });
  }
  return copies;
}

function planLayers(dd: FakeDataDist, srcCache: Cache, dst: CacheIndex, ext: KvCacheExtParam, rows: PushRows): Outcome<TransferPlan> {
  const perLayer = ext.tensor_num_per_layer;
  const layers = pushLayers(ext, srcCache.cache_desc.num_tensors);
  const steps: CopySegment[][] = [];
  let found: Omit<TransferPlan, 'steps' | 'failure' | 'tensors'> | null = null;
  const stop = (failure: Failure): Outcome<TransferPlan> =>
    found === null ? failure : ok({ ...found, steps, failure, tensors: steps.length * perLayer });
  for (const layer of layers) {
    // A3 steps 3-6 (T > 0 and the push lock are settled before the loop).
    const local = dd.caches.get(srcCache.cache_id);
    if (local === undefined) return stop(fail(StatusCode.LLM_KV_CACHE_NOT_EXIST, `local cache ${srcCache.cache_id} is not registered`));
    const link = linkTo(dd, dst.cluster_id);
    if (!link.ok) return stop(link);
    const table = fetchCacheTable(dd, link.value);
    if (!table.ok) return stop(table);
    const remote = remoteCache(link.value, dst.cache_id);
    if (!remote.ok) return stop(remote);
    const problem = layerProblem(layer, perLayer, local, remote.value, rows);
    if (problem !== null) return stop(problem);
    for (const [cache, whose] of [[local, 'local'], [remote.value, 'remote']] as const) {
      const bound = boundToLink(dd, link.value, cache, whose);
      if (!bound.ok) return stop(bound);
    }
    const segments = resolveCopies(dd, local, remote.value, layerCopies(layer, perLayer, local.stride, rows));
    if (!segments.ok) return stop(segments);
    steps.push(segments.value);
    found ??= {
      kind: rows.kind,
      initiator: dd,
      linkKey: dst.cluster_id,
      link: link.value,
      localCacheId: local.id,
      remoteCacheId: remote.value.id,
      runs: rows.kind === 'PushKvCache' ? 1 : rows.runs.length,
    };
  }
  return found === null ? invalid('the push has no layers') : ok({ ...found, steps, failure: null, tensors: steps.length * perLayer });
}

export function planPushKvCache(dd: FakeDataDist, srcCache: Cache, dst: CacheIndex, srcBatchIndex: number, size: bigint, ext: KvCacheExtParam): Outcome<TransferPlan> {
  const front = firstFailure([
    dd.initialized ? ok(undefined) : fail(StatusCode.LLM_FAILED, 'PushKvCache before Initialize'),
    checkPlacement(srcCache),
    size === -1n ? ok(undefined) : invalid(`size ${size}: PushKvCache supports only -1 (whole rows)`),
    checkPushExt(srcCache, ext),
  ]);
  if (!front.ok) return front;
  return planLayers(dd, srcCache, dst, ext, { kind: 'PushKvCache', srcBatch: srcBatchIndex, dstBatch: dst.batch_index });
}

export function planPushKvBlocks(dd: FakeDataDist, srcCache: Cache, dst: CacheIndex, srcBlocks: BigUint64Array, dstBlocks: BigUint64Array, ext: KvCacheExtParam): Outcome<TransferPlan> {
  const front = firstFailure([
    dd.initialized ? ok(undefined) : fail(StatusCode.LLM_FAILED, 'PushKvBlocks before Initialize'),
    checkPlacement(srcCache),
    srcBlocks.length > 0 ? ok(undefined) : invalid('src_blocks is empty'),
    srcBlocks.length === dstBlocks.length ? ok(undefined) : invalid(`src_blocks has ${srcBlocks.length} entries, dst_blocks ${dstBlocks.length}`),
    dst.batch_index === 0 ? ok(undefined) : invalid(`dst_cache_index.batch_index ${dst.batch_index} must be 0 for block transfers`),
    checkPushExt(srcCache, ext),
  ]);
  if (!front.ok) return front;
  const largestDst = dstBlocks.reduce((max, block) => (block > max ? block : max), 0n);
  return planLayers(dd, srcCache, dst, ext, { kind: 'PushKvBlocks', runs: mergeRuns(srcBlocks, dstBlocks), largestDst });
}
