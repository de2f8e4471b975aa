/**
 * At most `limit` async native calls of one Bindings run at once; the others wait their turn, in
 * order. koffi runs every async call on a worker of a pool it caps (256 calls by default) and
 * throws past the cap, so a thousand transfers in flight must queue here. A call whose caller
 * stopped waiting (its deadline or abort signal) before its turn never starts: no byte moves after
 * the caller was told the transfer failed.
 */
export class NativeCallSlots {
  #running = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(readonly limit: number) {}

  /** Calls that have started and not finished. */
  get running(): number {
    return this.#running;
  }

  /** Calls waiting for a slot. */
  get waiting(): number {
    return this.#waiting.length;
  }

  run<R>(call: () => Promise<R>, abandoned: () => boolean): Promise<R> {
    if (this.#running < this.limit) return this.#start(call);
    return new Promise<R>((resolve, reject) => {
      this.#waiting.push(() => {
        if (abandoned()) {
          reject(new Error('the caller stopped waiting before the native call started; it never ran'));
          this.#next();
          return;
        }
        this.#start(call).then(resolve, reject);
      });
    });
  }

  #start<R>(call: () => Promise<R>): Promise<R> {
    this.#running += 1;
    let native: Promise<R>;
    try {
      native = call();
    } catch (cause) {
      native = Promise.reject(cause);
    }
    return native.finally(() => {
      this.#running -= 1;
      this.#next();
    });
  }

  #next(): void {
    if (this.#running < this.limit) this.#waiting.shift()?.();
  }
}

/** Half of koffi's default cap, leaving room for other users of the same koffi in the process. */
export const NATIVE_CALL_SLOTS = 128;

const slotsByBindings = new WeakMap<object, NativeCallSlots>();

/** The slots shared by every engine on `bindings` (one koffi pool per process). */
export function nativeCallSlots(bindings: object): NativeCallSlots {
  let slots = slotsByBindings.get(bindings);
  if (slots === undefined) {
    slots = new NativeCallSlots(NATIVE_CALL_SLOTS);
    slotsByBindings.set(bindings, slots);
  }
  return slots;
}
