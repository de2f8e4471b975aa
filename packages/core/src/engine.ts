import { constants } from 'node:buffer';
import { isIPv4 } from 'node:net';
import { OptionKey, StatusCode, type BackendInfo, type Bindings, type LlmDataDistHandle, type StatusWithRets } from '@dd/sys';
import { resolveBindings } from './backend.js';
import { MAX_REGISTERED_ADDRESSES, resolveCacheDesc, type CacheDesc } from './cache-desc.js';
import { waitWithin } from './call-deadline.js';
import {
  checkUniqueIds,
  toClusterInfo,
  toClusterLink,
  toClusterList,
  ClusterLink,
  type ClusterPeer,
  type LinkOutcome,
  type UnlinkOutcome,
  type UnlinkTarget,
} from './cluster-link.js';
import { beginOperation, endOperation } from './diagnostics.js';
import { planLayers, runLayers, type LayerTransferReport, type PullLayersOptions, type PushLayersOptions } from './layer-transfer.js';
import { LINK_STATE_CHANGE_EVENT, LinkHealthMonitor, type LinkStateChangeEvent } from './link-health.js';
import { noteListener } from './listener-exposure.js';
import { toRetryPolicy, withRetry, type ResolvedRetryPolicy, type RetryPolicy } from './retry-policy.js';
import { formatListenAddress, resolveEngineOptions, toListenAddress, type EngineOptions, type ListenAddress } from './engine-options.js';
import {
  AggregateLinkError,
  DataDistArgumentError,
  DataDistError,
  EngineClosedError,
  OperationAbortedError,
  OrderingError,
  errorFromStatus,
  statusNameOf,
  type ClusterFailure,
  type OperationName,
} from './errors.js';
import { AclTensors } from './device-memory.js';
import { nativeCallSlots } from './native-call-slots.js';
import type { SizedCacheDesc } from './host-tensors.js';
import { KvCache, cacheInternals, type CacheOwner, type TensorMemory } from './kv-cache.js';
import { toNativeRole, type Role } from './role.js';
import {
  blockTransferKey,
  planPullBlocks,
  planPullCache,
  planPushBlocks,
  planPushCache,
  type PullBlocksOptions,
  type PullCacheOptions,
  type PushBlocksOptions,
  type PushCacheOptions,
  type TransferPlan,
  type TransferReport,
} from './transfer-plan.js';
import { describe, requireObject, toIntInRange, toSignal, toTimeoutMs, toU64 } from './validate.js';

/** Options of `linkClusters()` / `link()`. */
export interface LinkOptions {
  /** Native link deadline per cluster, in ms, an integer in [1, 2^31); default 1000 (upstream recommends ≥ 200). */
  readonly timeoutMs?: number;
  /** Stop waiting; links that complete anyway still appear in `engine.links`. */
  readonly signal?: AbortSignal;
  /**
   * Link again the clusters that failed, under this policy (see {@link RetryPolicy}; a cluster
   * is retried when `retryOn` accepts its error, by default when `retryable`); default: one attempt.
   */
  readonly retry?: RetryPolicy;
}

/** Options of `unlinkClusters()` / `unlink()`. */
export interface UnlinkOptions extends LinkOptions {
  /**
   * Tear down only this side, without contacting the peer (upstream `force_flag`); the peer must
   * then unlink with `force` too. Default false.
   */
  readonly force?: boolean;
}

/** Options of `setRole()`. */
export interface SetRoleOptions {
  /**
   * Where to listen from now on: an address (re)starts listening there, `null` stops listening,
   * and leaving it out keeps the current listen address. (Upstream stops listening whenever the
   * address is missing; this API makes that explicit.)
   */
  readonly listen?: ListenAddress | null;
}

/** Options of `close()`. */
export interface CloseOptions {
  /**
   * Close even though caches are registered or links exist: Finalize unregisters and unlinks them
   * natively (the peer is not told). Running transfers still make `close()` throw.
   */
  readonly force?: boolean;
}

/** What to register: the description plus either JS memory or raw addresses. */
export interface RegisterCacheOptions {
  readonly desc: CacheDesc;
  /**
   * One JS buffer per tensor, each at least `tensorBytes` long. The KvCache holds them, so they
   * stay alive (ArrayBuffer memory never moves) while registered.
   */
  readonly tensors?: readonly TensorMemory[];
  /**
   * Raw native addresses, one per tensor (non-zero). The caller keeps that memory alive and
   * unmoved until the cache is unregistered; nothing here can check it.
   */
  readonly addresses?: BigUint64Array | readonly (bigint | number)[];
}

const DEFAULT_LINK_TIMEOUT_MS = 1000;

/** A listener of the engine's `linkstatechange` event. */
export type LinkStateChangeListener = ((event: LinkStateChangeEvent) => void) | { handleEvent(event: LinkStateChangeEvent): void };
type AnyListener = Parameters<EventTarget['addEventListener']>[1];
/** The options EventTarget.addEventListener takes (`once`, `signal`…). */
export type AddListenerOptions = Parameters<EventTarget['addEventListener']>[2];
/** The options EventTarget.removeEventListener takes. */
export type RemoveListenerOptions = Parameters<EventTarget['removeEventListener']>[2];

/**
 * An LLM-DataDist engine: one cluster that registers KV caches, links to other clusters and pulls
 * or pushes caches over those links. Create it with {@link LlmDataDist.create}; close it with
 * `close()`, `using` or `await using`. Works unchanged over any `Bindings` (native or fake).
 */
export class LlmDataDist extends EventTarget {
  /** This engine's cluster id. */
  readonly clusterId: bigint;
  readonly #bindings: Bindings;
  readonly #handle: LlmDataDistHandle;
  readonly #hasLocalCommResources: boolean;
  readonly #deviceId: number;
  /** Whether this engine holds a shared secret (`auth`): decides the unauthenticated-listener warning. */
  readonly #authenticated: boolean;
  readonly #owner: CacheOwner;
  #role: Role;
  #listen: ListenAddress | undefined;
  #closed = false;
  readonly #links = new Map<bigint, ClusterLink>();
  readonly #caches = new Set<KvCache>();
  /** Native calls of this engine that have not ended, including those whose caller gave up. */
  #running = 0;
  /** Waiting in settled() for #running to reach 0. */
  readonly #idleWaiters: Array<() => void> = [];
  readonly #health: LinkHealthMonitor;

  private constructor(
    bindings: Bindings,
    handle: LlmDataDistHandle,
    clusterId: bigint,
    role: Role,
    listen: ListenAddress | undefined,
    hasLocalCommResources: boolean,
    deviceId: number,
    authenticated: boolean,
    linkPollIntervalMs: number,
  ) {
    super();
    this.#bindings = bindings;
    this.#deviceId = deviceId;
    this.#authenticated = authenticated;
    this.#handle = handle;
    this.clusterId = clusterId;
    this.#role = role;
    this.#listen = listen;
    this.#hasLocalCommResources = hasLocalCommResources;
    this.#owner = { bindings, unregisterCache: (cache) => this.#unregisterCache(cache) };
    this.#health = new LinkHealthMonitor({
      bindings,
      handle,
      clusterId,
      pollIntervalMs: linkPollIntervalMs,
      links: () => this.#links.values(),
      forget: (link) => {
        if (this.#links.get(link.clusterId) === link) this.#links.delete(link.clusterId);
      },
      dispatch: (event) => this.dispatchEvent(event),
    });
  }

  /**
   * Creates and initializes an engine. Options are checked before any native code runs; the
   * native library is loaded only here, and only when `options.bindings` is not given.
   * @throws DataDistArgumentError for a bad option; a DataDistError with the native detail when
   *   the backend refuses to initialize (e.g. the listen port is taken).
   */
  static create(options: EngineOptions): LlmDataDist {
    const resolved = resolveEngineOptions(options);
    const bindings = resolveBindings(options.bindings, options.nativeLibrary);
    const span = beginOperation({ operation: 'initialize', clusterId: resolved.clusterId });
    const created = bindings.LlmDataDist_create(resolved.clusterId, resolved.nativeRole);
    if (created.status !== StatusCode.LLM_SUCCESS) {
      const error = errorFromStatus({ status: created.status, operation: 'create', nativeMessage: bindings.lastError() });
      endOperation(span, { status: created.status, statusName: error.statusName, error });
      throw error;
    }
    const status = bindings.LlmDataDist_Initialize(created.handle, resolved.nativeOptions);
    if (status !== StatusCode.LLM_SUCCESS) {
      const error = errorFromStatus({ status, operation: 'initialize', nativeMessage: bindings.lastError() });
      bindings.LlmDataDist_destroy(created.handle);
      endOperation(span, { status, statusName: error.statusName, error });
      throw error;
    }
    endOperation(span, { status, statusName: 'LLM_SUCCESS' });
    noteListener(resolved.clusterId, resolved.listen, resolved.authenticated);
    return new LlmDataDist(
      bindings,
      created.handle,
      resolved.clusterId,
      resolved.role,
      resolved.listen,
      resolved.hasLocalCommResources,
      resolved.deviceId,
      resolved.authenticated,
      resolved.linkPollIntervalMs,
    );
  }

  /** The device this engine runs on (`llm.DeviceId`): where `allocateCache` puts device memory. */
  get deviceId(): number {
    return this.#deviceId;
  }

  /** The current role. */
  get role(): Role {
    return this.#role;
  }

  /** The address this engine listens on, or undefined for a client-only engine. */
  get listen(): ListenAddress | undefined {
    return this.#listen;
  }

  /** Whether `close()` has run. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Which backend runs this engine ('host', 'cann', 'fake'…). */
  get backend(): BackendInfo {
    return this.#bindings.backend;
  }

  /**
   * The links this engine made and still holds, in the order they were made; each shows its
   * `state` (`up`, or `broken` with the cause until it is relinked or unlinked).
   */
  get links(): readonly ClusterLink[] {
    return [...this.#links.values()];
  }

  /**
   * Whether the backend reports link health without transfers: true on the host backend and the
   * fake, false on CANN (transfer results only), undefined until the engine first held a link.
   */
  get watchesLinks(): boolean | undefined {
    return this.#health.watching;
  }

  /**
   * Listens for `'linkstatechange'`: a {@link LinkStateChangeEvent} each time a link this engine
   * made changes state (`up` → `broken` when its peer is found gone, → `closed` when unlinked,
   * relinked, dropped by the peer or the engine closes). Listeners run synchronously; an exception
   * one throws is reported as an uncaught exception, as for any EventTarget.
   */
  override addEventListener(type: typeof LINK_STATE_CHANGE_EVENT, listener: LinkStateChangeListener, options?: AddListenerOptions): void;
  override addEventListener(type: string, listener: AnyListener, options?: AddListenerOptions): void;
  override addEventListener(type: string, listener: AnyListener, options?: AddListenerOptions): void {
    super.addEventListener(type, listener, options);
  }

  /** Removes a listener added with {@link addEventListener}. */
  override removeEventListener(type: typeof LINK_STATE_CHANGE_EVENT, listener: LinkStateChangeListener, options?: RemoveListenerOptions): void;
  override removeEventListener(type: string, listener: AnyListener, options?: RemoveListenerOptions): void;
  override removeEventListener(type: string, listener: AnyListener, options?: RemoveListenerOptions): void {
    super.removeEventListener(type, listener, options);
  }

  /** The caches registered on this engine and not yet unregistered. */
  get caches(): readonly KvCache[] {
    return [...this.#caches];
  }

  /**
   * Changes the role (and optionally the listen address). Requires that this engine holds no
   * links (upstream answers LLM_EXIST_LINK; checked here first).
   */
  setRole(role: Role, options: SetRoleOptions = {}): void {
    const op = 'setRole';
    this.#assertOpen(op);
    const nativeRole = toNativeRole(op, 'role', role);
    const opts = requireObject(op, 'options', options);
    let listen = this.#listen;
    if (opts.listen === null) listen = undefined;
    else if (opts.listen !== undefined) listen = toListenAddress(op, 'options.listen', opts.listen);
    if (this.#links.size > 0) {
      throw new OrderingError(op, 'unlink-before-set-role', StatusCode.LLM_EXIST_LINK, `unlink clusters ${this.#linkIds()} before changing the role`);
    }
    const nativeOptions: Record<string, string> = listen === undefined ? {} : { [OptionKey.OPTION_LISTEN_IP_INFO]: formatListenAddress(listen) };
    this.#runSync(op, () => this.#bindings.LlmDataDist_SetRole(this.#handle, nativeRole, nativeOptions));
    this.#role = role;
    this.#listen = listen;
    noteListener(this.clusterId, listen, this.#authenticated);
  }

  /**
   * Links to one or more clusters and reports each cluster's result as data; a cluster that
   * failed does not make this throw. Register caches before linking: a peer sees only the caches
   * that existed when the link was made.
   * @throws DataDistArgumentError for a bad peer; a DataDistError when the whole call was refused.
   */
  async linkClusters(peers: ClusterPeer | readonly ClusterPeer[], options: LinkOptions = {}): Promise<LinkOutcome> {
    const op = 'link';
    this.#assertOpen(op);
    const { timeoutMs, signal } = this.#linkOptions(op, options);
    const policy = toRetryPolicy(op, 'options.retry', (options as { retry?: unknown }).retry);
    const links = this.#peerLinks(op, 'peers', peers);
    if (policy === undefined) return this.#linkOnce(links, timeoutMs, signal, undefined);
    return this.#linkRetrying(links, timeoutMs, signal, policy);
  }

  /**
   * Links to one or more clusters; throws unless every one linked.
   * @throws AggregateLinkError listing each failed cluster (the others stay linked).
   */
  async link(peers: ClusterPeer | readonly ClusterPeer[], options: LinkOptions = {}): Promise<readonly ClusterLink[]> {
    const outcome = await this.linkClusters(peers, options);
    if (outcome.failures.length > 0) {
      throw new AggregateLinkError('link', outcome.status, outcome.failures, outcome.linked.map((l) => l.clusterId));
    }
    return outcome.linked;
  }

  /**
   * Unlinks one or more clusters and reports each one's result as data. A target is a cluster id
   * (of a link in `links`, or any id with `force`), a ClusterLink, or a ClusterPeer.
   */
  async unlinkClusters(targets: UnlinkTarget | readonly UnlinkTarget[], options: UnlinkOptions = {}): Promise<UnlinkOutcome> {
    const op = 'unlink';
    this.#assertOpen(op);
    const { timeoutMs, signal } = this.#linkOptions(op, options);
    const force = (options as { force?: unknown }).force ?? false;
    if (typeof force !== 'boolean') throw new DataDistArgumentError(op, 'options.force', 'must be a boolean', describe(force));
    const list = toClusterList(op, 'targets', targets);
    const resolved = list.map((target, i) => this.#unlinkTarget(Array.isArray(targets) ? `targets[${i}]` : 'targets', target, force));
    const ids = resolved.map((l) => l.clusterId);
    checkUniqueIds(op, 'targets', ids);
    return this.#unlinkResolved(resolved, timeoutMs, force, signal, 'unlinked');
  }

  /**
   * Re-links a cluster in one call: force-unlinks this side's link (the peer's side is gone or
   * stale, so it cannot be told; A21 (c)) and links again, which the peer accepts as a forced
   * rebuild (A21 (b)). The old ClusterLink closes (`'relinked'`); the new one is returned and is in
   * `engine.links`. Two callers racing are safe: while a relink of a cluster runs, another call
   * for it gets the same result; and given the ClusterLink a caller saw break, a relink that
   * already replaced it by a working one is the result, with nothing done again.
   * @param target the ClusterLink that broke (from `engine.links`, an event or `link.down`), a
   *   linked cluster id, or a ClusterPeer (for a link this engine no longer holds).
   * @throws the link's typed error when linking again fails; the old link is gone then, so call
   *   again (or with a `retry` policy) once the peer is back.
   */
  async relink(target: bigint | number | ClusterPeer, options: LinkOptions = {}): Promise<ClusterLink> {
    const op = 'relink';
    this.#assertOpen(op);
    const { timeoutMs, signal } = this.#linkOptions(op, options);
    const policy = toRetryPolicy(op, 'options.retry', (options as { retry?: unknown }).retry);
    let peer: ClusterLink;
    if (typeof target === 'bigint' || typeof target === 'number') {
      const clusterId = toU64(op, 'target', target);
      const current = this.#links.get(clusterId);
      if (current === undefined) {
        throw new DataDistArgumentError(op, 'target', 'must be a linked cluster id (see engine.links), or pass the ClusterLink or ClusterPeer', describe(target));
      }
      peer = current;
    } else {
      peer = target instanceof ClusterLink ? target : this.#peerLinks(op, 'target', target)[0]!;
    }
    const seen = target instanceof ClusterLink ? target : undefined;
    return this.#health.relinkOnce(peer.clusterId, seen, async () => {
      const stale = this.#links.get(peer.clusterId);
      const unlinked = await this.#unlinkResolved([stale ?? peer], timeoutMs, true, signal, 'relinked');
      if (unlinked.failures[0] !== undefined) throw unlinked.failures[0].error;
      const fresh = new ClusterLink(peer.clusterId, peer.remote, peer.local);
      const outcome = policy === undefined ? await this.#linkOnce([fresh], timeoutMs, signal, undefined) : await this.#linkRetrying([fresh], timeoutMs, signal, policy);
      const failure = outcome.failures[0];
      if (failure !== undefined) throw failure.error;
      return fresh;
    });
  }

  /**
   * Unlinks one or more clusters; throws unless every one unlinked.
   * @throws AggregateLinkError listing each failed cluster.
   */
  async unlink(targets: UnlinkTarget | readonly UnlinkTarget[], options: UnlinkOptions = {}): Promise<void> {
    const outcome = await this.unlinkClusters(targets, options);
    if (outcome.failures.length > 0) {
      throw new AggregateLinkError('unlink', outcome.status, outcome.failures, outcome.unlinked);
    }
  }

  /**
   * Registers KV cache memory: JS buffers (`tensors`) or raw addresses (`addresses`), one per tensor.
   * Register every cache before linking (checked: registering while this engine holds links throws
   * an OrderingError). At most 240 addresses per engine.
   */
  registerCache(options: RegisterCacheOptions): KvCache {
    const op = 'registerCache';
    this.#assertOpen(op);
    const opts = requireObject(op, 'options', options);
    if ((opts.tensors === undefined) === (opts.addresses === undefined)) {
      throw new DataDistArgumentError(op, 'options', 'must give exactly one of `tensors` (JS memory) and `addresses` (raw addresses)');
    }
    const source = opts.tensors ?? opts.addresses;
    const argument = opts.tensors !== undefined ? 'tensors' : 'addresses';
    const count = Array.isArray(source) || (argument === 'addresses' && source instanceof BigUint64Array) ? source.length : -1;
    if (count < 1 || count > MAX_REGISTERED_ADDRESSES) {
      throw new DataDistArgumentError(op, argument, `must be a list of 1 to ${MAX_REGISTERED_ADDRESSES} entries, one per tensor`, describe(source));
    }
    const { geometry, native } = resolveCacheDesc(op, 'desc', opts.desc, count);
    let addresses: BigUint64Array;
    let memory: TensorMemory[] | undefined;
    if (opts.tensors !== undefined) {
      if (geometry.placement === 'device') {
        throw new DataDistArgumentError(
          op,
          'tensors',
          "are JS memory, which is host memory; placement 'device' registers device memory (A22): use engine.allocateCache(desc), or register aclrtMalloc memory by `addresses`",
        );
      }
      memory = (opts.tensors as readonly unknown[]).map((buffer, i) => {
        if (!(buffer instanceof ArrayBuffer) && !ArrayBuffer.isView(buffer)) {
          throw new DataDistArgumentError(op, `tensors[${i}]`, 'must be an ArrayBuffer, Buffer or typed array', describe(buffer));
        }
        if (buffer.byteLength < geometry.tensorBytes) {
          throw new DataDistArgumentError(op, `tensors[${i}]`, `must hold at least the tensor's ${geometry.tensorBytes} bytes`, `${buffer.byteLength} bytes`);
        }
        return buffer;
      });
      addresses = BigUint64Array.from(memory, (buffer) => this.#bindings.addressOf(buffer));
    } else {
      const raw = opts.addresses as BigUint64Array | readonly unknown[];
      addresses = new BigUint64Array(count);
      for (let i = 0; i < count; i += 1) {
        const address = toU64(op, `addresses[${i}]`, raw[i]);
        if (address === 0n) throw new DataDistArgumentError(op, `addresses[${i}]`, 'must not be 0');
        addresses[i] = address;
      }
    }
    this.#checkRegistrable(op, argument, count);
    return this.#register(op, geometry, native, addresses, memory, undefined);
  }

  /**
   * Allocates zeroed memory of exactly the right size for every tensor of `desc`, and registers
   * it, as {@link allocateCache} does: page-locked host memory (aclrtMallocHost) for placement
   * `'host'`, whose bytes have views (`cache.tensor()`, `cache.block()`), and device memory for
   * `'device'`. On the host backend that memory is a memory file a peer on the same host maps, so
   * its transfers are plain copies (docs/design/zero-copy.md). JS memory of your own goes to
   * {@link registerCache} (`allocateHostTensors` sizes it).
   */
  registerHostCache(desc: SizedCacheDesc): KvCache {
    return this.#allocate('registerCache', desc, true);
  }

  /**
   * Allocates ACL memory on this engine's device for every tensor of `desc`, zeroed, and registers
   * it: device memory (aclrtMalloc, huge pages, 2 MiB-aligned bases for HCCS) for placement
   * `'device'`, page-locked host memory (aclrtMallocHost, what RDMA reads) for `'host'`. The cache
   * owns the memory: it is freed when the cache is unregistered or the engine closes, never while
   * a transfer on it runs (nor, for host memory, while a view of it from `cache.tensor()` is
   * reachable: then once the last is garbage-collected). Copy bytes in and out with
   * `cache.write()` / `cache.read()`.
   * @throws AclError when the ACL runtime refuses (with the ACL code and its name); the errors of
   *   registerCache otherwise, with nothing left allocated.
   */
  allocateCache(desc: SizedCacheDesc): KvCache {
    return this.#allocate('allocateCache', desc, false);
  }

  /** ACL memory for every tensor of `desc`, registered; `viewable`: a host tensor must fit one view. */
  #allocate(op: OperationName, desc: SizedCacheDesc, viewable: boolean): KvCache {
    this.#assertOpen(op);
    const obj = requireObject(op, 'desc', desc);
    const count = toIntInRange(op, 'desc.numTensors', obj.numTensors, 1, MAX_REGISTERED_ADDRESSES);
    const { geometry, native } = resolveCacheDesc(op, 'desc', desc, count);
    // A typed array holds at most MAX_LENGTH bytes.
    if (viewable && geometry.placement === 'host' && geometry.tensorBytes > constants.MAX_LENGTH) {
      throw new DataDistArgumentError(
        op,
        'desc.shape',
        `describes ${geometry.tensorBytes}-byte tensors; a host tensor has a view of at most ${constants.MAX_LENGTH} bytes (use allocateCache, or register native memory by address)`,
      );
    }
    this.#checkRegistrable(op, 'desc.numTensors', count);
    const acl = AclTensors.allocate(this.#bindings, op, geometry.placement === 'device' ? 'device' : 'pinned', this.#deviceId, count, geometry.tensorBytes);
    try {
      return this.#register(op, geometry, native, acl.addresses, undefined, acl);
    } catch (error) {
      try {
        acl.free(op);
      } catch {
        // The registration error is the one to report; a free that failed leaves the runtime to clean up.
      }
      throw error;
    }
  }

  /** The engine-side rules every registration checks first: at most 240 addresses, and no links yet. */
  #checkRegistrable(op: OperationName, argument: string, count: number): void {
    const registered = [...this.#caches].reduce((sum, c) => sum + c.numTensors, 0);
    if (registered + count > MAX_REGISTERED_ADDRESSES) {
      throw new DataDistArgumentError(
        op,
        argument,
        `would bring this engine to ${registered + count} registered addresses; the limit is ${MAX_REGISTERED_ADDRESSES}`,
      );
    }
    if (this.#links.size > 0) {
      throw new OrderingError(
        op,
        'register-before-link',
        StatusCode.LLM_EXIST_LINK,
        `register caches before linking: clusters ${this.#linkIds()} are linked and would not see this cache; unlink them, register, then link again`,
      );
    }
  }

  #register(
    op: OperationName,
    geometry: ReturnType<typeof resolveCacheDesc>['geometry'],
    native: ReturnType<typeof resolveCacheDesc>['native'],
    addresses: BigUint64Array,
    memory: TensorMemory[] | undefined,
    acl: AclTensors | undefined,
  ): KvCache {
    const span = beginOperation({ operation: op, clusterId: this.clusterId });
    const result = this.#bindings.LlmDataDist_RegisterKvCache(this.#handle, native, addresses);
    this.#checkSync(op, span, result.status);
    const cache = new KvCache({ owner: this.#owner, id: BigInt(result.cache_id), geometry, nativeDesc: native, addresses, memory, acl });
    this.#caches.add(cache);
    return cache;
  }

  /**
   * Pulls blocks of a remote cache into a local cache (`srcBlocks[i]` → `dstBlocks[i]`, per
   * selected tensor). Resolves when the bytes are in place.
   */
  pullBlocks(options: PullBlocksOptions): Promise<TransferReport> {
    return this.#transferRetrying('pullBlocks', 'PullKvBlocks', options, () => planPullBlocks(options, this.#owner, this.clusterId), (plan) =>
      this.#blocks(plan, 'PullKvBlocks', (src, dst) => this.#bindings.LlmDataDist_PullKvBlocksAsync(this.#handle, plan.remote, cacheInternals.nativeCache(plan.cache), src, dst, plan.ext)),
    );
  }

  /** Pulls one row (batch index) of a remote cache into a row of a local cache, optionally only `size` bytes of it. */
  pullCache(options: PullCacheOptions): Promise<TransferReport> {
    return this.#transferRetrying('pullCache', 'PullKvCache', options, () => planPullCache(options, this.#owner, this.clusterId), (plan) =>
      this.#native(() => this.#bindings.LlmDataDist_PullKvCacheAsync(this.#handle, plan.remote, cacheInternals.nativeCache(plan.cache), plan.batchIndex, plan.size, plan.ext), plan.remoteClusterId),
    );
  }

  /** Pushes blocks of a local `'device'` cache into a remote cache. Resolves when the remote bytes are written. */
  pushBlocks(options: PushBlocksOptions): Promise<TransferReport> {
    return this.#transferRetrying('pushBlocks', 'PushKvBlocks', options, () => planPushBlocks(options, this.#owner), (plan) =>
      this.#blocks(plan, 'PushKvBlocks', (src, dst) => this.#bindings.LlmDataDist_PushKvBlocksAsync(this.#handle, cacheInternals.nativeCache(plan.cache), plan.remote, src, dst, plan.ext)),
    );
  }

  /** Pushes one row of a local `'device'` cache into a row of a remote cache. */
  pushCache(options: PushCacheOptions): Promise<TransferReport> {
    return this.#transferRetrying('pushCache', 'PushKvCache', options, () => planPushCache(options, this.#owner), (plan) =>
      this.#native(() => this.#bindings.LlmDataDist_PushKvCacheAsync(this.#handle, cacheInternals.nativeCache(plan.cache), plan.remote, plan.batchIndex, -1n, plan.ext), plan.remoteClusterId),
    );
  }

  /**
   * Pushes blocks of a local `'device'` cache layer by layer, each layer as soon as the caller
   * says it is ready (`ready`: a function, one promise per layer, or an async iterable of layer
   * indices), at most `maxInFlight` layers at once. The bytes are those of one pushBlocks over
   * the whole range. Resolves with one result per layer.
   * @throws LayerTransferError when a layer fails (the layers after it do not start), with every
   *   layer's result; OperationAbortedError when `signal` aborts.
   */
  async pushLayers(options: PushLayersOptions): Promise<LayerTransferReport> {
    const op = 'pushLayers';
    this.#assertOpen(op);
    const { from, to, srcBlocks, dstBlocks, retry, timeoutMs } = requireObject(op, 'options', options) as Partial<PushLayersOptions>;
    const layerwise = planLayers(op, options, planPushBlocks({ from, to, srcBlocks, dstBlocks }, this.#owner).cache);
    return runLayers(layerwise, (layers, remoteLayers, signal) =>
      this.pushBlocks({ from: from!, to: to!, srcBlocks: srcBlocks!, dstBlocks: dstBlocks!, layers, remoteLayers, ...optional({ retry, timeoutMs, signal }) }),
    );
  }

  /**
   * Pulls blocks of a remote cache layer by layer, as the caller says each layer is ready; the
   * same as {@link pushLayers} in the other direction.
   */
  async pullLayers(options: PullLayersOptions): Promise<LayerTransferReport> {
    const op = 'pullLayers';
    this.#assertOpen(op);
    const { from, into, srcBlocks, dstBlocks, retry, timeoutMs } = requireObject(op, 'options', options) as Partial<PullLayersOptions>;
    const layerwise = planLayers(op, options, planPullBlocks({ from, into, srcBlocks, dstBlocks }, this.#owner, this.clusterId).cache);
    return runLayers(layerwise, (layers, remoteLayers, signal) =>
      this.pullBlocks({ from: from!, into: into!, srcBlocks: srcBlocks!, dstBlocks: dstBlocks!, layers, remoteLayers, ...optional({ retry, timeoutMs, signal }) }),
    );
  }

  /** Resolves once no native call of this engine is running (including calls whose caller gave up). */
  async settled(): Promise<void> {
    if (this.#running > 0) await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
  }

  /**
   * Finalizes the engine; idempotent. Refuses (OrderingError) while caches are registered or links
   * exist, unless `force`, and always while a native call is running (await `settled()`).
   * Afterwards every method throws EngineClosedError and no call reaches native code.
   */
  close(options: CloseOptions = {}): void {
    if (this.#closed) return;
    const op = 'close';
    const force = requireObject(op, 'options', options).force ?? false;
    if (typeof force !== 'boolean') throw new DataDistArgumentError(op, 'options.force', 'must be a boolean', describe(force));
    if (this.#running > 0) {
      throw new OrderingError(op, 'settle-before-close', StatusCode.LLM_FAILED, `${this.#running} native calls are still running; await engine.settled() first`);
    }
    if (!force && this.#caches.size > 0) {
      const ids = [...this.#caches].map((c) => c.id).join(', ');
      throw new OrderingError(op, 'unregister-before-close', StatusCode.LLM_FAILED, `unregister caches ${ids} first (or close({ force: true }))`);
    }
    if (!force && this.#links.size > 0) {
      throw new OrderingError(op, 'unlink-before-close', StatusCode.LLM_EXIST_LINK, `unlink clusters ${this.#linkIds()} first (or close({ force: true }))`);
    }
    const span = beginOperation({ operation: op, clusterId: this.clusterId });
    const status = this.#bindings.LlmDataDist_Finalize(this.#handle);
    const nativeMessage = status === StatusCode.LLM_SUCCESS ? '' : this.#bindings.lastError();
    this.#bindings.LlmDataDist_destroy(this.#handle);
    this.#closed = true;
    // Finalize deregistered every cache and no call runs any more: the memory they owned can go.
    let freeError: unknown;
    for (const cache of this.#caches) {
      cacheInternals.markReleased(cache);
      try {
        cacheInternals.freeMemory(cache, op);
      } catch (failure) {
        freeError ??= failure;
      }
    }
    this.#caches.clear();
    const links = [...this.#links.values()];
    this.#links.clear();
    for (const link of links) this.#health.close(link, 'engine-closed');
    this.#health.stop();
    const error = status === StatusCode.LLM_SUCCESS ? undefined : errorFromStatus({ status, operation: op, nativeMessage });
    endOperation(span, { status, statusName: statusNameOf(status), ...(error === undefined ? {} : { error }) });
    if (error !== undefined) throw error;
    if (freeError !== undefined) throw freeError;
  }

  /**
   * Synchronous teardown for `using`: unregisters every cache, then finalizes (which drops the
   * links locally without telling peers). Throws OrderingError while a native call is running.
   */
  [Symbol.dispose](): void {
    if (this.#closed) return;
    if (this.#running > 0) {
      throw new OrderingError('close', 'settle-before-close', StatusCode.LLM_FAILED, `${this.#running} native calls are still running; use await using, or await engine.settled() first`);
    }
    this.#teardown();
  }

  /**
   * Orderly teardown for `await using`: waits for running native calls, unlinks every link
   * (telling the peer), unregisters every cache, then finalizes. A link the peer could not be told
   * about is dropped by Finalize; its failure is on the diagnostics channel.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#closed) return;
    await this.settled();
    if (this.#links.size > 0) await this.unlinkClusters([...this.#links.keys()]).catch(() => undefined);
    await this.settled();
    this.#teardown();
  }

  /** Unregisters every cache, then finalizes even if one failed; rethrows the first failure. */
  #teardown(): void {
    let first: unknown;
    for (const cache of [...this.#caches]) {
      try {
        cache.unregister();
      } catch (error) {
        first ??= error;
      }
    }
    this.close({ force: true });
    if (first !== undefined) throw first;
  }

  /** Checked peers as the links this engine would hold, each id once. */
  #peerLinks(op: OperationName, argument: string, peers: unknown): ClusterLink[] {
    const list = toClusterList(op, argument, peers);
    const defaultLocal = this.#listen !== undefined && isIPv4(this.#listen.ip) ? { ip: this.#listen.ip, port: this.#listen.port } : undefined;
    const localRequired = this.#listen === undefined && !this.#hasLocalCommResources;
    const links = list.map((peer, i) => toClusterLink(op, Array.isArray(peers) ? `${argument}[${i}]` : argument, peer, defaultLocal, localRequired));
    checkUniqueIds(op, argument, links.map((l) => l.clusterId));
    return links;
  }

  /** One LinkLlmClusters call; the links made are held and watched, a link they replace is closed. */
  #linkOnce(links: readonly ClusterLink[], timeoutMs: number, signal: AbortSignal | undefined, attempt: number | undefined): Promise<LinkOutcome> {
    const op = 'link';
    const infos = links.map(toClusterInfo);
    return this.#runAsync(
      op,
      attempt === undefined ? {} : { attempt },
      [],
      this.#native(() => this.#bindings.LlmDataDist_LinkLlmClustersAsync(this.#handle, infos, timeoutMs)),
      (r) => r.status,
      'LinkLlmClusters',
      (r, nativeMessage) => {
        const { failures, succeeded } = this.#perCluster(op, r, links.map((l) => l.clusterId), nativeMessage);
        const linked = links.filter((l) => succeeded.includes(l.clusterId));
        for (const l of linked) {
          const replaced = this.#links.get(l.clusterId);
          this.#links.set(l.clusterId, l);
          // A forced rebuild under the same id (A21 (b)) replaces the link this engine held.
          if (replaced !== undefined && replaced !== l) this.#health.close(replaced, 'relinked');
          this.#health.track(l);
        }
        return { status: r.status >>> 0, linked, failures };
      },
      undefined,
      signal,
    );
  }

  /** Links, then links again the clusters whose failure the policy retries, until none is left or it gives up. */
  async #linkRetrying(links: readonly ClusterLink[], timeoutMs: number, signal: AbortSignal | undefined, policy: ResolvedRetryPolicy): Promise<LinkOutcome> {
    const linked: ClusterLink[] = [];
    const settled: ClusterFailure[] = [];
    let remaining = links;
    let status = 0;
    const context = { operation: 'link' as const, clusterId: this.clusterId, ...(links.length === 1 ? { remoteClusterId: links[0]!.clusterId } : {}), policy, signal };
    try {
      await withRetry(
        context,
        async (n) => {
          const outcome = await this.#linkOnce(remaining, timeoutMs, signal, n);
          linked.push(...outcome.linked);
          status = outcome.status;
          const again = outcome.failures.filter((f) => policy.retryOn(f.error, n));
          settled.push(...outcome.failures.filter((f) => !again.includes(f)));
          remaining = remaining.filter((l) => again.some((f) => f.clusterId === l.clusterId));
          if (again.length > 0) throw new AggregateLinkError('link', status, again, outcome.linked.map((l) => l.clusterId));
        },
        undefined,
        () => true,
      );
    } catch (error) {
      if (!(error instanceof AggregateLinkError)) throw error;
      settled.push(...error.failures);
    }
    const order = new Map(links.map((l, i) => [l.clusterId, i]));
    const byOrder = <T extends { readonly clusterId: bigint }>(x: T, y: T): number => (order.get(x.clusterId) ?? 0) - (order.get(y.clusterId) ?? 0);
    return { status: settled.length === 0 ? 0 : status, linked: linked.sort(byOrder), failures: settled.sort(byOrder) };
  }

  /** One UnlinkLlmClusters call; the links it took down close for `reason` and leave `engine.links`. */
  #unlinkResolved(
    resolved: readonly { readonly clusterId: bigint; readonly remote?: ClusterLink['remote']; readonly local?: ClusterLink['local'] }[],
    timeoutMs: number,
    force: boolean,
    signal: AbortSignal | undefined,
    reason: 'unlinked' | 'relinked',
  ): Promise<UnlinkOutcome> {
    const op = 'unlink';
    const ids = resolved.map((l) => l.clusterId);
    const infos = resolved.map(toClusterInfo);
    const held = ids.flatMap((id) => this.#links.get(id) ?? []);
    this.#health.hold(held);
    return this.#runAsync(
      op,
      {},
      [],
      this.#native(() => this.#bindings.LlmDataDist_UnlinkLlmClustersAsync(this.#handle, infos, timeoutMs, force)),
      (r) => r.status,
      'UnlinkLlmClusters',
      (r, nativeMessage) => {
        const { failures, succeeded } = this.#perCluster(op, r, ids, nativeMessage);
        for (const id of succeeded) {
          const link = this.#links.get(id);
          this.#links.delete(id);
          if (link !== undefined) this.#health.close(link, reason);
        }
        return { status: r.status >>> 0, unlinked: succeeded, failures };
      },
      undefined,
      signal,
      () => this.#health.release(held),
    );
  }

  #assertOpen(op: OperationName): void {
    if (this.#closed) {
      throw new EngineClosedError({
        status: StatusCode.LLM_ENGINE_FINALIZED,
        operation: op,
        message: `${op}: engine of cluster ${this.clusterId} is closed; create a new one`,
      });
    }
  }

  /**
   * Why a transfer to `clusterId` found no link: links are named by the id the peer's engine was
   * created with, whatever `clusterId` the link call gave (A1), and a peer that linked to this
   * engine can be named too.
   */
  #notLinkedHint(clusterId: bigint): string {
    const made = this.#links.size === 0 ? 'none' : this.#linkIds();
    return (
      `No link is named ${clusterId}. A link is named by the peer's own cluster id (the one its engine was created with), ` +
      `both on the side that linked and on the side that accepted; links this engine made: ${made}.`
    );
  }

  #linkIds(): string {
    return [...this.#links.keys()].join(', ');
  }

  #linkOptions(op: OperationName, options: unknown): { readonly timeoutMs: number; readonly signal: AbortSignal | undefined } {
    const opts = requireObject(op, 'options', options);
    return {
      timeoutMs: opts.timeoutMs === undefined ? DEFAULT_LINK_TIMEOUT_MS : toTimeoutMs(op, 'options.timeoutMs', opts.timeoutMs),
      signal: toSignal(op, 'options.signal', opts.signal),
    };
  }

  #unlinkTarget(argument: string, target: unknown, force: boolean): { readonly clusterId: bigint; readonly remote?: ClusterLink['remote']; readonly local?: ClusterLink['local'] } {
    const op = 'unlink';
    if (typeof target === 'bigint' || typeof target === 'number') {
      const clusterId = toU64(op, argument, target);
      const link = this.#links.get(clusterId);
      if (link !== undefined) return link;
      if (force) return { clusterId };
      throw new DataDistArgumentError(op, argument, 'must be a linked cluster id (see engine.links), or pass the ClusterPeer, or use force', describe(target));
    }
    const link = toClusterLink(op, argument, target, undefined, false);
    return this.#links.get(link.clusterId) ?? link;
  }

  /** Splits a per-cluster native result into successes and typed failures. */
  #perCluster(
    op: 'link' | 'unlink',
    result: StatusWithRets,
    ids: readonly bigint[],
    nativeMessage: string,
  ): { readonly failures: readonly ClusterFailure[]; readonly succeeded: readonly bigint[] } {
    const status = result.status >>> 0;
    const perClusterKnown = result.rets.length === ids.length && (status === 0 || result.rets.some((r) => r !== 0));
    if (!perClusterKnown) {
      if (status === 0) return { failures: [], succeeded: ids };
      throw errorFromStatus({ status, operation: op, nativeMessage });
    }
    // The native last error describes the last failure, the one whose code the call returned.
    let described = -1;
    result.rets.forEach((code, i) => {
      if (code >>> 0 === status) described = i;
    });
    const failures: ClusterFailure[] = [];
    const succeeded: bigint[] = [];
    ids.forEach((clusterId, i) => {
      const code = (result.rets[i] as number) >>> 0;
      if (code === 0) succeeded.push(clusterId);
      else failures.push({ clusterId, error: errorFromStatus({ status: code, operation: op, nativeMessage: i === described ? nativeMessage : '' }) });
    });
    return { failures, succeeded };
  }

  #runSync(op: OperationName, call: () => number): void {
    const span = beginOperation({ operation: op, clusterId: this.clusterId });
    this.#checkSync(op, span, call());
  }

  #checkSync(op: OperationName, span: ReturnType<typeof beginOperation>, status: number): void {
    if (status === StatusCode.LLM_SUCCESS) {
      endOperation(span, { status, statusName: 'LLM_SUCCESS' });
      return;
    }
    const error = errorFromStatus({ status, operation: op, nativeMessage: this.#bindings.lastError() });
    endOperation(span, { status, statusName: error.statusName, error });
    throw error;
  }

  /**
   * One transfer attempt. Its result also tells link health: a success clears a break only a
   * timeout suggested; a link-level failure has the backend asked whether the link broke.
   */
  #transfer(op: OperationName, method: string, plan: TransferPlan, start: NativeStart<number>, attempt: number | undefined): Promise<TransferReport> {
    const started = performance.now();
    return this.#runAsync(
      op,
      { remoteClusterId: plan.remoteClusterId, bytes: plan.bytes, ...(attempt === undefined ? {} : { attempt }) },
      [plan.cache],
      start,
      (status) => status,
      method,
      (status, nativeMessage) => {
        const link = this.#links.get(plan.remoteClusterId);
        if (status === StatusCode.LLM_SUCCESS) {
          if (link !== undefined) this.#health.transferSucceeded(link);
          return { bytes: plan.bytes, durationMs: performance.now() - started, attempts: attempt ?? 1 };
        }
        const hint = status === StatusCode.LLM_NOT_YET_LINK ? this.#notLinkedHint(plan.remoteClusterId) : undefined;
        const error = errorFromStatus({ status, operation: op, nativeMessage, ...(hint === undefined ? {} : { hint }) });
        if (link !== undefined) this.#health.transferFailed(link, error);
        throw error;
      },
      plan.timeoutMs,
      plan.signal,
    );
  }

  /**
   * A transfer under the call's `retry` policy, or once. Arguments are checked before the first
   * attempt; each attempt is planned again (the cache may have been unregistered meanwhile). Before
   * a retry the cache's earlier attempt has ended natively, and a broken link this engine made
   * is re-linked (`policy.relink`).
   */
  #transferRetrying<P extends TransferPlan>(op: OperationName, method: string, options: unknown, plan: () => P, start: (plan: P) => NativeStart<number>): Promise<TransferReport> {
    // Not an async function: a promise returned from one settles two microtask turns later, which
    // a one-block pull would pay on every call. Bad arguments still reject, never throw.
    let first: P;
    let policy: ResolvedRetryPolicy | undefined;
    try {
      this.#assertOpen(op);
      first = plan();
      policy = toRetryPolicy(op, 'retry', (options as { retry?: unknown }).retry);
      if (policy === undefined) return this.#transfer(op, method, first, start(first), undefined);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#retried(op, method, first, policy, plan, start);
  }

  async #retried<P extends TransferPlan>(op: OperationName, method: string, first: P, policy: ResolvedRetryPolicy, plan: () => P, start: (plan: P) => NativeStart<number>): Promise<TransferReport> {
    const made = this.#links.get(first.remoteClusterId);
    const result = await withRetry(
      { operation: op, clusterId: this.clusterId, remoteClusterId: first.remoteClusterId, policy, signal: first.signal },
      (n) => {
        const attempt = n === 1 ? first : plan();
        return this.#transfer(op, method, attempt, start(attempt), n);
      },
      async () => {
        await first.cache.settled();
        const current = this.#links.get(first.remoteClusterId);
        if (policy.relink && made !== undefined && (current === undefined || current.state.status === 'broken')) {
          await this.relink(current ?? made, { signal: first.signal } as LinkOptions);
        }
      },
    );
    return { ...result.value, attempts: result.attempts };
  }

  /** Starts `call` in its turn among the async native calls of these bindings (on `link`'s share when given). */
  #native<R>(call: () => Promise<R>, link?: bigint): NativeStart<R> {
    return (abandoned) => nativeCallSlots(this.#bindings).run(call, abandoned, link);
  }

  /** Starts a block transfer in its turn; waiting transfers with the same caches and layers join it. */
  #blocks(plan: TransferPlan & { readonly src: BigUint64Array; readonly dst: BigUint64Array }, method: string, run: (src: BigUint64Array, dst: BigUint64Array) => Promise<number>): NativeStart<number> {
    const transfer = { key: () => blockTransferKey(method, plan), src: plan.src, dst: plan.dst, run };
    return (abandoned) => nativeCallSlots(this.#bindings).runBlocks(transfer, abandoned, plan.remoteClusterId);
  }

  /**
   * Runs one async native call: traces it, keeps its caches marked busy and the engine unclosable
   * until the native side is done, and lets the caller stop waiting early. `interpret` runs when
   * the native call ends, even when the caller has stopped waiting, so link state stays true.
   */
  #runAsync<R, T>(
    op: OperationName,
    event: { readonly remoteClusterId?: bigint; readonly bytes?: number; readonly attempt?: number },
    caches: readonly KvCache[],
    start: NativeStart<R>,
    statusOf: (result: R) => number,
    method: string,
    interpret: (result: R, nativeMessage: string) => T,
    timeoutMs: number | undefined,
    signal: AbortSignal | undefined,
    settled?: () => void,
  ): Promise<T> {
    if (signal?.aborted) {
      settled?.();
      return Promise.reject(new OperationAbortedError(op, signal.reason));
    }
    const span = beginOperation({ operation: op, clusterId: this.clusterId, ...event });
    let abandoned = false;
    for (const cache of caches) cacheInternals.beginTransfer(cache);
    this.#running += 1;
    const finish = (): void => {
      for (const cache of caches) cacheInternals.endTransfer(cache);
      settled?.();
      this.#running -= 1;
      if (this.#running === 0) for (const wake of this.#idleWaiters.splice(0)) wake();
    };
    const completion = start(() => abandoned).then(
      (result) => {
        try {
          const status = statusOf(result) >>> 0;
          const nativeMessage = status === StatusCode.LLM_SUCCESS ? '' : this.#asyncNativeMessage(method);
          try {
            const value = interpret(result, nativeMessage);
            endOperation(span, { status, statusName: statusNameOf(status), abandoned });
            return value;
          } catch (error) {
            endOperation(span, { status, statusName: statusNameOf(status), abandoned, ...(error instanceof DataDistError ? { error } : {}) });
            throw error;
          }
        } finally {
          finish();
        }
      },
      (cause: unknown) => {
        try {
          const reason = cause instanceof Error ? cause.message : String(cause);
          const error = new DataDistError({ status: StatusCode.LLM_FAILED, operation: op, message: `${op}: the backend call failed: ${reason}`, cause });
          endOperation(span, { status: error.status, statusName: error.statusName, error, abandoned });
          throw error;
        } finally {
          finish();
        }
      },
    );
    return waitWithin(op, completion, timeoutMs, signal, () => {
      abandoned = true;
    });
  }

  /**
   * The backend's last-error text for an async call. It is thread-local natively, so it is only
   * trusted when it names the method that failed.
   */
  #asyncNativeMessage(method: string): string {
    const text = this.#bindings.lastError();
    return text.includes(method) ? text : '';
  }

  #unregisterCache(cache: KvCache): void {
    const op = 'unregisterCache';
    if (this.#closed) {
      cacheInternals.markReleased(cache);
      return;
    }
    if (cache.pendingTransfers > 0) {
      throw new OrderingError(
        op,
        'settle-before-unregister',
        StatusCode.LLM_FAILED,
        `cache ${cache.id} still has ${cache.pendingTransfers} transfers running natively; await cache.settled() first`,
      );
    }
    const span = beginOperation({ operation: op, clusterId: this.clusterId });
    this.#checkSync(op, span, this.#bindings.LlmDataDist_UnregisterKvCache(this.#handle, cache.id));
    cacheInternals.markReleased(cache);
    this.#caches.delete(cache);
    // Unregistered, and no transfer of ours runs on it (checked above): its own memory can go.
    cacheInternals.freeMemory(cache, op);
  }
}

/** Starts a native call once it may; `abandoned` says whether its caller has stopped waiting. */
type NativeStart<R> = (abandoned: () => boolean) => Promise<R>;

/** The entries of `values` that are defined (options objects leave unset keys out). */
function optional<T extends Record<string, unknown>>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as Partial<T>;
}
