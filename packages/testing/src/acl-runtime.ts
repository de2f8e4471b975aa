import { AclStatusCode, aclrtMemcpyKind, aclrtMemMallocPolicy, type AclStatus } from '@dd/sys';
import type { AddressSpace } from './address-space.js';

/** An ACL call's status and, on failure, the reason (the host backend's words). */
export interface AclOutcome<T = undefined> {
  readonly status: AclStatus;
  readonly detail: string;
  readonly value?: T;
}

type Kind = 'device' | 'pinned';

interface Allocation {
  readonly base: bigint;
  readonly size: number;
  readonly kind: Kind;
  readonly device: number;
  /** Held here until freed: the address space keeps only weak references. */
  readonly memory: ArrayBuffer;
}

/** Where a byte range lies among the allocations (device_memory.h RangePlace). */
type Located = { readonly place: 'inside' | 'straddles'; readonly allocation: Allocation } | { readonly place: 'outside' };

// HCCS device-to-device transfers need 2 MiB-aligned bases; the huge-page policies give them.
const HUGE_ALIGNMENT = 2n << 20n;
const PAGE_ALIGNMENT = 4096n;
const DEFAULT_DEVICE_COUNT = 8;

const KIND_NAMES = new Map<number, string>(Object.entries(aclrtMemcpyKind).map(([name, value]) => [value, name]));
const NORMAL_POLICIES = new Set<number>([aclrtMemMallocPolicy.ACL_MEM_MALLOC_NORMAL_ONLY, aclrtMemMallocPolicy.ACL_MEM_MALLOC_NORMAL_ONLY_P2P]);

function hex(address: bigint): string {
  return `0x${address.toString(16)}`;
}

function failed(status: AclStatus, detail: string): AclOutcome<never> {
  return { status, detail };
}

function succeeded<T>(value?: T): AclOutcome<T> {
  return value === undefined ? { status: AclStatusCode.ACL_SUCCESS, detail: '' } : { status: AclStatusCode.ACL_SUCCESS, detail: '', value };
}

function validPolicy(policy: number): boolean {
  const placement = policy & 0xff;
  const flags = policy & ~0xff;
  const bands = aclrtMemMallocPolicy.ACL_MEM_TYPE_LOW_BAND_WIDTH | aclrtMemMallocPolicy.ACL_MEM_TYPE_HIGH_BAND_WIDTH;
  const known = bands | aclrtMemMallocPolicy.ACL_MEM_ACCESS_USER_SPACE_READONLY;
  return placement <= aclrtMemMallocPolicy.ACL_MEM_MALLOC_HUGE1G_ONLY_P2P && (flags & ~known) === 0 && (flags & bands) !== bands;
}

/**
 * The ACL runtime's memory functions over the fake's address space, with the contract and the
 * codes of the host backend's (packages/sys/native/host/acl_runtime.cc): aclInit once, device ids
 * checked against the device count, a device set before aclrtMalloc, count ≤ destMax, copy kinds
 * checked against where the pointers came from, bounds of every allocation. One fake network is
 * one process, and its one JavaScript thread is the only thread, so it has one current device.
 */
export class FakeAclRuntime {
  private initialized = false;
  private finalized = false;
  private currentDevice = -1;
  private readonly deviceRefs: number[];
  /** Sorted by base (bases only grow). */
  private readonly allocations: Allocation[] = [];

  constructor(
    private readonly memory: AddressSpace,
    readonly deviceCount: number = DEFAULT_DEVICE_COUNT,
  ) {
    if (!Number.isInteger(deviceCount) || deviceCount < 1 || deviceCount > 64) throw new RangeError(`deviceCount ${deviceCount} must be an integer in [1, 64]`);
    this.deviceRefs = new Array<number>(deviceCount).fill(0);
  }

  init(): AclOutcome {
    if (this.initialized || this.finalized) {
      return failed(AclStatusCode.ACL_ERROR_REPEAT_INITIALIZE, this.finalized ? 'ACL was finalized; it cannot start again in this process' : 'aclInit was already called in this process');
    }
    this.initialized = true;
    return succeeded();
  }

  finalize(): AclOutcome {
    if (this.finalized) return failed(AclStatusCode.ACL_ERROR_REPEAT_FINALIZE, 'aclFinalize was already called');
    if (!this.initialized) return this.uninitialized();
    this.initialized = false;
    this.finalized = true;
    return succeeded();
  }

  setDevice(device: number): AclOutcome {
    const problem = this.requireInitialized() ?? this.checkDevice(device);
    if (problem) return problem;
    this.deviceRefs[device] = (this.deviceRefs[device] ?? 0) + 1;
    this.currentDevice = device;
    return succeeded();
  }

  resetDevice(device: number): AclOutcome {
    const problem = this.requireInitialized() ?? this.checkDevice(device);
    if (problem) return problem;
    this.deviceRefs[device] = Math.max(0, (this.deviceRefs[device] ?? 0) - 1);
    if (this.currentDevice === device) this.currentDevice = -1;
    return succeeded();
  }

  getDeviceCount(): AclOutcome<number> {
    return succeeded(this.deviceCount);
  }

  malloc(size: bigint, policy: number): AclOutcome<bigint> {
    if (size === 0n) return failed(AclStatusCode.ACL_ERROR_INVALID_PARAM, 'size is 0');
    if (!validPolicy(policy)) return failed(AclStatusCode.ACL_ERROR_INVALID_PARAM, `policy ${policy >>> 0} is not an aclrtMemMallocPolicy`);
    const problem = this.requireInitialized();
    if (problem) return problem;
    if (this.currentDevice < 0) return failed(AclStatusCode.ACL_ERROR_INVALID_DEVICE, 'no device is set on this thread (call aclrtSetDevice first)');
    return this.allocate(size, 'device', NORMAL_POLICIES.has(policy & 0xff) ? PAGE_ALIGNMENT : HUGE_ALIGNMENT, this.currentDevice);
  }

  mallocHost(size: bigint): AclOutcome<bigint> {
    if (size === 0n) return failed(AclStatusCode.ACL_ERROR_INVALID_PARAM, 'size is 0');
    const problem = this.requireInitialized();
    if (problem) return problem;
    return this.allocate(size, 'pinned', PAGE_ALIGNMENT, -1);
  }

  free(base: bigint, kind: Kind): AclOutcome {
    if (base === 0n) return failed(AclStatusCode.ACL_ERROR_INVALID_PARAM, `${kind === 'device' ? 'devPtr' : 'hostPtr'} is NULL`);
    const index = this.allocations.findIndex((a) => a.base === base && a.kind === kind);
    if (index < 0) return failed(AclStatusCode.ACL_ERROR_RT_PARAM_INVALID, `${hex(base)} is not the start of memory from ${kind === 'device' ? 'aclrtMalloc' : 'aclrtMallocHost'}`);
    this.allocations.splice(index, 1);
    this.memory.unmap(base);
    return succeeded();
  }

  memcpy(dst: bigint, destMax: bigint, src: bigint, count: bigint, kind: number): AclOutcome {
    if (dst === 0n || src === 0n) return failed(AclStatusCode.ACL_ERROR_INVALID_PARAM, dst === 0n ? 'dst is NULL' : 'src is NULL');
    if (count > destMax) return failed(AclStatusCode.ACL_ERROR_INVALID_PARAM, `count ${count} is larger than destMax ${destMax}`);
    if (kind < 0 || kind > aclrtMemcpyKind.ACL_MEMCPY_INTER_DEVICE_TO_DEVICE) return failed(AclStatusCode.ACL_ERROR_INVALID_PARAM, `kind ${kind >>> 0} is not an aclrtMemcpyKind`);
    const problem = this.requireInitialized();
    if (problem) return problem;
    const from = this.classify('src', src, count);
    if (from.status !== AclStatusCode.ACL_SUCCESS) return failed(from.status, from.detail);
    const to = this.classify('dst', dst, count);
    if (to.status !== AclStatusCode.ACL_SUCCESS) return failed(to.status, to.detail);
    const source = from.value!;
    const target = to.value!;
    if (!kindFits(kind, source, target)) {
      return failed(AclStatusCode.ACL_ERROR_RT_PARAM_INVALID, `${KIND_NAMES.get(kind)} cannot copy from ${where(source)} to ${where(target)}`);
    }
    if (count > 0n) this.memory.view(dst, Number(count)).set(this.memory.view(src, Number(count)));
    return succeeded();
  }

  memset(devPtr: bigint, maxCount: bigint, value: number, count: bigint): AclOutcome {
    if (devPtr === 0n) return failed(AclStatusCode.ACL_ERROR_INVALID_PARAM, 'devPtr is NULL');
    if (count > maxCount) return failed(AclStatusCode.ACL_ERROR_INVALID_PARAM, `count ${count} is larger than maxCount ${maxCount}`);
    const problem = this.requireInitialized();
    if (problem) return problem;
    const target = this.classify('devPtr', devPtr, count);
    if (target.status !== AclStatusCode.ACL_SUCCESS) return failed(target.status, target.detail);
    if (!target.value!.device) return failed(AclStatusCode.ACL_ERROR_RT_PARAM_INVALID, `${hex(devPtr)} is not device memory`);
    // memset stores the low byte of value, as C's does.
    if (count > 0n) this.memory.view(devPtr, Number(count)).fill(value & 0xff);
    return succeeded();
  }

  /**
   * A22: kDevice registers device memory. Null when [address, address + length) lies inside one
   * live aclrtMalloc allocation, else why not (the host backend's words).
   */
  deviceMemoryProblem(address: bigint, length: bigint): string | null {
    const found = this.locate(address, length);
    if (found.place === 'inside' && found.allocation.kind === 'device') return null;
    if (found.place === 'outside') return 'is not memory from aclrtMalloc';
    return found.allocation.kind !== 'device' ? 'is page-locked host memory (aclrtMallocHost), not device memory' : 'runs past the end of its aclrtMalloc allocation';
  }

  private allocate(size: bigint, kind: Kind, alignment: bigint, device: number): AclOutcome<bigint> {
    let memory: ArrayBuffer;
    try {
      if (size > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError('too large');
      memory = new ArrayBuffer(Number(size));
    } catch {
      return failed(AclStatusCode.ACL_ERROR_RT_MEMORY_ALLOCATION, `cannot allocate ${size} bytes`);
    }
    const base = this.memory.mapAligned(memory, alignment);
    this.allocations.push({ base, size: memory.byteLength, kind, device, memory });
    return succeeded(base);
  }

  private locate(address: bigint, length: bigint): Located {
    let found: Allocation | undefined;
    for (const allocation of this.allocations) {
      if (allocation.base > address) break;
      found = allocation;
    }
    if (found === undefined || address >= found.base + BigInt(found.size)) return { place: 'outside' };
    return { place: length <= found.base + BigInt(found.size) - address ? 'inside' : 'straddles', allocation: found };
  }

  /** Device memory (inside one aclrtMalloc block) or host memory (this network's, touching no block). */
  private classify(name: string, address: bigint, length: bigint): AclOutcome<Side> {
    const found = this.locate(address, length);
    if (found.place === 'inside') return succeeded({ device: found.allocation.kind === 'device', deviceId: found.allocation.device });
    if (found.place === 'straddles') {
      return failed(AclStatusCode.ACL_ERROR_INVALID_PARAM, `${name} ${hex(address)} + ${length} bytes runs past the end of its ${found.allocation.size}-byte allocation`);
    }
    const mapped = length === 0n || (length <= BigInt(Number.MAX_SAFE_INTEGER) && this.memory.resolve(address, Number(length)) !== null);
    if (!mapped) return failed(AclStatusCode.ACL_ERROR_INVALID_PARAM, `${name} ${hex(address)} + ${length} bytes is not mapped memory`);
    return succeeded({ device: false, deviceId: -1 });
  }

  private requireInitialized(): AclOutcome<never> | undefined {
    return this.initialized ? undefined : this.uninitialized();
  }

  private uninitialized(): AclOutcome<never> {
    return failed(AclStatusCode.ACL_ERROR_UNINITIALIZE, 'aclInit has not been called');
  }

  private checkDevice(device: number): AclOutcome<never> | undefined {
    if (device >= 0 && device < this.deviceCount) return undefined;
    return failed(AclStatusCode.ACL_ERROR_RT_INVALID_DEVICEID, `device ${device} is not in [0, ${this.deviceCount}) (FakeNetworkOptions.deviceCount)`);
  }
}

interface Side {
  readonly device: boolean;
  readonly deviceId: number;
}

function where(side: Side): string {
  return side.device ? 'device memory' : 'host memory';
}

/** Whether `kind` copies from `src` to `dst` (acl_runtime.cc KindFits). */
function kindFits(kind: number, src: Side, dst: Side): boolean {
  switch (kind) {
    case aclrtMemcpyKind.ACL_MEMCPY_HOST_TO_HOST:
      return !src.device && !dst.device;
    case aclrtMemcpyKind.ACL_MEMCPY_HOST_TO_DEVICE:
    case aclrtMemcpyKind.ACL_MEMCPY_HOST_TO_BUF_TO_DEVICE:
      return !src.device && dst.device;
    case aclrtMemcpyKind.ACL_MEMCPY_DEVICE_TO_HOST:
      return src.device && !dst.device;
    case aclrtMemcpyKind.ACL_MEMCPY_DEVICE_TO_DEVICE:
      return src.device && dst.device;
    case aclrtMemcpyKind.ACL_MEMCPY_INNER_DEVICE_TO_DEVICE:
      return src.device && dst.device && src.deviceId === dst.deviceId;
    case aclrtMemcpyKind.ACL_MEMCPY_INTER_DEVICE_TO_DEVICE:
      return src.device && dst.device && src.deviceId !== dst.deviceId;
    default:
      return true; // ACL_MEMCPY_DEFAULT: the runtime works it out
  }
}
