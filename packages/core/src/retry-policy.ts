import diagnostics_channel from 'node:diagnostics_channel';
import { DataDistArgumentError, DataDistError, OperationAbortedError, type OperationName } from './errors.js';
import { describe, requireObject } from './validate.js';

/**
 * When and how often a transfer or a link is tried again. Opt-in: pass it as `retry` to a call.
 * Attempt `n + 1` starts `delayMs · factor^(n − 1)` ms (at most `maxDelayMs`) after attempt `n`
 * failed, less a random share of up to `jitter` of that delay, so callers that failed together do
 * not retry together. omni-infer's "3 more times, 2 s apart" is
 * `{ attempts: 4, delayMs: 2000, factor: 1, jitter: 0 }`.
 */
export interface RetryPolicy {
  /** Attempts in all, the first included: an integer in [1, 100]; default 3. */
  readonly attempts?: number;
  /** Delay before the second attempt, in ms: an integer in [0, 600000]; default 100. */
  readonly delayMs?: number;
  /** Multiplier of the delay for each further attempt: a number in [1, 10]; default 2. */
  readonly factor?: number;
  /** Upper bound of any one delay, in ms: an integer ≥ `delayMs`; default 10000. */
  readonly maxDelayMs?: number;
  /** Share of each delay that is random, in [0, 1]: the delay is `d · (1 − jitter · r)` with r in [0, 1); default 0.2. */
  readonly jitter?: number;
  /**
   * No attempt starts later than this many ms after the first one started (an integer ≥ 1); the
   * last failure is thrown instead. Default: no deadline. It does not cut an attempt short: give
   * the call a `timeoutMs` for that.
   */
  readonly deadlineMs?: number;
  /** Which failures are retried; default: those whose `retryable` is true (`LLM_TIMEOUT`, `LLM_LINK_BUSY`…). */
  readonly retryOn?: (error: DataDistError, attempt: number) => boolean;
  /**
   * Before the next attempt of a transfer whose link broke (`link.state.status === 'broken'`),
   * re-link it with `engine.relink()`; default true.
   */
  readonly relink?: boolean;
  /** The random source of the jitter, values in [0, 1); default `Math.random` (tests pass a fixed one). */
  readonly random?: () => number;
}

/** A checked policy with every default filled in. */
export interface ResolvedRetryPolicy {
  readonly attempts: number;
  readonly delayMs: number;
  readonly factor: number;
  readonly maxDelayMs: number;
  readonly jitter: number;
  readonly deadlineMs: number | undefined;
  readonly retryOn: (error: DataDistError, attempt: number) => boolean;
  readonly relink: boolean;
  readonly random: () => number;
}

/** Channel on which every failed attempt under a retry policy is published, with what happens next. */
export const RETRY_CHANNEL = 'dd:core:retry';

/** Published on {@link RETRY_CHANNEL} after each failed attempt of a call that has a retry policy. */
export interface RetryEvent {
  readonly operation: OperationName;
  /** The cluster id of the engine. */
  readonly clusterId: bigint;
  /** The remote cluster of a transfer or link. */
  readonly remoteClusterId?: bigint;
  /** The attempt that failed, from 1. */
  readonly attempt: number;
  /** The policy's number of attempts. */
  readonly attempts: number;
  readonly error: DataDistError;
  /**
   * What comes next: `'retry'` after `delayMs`; or the call gives up: `'not-retryable'`,
   * `'exhausted'` (no attempts left), `'deadline'` (the next would start past `deadlineMs`).
   */
  readonly decision: 'retry' | 'not-retryable' | 'exhausted' | 'deadline';
  /** The delay before the next attempt (decision `'retry'`). */
  readonly delayMs?: number;
}

const DEFAULTS = { attempts: 3, delayMs: 100, factor: 2, maxDelayMs: 10_000, jitter: 0.2 } as const;
const channel = diagnostics_channel.channel(RETRY_CHANNEL);

function integerIn(op: OperationName, argument: string, value: unknown, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new DataDistArgumentError(op, argument, `must be an integer in [${min}, ${max}]`, describe(value));
  }
  return value;
}

function numberIn(op: OperationName, argument: string, value: unknown, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new DataDistArgumentError(op, argument, `must be a number in [${min}, ${max}]`, describe(value));
  }
  return value;
}

function optionalFunction<F>(op: OperationName, argument: string, value: unknown): F | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') throw new DataDistArgumentError(op, argument, 'must be a function', describe(value));
  return value as F;
}

/** Checks a `retry` option; undefined when the call has none. */
export function toRetryPolicy(op: OperationName, argument: string, value: unknown): ResolvedRetryPolicy | undefined {
  if (value === undefined) return undefined;
  const p = requireObject(op, argument, value);
  const delayMs = integerIn(op, `${argument}.delayMs`, p.delayMs, 0, 600_000, DEFAULTS.delayMs);
  const relink = p.relink ?? true;
  if (typeof relink !== 'boolean') throw new DataDistArgumentError(op, `${argument}.relink`, 'must be a boolean', describe(relink));
  const retryOn = optionalFunction<RetryPolicy['retryOn']>(op, `${argument}.retryOn`, p.retryOn);
  const random = optionalFunction<() => number>(op, `${argument}.random`, p.random);
  return Object.freeze({
    attempts: integerIn(op, `${argument}.attempts`, p.attempts, 1, 100, DEFAULTS.attempts),
    delayMs,
    factor: numberIn(op, `${argument}.factor`, p.factor, 1, 10, DEFAULTS.factor),
    maxDelayMs: integerIn(op, `${argument}.maxDelayMs`, p.maxDelayMs, delayMs, 0x7fffffff, Math.max(delayMs, DEFAULTS.maxDelayMs)),
    jitter: numberIn(op, `${argument}.jitter`, p.jitter, 0, 1, DEFAULTS.jitter),
    deadlineMs: p.deadlineMs === undefined ? undefined : integerIn(op, `${argument}.deadlineMs`, p.deadlineMs, 1, 0x7fffffff, 0),
    retryOn: retryOn ?? ((error: DataDistError) => error.retryable),
    relink,
    random: random ?? Math.random,
  });
}

/** The delay before attempt `failed + 1`. */
export function retryDelay(policy: ResolvedRetryPolicy, failed: number): number {
  const base = Math.min(policy.maxDelayMs, policy.delayMs * policy.factor ** (failed - 1));
  const r = policy.random();
  return Math.round(base * (1 - policy.jitter * Math.min(Math.max(r, 0), 1)));
}

/** What one retried call is, for its events. */
export interface RetryContext {
  readonly operation: OperationName;
  readonly clusterId: bigint;
  readonly remoteClusterId?: bigint;
  readonly policy: ResolvedRetryPolicy;
  readonly signal: AbortSignal | undefined;
}

/** The value of a call that succeeded under a retry policy, and the attempt that gave it. */
export interface Retried<T> {
  readonly value: T;
  readonly attempts: number;
}

function sleep(op: OperationName, ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted) return Promise.reject(new OperationAbortedError(op, signal.reason));
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new OperationAbortedError(op, signal?.reason));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Runs `attempt(n)` for n = 1, 2, … until it succeeds or the policy gives up, then throws the
 * last failure. `beforeRetry` runs after the delay and before the next attempt (the engine
 * re-links a broken link there); a failure it throws counts as that attempt's failure. Only
 * DataDistErrors are retried, those `retryable` accepts (the policy's `retryOn` unless the caller
 * judged them itself); an abort of `signal` ends the call at once.
 */
export async function withRetry<T>(
  context: RetryContext,
  attempt: (n: number) => Promise<T>,
  beforeRetry: (n: number) => Promise<void> = async () => undefined,
  retryable: (error: DataDistError, n: number) => boolean = context.policy.retryOn,
): Promise<Retried<T>> {
  const { policy, signal, operation } = context;
  const started = Date.now();
  for (let n = 1; ; n += 1) {
    let error: unknown;
    try {
      if (n > 1) await beforeRetry(n);
      return { value: await attempt(n), attempts: n };
    } catch (caught) {
      error = caught;
    }
    if (!(error instanceof DataDistError) || error instanceof OperationAbortedError) throw error;
    let decision: RetryEvent['decision'] = !retryable(error, n) ? 'not-retryable' : n >= policy.attempts ? 'exhausted' : 'retry';
    const delayMs = decision === 'retry' ? retryDelay(policy, n) : 0;
    if (decision === 'retry' && policy.deadlineMs !== undefined && Date.now() + delayMs - started > policy.deadlineMs) decision = 'deadline';
    if (channel.hasSubscribers) {
      const event: RetryEvent = {
        operation,
        clusterId: context.clusterId,
        ...(context.remoteClusterId === undefined ? {} : { remoteClusterId: context.remoteClusterId }),
        attempt: n,
        attempts: policy.attempts,
        error,
        decision,
        ...(decision === 'retry' ? { delayMs } : {}),
      };
      channel.publish(event);
    }
    if (decision !== 'retry') throw error;
    await sleep(operation, delayMs, signal);
  }
}
