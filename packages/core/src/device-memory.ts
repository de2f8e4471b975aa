import { AclStatusCode, StatusCode, aclrtMemcpyKind, aclrtMemMallocPolicy, type Bindings } from '@dd/sys';
import { AclError, DataDistError, type OperationName } from './errors.js';
import { TensorViews } from './tensor-views.js';

/**
 * HCCS (device-to-device transfers between the NPUs of one server) needs cache memory whose base
 * is aligned to 2 MiB; huge-page device memory has it. dd allocates device memory that way and
 * checks every base it gets.
 */
export const HCCS_ALIGNMENT = 2 * 1024 * 1024;

/** Where ACL memory lives: the device (aclrtMalloc), or page-locked host memory RDMA can read (aclrtMallocHost). */
export type AclMemoryKind = 'device' | 'pinned';

/** Throws an AclError naming `fn` unless `status` is ACL_SUCCESS. */
function check(bindings: Bindings, op: OperationName, fn: string, status: number): void {
  if (status === AclStatusCode.ACL_SUCCESS) return;
  throw new AclError({ status, operation: op, aclFunction: fn, nativeMessage: bindings.lastError() });
}

/**
 * aclInit once per Bindings (one process): a process where something else initialized ACL already
 * (torch_npu does) answers ACL_ERROR_REPEAT_INITIALIZE, which is fine.
 */
const initialized = new WeakSet<Bindings>();

function ensureAclInit(bindings: Bindings, op: OperationName): void {
  if (initialized.has(bindings)) return;
  const status = bindings.aclInit(null);
  if (status !== AclStatusCode.ACL_ERROR_REPEAT_INITIALIZE) check(bindings, op, 'aclInit', status);
  initialized.add(bindings);
}

/**
 * ACL memory a cache owns: one allocation per tensor, on one device, freed exactly once. It holds
 * a reference on its device (aclrtSetDevice when allocated, aclrtResetDevice when freed), so the
 * device stays set up while the memory lives and the references balance. The engine frees it
 * after the cache is unregistered, or when it closes; page-locked host memory of which views
 * were handed out is given back once the last of them is garbage-collected (tensor-views.ts).
 */
export class AclTensors {
  #freed = false;
  readonly #views: TensorViews | undefined;

  private constructor(
    private readonly bindings: Bindings,
    readonly kind: AclMemoryKind,
    readonly device: number,
    readonly tensorBytes: number,
    readonly addresses: BigUint64Array,
  ) {
    this.#views = kind === 'pinned' ? new TensorViews(bindings, addresses, tensorBytes) : undefined;
  }

  /**
   * `count` allocations of `tensorBytes`, zeroed. Device memory uses huge pages only
   * (ACL_MEM_MALLOC_HUGE_ONLY: a base that is not 2 MiB-aligned would break HCCS transfers, so an
   * allocation that cannot have one fails instead). On any failure what was allocated is freed.
   */
  static allocate(bindings: Bindings, op: OperationName, kind: AclMemoryKind, device: number, count: number, tensorBytes: number): AclTensors {
    ensureAclInit(bindings, op);
    // aclrtMalloc allocates on the calling thread's device: set it (every ACL call runs on the JS thread).
    check(bindings, op, 'aclrtSetDevice', bindings.aclrtSetDevice(device));
    const addresses = new BigUint64Array(count);
    const tensors = new AclTensors(bindings, kind, device, tensorBytes, addresses);
    const size = BigInt(tensorBytes);
    try {
      for (let i = 0; i < count; i += 1) {
        const address = allocateOne(bindings, op, kind, size);
        addresses[i] = address;
        if (kind === 'device' && address % BigInt(HCCS_ALIGNMENT) !== 0n) {
          throw new DataDistError({
            status: StatusCode.LLM_FAILED,
            operation: op,
            message: `${op}: aclrtMalloc gave device memory at 0x${address.toString(16)}, which is not ${HCCS_ALIGNMENT}-byte aligned; HCCS transfers need 2 MiB-aligned bases`,
          });
        }
        if (kind === 'device') check(bindings, op, 'aclrtMemset', bindings.aclrtMemset(address, size, 0, size));
        else zeroHost(bindings, address, tensorBytes);
      }
    } catch (error) {
      tensors.freeQuietly();
      throw error;
    }
    return tensors;
  }

  /** Whether the memory has been given back, or will be once its views are collected: no new access. */
  get freed(): boolean {
    return this.#freed;
  }

  /** A view of tensor `index` of page-locked host memory; it keeps the memory allocated while reachable. */
  view(index: number): Uint8Array {
    if (this.#views === undefined) throw new TypeError('device memory has no host view');
    return this.#views.tensor(index);
  }

  /** `length` bytes of tensor `index` of page-locked host memory from `offset`, for a copy that ends before the caller returns (not to be kept). */
  borrow(index: number, offset: number, length: number): Uint8Array {
    if (this.#views === undefined) throw new TypeError('device memory has no host view');
    return this.#views.borrow(index, offset, length);
  }

  /**
   * Frees every allocation and releases the device reference, once; a second call does nothing.
   * Throws the first failure after trying them all. While a view of the memory is reachable the
   * free waits for its collection; a failure then is a process warning, there being no caller.
   */
  free(op: OperationName): void {
    if (this.#freed) return;
    this.#freed = true;
    if (this.#views === undefined) this.#freeNow(op);
    else this.#views.releaseWhenUnviewed(() => this.#freeNow(op));
  }

  #freeNow(op: OperationName): void {
    let first: AclError | undefined;
    const failed = (fn: string, status: number): void => {
      if (status !== AclStatusCode.ACL_SUCCESS) first ??= new AclError({ status, operation: op, aclFunction: fn, nativeMessage: this.bindings.lastError() });
    };
    for (const address of this.addresses) {
      if (address === 0n) continue;
      if (this.kind === 'device') failed('aclrtFree', this.bindings.aclrtFree(address));
      else failed('aclrtFreeHost', this.bindings.aclrtFreeHost(address));
    }
    failed('aclrtResetDevice', this.bindings.aclrtResetDevice(this.device));
    if (first !== undefined) throw first;
  }

  private freeQuietly(): void {
    try {
      this.free('allocateCache');
    } catch {
      // The allocation already failed; that error is the one the caller needs.
    }
  }
}

/** Largest view zeroHost makes at once: a typed array holds at most buffer.constants.MAX_LENGTH bytes. */
const ZERO_CHUNK = 1 << 30;

/** Zeroes `size` bytes of host memory at `address` through views nobody keeps (gone before any free). */
function zeroHost(bindings: Bindings, address: bigint, size: number): void {
  for (let offset = 0; offset < size; offset += ZERO_CHUNK) {
    bindings.view(address + BigInt(offset), Math.min(ZERO_CHUNK, size - offset)).fill(0);
  }
}

function allocateOne(bindings: Bindings, op: OperationName, kind: AclMemoryKind, size: bigint): bigint {
  if (kind === 'device') {
    const result = bindings.aclrtMalloc(size, aclrtMemMallocPolicy.ACL_MEM_MALLOC_HUGE_ONLY);
    check(bindings, op, 'aclrtMalloc', result.status);
    return result.devPtr;
  }
  const result = bindings.aclrtMallocHost(size);
  check(bindings, op, 'aclrtMallocHost', result.status);
  return result.hostPtr;
}

/** Copies `bytes` into device memory at `address`, which has `room` bytes up to the end of its tensor (HOST_TO_DEVICE). */
export function writeDevice(bindings: Bindings, op: OperationName, address: bigint, room: number, bytes: Uint8Array): void {
  if (bytes.length === 0) return;
  const status = bindings.aclrtMemcpy(address, BigInt(room), bindings.addressOf(bytes), BigInt(bytes.length), aclrtMemcpyKind.ACL_MEMCPY_HOST_TO_DEVICE);
  check(bindings, op, 'aclrtMemcpy', status);
}

/** Copies `into.length` bytes of device memory at `address` into `into` (DEVICE_TO_HOST). */
export function readDevice(bindings: Bindings, op: OperationName, address: bigint, into: Uint8Array): void {
  if (into.length === 0) return;
  const length = BigInt(into.length);
  const status = bindings.aclrtMemcpy(bindings.addressOf(into), length, address, length, aclrtMemcpyKind.ACL_MEMCPY_DEVICE_TO_HOST);
  check(bindings, op, 'aclrtMemcpy', status);
}
