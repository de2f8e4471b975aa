import { makeCacheIndex, makeKvCacheExtParam, StatusCode, type CacheIndex, type KvCacheExtParam } from '@dd/sys';
import { CacheNotFoundError, DataDistArgumentError, type OperationName } from './errors.js';
import { KvCache, cacheInternals, type CacheOwner } from './kv-cache.js';
import type { RetryPolicy } from './retry-policy.js';
import { ALL_LAYERS, toInclusivePair, type InclusiveLayerPair, type LayerRange } from './layer-range.js';
import { describe, requireObject, toBlockList, toNonNegativeI64, toSignal, toTimeoutMs, toU32, toU64, type BlockList } from './validate.js';

/** A cache of a remote cluster, as its owner registered it. */
export interface RemoteCacheRef {
  /** The remote engine's cluster id. */
  readonly clusterId: bigint | number;
  /** The remote cache's id (what `registerCache` returned there; ids start at 1). */
  readonly cacheId: bigint | number;
}

/** A batch row of a remote cache, for whole-cache transfers. */
export interface RemoteCacheRowRef extends RemoteCacheRef {
  /** Row (batch index) of the remote cache; default 0. */
  readonly batchIndex?: number;
}

/** Options every transfer takes. */
export interface TransferCallOptions {
  /**
   * Give up waiting after this many ms: the promise rejects with a TimeoutError (`abandoned: true`)
   * while the native transfer runs on to its own end (at most `syncTimeoutMs`), its result discarded.
   * Default: wait for the native result, which the engine's `syncTimeoutMs` bounds.
   */
  readonly timeoutMs?: number;
  /** Abort waiting, with the same semantics as `timeoutMs` (rejects with OperationAbortedError); also ends a retry's wait. */
  readonly signal?: AbortSignal;
  /** Try again on failure, under this policy (see {@link RetryPolicy}); default: one attempt. */
  readonly retry?: RetryPolicy;
  /**
   * Layers of the **local** cache to transfer, half-open (`end` excluded). Default: every tensor.
   * Needs `numTensors` to be a multiple of `tensorsPerLayer`.
   */
  readonly layers?: LayerRange;
  /** Layers of the **remote** cache, half-open; default: the same as `layers`. Must have as many layers. */
  readonly remoteLayers?: LayerRange;
}

/** Pull blocks of a remote cache into blocks of a local one: `srcBlocks[i]` → `dstBlocks[i]`. */
export interface PullBlocksOptions extends TransferCallOptions {
  readonly from: RemoteCacheRef;
  readonly into: KvCache;
  /** Remote block indices (any order). */
  readonly srcBlocks: BlockList;
  /** Local block indices, as many as `srcBlocks`, each below `into.numBlocks`. */
  readonly dstBlocks: BlockList;
}

/** Pull one batch row of a remote cache into a row of a local one. */
export interface PullCacheOptions extends TransferCallOptions {
  readonly from: RemoteCacheRowRef;
  readonly into: KvCache;
  /** Local row; default 0; below `into.numBlocks`. */
  readonly batchIndex?: number;
  /** Bytes per tensor to copy, from the row start; default the whole row (`into.bytesPerBlock`). */
  readonly size?: number | bigint;
}

/** Push blocks of a local cache into blocks of a remote one: `srcBlocks[i]` → `dstBlocks[i]`. */
export interface PushBlocksOptions extends TransferCallOptions {
  /** The local source; must be placed on `'device'` (upstream rule). */
  readonly from: KvCache;
  readonly to: RemoteCacheRef;
  /** Local block indices, each below `from.numBlocks`. */
  readonly srcBlocks: BlockList;
  /** Remote block indices, as many as `srcBlocks`. */
  readonly dstBlocks: BlockList;
}

/** Push one row of a local cache into a row of a remote one. */
export interface PushCacheOptions extends TransferCallOptions {
  /** The local source; must be placed on `'device'` (upstream rule). */
  readonly from: KvCache;
  readonly to: RemoteCacheRowRef;
  /** Local row; default 0; below `from.numBlocks`. */
  readonly batchIndex?: number;
}

/** What a successful transfer reports. */
export interface TransferReport {
  /** Bytes moved: selected tensors × blocks × bytes per block (or × `size`). */
  readonly bytes: number;
  /** Milliseconds until the backend answered (of the attempt that succeeded, under a retry policy). */
  readonly durationMs: number;
  /** Attempts it took: 1, or more under a `retry` policy. */
  readonly attempts: number;
}

/** A checked transfer, ready for the bindings. */
export interface TransferPlan {
  readonly cache: KvCache;
  readonly remoteClusterId: bigint;
  readonly remote: CacheIndex;
  readonly ext: KvCacheExtParam;
  readonly bytes: number;
  readonly timeoutMs: number | undefined;
  readonly signal: AbortSignal | undefined;
}

function localCache(op: OperationName, argument: string, value: unknown, owner: CacheOwner): KvCache {
  if (!(value instanceof KvCache) || cacheInternals.owner(value) !== owner) {
    throw new DataDistArgumentError(op, argument, 'must be a KvCache registered on this engine', describe(value));
  }
  if (!value.registered) {
    throw new CacheNotFoundError({ status: StatusCode.LLM_KV_CACHE_NOT_EXIST, operation: op, message: `${op}: \`${argument}\` (cache ${value.id}) is no longer registered` });
  }
  return value;
}

function remoteIndex(op: OperationName, argument: string, value: unknown, withRow: boolean): CacheIndex {
  const ref = requireObject(op, argument, value);
  return makeCacheIndex({
    cluster_id: toU64(op, `${argument}.clusterId`, ref.clusterId),
    cache_id: toNonNegativeI64(op, `${argument}.cacheId`, ref.cacheId),
    batch_index: withRow && ref.batchIndex !== undefined ? toU32(op, `${argument}.batchIndex`, ref.batchIndex) : 0,
  });
}

/** The native ext_param and the number of tensors it selects on the local cache. */
function layerSelection(
  op: OperationName,
  options: Readonly<Record<string, unknown>>,
  cache: KvCache,
  localIsSource: boolean,
): { readonly ext: KvCacheExtParam; readonly tensors: number } {
  const T = cache.tensorsPerLayer;
  if (options.layers === undefined && options.remoteLayers === undefined) {
    return { ext: makeKvCacheExtParam({ src_layer_range: ALL_LAYERS, dst_layer_range: ALL_LAYERS, tensor_num_per_layer: T }), tensors: cache.numTensors };
  }
  if (options.layers === undefined) {
    throw new DataDistArgumentError(op, 'layers', 'is required when remoteLayers is given');
  }
  if (cache.numTensors % T !== 0) {
    throw new DataDistArgumentError(op, 'layers', `needs the cache's numTensors (${cache.numTensors}) to be a multiple of tensorsPerLayer (${T})`);
  }
  const local = toInclusivePair(op, 'layers', options.layers, cache.numLayers);
  const remote: InclusiveLayerPair =
    options.remoteLayers === undefined ? local : toInclusivePair(op, 'remoteLayers', options.remoteLayers, undefined);
  const count = local[1] - local[0] + 1;
  if (remote[1] - remote[0] + 1 !== count) {
    throw new DataDistArgumentError(op, 'remoteLayers', `must span as many layers as layers (${count})`, `${remote[1] - remote[0] + 1} layers`);
  }
  const ext = makeKvCacheExtParam({
    src_layer_range: localIsSource ? local : remote,
    dst_layer_range: localIsSource ? remote : local,
    tensor_num_per_layer: T,
  });
  return { ext, tensors: count * T };
}

function callOptions(op: OperationName, options: Readonly<Record<string, unknown>>): Pick<TransferPlan, 'timeoutMs' | 'signal'> {
  return {
    timeoutMs: options.timeoutMs === undefined ? undefined : toTimeoutMs(op, 'timeoutMs', options.timeoutMs),
    signal: toSignal(op, 'signal', options.signal),
  };
}

function checkPushSource(op: OperationName, cache: KvCache): void {
  if (cache.placement !== 'device') {
    throw new DataDistArgumentError(op, 'from', "must be a cache registered with placement 'device': upstream pushes only from device caches", `placement '${cache.placement}'`);
  }
}

/** Upstream rejects a pull whose source is the puller's own cluster. */
function checkNotSelf(op: OperationName, argument: string, remote: CacheIndex, ownClusterId: bigint): void {
  if (remote.cluster_id === ownClusterId) {
    throw new DataDistArgumentError(op, `${argument}.clusterId`, "must be another cluster than this engine's own", describe(remote.cluster_id));
  }
}

/** Checks a pullBlocks call and prepares its native arguments. */
export function planPullBlocks(value: unknown, owner: CacheOwner, ownClusterId: bigint): TransferPlan & { readonly src: BigUint64Array; readonly dst: BigUint64Array } {
  const op = 'pullBlocks';
  const options = requireObject(op, 'options', value);
  const remote = remoteIndex(op, 'from', options.from, false);
  checkNotSelf(op, 'from', remote, ownClusterId);
  const cache = localCache(op, 'into', options.into, owner);
  const src = toBlockList(op, 'srcBlocks', options.srcBlocks, undefined);
  const dst = toBlockList(op, 'dstBlocks', options.dstBlocks, cache.numBlocks);
  if (src.length !== dst.length) {
    throw new DataDistArgumentError(op, 'dstBlocks', `must have as many entries as srcBlocks (${src.length})`, `${dst.length} entries`);
  }
  const { ext, tensors } = layerSelection(op, options, cache, false);
  return { cache, remoteClusterId: remote.cluster_id, remote, ext, src, dst, bytes: tensors * dst.length * cache.bytesPerBlock, ...callOptions(op, options) };
}

/** Checks a pushBlocks call and prepares its native arguments. */
export function planPushBlocks(value: unknown, owner: CacheOwner): TransferPlan & { readonly src: BigUint64Array; readonly dst: BigUint64Array } {
  const op = 'pushBlocks';
  const options = requireObject(op, 'options', value);
  const remote = remoteIndex(op, 'to', options.to, false);
  const cache = localCache(op, 'from', options.from, owner);
  checkPushSource(op, cache);
  const src = toBlockList(op, 'srcBlocks', options.srcBlocks, cache.numBlocks);
  const dst = toBlockList(op, 'dstBlocks', options.dstBlocks, undefined);
  if (src.length !== dst.length) {
    throw new DataDistArgumentError(op, 'dstBlocks', `must have as many entries as srcBlocks (${src.length})`, `${dst.length} entries`);
  }
  const { ext, tensors } = layerSelection(op, options, cache, true);
  return { cache, remoteClusterId: remote.cluster_id, remote, ext, src, dst, bytes: tensors * src.length * cache.bytesPerBlock, ...callOptions(op, options) };
}

function localRow(op: OperationName, value: unknown, cache: KvCache): number {
  const row = value === undefined ? 0 : toU32(op, 'batchIndex', value);
  if (row >= cache.numBlocks) {
    throw new DataDistArgumentError(op, 'batchIndex', `must be below the cache's ${cache.numBlocks} rows (shape[0])`, describe(row));
  }
  return row;
}

/** Checks a pullCache call and prepares its native arguments. */
export function planPullCache(value: unknown, owner: CacheOwner, ownClusterId: bigint): TransferPlan & { readonly batchIndex: number; readonly size: bigint } {
  const op = 'pullCache';
  const options = requireObject(op, 'options', value);
  const remote = remoteIndex(op, 'from', options.from, true);
  checkNotSelf(op, 'from', remote, ownClusterId);
  const cache = localCache(op, 'into', options.into, owner);
  const batchIndex = localRow(op, options.batchIndex, cache);
  let size = -1n;
  if (options.size !== undefined) {
    const s = options.size;
    const n = typeof s === 'bigint' ? s : typeof s === 'number' && Number.isSafeInteger(s) ? BigInt(s) : undefined;
    if (n === undefined || n <= 0n || n > BigInt(cache.bytesPerBlock)) {
      throw new DataDistArgumentError(op, 'size', `must be an integer in [1, ${cache.bytesPerBlock}] (bytes of one row of one tensor)`, describe(s));
    }
    size = n;
  }
  const { ext, tensors } = layerSelection(op, options, cache, false);
  const perTensor = size > 0n ? Number(size) : cache.bytesPerBlock;
  return { cache, remoteClusterId: remote.cluster_id, remote, ext, batchIndex, size, bytes: tensors * perTensor, ...callOptions(op, options) };
}

/** Checks a pushCache call and prepares its native arguments. */
export function planPushCache(value: unknown, owner: CacheOwner): TransferPlan & { readonly batchIndex: number } {
  const op = 'pushCache';
  const options = requireObject(op, 'options', value);
  const remote = remoteIndex(op, 'to', options.to, true);
  const cache = localCache(op, 'from', options.from, owner);
  checkPushSource(op, cache);
  const batchIndex = localRow(op, options.batchIndex, cache);
  const { ext, tensors } = layerSelection(op, options, cache, true);
  return { cache, remoteClusterId: remote.cluster_id, remote, ext, batchIndex, bytes: tensors * cache.bytesPerBlock, ...callOptions(op, options) };
}

const cacheSerials = new WeakMap<KvCache, number>();
let lastCacheSerial = 0;

/**
 * What block transfers must share to run as one native call: the method, the local cache (this
 * very registration, so the engine too), the remote cache and the layer selection.
 */
export function blockTransferKey(method: string, plan: TransferPlan): string {
  let serial = cacheSerials.get(plan.cache);
  if (serial === undefined) {
    serial = ++lastCacheSerial;
    cacheSerials.set(plan.cache, serial);
  }
  const { ext, remote } = plan;
  return `${method} ${serial} ${remote.cluster_id}:${remote.cache_id}:${remote.batch_index} ${ext.src_layer_range.join('-')} ${ext.dst_layer_range.join('-')} ${ext.tensor_num_per_layer}`;
}
