import { StatusCode } from '@dd/sys';

/**
 * When async native calls of one Bindings start (docs/design/completions.md).
 *
 * - At most `limit` run at once, and at most `perLink` of them on one link: every running call
 *   holds a thread of the native side, and on two cores a hundred block copies at once only
 *   thrash; a slow peer still holds up only its own link's calls.
 * - The others wait their turn, in order. A call whose caller stopped waiting (its deadline or
 *   abort signal) before its turn never starts: no byte moves after the caller was told the
 *   transfer failed.
 * - Waiting block transfers with the same source, destination and layers join one native call
 *   (their block lists concatenated), so a thousand one-block pulls in flight cost a few native
 *   calls. If that call finds an argument invalid, each member runs again alone, so each gets the
 *   status it would have had by itself (the compatibility rule: same bytes, same status); any
 *   other failure (the link, the peer, a timeout) is every member's.
 */
export class NativeCallSlots {
  #running = 0;
  readonly #runningOnLink = new Map<bigint, number>();
  readonly #waiting: Waiting[] = [];
  /** Batches not started yet, by key. */
  readonly #open = new Map<string, Batch>();

  constructor(
    readonly limit: number,
    readonly perLink: number,
  ) {}

  /** Calls that have started and not finished (a batch counts once). */
  get running(): number {
    return this.#running;
  }

  /** Calls and batches waiting for a slot. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** Runs `call` when a slot is free (on `link`'s share when given). */
  run<R>(call: () => Promise<R>, abandoned: () => boolean, link?: bigint): Promise<R> {
    if (this.#hasRoom(link)) return this.#start(link, call);
    return new Promise<R>((resolve, reject) => {
      this.#waiting.push({
        link,
        start: () => {
          if (abandoned()) {
            reject(new Error(NEVER_RAN));
            return false;
          }
          this.#start(link, call).then(resolve, reject);
          return true;
        },
      });
    });
  }

  /**
   * Runs a block transfer when a slot is free; while it waits, later transfers with the same
   * key join it. Resolves with the native status of its blocks.
   */
  runBlocks(transfer: BlockTransfer, abandoned: () => boolean, link: bigint): Promise<number> {
    // An empty list fails alone (joined to others it would not), so it never joins.
    if (transfer.src.length === 0) return this.run(() => transfer.run(transfer.src, transfer.dst), abandoned, link);
    if (this.#hasRoom(link)) return this.#start(link, () => transfer.run(transfer.src, transfer.dst));
    return new Promise<number>((resolve, reject) => {
      const member: Member = { transfer, abandoned, resolve, reject };
      const key = transfer.key();
      const open = this.#open.get(key);
      if (open !== undefined && open.blocks + transfer.src.length <= MAX_BATCH_BLOCKS) {
        open.members.push(member);
        open.blocks += transfer.src.length;
        this.#startIfFull(open);
        return;
      }
      const waiting: Waiting = {
        link,
        full: () => batch.blocks >= EAGER_BATCH_BLOCKS,
        start: () => {
          if (this.#open.get(key) === batch) this.#open.delete(key);
          const live = batch.members.filter((m) => {
            if (!m.abandoned()) return true;
            m.reject(new Error(NEVER_RAN));
            return false;
          });
          if (live.length === 0) return false;
          void this.#start(link, () => runBatch(live));
          return true;
        },
      };
      const batch: Batch = { members: [member], blocks: transfer.src.length, waiting };
      this.#open.set(key, batch);
      this.#waiting.push(waiting);
      this.#startIfFull(batch);
    });
  }

  /**
   * A batch that has grown to EAGER_BATCH_BLOCKS starts without waiting for a slot to free, while
   * its link runs fewer than twice its share: a thousand calls made in one synchronous loop then
   * start moving bytes while the loop still runs, instead of after it.
   */
  #startIfFull(batch: Batch): void {
    if (!this.#mayStartEarly(batch.waiting)) return;
    const at = this.#waiting.indexOf(batch.waiting);
    if (at < 0) return;
    this.#waiting.splice(at, 1);
    batch.waiting.start();
  }

  #mayStartEarly(w: Waiting): boolean {
    return w.full !== undefined && w.full() && this.#running < this.limit && (this.#runningOnLink.get(w.link!) ?? 0) < 2 * this.perLink;
  }

  #hasRoom(link: bigint | undefined): boolean {
    return this.#running < this.limit && (link === undefined || (this.#runningOnLink.get(link) ?? 0) < this.perLink);
  }

  #start<R>(link: bigint | undefined, call: () => Promise<R>): Promise<R> {
    this.#running += 1;
    if (link !== undefined) this.#runningOnLink.set(link, (this.#runningOnLink.get(link) ?? 0) + 1);
    let native: Promise<R>;
    try {
      native = call();
    } catch (cause) {
      native = Promise.reject(cause);
    }
    // Not `finally`: it adds a promise and a microtask turn to every call.
    return native.then(
      (value) => {
        this.#ended(link);
        return value;
      },
      (error: unknown) => {
        this.#ended(link);
        throw error;
      },
    );
  }

  #ended(link: bigint | undefined): void {
    this.#running -= 1;
    if (link !== undefined) {
      this.#runningOnLink.set(link, this.#runningOnLink.get(link)! - 1);
      // A link's count stays when it drops to 0: deleting and re-adding it cost about 1 µs per
      // call (measured). Idle links are forgotten only once many are held.
      if (this.#runningOnLink.size > FORGET_IDLE_LINKS_PAST) {
        for (const [id, n] of this.#runningOnLink) if (n === 0) this.#runningOnLink.delete(id);
      }
    }
    this.#next();
  }

  /** Starts waiting calls, oldest first, while their links have room. */
  #next(): void {
    for (let i = 0; i < this.#waiting.length && this.#running < this.limit; ) {
      const w = this.#waiting[i]!;
      if (!this.#hasRoom(w.link) && !this.#mayStartEarly(w)) {
        i += 1;
        continue;
      }
      this.#waiting.splice(i, 1);
      w.start();
    }
  }
}

/** A block transfer that can share a native call with others of the same `key`. */
export interface BlockTransfer {
  /** Same source cache, destination cache, direction and layer selection; asked only when it must wait. */
  key(): string;
  readonly src: BigUint64Array;
  readonly dst: BigUint64Array;
  /** The native call over these block lists, resolving with its status. */
  run(src: BigUint64Array, dst: BigUint64Array): Promise<number>;
}

interface Waiting {
  readonly link: bigint | undefined;
  /** A batch: whether it has grown enough to start early (see #startIfFull). */
  readonly full?: () => boolean;
  /** Starts the call; false when it will never run (its callers stopped waiting). */
  start(): boolean;
}

interface Member {
  readonly transfer: BlockTransfer;
  readonly abandoned: () => boolean;
  resolve(status: number): void;
  reject(error: unknown): void;
}

interface Batch {
  readonly members: Member[];
  blocks: number;
  /** Its place among the waiting calls. */
  readonly waiting: Waiting;
}

const NEVER_RAN = 'the caller stopped waiting before the native call started; it never ran';
/** Links counted before those with no call running are forgotten (see #ended). */
const FORGET_IDLE_LINKS_PAST = 256;
/** Blocks one joined call carries at most. */
const MAX_BATCH_BLOCKS = 8192;
/** Blocks at which a waiting batch starts without waiting for a slot (see #startIfFull). */
const EAGER_BATCH_BLOCKS = 128;

/** One native call for every member; when it fails, each member alone, one after another. */
async function runBatch(members: readonly Member[]): Promise<void> {
  const first = members[0]!.transfer;
  if (members.length === 1) {
    await settle(members[0]!, () => first.run(first.src, first.dst));
    return;
  }
  const src = concat(members.map((m) => m.transfer.src));
  const dst = concat(members.map((m) => m.transfer.dst));
  let status: number;
  try {
    status = await first.run(src, dst);
  } catch (error) {
    for (const m of members) m.reject(error);
    return;
  }
  if (status !== StatusCode.LLM_PARAM_INVALID) {
    for (const m of members) m.resolve(status);
    return;
  }
  for (const m of members) {
    if (m.abandoned()) m.reject(new Error('the caller stopped waiting after its joined call was refused; it was not run alone'));
    else await settle(m, () => m.transfer.run(m.transfer.src, m.transfer.dst));
  }
}

async function settle(member: Member, call: () => Promise<number>): Promise<void> {
  try {
    member.resolve(await call());
  } catch (error) {
    member.reject(error);
  }
}

function concat(lists: readonly BigUint64Array[]): BigUint64Array {
  const out = new BigUint64Array(lists.reduce((n, l) => n + l.length, 0));
  let at = 0;
  for (const l of lists) {
    out.set(l, at);
    at += l.length;
  }
  return out;
}

/** At most this many async native calls of one Bindings run at once. */
export const NATIVE_CALL_SLOTS = 128;
/** At most this many of them on one link. */
export const NATIVE_CALLS_PER_LINK = 4;

const slotsByBindings = new WeakMap<object, NativeCallSlots>();

/** The slots shared by every engine on `bindings`. */
export function nativeCallSlots(bindings: object): NativeCallSlots {
  let slots = slotsByBindings.get(bindings);
  if (slots === undefined) {
    slots = new NativeCallSlots(NATIVE_CALL_SLOTS, NATIVE_CALLS_PER_LINK);
    slotsByBindings.set(bindings, slots);
  }
  return slots;
}
