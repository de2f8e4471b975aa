import { CachePlacement, StatusCode, type Cache, type CacheIndex, type KvCacheExtParam } from '@dd/sys';
import type { FakeDataDist, LinkEnd, RegisteredCache } from './data-dist.js';
import type { TransferKind } from './inspection.js';
import { checkExtParam, pullPairing, pushPairings, type TensorPairing } from './layer-range.js';
import { fail, invalid, ok, type Outcome } from './outcome.js';

/** `length` bytes from address `from` (memory of `source`) to `to` (memory of `target`). */
export interface CopySegment {
  readonly from: bigint;
  readonly to: bigint;
  readonly length: number;
}

/** A validated transfer: which bytes move, over which link. Nothing is copied yet. */
export interface TransferPlan {
  readonly kind: TransferKind;
  readonly initiator: FakeDataDist;
  readonly link: LinkEnd;
  /** Whose memory is read and whose is written. */
  readonly source: FakeDataDist;
  readonly target: FakeDataDist;
  readonly localCacheId: bigint;
  readonly remoteCacheId: bigint;
  readonly segments: readonly CopySegment[];
  readonly tensors: number;
  readonly runs: number;
  readonly srcBlocks: readonly bigint[];
  readonly dstBlocks: readonly bigint[];
  /** The peer died without unlinking: the transfer is attempted and fails as a dead HCCL peer does. */
  readonly peerGone: boolean;
}

/** A run of blocks where src and dst both go up by one: copied as one piece. */
interface BlockRun {
  readonly src: bigint;
  readonly dst: bigint;
  readonly length: bigint;
}

function mergeRuns(srcBlocks: BigUint64Array, dstBlocks: BigUint64Array): BlockRun[] {
  const runs: BlockRun[] = [];
  let current: { src: bigint; dst: bigint; length: bigint } | null = null;
  for (let i = 0; i < srcBlocks.length; i += 1) {
    const src = srcBlocks[i] as bigint;
    const dst = dstBlocks[i] as bigint;
    if (current !== null && src === current.src + current.length && dst === current.dst + current.length) {
      current.length += 1n;
    } else {
      if (current !== null) runs.push(current);
      current = { src, dst, length: 1n };
    }
  }
  if (current !== null) runs.push(current);
  return runs;
}

function requireInitialized(dd: FakeDataDist, method: TransferKind): Outcome<void> {
  return dd.initialized ? ok(undefined) : fail(StatusCode.LLM_FAILED, `${method} before Initialize`);
}

function extParamProblem(ext: KvCacheExtParam): Outcome<void> {
  const problem = checkExtParam(ext);
  return problem === null ? ok(undefined) : invalid(problem);
}

function localCache(dd: FakeDataDist, cacheId: bigint): Outcome<RegisteredCache> {
  const cache = dd.caches.get(cacheId);
  return cache === undefined ? fail(StatusCode.LLM_KV_CACHE_NOT_EXIST, `local cache ${cacheId} is not registered`) : ok(cache);
}

function linkTo(dd: FakeDataDist, clusterId: bigint): Outcome<LinkEnd> {
  const link = dd.links.get(clusterId);
  return link === undefined ? fail(StatusCode.LLM_NOT_YET_LINK, `no link to cluster ${clusterId}`) : ok(link);
}

/** Past the local checks, a transfer over a broken link goes out and is never answered. */
function toDeadPeer(dd: FakeDataDist, kind: TransferKind, link: LinkEnd, localCacheId: bigint, remoteCacheId: bigint): TransferPlan {
  const target = kind.startsWith('Pull') ? dd : link.peer;
  const source = kind.startsWith('Pull') ? link.peer : dd;
  return { kind, initiator: dd, link, source, target, localCacheId, remoteCacheId, segments: [], tensors: 0, runs: 0, srcBlocks: [], dstBlocks: [], peerGone: true };
}

/**
 * The peer's cache as this link sees it. V2 fetches the peer's cache table at the first transfer
 * over a link and binds memory when the link is made, so caches registered later are missing or
 * unreachable; the fake enforces this unless the network was created with
 * `enforceRegisterBeforeLink: false`.
 */
function remoteCache(dd: FakeDataDist, link: LinkEnd, cacheId: bigint): Outcome<RegisteredCache> {
  const enforce = dd.network.enforceRegisterBeforeLink;
  if (enforce) {
    link.remoteTable ??= new Set(link.peer.caches.keys());
    if (!link.remoteTable.has(cacheId)) {
      return fail(StatusCode.LLM_KV_CACHE_NOT_EXIST, `remote cache ${cacheId} is not in the cache table fetched at the link's first transfer (register before linking)`);
    }
  }
  const cache = link.peer.caches.get(cacheId);
  if (cache === undefined) return fail(StatusCode.LLM_KV_CACHE_NOT_EXIST, `remote cache ${cacheId} does not exist`);
  if (enforce && cache.seq > link.seq) {
    return fail(StatusCode.LLM_FAILED, `remote cache ${cacheId} was registered after the link was made, so its memory is not bound to the link (register before linking)`);
  }
  return ok(cache);
}

function boundToLink(dd: FakeDataDist, cache: RegisteredCache, link: LinkEnd): Outcome<void> {
  if (dd.network.enforceRegisterBeforeLink && cache.seq > link.seq) {
    return fail(StatusCode.LLM_FAILED, `local cache ${cache.id} was registered after the link was made, so its memory is not bound to the link (register before linking)`);
  }
  return ok(undefined);
}

/** Segments for copying whole rows/blocks of paired tensors at the given byte offsets. */
function tensorSegments(
  pairings: readonly TensorPairing[],
  fromCache: RegisteredCache,
  toCache: RegisteredCache,
  fromIsLocal: boolean,
  pieces: readonly { from: bigint; to: bigint; length: bigint }[],
): CopySegment[] {
  const segments: CopySegment[] = [];
  for (const { local, remote } of pairings) {
    const fromSpan = fromIsLocal ? local : remote;
    const toSpan = fromIsLocal ? remote : local;
    for (let i = 0; i < local.count; i += 1) {
      const fromBase = fromCache.addrs[fromSpan.start + i] as bigint;
      const toBase = toCache.addrs[toSpan.start + i] as bigint;
      for (const piece of pieces) segments.push({ from: fromBase + piece.from, to: toBase + piece.to, length: Number(piece.length) });
    }
  }
  return segments;
}

function tensorCount(pairings: readonly TensorPairing[]): number {
  return pairings.reduce((sum, pairing) => sum + pairing.local.count, 0);
}

export function planPullKvCache(
  dd: FakeDataDist,
  src: CacheIndex,
  dst: Cache,
  batchIndex: number,
  size: bigint,
  ext: KvCacheExtParam,
): Outcome<TransferPlan> {
  const steps: Outcome<unknown>[] = [requireInitialized(dd, 'PullKvCache')];
  if (size !== -1n && size <= 0n) steps.push(invalid(`size ${size} must be -1 or > 0`));
  steps.push(extParamProblem(ext));
  if (src.cluster_id === dd.clusterId) steps.push(invalid(`src cluster ${src.cluster_id} is this instance's own cluster`));
  for (const step of steps) if (!step.ok) return step;

  const local = localCache(dd, dst.cache_id);
  if (!local.ok) return local;
  const { stride, rows } = local.value;
  if (BigInt(batchIndex) >= rows) return invalid(`batch_index ${batchIndex} is not below the local batch size ${rows}`);
  if (size > stride) return invalid(`size ${size} exceeds the ${stride} bytes of one local batch row`);
  const link = linkTo(dd, src.cluster_id);
  if (!link.ok) return link;
  if (link.value.broken) return ok(toDeadPeer(dd, 'PullKvCache', link.value, local.value.id, src.cache_id));
  const remote = remoteCache(dd, link.value, src.cache_id);
  if (!remote.ok) return remote;
  const pairing = pullPairing(ext, local.value.addrs.length, remote.value.addrs.length);
  if (!pairing.ok) return pairing;
  const bound = boundToLink(dd, local.value, link.value);
  if (!bound.ok) return bound;

  // Both offsets use the local stride, so both sides must have the same row size.
  const piece = { from: BigInt(src.batch_index) * stride, to: BigInt(batchIndex) * stride, length: size > 0n ? size : stride };
  return ok({
    kind: 'PullKvCache',
    initiator: dd,
    link: link.value,
    source: link.value.peer,
    target: dd,
    localCacheId: local.value.id,
    remoteCacheId: remote.value.id,
    segments: tensorSegments([pairing.value], remote.value, local.value, false, [piece]),
    tensors: pairing.value.local.count,
    runs: 1,
    srcBlocks: [],
    dstBlocks: [],
    peerGone: false,
  });
}

function checkBlockLists(srcBlocks: BigUint64Array, dstBlocks: BigUint64Array): Outcome<void> {
  if (srcBlocks.length === 0) return invalid('src_blocks is empty');
  if (srcBlocks.length !== dstBlocks.length) return invalid(`src_blocks has ${srcBlocks.length} entries, dst_blocks ${dstBlocks.length}`);
  return ok(undefined);
}

/** Blocks on the far side are checked per merged run: its start, and that the run fits one tensor. */
function checkRemoteRuns(runs: readonly BlockRun[], remoteStart: (run: BlockRun) => bigint, remote: RegisteredCache, stride: bigint): Outcome<void> {
  const remoteBytes = BigInt(remote.tensorBytes);
  const blocks = (remoteBytes + stride - 1n) / stride;
  for (const run of runs) {
    const start = remoteStart(run);
    if (start >= blocks) return invalid(`remote block ${start} is not below the remote cache's ${blocks} blocks`);
    if (run.length * stride > remoteBytes) return invalid(`a run of ${run.length} blocks exceeds the remote tensor size ${remoteBytes}`);
  }
  return ok(undefined);
}

export function planPullKvBlocks(
  dd: FakeDataDist,
  src: CacheIndex,
  dst: Cache,
  srcBlocks: BigUint64Array,
  dstBlocks: BigUint64Array,
  ext: KvCacheExtParam,
): Outcome<TransferPlan> {
  const steps: Outcome<unknown>[] = [requireInitialized(dd, 'PullKvBlocks'), extParamProblem(ext)];
  if (src.batch_index !== 0) steps.push(invalid(`src_cache_index.batch_index ${src.batch_index} must be 0 for block transfers`));
  steps.push(checkBlockLists(srcBlocks, dstBlocks));
  if (src.cluster_id === dd.clusterId) steps.push(invalid(`src cluster ${src.cluster_id} is this instance's own cluster`));
  for (const step of steps) if (!step.ok) return step;

  const local = localCache(dd, dst.cache_id);
  if (!local.ok) return local;
  const { stride, rows } = local.value;
  const outOfRange = dstBlocks.find((block) => block >= rows);
  if (outOfRange !== undefined) return invalid(`dst block ${outOfRange} is not below the local block count ${rows}`);
  const link = linkTo(dd, src.cluster_id);
  if (!link.ok) return link;
  if (link.value.broken) return ok(toDeadPeer(dd, 'PullKvBlocks', link.value, local.value.id, src.cache_id));
  const remote = remoteCache(dd, link.value, src.cache_id);
  if (!remote.ok) return remote;
  const pairing = pullPairing(ext, local.value.addrs.length, remote.value.addrs.length);
  if (!pairing.ok) return pairing;
  const runs = mergeRuns(srcBlocks, dstBlocks);
  const remoteRuns = checkRemoteRuns(runs, (run) => run.src, remote.value, stride);
  if (!remoteRuns.ok) return remoteRuns;
  const bound = boundToLink(dd, local.value, link.value);
  if (!bound.ok) return bound;

  const pieces = runs.map((run) => ({ from: run.src * stride, to: run.dst * stride, length: run.length * stride }));
  return ok({
    kind: 'PullKvBlocks',
    initiator: dd,
    link: link.value,
    source: link.value.peer,
    target: dd,
    localCacheId: local.value.id,
    remoteCacheId: remote.value.id,
    segments: tensorSegments([pairing.value], remote.value, local.value, false, pieces),
    tensors: pairing.value.local.count,
    runs: runs.length,
    srcBlocks: [...srcBlocks],
    dstBlocks: [...dstBlocks],
    peerGone: false,
  });
}

/** Argument checks both pushes share, after their own (facts §3.9); all PARAM_INVALID. */
function checkPushExtParam(srcCache: Cache, ext: KvCacheExtParam): Outcome<void> {
  const problem = checkExtParam(ext);
  if (problem !== null) return invalid(problem);
  const [srcFirst, srcSecond] = ext.src_layer_range;
  const [dstFirst, dstSecond] = ext.dst_layer_range;
  if (srcSecond - srcFirst !== dstSecond - dstFirst) {
    return invalid(`src_layer_range (${srcFirst}, ${srcSecond}) and dst_layer_range (${dstFirst}, ${dstSecond}) differ in length`);
  }
  if (srcFirst < 0 && srcCache.cache_desc.num_tensors <= 0) {
    return invalid('with the default src_layer_range, src_cache.cache_desc.num_tensors must be filled in (> 0)');
  }
  return ok(undefined);
}

/** V2 reads the caller's description of the source cache here, not the registered one. */
function checkPushPlacement(srcCache: Cache): Outcome<void> {
  return srcCache.cache_desc.placement === CachePlacement.kDevice
    ? ok(undefined)
    : invalid('src_cache.cache_desc.placement must be kDevice to push');
}

interface PushSides {
  readonly local: RegisteredCache;
  readonly link: LinkEnd;
  readonly remote: RegisteredCache;
  readonly pairings: TensorPairing[];
}

type PushReach = { readonly deadPeer: TransferPlan } | PushSides;

function pushSides(
  dd: FakeDataDist,
  srcCache: Cache,
  dst: CacheIndex,
  ext: KvCacheExtParam,
  kind: TransferKind,
  checkLocal: (local: RegisteredCache) => Outcome<void>,
): Outcome<PushReach> {
  const local = localCache(dd, srcCache.cache_id);
  if (!local.ok) return local;
  const localProblem = checkLocal(local.value);
  if (!localProblem.ok) return localProblem;
  const link = linkTo(dd, dst.cluster_id);
  if (!link.ok) return link;
  if (link.value.broken) return ok({ deadPeer: toDeadPeer(dd, kind, link.value, local.value.id, dst.cache_id) });
  const remote = remoteCache(dd, link.value, dst.cache_id);
  if (!remote.ok) return remote;
  const pairings = pushPairings(ext, srcCache.cache_desc.num_tensors, local.value.addrs.length, remote.value.addrs.length);
  if (!pairings.ok) return pairings;
  return ok({ local: local.value, link: link.value, remote: remote.value, pairings: pairings.value });
}

export function planPushKvCache(
  dd: FakeDataDist,
  srcCache: Cache,
  dst: CacheIndex,
  srcBatchIndex: number,
  size: bigint,
  ext: KvCacheExtParam,
): Outcome<TransferPlan> {
  const steps: Outcome<unknown>[] = [requireInitialized(dd, 'PushKvCache'), checkPushPlacement(srcCache)];
  if (size !== -1n) steps.push(invalid(`size ${size}: PushKvCache supports only -1 (whole rows)`));
  steps.push(checkPushExtParam(srcCache, ext));
  for (const step of steps) if (!step.ok) return step;

  const sides = pushSides(dd, srcCache, dst, ext, 'PushKvCache', (local) =>
    BigInt(srcBatchIndex) < local.rows ? ok(undefined) : invalid(`src_batch_index ${srcBatchIndex} is not below the local batch size ${local.rows}`),
  );
  if (!sides.ok) return sides;
  if ('deadPeer' in sides.value) return ok(sides.value.deadPeer);
  const { local, link, remote, pairings } = sides.value;
  const bound = boundToLink(dd, local, link);
  if (!bound.ok) return bound;
  const piece = { from: BigInt(srcBatchIndex) * local.stride, to: BigInt(dst.batch_index) * local.stride, length: local.stride };
  return ok({
    kind: 'PushKvCache',
    initiator: dd,
    link,
    source: dd,
    target: link.peer,
    localCacheId: local.id,
    remoteCacheId: remote.id,
    segments: tensorSegments(pairings, local, remote, true, [piece]),
    tensors: tensorCount(pairings),
    runs: 1,
    srcBlocks: [],
    dstBlocks: [],
    peerGone: false,
  });
}

export function planPushKvBlocks(
  dd: FakeDataDist,
  srcCache: Cache,
  dst: CacheIndex,
  srcBlocks: BigUint64Array,
  dstBlocks: BigUint64Array,
  ext: KvCacheExtParam,
): Outcome<TransferPlan> {
  const steps: Outcome<unknown>[] = [requireInitialized(dd, 'PushKvBlocks'), checkPushPlacement(srcCache), checkBlockLists(srcBlocks, dstBlocks)];
  if (dst.batch_index !== 0) steps.push(invalid(`dst_cache_index.batch_index ${dst.batch_index} must be 0 for block transfers`));
  steps.push(checkPushExtParam(srcCache, ext));
  for (const step of steps) if (!step.ok) return step;

  const sides = pushSides(dd, srcCache, dst, ext, 'PushKvBlocks', (local) => {
    const outOfRange = srcBlocks.find((block) => block >= local.rows);
    return outOfRange === undefined ? ok(undefined) : invalid(`src block ${outOfRange} is not below the local block count ${local.rows}`);
  });
  if (!sides.ok) return sides;
  if ('deadPeer' in sides.value) return ok(sides.value.deadPeer);
  const { local, link, remote, pairings } = sides.value;
  const runs = mergeRuns(srcBlocks, dstBlocks);
  const remoteRuns = checkRemoteRuns(runs, (run) => run.dst, remote, local.stride);
  if (!remoteRuns.ok) return remoteRuns;
  const bound = boundToLink(dd, local, link);
  if (!bound.ok) return bound;
  const pieces = runs.map((run) => ({ from: run.src * local.stride, to: run.dst * local.stride, length: run.length * local.stride }));
  return ok({
    kind: 'PushKvBlocks',
    initiator: dd,
    link,
    source: dd,
    target: link.peer,
    localCacheId: local.id,
    remoteCacheId: remote.id,
    segments: tensorSegments(pairings, local, remote, true, pieces),
    tensors: tensorCount(pairings),
    runs: runs.length,
    srcBlocks: [...srcBlocks],
    dstBlocks: [...dstBlocks],
    peerGone: false,
  });
}

function insideRegistered(owner: FakeDataDist, address: bigint, length: number): boolean {
  const end = address + BigInt(length);
  for (const cache of owner.caches.values()) {
    for (const base of cache.addrs) {
      if (base <= address && end <= base + BigInt(cache.tensorBytes)) return true;
    }
  }
  return false;
}

/**
 * Copies the plan's bytes. Like the host backend's serving side, it first checks every range
 * against the registered memory of its owner, and copies nothing if one falls outside.
 */
export function executePlan(plan: TransferPlan): Outcome<number> {
  const memory = plan.initiator.network.memory;
  const copies: { from: Uint8Array; to: Uint8Array }[] = [];
  for (const segment of plan.segments) {
    const fromOk = insideRegistered(plan.source, segment.from, segment.length);
    const toOk = insideRegistered(plan.target, segment.to, segment.length);
    const from = fromOk ? memory.resolve(segment.from, segment.length) : null;
    const to = toOk ? memory.resolve(segment.to, segment.length) : null;
    if (from === null || to === null) {
      const [side, address] = from === null ? ['read', segment.from] : ['write', segment.to];
      return fail(StatusCode.LLM_FAILED, `${plan.kind}: the ${side} of ${segment.length} bytes at 0x${address.toString(16)} falls outside registered memory`);
    }
    copies.push({
      from: new Uint8Array(from.memory, from.offset, segment.length),
      to: new Uint8Array(to.memory, to.offset, segment.length),
    });
  }
  let bytes = 0;
  for (const copy of copies) {
    copy.to.set(copy.from); // set() copies as if through a temporary when the ranges overlap
    bytes += copy.from.length;
  }
  return ok(bytes);
}
