import type { Bindings } from '@dd/sys';

/**
 * Views of memory a cache owns, and the free that must not run while one is still reachable.
 *
 * A view of native memory (`bindings.view()`, an ArrayBuffer over bytes it does not own) dangles
 * once the memory is freed: touching it would read or write unmapped or reused memory, a crash at
 * best. Unregistering a cache must still give its memory back. So the cache tracks every
 * ArrayBuffer it handed out and the free waits until all of them are garbage-collected; every
 * typed array (a `block()` subarray too) holds its ArrayBuffer, so no view outlives the bytes.
 */
export class TensorViews {
  /** One ArrayBuffer per tensor while any view of it is reachable: views share it. */
  readonly #buffers: (WeakRef<ArrayBuffer> | undefined)[];
  /** Tracked buffers not yet collected. */
  #live = 0;
  #release: (() => void) | undefined;

  constructor(
    private readonly bindings: Bindings,
    private readonly addresses: BigUint64Array,
    private readonly tensorBytes: number,
  ) {
    this.#buffers = new Array<WeakRef<ArrayBuffer> | undefined>(addresses.length);
  }

  /** The bytes of tensor `index`: a view that keeps the memory allocated while it is reachable. */
  tensor(index: number): Uint8Array {
    const held = this.#buffers[index]?.deref();
    if (held !== undefined) return new Uint8Array(held, 0, this.tensorBytes);
    const view = this.bindings.view(this.addresses[index] as bigint, this.tensorBytes);
    if (this.bindings.viewsKeepMemory === true) return view;
    this.#buffers[index] = new WeakRef(view.buffer as ArrayBuffer);
    this.#live += 1;
    collected.register(view.buffer, this);
    return view;
  }

  /**
   * `length` bytes of tensor `index` from `offset`, for a copy that ends before the caller returns:
   * the view is not tracked, so it must not be kept (a free would not wait for it).
   */
  borrow(index: number, offset: number, length: number): Uint8Array {
    const held = this.#buffers[index]?.deref();
    if (held !== undefined) return new Uint8Array(held, offset, length);
    return this.bindings.view((this.addresses[index] as bigint) + BigInt(offset), length);
  }

  /**
   * Runs `free` once no view this handed out is reachable: now when there is none (or the
   * bindings' views hold their own bytes), its failure thrown to the caller; otherwise after the
   * last one is collected, its failure a process warning, there being no caller then.
   */
  releaseWhenUnviewed(free: () => void): void {
    this.#buffers.fill(undefined);
    if (this.#live === 0) free();
    else this.#release = free;
  }

  /** @internal Called by the registry when a tracked buffer was collected. */
  collected(): void {
    this.#live -= 1;
    const release = this.#release;
    if (this.#live > 0 || release === undefined) return;
    this.#release = undefined;
    try {
      release();
    } catch (error) {
      process.emitWarning(error as Error);
    }
  }
}

// Holds each TensorViews strongly while one of its buffers lives: a deferred free always runs.
const collected = new FinalizationRegistry<TensorViews>((views) => views.collected());
