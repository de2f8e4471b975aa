import { CachePlacement, StatusCode, type CacheDesc } from '@dd/sys';
import type { FakeAclRuntime } from './acl-runtime.js';
import type { AddressSpace } from './address-space.js';
import { cacheGeometry, rankProblem } from './cache-geometry.js';
import { fail, invalid, ok, type Outcome } from './outcome.js';

type Memory = ArrayBuffer | SharedArrayBuffer;

export interface RegisteredCache {
  readonly id: bigint;
  readonly desc: CacheDesc;
  readonly addrs: readonly bigint[];
  readonly rows: bigint;
  readonly tensorBytes: number;
  readonly stride: bigint;
  /** When it was registered, in network events: memory is bound to links created later only. */
  readonly seq: number;
  /** Registered memory stays alive until it is unregistered, as pinned memory would. */
  readonly pinned: readonly Memory[];
}

/** The engine's cache access table is 1 MiB: a 24-byte header, then 64 + 8·num_tensors bytes per cache (A6). */
const TABLE_LIMIT_BYTES = 1024 * 1024;
const TABLE_HEADER_BYTES = 24;

function tableEntryBytes(tensors: number): number {
  return 64 + 8 * tensors;
}

export interface RegistryContext {
  readonly memory: AddressSpace;
  readonly acl: FakeAclRuntime;
  nextSeq(): number;
}

/**
 * RegisterKvCache and UnregisterKvCache of one initialized engine (A13, A22, A6, D3-D5). Ids count
 * from 1 per Initialize; every failure after the shape-rank check still consumes one.
 */
export class CacheRegistry {
  readonly caches = new Map<bigint, RegisteredCache>();
  private nextId = 1n;

  constructor(
    private readonly context: RegistryContext,
    /** hixl refuses a range that partially overlaps one already registered. */
    private readonly refusePartialOverlap: boolean,
  ) {}

  register(desc: CacheDesc, addrs: BigUint64Array): Outcome<bigint> {
    if (addrs.length === 0) return invalid('addrs is empty');
    if (addrs.length !== desc.num_tensors) return invalid(`${addrs.length} addrs for num_tensors ${desc.num_tensors}`);
    if (addrs.includes(0n)) return invalid('an address is 0');
    const rank = rankProblem(desc.shape);
    if (rank !== null) return invalid(rank);
    const id = this.nextId;
    this.nextId += 1n;
    const geometry = cacheGeometry(desc);
    if (!geometry.ok) return geometry;
    const { tensorBytes, rows, stride } = geometry.value;
    const device = desc.placement === CachePlacement.kDevice ? this.deviceMemory(addrs, tensorBytes) : null;
    if (device !== null) return device;
    const pinned = this.pin(addrs, tensorBytes);
    if (!pinned.ok) return pinned;
    const table = TABLE_HEADER_BYTES + [...this.caches.values()].reduce((sum, cache) => sum + tableEntryBytes(cache.addrs.length), 0) + tableEntryBytes(addrs.length);
    // D5: the failure leaves nothing registered (V2 leaves the entry and its memory behind).
    if (table > TABLE_LIMIT_BYTES) return invalid(`the cache table would take ${table} bytes, more than 1 MiB`);
    const copy: CacheDesc = { ...desc, shape: desc.shape.slice() };
    this.caches.set(id, { id, desc: copy, addrs: [...addrs], rows, tensorBytes: Number(tensorBytes), stride, seq: this.context.nextSeq(), pinned: pinned.value });
    return ok(id);
  }

  /** An unknown id (≤ 0 included) is SUCCESS. Each cache keeps its own registration (D4). */
  unregister(cacheId: bigint): void {
    this.caches.delete(cacheId);
  }

  /**
   * A22: kDevice registers device memory, which on Ascend is aclrtMalloc memory; anything else
   * fails as V2's memory registration does (LLM_FAILED).
   */
  private deviceMemory(addrs: BigUint64Array, tensorBytes: bigint): Outcome<never> | null {
    for (const [index, addr] of addrs.entries()) {
      const problem = this.context.acl.deviceMemoryProblem(addr, tensorBytes);
      if (problem !== null) return fail(StatusCode.LLM_FAILED, `tensor ${index} at 0x${addr.toString(16)} (+${tensorBytes} bytes) ${problem}: placement kDevice registers device memory (A22)`);
    }
    return null;
  }

  /** The fake's memory registration: every tensor must lie in memory from this network's addressOf(). */
  private pin(addrs: BigUint64Array, tensorBytes: bigint): Outcome<Memory[]> {
    const pinned: Memory[] = [];
    const ranges: [bigint, bigint][] = [];
    for (const addr of addrs) {
      const range = tensorBytes <= BigInt(Number.MAX_SAFE_INTEGER) ? this.context.memory.resolve(addr, Number(tensorBytes)) : null;
      if (range === null) {
        return fail(StatusCode.LLM_FAILED, `registering ${tensorBytes} bytes at 0x${addr.toString(16)} failed: not memory from this network's addressOf()`);
      }
      const overlap = this.refusePartialOverlap ? this.partialOverlap(addr, addr + tensorBytes, ranges) : null;
      if (overlap !== null) return invalid(overlap);
      ranges.push([addr, addr + tensorBytes]);
      pinned.push(range.memory);
    }
    return ok(pinned);
  }

  private partialOverlap(start: bigint, end: bigint, pending: readonly [bigint, bigint][]): string | null {
    const registered = [...this.caches.values()].flatMap((cache) => cache.addrs.map((base): [bigint, bigint] => [base, base + BigInt(cache.tensorBytes)]));
    for (const [otherStart, otherEnd] of [...registered, ...pending]) {
      const same = otherStart === start && otherEnd === end;
      if (!same && start < otherEnd && otherStart < end) {
        return `[0x${start.toString(16)}, 0x${end.toString(16)}) partially overlaps registered memory [0x${otherStart.toString(16)}, 0x${otherEnd.toString(16)}) (hixl refuses it)`;
      }
    }
    return null;
  }
}
