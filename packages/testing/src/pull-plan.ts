import { StatusCode, type Cache, type CacheIndex, type KvCacheExtParam } from '@dd/sys';
import { mergeRuns, runPastRows } from './block-runs.js';
import type { RegisteredCache } from './cache-registry.js';
import type { FakeDataDist } from './data-dist.js';
import { extParamProblem, pullLocalSpan, pullRemoteSpan, type TensorSpan } from './layer-range.js';
import type { LinkEnd } from './link-end.js';
import { fail, invalid, ok, type Outcome } from './outcome.js';
import { boundToLink, fetchCacheTable, linkTo, remoteCache } from './remote-view.js';
import { resolveCopies, type TensorCopy, type TransferPlan } from './transfer-plan.js';

/*
 * PullKvCache and PullKvBlocks in V2's check order (A18), with dd's added remote checks (D1, D2).
 * Both offsets and lengths use the local stride (B §3.7, §3.8).
 */

/** A pull request is 120 + 16·(tensors + 2·runs) bytes in a 2 MiB - 8 buffer (A6). */
const MAX_REQUEST_ENTRIES = 131_064;

function requireInitialized(dd: FakeDataDist, method: string): Outcome<void> {
  return dd.initialized ? ok(undefined) : fail(StatusCode.LLM_FAILED, `${method} before Initialize`);
}

function checkExt(ext: KvCacheExtParam): Outcome<void> {
  const problem = extParamProblem(ext);
  return problem === null ? ok(undefined) : invalid(problem);
}

function notOwnCluster(dd: FakeDataDist, src: CacheIndex): Outcome<void> {
  return src.cluster_id === dd.clusterId ? invalid(`src cluster ${src.cluster_id} is this instance's own cluster`) : ok(undefined);
}

function localCache(dd: FakeDataDist, cacheId: bigint): Outcome<RegisteredCache> {
  const cache = dd.caches.get(cacheId);
  return cache === undefined ? fail(StatusCode.LLM_KV_CACHE_NOT_EXIST, `local cache ${cacheId} is not registered`) : ok(cache);
}

function firstFailure(steps: readonly Outcome<unknown>[]): Outcome<void> {
  for (const step of steps) if (!step.ok) return step;
  return ok(undefined);
}

/** From the cache-table fetch on: the remote cache, its tensors (A18 step 14, D2) and its stride (D1). */
function remoteSide(dd: FakeDataDist, link: LinkEnd, src: CacheIndex, ext: KvCacheExtParam, local: RegisteredCache, localSpan: TensorSpan): Outcome<{ remote: RegisteredCache; remoteSpan: TensorSpan }> {
  const table = fetchCacheTable(dd, link);
  if (!table.ok) return table;
  const remote = remoteCache(link, src.cache_id);
  if (!remote.ok) return remote;
  const remoteSpan = pullRemoteSpan(ext, localSpan, remote.value.addrs.length);
  if (!remoteSpan.ok) return remoteSpan;
  if (remote.value.stride !== local.stride) {
    return invalid(`the remote cache has ${remote.value.stride}-byte blocks, the local one ${local.stride}-byte blocks (dd refuses differing strides, D1)`);
  }
  return ok({ remote: remote.value, remoteSpan: remoteSpan.value });
}

function plan(dd: FakeDataDist, kind: 'PullKvCache' | 'PullKvBlocks', link: LinkEnd, src: CacheIndex, local: RegisteredCache, remote: RegisteredCache, spans: [TensorSpan, TensorSpan], pieces: readonly Omit<TensorCopy, 'fromTensor' | 'toTensor'>[]): Outcome<TransferPlan> {
  for (const [cache, whose] of [[local, 'local'], [remote, 'remote']] as const) {
    const bound = boundToLink(dd, link, cache, whose);
    if (!bound.ok) return bound;
  }
  const [localSpan, remoteSpan] = spans;
  const copies: TensorCopy[] = [];
  for (let i = 0; i < localSpan.count; i += 1) {
    for (const piece of pieces) copies.push({ ...piece, fromTensor: remoteSpan.start + i, toTensor: localSpan.start + i });
  }
  const segments = resolveCopies(dd, remote, local, copies);
  if (!segments.ok) return segments;
  return ok({ kind, initiator: dd, linkKey: src.cluster_id, link, localCacheId: local.id, remoteCacheId: remote.id, steps: [segments.value], failure: null, tensors: localSpan.count, runs: pieces.length });
}

export function planPullKvCache(dd: FakeDataDist, src: CacheIndex, dst: Cache, batchIndex: number, size: bigint, ext: KvCacheExtParam): Outcome<TransferPlan> {
  const front = firstFailure([
    requireInitialized(dd, 'PullKvCache'),
    size === -1n || size > 0n ? ok(undefined) : invalid(`size ${size} must be -1 or > 0`),
    checkExt(ext),
    notOwnCluster(dd, src),
  ]);
  if (!front.ok) return front;
  const local = localCache(dd, dst.cache_id);
  if (!local.ok) return local;
  const { rows, stride } = local.value;
  if (BigInt(batchIndex) >= rows) return invalid(`batch_index ${batchIndex} is not below the local batch size ${rows}`);
  if (size > stride) return invalid(`size ${size} exceeds the ${stride} bytes of one local batch row`);
  const localSpan = pullLocalSpan(ext, local.value.addrs.length);
  if (!localSpan.ok) return localSpan;
  const link = linkTo(dd, src.cluster_id);
  if (!link.ok) return link;
  const remote = remoteSide(dd, link.value, src, ext, local.value, localSpan.value);
  if (!remote.ok) return remote;
  if (BigInt(src.batch_index) >= remote.value.remote.rows) {
    return invalid(`src batch_index ${src.batch_index} is not below the remote batch size ${remote.value.remote.rows} (dd checks this, D2)`);
  }
  const piece = { fromOffset: BigInt(src.batch_index) * stride, toOffset: BigInt(batchIndex) * stride, length: size > 0n ? size : stride };
  return plan(dd, 'PullKvCache', link.value, src, local.value, remote.value.remote, [localSpan.value, remote.value.remoteSpan], [piece]);
}

export function planPullKvBlocks(dd: FakeDataDist, src: CacheIndex, dst: Cache, srcBlocks: BigUint64Array, dstBlocks: BigUint64Array, ext: KvCacheExtParam): Outcome<TransferPlan> {
  const front = firstFailure([
    requireInitialized(dd, 'PullKvBlocks'),
    src.batch_index === 0 ? ok(undefined) : invalid(`src_cache_index.batch_index ${src.batch_index} must be 0 for block transfers`),
    checkExt(ext),
    srcBlocks.length > 0 ? ok(undefined) : invalid('src_blocks is empty'),
    srcBlocks.length === dstBlocks.length ? ok(undefined) : invalid(`src_blocks has ${srcBlocks.length} entries, dst_blocks ${dstBlocks.length}`),
    notOwnCluster(dd, src),
  ]);
  if (!front.ok) return front;
  const local = localCache(dd, dst.cache_id);
  if (!local.ok) return local;
  const localSpan = pullLocalSpan(ext, local.value.addrs.length);
  if (!localSpan.ok) return localSpan;
  const link = linkTo(dd, src.cluster_id);
  if (!link.ok) return link;
  const runs = mergeRuns(srcBlocks, dstBlocks);
  const entries = localSpan.value.count + 2 * runs.length;
  if (entries > MAX_REQUEST_ENTRIES) return invalid(`the pull request needs ${localSpan.value.count} tensors + 2 × ${runs.length} runs = ${entries} entries, at most ${MAX_REQUEST_ENTRIES} fit in 2 MiB`);
  const { rows, stride } = local.value;
  const pastLocal = runPastRows(runs, 'dst', rows);
  if (pastLocal !== undefined) return invalid(`dst blocks ${pastLocal.dst}..${pastLocal.dst + pastLocal.length - 1n} are not below the local block count ${rows}`);
  const remote = remoteSide(dd, link.value, src, ext, local.value, localSpan.value);
  if (!remote.ok) return remote;
  // V2 checks only where a run starts; dd also keeps its end inside the remote rows (D2).
  const pastRemote = runPastRows(runs, 'src', remote.value.remote.rows);
  if (pastRemote !== undefined) {
    return invalid(`src blocks ${pastRemote.src}..${pastRemote.src + pastRemote.length - 1n} are not below the remote block count ${remote.value.remote.rows}`);
  }
  // Whole runs are copied, also where V2 would cut the last one short (D15).
  const pieces = runs.map((run) => ({ fromOffset: run.src * stride, toOffset: run.dst * stride, length: run.length * stride }));
  return plan(dd, 'PullKvBlocks', link.value, src, local.value, remote.value.remote, [localSpan.value, remote.value.remoteSpan], pieces);
}
