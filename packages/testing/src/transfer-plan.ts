import { StatusCode } from '@dd/sys';
import type { RegisteredCache } from './cache-registry.js';
import type { FakeDataDist } from './data-dist.js';
import type { TransferKind } from './inspection.js';
import type { LinkEnd } from './link-end.js';
import { fail, ok, type Failure, type Outcome } from './outcome.js';

/** Bytes to copy, resolved when the transfer was checked: the copy lands there even if a cache is unregistered meanwhile (D7). */
export interface CopySegment {
  readonly from: Uint8Array;
  readonly to: Uint8Array;
}

/** A checked transfer: which bytes move, over which link. Nothing is copied yet. */
export interface TransferPlan {
  readonly kind: TransferKind;
  readonly initiator: FakeDataDist;
  /** The cluster id the link was looked up under, and the link found there. */
  readonly linkKey: bigint;
  readonly link: LinkEnd;
  readonly localCacheId: bigint;
  readonly remoteCacheId: bigint;
  /** One group per layer of a push (one for a pull); each group is copied whole, in order. */
  readonly steps: readonly (readonly CopySegment[])[];
  /** A push that fails at a later layer: the steps before it are written, then this is its status (A3). */
  readonly failure: Failure | null;
  readonly tensors: number;
  readonly runs: number;
}

/** `length` bytes of tensor `fromTensor` at `fromOffset` go to tensor `toTensor` at `toOffset`. */
export interface TensorCopy {
  readonly fromTensor: number;
  readonly toTensor: number;
  readonly fromOffset: bigint;
  readonly toOffset: bigint;
  readonly length: bigint;
}

/** Resolves copies between two registered caches into byte views. */
export function resolveCopies(dd: FakeDataDist, from: RegisteredCache, to: RegisteredCache, copies: readonly TensorCopy[]): Outcome<CopySegment[]> {
  const memory = dd.network.memory;
  const segments: CopySegment[] = [];
  for (const copy of copies) {
    const length = Number(copy.length);
    const source = memory.resolve((from.addrs[copy.fromTensor] as bigint) + copy.fromOffset, length);
    const target = memory.resolve((to.addrs[copy.toTensor] as bigint) + copy.toOffset, length);
    // Every check has kept the copy inside both tensors; this only guards the fake itself.
    if (source === null || target === null) return fail(StatusCode.LLM_FAILED, 'a copy fell outside registered memory');
    segments.push({ from: new Uint8Array(source.memory, source.offset, length), to: new Uint8Array(target.memory, target.offset, length) });
  }
  return ok(segments);
}

/** Copies the plan's steps in order; the bytes copied, and the push's later failure if it has one. */
export function executePlan(plan: TransferPlan): { readonly bytes: number; readonly outcome: Outcome<void> } {
  let bytes = 0;
  for (const step of plan.steps) {
    for (const segment of step) {
      segment.to.set(segment.from); // set() copies as if through a temporary when ranges overlap
      bytes += segment.from.length;
    }
  }
  return { bytes, outcome: plan.failure ?? ok(undefined) };
}
