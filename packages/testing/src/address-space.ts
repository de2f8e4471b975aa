import type { HostMemory } from '@dd/sys';

type Memory = ArrayBuffer | SharedArrayBuffer;

interface Region {
  readonly base: bigint;
  readonly length: number;
  /** Weak, so that mapping a buffer never keeps it alive; registration holds it strongly instead. */
  readonly memory: WeakRef<Memory>;
}

/** Where a synthetic address range lands: a buffer and a byte offset in it. */
export interface ResolvedRange {
  readonly memory: Memory;
  readonly offset: number;
}

// Well inside the canonical user half of x86-64 and far from 0, so a stray 0 or small number
// never resolves. Regions are page-aligned with at least one unmapped page between them, so an
// off-by-a-block access runs into a gap instead of a neighbour.
const FIRST_BASE = 0x7e00_0000_0000n;
const PAGE = 4096n;

function pageAlign(length: number): bigint {
  return ((BigInt(length) + PAGE - 1n) / PAGE) * PAGE;
}

/**
 * Synthetic, stable, non-zero addresses for JavaScript memory. The first addressOf() of a buffer
 * gives it a region; views resolve to base + byteOffset. Addresses depend only on the order in
 * which buffers are first seen, so runs are deterministic.
 */
export class AddressSpace implements HostMemory {
  private readonly bases = new WeakMap<Memory, bigint>();
  /** Sorted by base (bases only grow). */
  private readonly regions: Region[] = [];
  private nextBase = FIRST_BASE;

  addressOf(input: ArrayBuffer | ArrayBufferView): bigint {
    const memory: unknown = input; // callers without types may pass anything
    if (ArrayBuffer.isView(memory)) return this.baseOf(memory.buffer) + BigInt(memory.byteOffset);
    if (memory instanceof ArrayBuffer || memory instanceof SharedArrayBuffer) return this.baseOf(memory);
    throw new TypeError('addressOf expects an ArrayBuffer, a SharedArrayBuffer or an ArrayBufferView');
  }

  view(address: bigint, length: number): Uint8Array {
    if (typeof address !== 'bigint') throw new TypeError('view: address must be a bigint');
    if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`view: length ${length} must be a non-negative integer`);
    const range = this.resolve(address, length);
    if (range === null) {
      throw new RangeError(`view: 0x${address.toString(16)}+${length} is not memory of this fake network (get addresses from addressOf)`);
    }
    return new Uint8Array(range.memory, range.offset, length);
  }

  /** The live buffer that holds all of [address, address + length), or null. */
  resolve(address: bigint, length: number): ResolvedRange | null {
    const region = this.regionAt(address);
    if (region === undefined) return null;
    const memory = region.memory.deref();
    if (memory === undefined) return null;
    const offset = address - region.base;
    // A detached or shrunk buffer no longer covers the range.
    if (offset + BigInt(length) > BigInt(memory.byteLength)) return null;
    return { memory, offset: Number(offset) };
  }

  /**
   * Maps `memory` (not seen before) at the next base aligned to `alignment` (a power of two, at
   * least a page), as ACL memory is mapped; `unmap` takes it away again.
   */
  mapAligned(memory: ArrayBuffer, alignment: bigint): bigint {
    if (this.bases.has(memory)) throw new Error('mapAligned: this buffer already has an address');
    this.nextBase = ((this.nextBase + alignment - 1n) / alignment) * alignment;
    return this.baseOf(memory);
  }

  /** The region at `base` is no memory any more: views and transfers of it fail from now on. */
  unmap(base: bigint): void {
    const index = this.regions.findIndex((region) => region.base === base);
    if (index < 0) return;
    const memory = (this.regions[index] as Region).memory.deref();
    if (memory !== undefined) this.bases.delete(memory);
    this.regions.splice(index, 1);
  }

  private baseOf(memory: Memory): bigint {
    const known = this.bases.get(memory);
    if (known !== undefined) return known;
    const base = this.nextBase;
    this.nextBase += pageAlign(memory.byteLength) + PAGE;
    this.bases.set(memory, base);
    this.regions.push({ base, length: memory.byteLength, memory: new WeakRef(memory) });
    return base;
  }

  private regionAt(address: bigint): Region | undefined {
    let low = 0;
    let high = this.regions.length - 1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      const region = this.regions[middle] as Region;
      if (address < region.base) high = middle - 1;
      else if (address >= region.base + pageAlign(Math.max(region.length, 1))) low = middle + 1;
      else return region;
    }
    return undefined;
  }
}
