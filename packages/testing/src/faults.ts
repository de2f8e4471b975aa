import { StatusCode, type LlmDataDistHandle, type Status } from '@dd/sys';
import type { TransferKind } from './inspection.js';

/** Which transfers a fault applies to; every field given must match. */
export interface TransferMatch {
  readonly kind?: TransferKind | readonly TransferKind[];
  /** Cluster id of the instance that calls pull or push. */
  readonly initiator?: bigint;
  /** Cluster id on the other end of the link. */
  readonly peer?: bigint;
}

/** A scripted fault; `remove()` takes it back before it fires. */
export interface FaultHandle {
  /** How many times the fault has taken effect. */
  readonly fired: number;
  remove(): void;
}

/** What happens to the one transfer a counted fault picks. */
export type TransferFaultEffect =
  | { readonly type: 'fail'; readonly status: Status }
  /** The transfer never completes: the caller gets LLM_TIMEOUT at its deadline. */
  | { readonly type: 'stall' }
  /** The serving peer disappears while the transfer is in flight. */
  | { readonly type: 'vanish'; readonly status: Status };

export interface TransferFaultDecision {
  readonly latencyMs: number;
  readonly effect: TransferFaultEffect | null;
}

export interface LinkFaultDecision {
  readonly refuseWith: Status | null;
  readonly delayMs: number;
}

interface Rule {
  fired: number;
  remaining: number;
}
interface LinkRule extends Rule {
  readonly address: string;
  readonly refuseWith: Status | null;
  readonly delayMs: number;
}
interface LatencyRule extends Rule {
  readonly match: TransferMatch;
  readonly delayMs: number;
}
interface CountedRule extends Rule {
  readonly match: TransferMatch;
  readonly nth: number;
  seen: number;
  readonly effect: TransferFaultEffect;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}

function delay(name: string, value: number, allowForever = false): number {
  if (Number.isNaN(value) || value < 0 || (!allowForever && !Number.isFinite(value))) {
    throw new RangeError(`${name} must be a ${allowForever ? '' : 'finite '}number of ms >= 0, got ${value}`);
  }
  return value;
}

function matches(match: TransferMatch, kind: TransferKind, initiator: bigint, peer: bigint): boolean {
  if (match.kind !== undefined) {
    const kinds: readonly TransferKind[] = typeof match.kind === 'string' ? [match.kind] : match.kind;
    if (!kinds.includes(kind)) return false;
  }
  return (match.initiator === undefined || match.initiator === initiator) && (match.peer === undefined || match.peer === peer);
}

/**
 * Faults a test scripts on a FakeNetwork. Counted faults ("the 2nd pull fails") count matching
 * transfers from the moment they are added, so a script reads the same whatever ran before it.
 */
export class FaultScript {
  private linkRules: LinkRule[] = [];
  private latencyRules: LatencyRule[] = [];
  private countedRules: CountedRule[] = [];

  constructor(
    private readonly vanishPeer: (peer: string | bigint) => void,
    private readonly vanishHandle: (handle: LlmDataDistHandle) => void,
  ) {}

  /** Links to `address` (`ip:port`) fail with `status` (LLM_LINK_FAILED) — `times` attempts, or until removed. */
  refuseLinks(address: string, options: { times?: number; status?: Status } = {}): FaultHandle {
    const rule: LinkRule = {
      address,
      refuseWith: options.status ?? StatusCode.LLM_LINK_FAILED,
      delayMs: 0,
      fired: 0,
      remaining: options.times === undefined ? Infinity : positiveInteger('times', options.times),
    };
    return this.add(this.linkRules, rule);
  }

  /**
   * Link handshakes (and plain unlinks) with `address` take `delayMs`; one that reaches its
   * timeout fails with LLM_TIMEOUT. `Infinity` is a peer that never answers: every attempt times out.
   */
  delayLinks(address: string, delayMs: number, options: { times?: number } = {}): FaultHandle {
    const rule: LinkRule = {
      address,
      refuseWith: null,
      delayMs: delay('delayMs', delayMs, true),
      fired: 0,
      remaining: options.times === undefined ? Infinity : positiveInteger('times', options.times),
    };
    return this.add(this.linkRules, rule);
  }

  /** Every matching transfer takes `delayMs` longer; reaching SyncKvCacheWaitTime gives LLM_TIMEOUT. */
  addLatency(delayMs: number, options: TransferMatch & { times?: number } = {}): FaultHandle {
    const rule: LatencyRule = {
      match: options,
      delayMs: delay('delayMs', delayMs),
      fired: 0,
      remaining: options.times === undefined ? Infinity : positiveInteger('times', options.times),
    };
    return this.add(this.latencyRules, rule);
  }

  /** The `nth` matching transfer (default 1st) fails with `status` and copies nothing. */
  failTransfer(options: TransferMatch & { nth?: number; status: Status }): FaultHandle {
    return this.counted(options, { type: 'fail', status: options.status });
  }

  /** The `nth` matching transfer never completes; the caller gets LLM_TIMEOUT at its deadline. */
  stallTransfer(options: TransferMatch & { nth?: number } = {}): FaultHandle {
    return this.counted(options, { type: 'stall' });
  }

  /**
   * The peer serving the `nth` matching transfer disappears mid-transfer, as if its process died:
   * that transfer fails with `status` (LLM_TIMEOUT, what a dead HCCL peer gives), the peer stops
   * listening and every link to it dangles.
   */
  vanishDuringTransfer(options: TransferMatch & { nth?: number; status?: Status } = {}): FaultHandle {
    return this.counted(options, { type: 'vanish', status: options.status ?? StatusCode.LLM_TIMEOUT });
  }

  /**
   * The instance listening on `ip:port` (or the initialized one with this cluster id) disappears
   * now, as if its process died: its peers are not told, their links to it dangle (A16), and
   * transfers over them give LLM_TIMEOUT. Its handle stays valid for Finalize and destroy.
   */
  vanish(peer: string | bigint): void {
    this.vanishPeer(peer);
  }

  /** As `vanish`, for the instance behind `handle` (a client-only instance has no address). */
  vanishInstance(handle: LlmDataDistHandle): void {
    this.vanishHandle(handle);
  }

  /** Removes every scripted fault. */
  clear(): void {
    this.linkRules = [];
    this.latencyRules = [];
    this.countedRules = [];
  }

  /** @internal Consulted once per cluster of a link attempt. */
  decideLink(address: string): LinkFaultDecision {
    let refuseWith: Status | null = null;
    let delayMs = 0;
    for (const rule of this.linkRules) {
      if (rule.address !== address || rule.remaining <= 0) continue;
      rule.remaining -= 1;
      rule.fired += 1;
      if (rule.refuseWith !== null) refuseWith ??= rule.refuseWith;
      delayMs += rule.delayMs;
    }
    this.linkRules = this.linkRules.filter((rule) => rule.remaining > 0);
    return { refuseWith, delayMs };
  }

  /** @internal Consulted once per transfer that passed validation. */
  decideTransfer(kind: TransferKind, initiator: bigint, peer: bigint): TransferFaultDecision {
    let latencyMs = 0;
    for (const rule of this.latencyRules) {
      if (rule.remaining <= 0 || !matches(rule.match, kind, initiator, peer)) continue;
      rule.remaining -= 1;
      rule.fired += 1;
      latencyMs += rule.delayMs;
    }
    this.latencyRules = this.latencyRules.filter((rule) => rule.remaining > 0);
    let effect: TransferFaultEffect | null = null;
    for (const rule of this.countedRules) {
      if (rule.remaining <= 0 || !matches(rule.match, kind, initiator, peer)) continue;
      rule.seen += 1;
      if (rule.seen === rule.nth && effect === null) {
        effect = rule.effect;
        rule.fired += 1;
      }
      if (rule.seen >= rule.nth) rule.remaining = 0;
    }
    this.countedRules = this.countedRules.filter((rule) => rule.remaining > 0);
    return { latencyMs, effect };
  }

  private counted(options: TransferMatch & { nth?: number }, effect: TransferFaultEffect): FaultHandle {
    const rule: CountedRule = {
      match: options,
      nth: options.nth === undefined ? 1 : positiveInteger('nth', options.nth),
      seen: 0,
      effect,
      fired: 0,
      remaining: 1,
    };
    return this.add(this.countedRules, rule);
  }

  private add<R extends Rule>(rules: R[], rule: R): FaultHandle {
    rules.push(rule);
    return {
      get fired() {
        return rule.fired;
      },
      remove: () => {
        rule.remaining = 0;
      },
    };
  }
}
