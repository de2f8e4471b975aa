import { constants } from 'node:buffer';
import { StatusCode, makeCache, type Bindings, type Cache, type CacheDesc as NativeCacheDesc, type DataType } from '@dd/sys';
import type { CacheGeometry, Placement } from './cache-desc.js';
import { readDevice, writeDevice, type AclTensors } from './device-memory.js';
import { CacheNotFoundError, DataDistArgumentError, FeatureNotEnabledError, type OperationName } from './errors.js';
import { describe } from './validate.js';

/** JS memory a cache tensor can live in. */
export type TensorMemory = ArrayBuffer | ArrayBufferView;

/**
 * What holds a cache's bytes: `'js'` JS buffers, `'address'` memory the caller registered by
 * address, `'device'` device memory the cache owns (aclrtMalloc), `'pinned'` page-locked host
 * memory the cache owns (aclrtMallocHost).
 */
export type CacheMemory = 'js' | 'address' | 'device' | 'pinned';

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
  /** ACL memory the cache owns, freed by the engine after unregistering. */
  readonly acl: AclTensors | undefined;
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
 * while registered (and owns the ACL memory `engine.allocateCache()` gave it, freed after it is
 * unregistered), and unregisters on `unregister()` / `using`. Create one with
 * `engine.registerCache()`, `engine.registerHostCache()` or `engine.allocateCache()`.
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

  /** What holds the bytes; `'device'` and `'pinned'` memory belong to the cache and are freed with it. */
  get memory(): CacheMemory {
    const { registration } = stateOf(this);
    if (registration.acl !== undefined) return registration.acl.kind;
    return registration.memory === undefined ? 'address' : 'js';
  }

  /**
   * The bytes of tensor `index` (a view, not a copy). Host memory only: device memory has no view
   * on the host (on Ascend it is not addressable from the CPU), so a `'device'` cache throws a
   * FeatureNotEnabledError; use {@link read} and {@link write}. A view of `'pinned'` memory the
   * cache owns keeps that memory allocated until the view is garbage-collected, even after the
   * cache is unregistered (its bytes are then no longer transferred); a view of memory registered
   * by address is valid while its owner keeps that memory. A typed array holds at most
   * `buffer.constants.MAX_LENGTH` bytes: a larger tensor has no view (read and write it).
   */
  tensor(index: number): Uint8Array {
    const { registration } = stateOf(this);
    this.#tensorIndex('viewCache', index);
    if (this.placement === 'device') {
      throw new FeatureNotEnabledError({
        status: StatusCode.LLM_FEATURE_NOT_ENABLED,
        operation: 'viewCache',
        message: `viewCache: cache ${this.id} is in device memory, which has no host view; copy with cache.read()/cache.write() (aclrtMemcpy)`,
      });
    }
    this.#assertMemoryLive('viewCache');
    if (this.tensorBytes > constants.MAX_LENGTH) {
      throw new DataDistArgumentError(
        'viewCache',
        'index',
        `names a tensor of ${this.tensorBytes} bytes; a view holds at most ${constants.MAX_LENGTH} bytes: copy with cache.read()/cache.write()`,
      );
    }
    if (registration.acl !== undefined) return registration.acl.view(index);
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

  /**
   * A copy of `length` bytes of tensor `tensorIndex` from byte `offset` (default: the whole tensor).
   * Device memory is copied with aclrtMemcpy (DEVICE_TO_HOST), host memory from its view.
   */
  read(tensorIndex: number, range: { readonly offset?: number; readonly length?: number } = {}): Uint8Array {
    const op = 'readCache';
    this.#tensorIndex(op, tensorIndex);
    const offset = range.offset ?? 0;
    this.#offset(op, 'range.offset', offset);
    const length = range.length ?? this.tensorBytes - offset;
    if (!Number.isSafeInteger(length) || length < 0 || offset + length > this.tensorBytes) {
      throw new DataDistArgumentError(op, 'range.length', `must be a byte count with offset + length ≤ the tensor's ${this.tensorBytes} bytes`, describe(range.length));
    }
    this.#assertMemoryLive(op);
    if (length === 0) return new Uint8Array(0);
    if (this.placement !== 'device') return this.#hostBytes(tensorIndex, offset, length).slice();
    const { registration } = stateOf(this);
    const into = new Uint8Array(length);
    readDevice(registration.owner.bindings, op, (registration.addresses[tensorIndex] as bigint) + BigInt(offset), into);
    return into;
  }

  /**
   * Copies `bytes` into tensor `tensorIndex` from byte `offset` (default 0). Device memory is
   * written with aclrtMemcpy (HOST_TO_DEVICE), host memory through its view.
   */
  write(tensorIndex: number, bytes: ArrayBufferView | ArrayBuffer, offset = 0): void {
    const op = 'writeCache';
    this.#tensorIndex(op, tensorIndex);
    this.#offset(op, 'offset', offset);
    if (!(bytes instanceof ArrayBuffer) && !ArrayBuffer.isView(bytes)) {
      throw new DataDistArgumentError(op, 'bytes', 'must be an ArrayBuffer, Buffer or typed array', describe(bytes));
    }
    const source = bytes instanceof ArrayBuffer ? new Uint8Array(bytes) : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (offset + source.length > this.tensorBytes) {
      throw new DataDistArgumentError(op, 'bytes', `must fit the tensor: ${offset} + ${source.length} bytes is more than its ${this.tensorBytes}`);
    }
    this.#assertMemoryLive(op);
    if (source.length === 0) return;
    if (this.placement !== 'device') {
      this.#hostBytes(tensorIndex, offset, source.length).set(source);
      return;
    }
    const { registration } = stateOf(this);
    writeDevice(registration.owner.bindings, op, (registration.addresses[tensorIndex] as bigint) + BigInt(offset), this.tensorBytes - offset, source);
  }

  /** A copy of block `block` of tensor `tensorIndex` (`bytesPerBlock` bytes), from any memory. */
  readBlock(tensorIndex: number, block: number): Uint8Array {
    this.#blockIndex('readCache', block);
    return this.read(tensorIndex, { offset: block * this.bytesPerBlock, length: this.bytesPerBlock });
  }

  /** Writes `bytes` (at most `bytesPerBlock`) at the start of block `block` of tensor `tensorIndex`, in any memory. */
  writeBlock(tensorIndex: number, block: number, bytes: ArrayBufferView | ArrayBuffer): void {
    this.#blockIndex('writeCache', block);
    const length = bytes instanceof ArrayBuffer || ArrayBuffer.isView(bytes) ? bytes.byteLength : 0;
    if (length > this.bytesPerBlock) throw new DataDistArgumentError('writeCache', 'bytes', `must fit one block of ${this.bytesPerBlock} bytes`, `${length} bytes`);
    this.write(tensorIndex, bytes, block * this.bytesPerBlock);
  }

  /**
   * `length` host bytes of tensor `index` from `offset`, for a copy made here and now: of memory the
   * cache owns, a view that no one keeps (and that works for tensors too large for one view).
   */
  #hostBytes(index: number, offset: number, length: number): Uint8Array {
    const { registration } = stateOf(this);
    if (registration.acl !== undefined) return registration.acl.borrow(index, offset, length);
    if (registration.memory !== undefined) return this.tensor(index).subarray(offset, offset + length);
    return registration.owner.bindings.view((registration.addresses[index] as bigint) + BigInt(offset), length);
  }

  #tensorIndex(op: OperationName, index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.numTensors) {
      throw new DataDistArgumentError(op, op === 'viewCache' ? 'index' : 'tensorIndex', `must be a tensor index in [0, ${this.numTensors})`, describe(index));
    }
  }

  #blockIndex(op: OperationName, block: number): void {
    if (!Number.isInteger(block) || block < 0 || block >= this.numBlocks) {
      throw new DataDistArgumentError(op, 'block', `must be a block index in [0, ${this.numBlocks})`, describe(block));
    }
  }

  #offset(op: OperationName, argument: string, offset: unknown): void {
    if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0 || offset > this.tensorBytes) {
      throw new DataDistArgumentError(op, argument, `must be a byte offset in [0, ${this.tensorBytes}]`, describe(offset));
    }
  }

  /** Memory the cache owned is gone once it was unregistered. */
  #assertMemoryLive(op: OperationName): void {
    if (stateOf(this).registration.acl?.freed === true) {
      throw new CacheNotFoundError({
        status: StatusCode.LLM_KV_CACHE_NOT_EXIST,
        operation: op,
        message: `${op}: cache ${this.id} was unregistered and its ${this.memory} memory freed`,
      });
    }
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
  /** Frees the ACL memory the cache owns (once); only after it is unregistered and no transfer runs. */
  freeMemory(cache: KvCache, op: OperationName): void {
    stateOf(cache).registration.acl?.free(op);
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
