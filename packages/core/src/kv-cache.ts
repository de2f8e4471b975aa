import { makeCache, type Bindings, type Cache, type CacheDesc as NativeCacheDesc, type DataType } from '@dd/sys';
import type { CacheGeometry, Placement } from './cache-desc.js';
import { DataDistArgumentError } from './errors.js';
import { describe } from './validate.js';

/** JS memory a cache tensor can live in. */
export type TensorMemory = ArrayBuffer | ArrayBufferView;

/** What a KvCache needs from the engine that registered it. */
export interface CacheOwner {
  readonly bindings: Bindings;
  /** Unregisters the cache natively; throws when the rules forbid it now. */
  unregisterCache(cache: KvCache): void;
}

/** Engine-side state of a KvCache, kept out of its public surface. */
export interface CacheRegistration {
  readonly owner: CacheOwner;
  readonly id: bigint;
  readonly geometry: CacheGeometry;
  readonly nativeDesc: NativeCacheDesc;
  readonly addresses: BigUint64Array;
  /** The JS memory of each tensor, held so it stays alive (and unmoved) while registered; undefined for raw addresses. */
  readonly memory: readonly TensorMemory[] | undefined;
}

interface CacheState {
  readonly registration: CacheRegistration;
  readonly nativeCache: Cache;
  registered: boolean;
  pending: number;
  readonly settledWaiters: (() => void)[];
}

const states = new WeakMap<KvCache, CacheState>();

function stateOf(cache: KvCache): CacheState {
  const state = states.get(cache);
  if (state === undefined) throw new TypeError('not a KvCache created by LlmDataDist.registerCache');
  return state;
}

/**
 * A registered KV cache: it owns the registration, knows its geometry, keeps its JS memory alive
 * while registered, and unregisters on `unregister()` / `using`. Create one with
 * `engine.registerCache()` or `engine.registerHostCache()`.
 */
export class KvCache implements CacheGeometry {
  /** The cache id the backend assigned (ids start at 1 per engine); peers address this cache by it. */
  readonly id: bigint;
  /** Where the memory lives, as told to the backend. */
  readonly placement: Placement;
  /** Element type of every tensor. */
  readonly dataType: DataType;
  /** Dimensions of every tensor; `shape[0]` is the block count. */
  readonly shape: readonly number[];
  /** Number of tensors (registered addresses). */
  readonly numTensors: number;
  /** Blocks (batch rows) per tensor: `shape[0]`. */
  readonly numBlocks: number;
  /** Bytes of one tensor. */
  readonly tensorBytes: number;
  /** Bytes of one block of one tensor (the native stride). */
  readonly bytesPerBlock: number;
  /** Tensors per layer, which layer ranges count in. */
  readonly tensorsPerLayer: number;
  /** `ceil(numTensors / tensorsPerLayer)`. */
  readonly numLayers: number;

  /** @internal Created by the engine only. */
  constructor(registration: CacheRegistration) {
    const g = registration.geometry;
    this.id = registration.id;
    this.placement = g.placement;
    this.dataType = g.dataType;
    this.shape = Object.freeze([...g.shape]);
    this.numTensors = g.numTensors;
    this.numBlocks = g.numBlocks;
    this.tensorBytes = g.tensorBytes;
    this.bytesPerBlock = g.bytesPerBlock;
    this.tensorsPerLayer = g.tensorsPerLayer;
    this.numLayers = g.numLayers;
    const nativeCache = makeCache({ cache_id: registration.id, tensor_addrs: registration.addresses, cache_desc: registration.nativeDesc });
    states.set(this, { registration, nativeCache, registered: true, pending: 0, settledWaiters: [] });
  }

  /** Whether the registration is still in place (false after unregister, or after the engine closed). */
  get registered(): boolean {
    return stateOf(this).registered;
  }

  /** Number of transfers on this cache whose native call has not finished (including abandoned ones). */
  get pendingTransfers(): number {
    return stateOf(this).pending;
  }

  /** The registered address of each tensor (a copy). */
  get addresses(): BigUint64Array {
    return stateOf(this).registration.addresses.slice();
  }

  /** The bytes of tensor `index` (a view, not a copy). */
  tensor(index: number): Uint8Array {
    const { registration } = stateOf(this);
    if (!Number.isInteger(index) || index < 0 || index >= this.numTensors) {
      throw new DataDistArgumentError('viewCache', 'index', `must be a tensor index in [0, ${this.numTensors})`, describe(index));
    }
    const memory = registration.memory?.[index];
    if (memory === undefined) return registration.owner.bindings.view(registration.addresses[index] as bigint, this.tensorBytes);
    return memory instanceof ArrayBuffer
      ? new Uint8Array(memory, 0, this.tensorBytes)
      : new Uint8Array(memory.buffer, memory.byteOffset, this.tensorBytes);
  }

  /** The bytes of block `block` of tensor `tensorIndex` (a view of `bytesPerBlock` bytes). */
  block(tensorIndex: number, block: number): Uint8Array {
    if (!Number.isInteger(block) || block < 0 || block >= this.numBlocks) {
      throw new DataDistArgumentError('viewCache', 'block', `must be a block index in [0, ${this.numBlocks})`, describe(block));
    }
    return this.tensor(tensorIndex).subarray(block * this.bytesPerBlock, (block + 1) * this.bytesPerBlock);
  }

  /** Resolves once no transfer on this cache is running natively (abandoned ones included). */
  settled(): Promise<void> {
    const state = stateOf(this);
    if (state.pending === 0) return Promise.resolve();
    return new Promise((resolve) => state.settledWaiters.push(resolve));
  }

  /**
   * Unregisters the cache. Idempotent; a no-op once the engine is closed (closing released it).
   * Throws an OrderingError while a transfer on it is still running natively: await
   * `settled()` first (or use `await using`).
   */
  unregister(): void {
    const state = stateOf(this);
    if (!state.registered) return;
    state.registration.owner.unregisterCache(this);
  }

  /** Same as {@link unregister}. */
  [Symbol.dispose](): void {
    this.unregister();
  }

  /** Waits for running transfers on this cache, then unregisters it. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.settled();
    this.unregister();
  }
}

/** Engine-side access to a cache's state. */
export const cacheInternals = {
  nativeCache(cache: KvCache): Cache {
    return stateOf(cache).nativeCache;
  },
  owner(cache: unknown): CacheOwner | undefined {
    return cache instanceof KvCache ? states.get(cache)?.registration.owner : undefined;
  },
  markReleased(cache: KvCache): void {
    stateOf(cache).registered = false;
  },
  beginTransfer(cache: KvCache): void {
    stateOf(cache).pending += 1;
  },
  endTransfer(cache: KvCache): void {
    const state = stateOf(cache);
    state.pending -= 1;
    if (state.pending === 0) for (const resolve of state.settledWaiters.splice(0)) resolve();
  },
};
