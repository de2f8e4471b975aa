import { StatusCode } from '@dd/sys';
import { DataDistArgumentError, DataDistError, OperationAbortedError, type OperationName } from './errors.js';
import type { KvCache } from './kv-cache.js';
import { toInclusivePair, type LayerRange } from './layer-range.js';
import type { RetryPolicy } from './retry-policy.js';
import type { RemoteCacheRef, TransferReport } from './transfer-plan.js';
import { describe, requireObject, toSignal, type BlockList } from './validate.js';

/*
 * Layer-wise transfer: prefill pushes layer l as soon as layer l is computed (Python's
 * transfer_cache_async with a LayerSynchronizer; xLLM's per-layer push with T = 1), and decode can
 * pull the same way. Each layer is one pushBlocks/pullBlocks over a one-layer range, so the bytes
 * are exactly those of one call over the whole range; the caller says when each layer is ready,
 * and at most `maxInFlight` layers are on the wire at once.
 */

/**
 * When each layer may go, one of:
 * - a function called for each layer in order, like Python's `LayerSynchronizer.synchronize_layer`:
 *   the layer goes once what it returns settles (the signal aborts when the transfer ends early);
 * - one promise per layer of the range, in layer order;
 * - an async iterable that yields each layer index of the range once, in any order.
 */
export type LayerReadiness =
  | ((layer: number, signal: AbortSignal) => void | PromiseLike<void>)
  | readonly PromiseLike<unknown>[]
  | AsyncIterable<number>;

/** What pushLayers and pullLayers take besides the caches and blocks. */
export interface LayerwiseOptions {
  /** Layers of the **local** cache to move, half-open; default every layer. */
  readonly layers?: LayerRange;
  /** Layers of the **remote** cache they go to (or come from), half-open; default the same as `layers`. */
  readonly remoteLayers?: LayerRange;
  /** When each layer is ready (see {@link LayerReadiness}). */
  readonly ready: LayerReadiness;
  /** Layers being transferred at once, at most: an integer in [1, 64]; default 2. Readiness is not awaited ahead of free room. */
  readonly maxInFlight?: number;
  /** Called as each layer ends, with its result, in the order they end. */
  readonly onLayer?: (result: LayerResult) => void;
  /** Retry policy of each layer's transfer. */
  readonly retry?: RetryPolicy;
  /** Per layer: give up waiting for one layer's transfer after this many ms (see `TransferCallOptions.timeoutMs`). */
  readonly timeoutMs?: number;
  /**
   * Stops the whole transfer: no further layer starts, and the promise rejects at once with an
   * OperationAbortedError. Layers already on the wire run on natively (their bytes are undefined
   * until `engine.settled()`), and `onLayer` still reports them.
   */
  readonly signal?: AbortSignal;
}

/** Push blocks of a local `'device'` cache layer by layer: `srcBlocks[i]` → `dstBlocks[i]` of every layer. */
export interface PushLayersOptions extends LayerwiseOptions {
  readonly from: KvCache;
  readonly to: RemoteCacheRef;
  readonly srcBlocks: BlockList;
  readonly dstBlocks: BlockList;
}

/** Pull blocks of a remote cache into a local one, layer by layer. */
export interface PullLayersOptions extends LayerwiseOptions {
  readonly from: RemoteCacheRef;
  readonly into: KvCache;
  readonly srcBlocks: BlockList;
  readonly dstBlocks: BlockList;
}

/** A layer that arrived. */
export interface LayerDone {
  readonly status: 'done';
  /** The local layer. */
  readonly layer: number;
  /** The remote layer it went to (or came from). */
  readonly remoteLayer: number;
  readonly bytes: number;
  /** From this layer's start on the wire to its end. */
  readonly durationMs: number;
  /** Attempts its transfer took (1 without a retry policy). */
  readonly attempts: number;
}

/** A layer whose transfer failed (after its retries). */
export interface LayerFailed {
  readonly status: 'failed';
  readonly layer: number;
  readonly remoteLayer: number;
  readonly error: DataDistError;
}

/** A layer that never went: an earlier one failed, or it never became ready. */
export interface LayerNotStarted {
  readonly status: 'not-started';
  readonly layer: number;
  readonly remoteLayer: number;
}

/** The result of one layer. */
export type LayerResult = LayerDone | LayerFailed | LayerNotStarted;

/** What pushLayers and pullLayers resolve to: every layer arrived. */
export interface LayerTransferReport {
  /** Bytes of every layer: those of one call over the whole range. */
  readonly bytes: number;
  /** From the call to the last layer's end. */
  readonly durationMs: number;
  /** One result per layer, in layer order. */
  readonly layers: readonly LayerDone[];
}

/**
 * A layer-wise transfer stopped: a layer failed (`cause` is its error and `status` its status), a
 * layer never became ready (`LLM_FAILED`, `cause` what the readiness source threw or the reason
 * it ended early), or `onLayer` threw. Layers already on the wire were waited for; `layers` has
 * every layer's result.
 */
export class LayerTransferError extends DataDistError {
  /** One result per layer of the range, in layer order. */
  readonly layers: readonly LayerResult[];

  constructor(operation: OperationName, status: number, message: string, layers: readonly LayerResult[], cause: unknown) {
    super({ status, operation, message, cause });
    this.layers = layers;
  }
}

/** One layer's transfer, as the engine runs it. */
export type LayerMove = (layers: LayerRange, remoteLayers: LayerRange, signal: AbortSignal | undefined) => Promise<TransferReport>;

/** A checked layer-wise call, ready to run. */
export interface LayerPlan {
  readonly op: OperationName;
  /** First local layer and how many. */
  readonly first: number;
  readonly count: number;
  readonly remoteFirst: number;
  readonly maxInFlight: number;
  readonly ready: LayerReadiness;
  readonly onLayer: ((result: LayerResult) => void) | undefined;
  readonly signal: AbortSignal | undefined;
}

const DEFAULT_IN_FLIGHT = 2;
const MAX_IN_FLIGHT = 64;

/** Checks the layer-wise part of a call on `cache` (the local side). */
export function planLayers(op: OperationName, value: unknown, cache: KvCache): LayerPlan {
  const options = requireObject(op, 'options', value);
  if (cache.numTensors % cache.tensorsPerLayer !== 0) {
    throw new DataDistArgumentError(op, 'layers', `needs the cache's numTensors (${cache.numTensors}) to be a multiple of tensorsPerLayer (${cache.tensorsPerLayer})`);
  }
  const local = options.layers === undefined ? ([0, cache.numLayers - 1] as const) : toInclusivePair(op, 'layers', options.layers, cache.numLayers);
  const count = local[1] - local[0] + 1;
  const remote = options.remoteLayers === undefined ? local : toInclusivePair(op, 'remoteLayers', options.remoteLayers, undefined);
  if (remote[1] - remote[0] + 1 !== count) {
    throw new DataDistArgumentError(op, 'remoteLayers', `must span as many layers as layers (${count})`, `${remote[1] - remote[0] + 1} layers`);
  }
  const ready = options.ready;
  const iterable = typeof ready === 'object' && ready !== null && Symbol.asyncIterator in ready;
  if (typeof ready !== 'function' && !Array.isArray(ready) && !iterable) {
    throw new DataDistArgumentError(op, 'ready', 'must be a function (layer, signal) => Promise, one promise per layer, or an async iterable of layer indices', describe(ready));
  }
  if (Array.isArray(ready) && ready.length !== count) {
    throw new DataDistArgumentError(op, 'ready', `must hold one promise per layer of the range (${count})`, describe(ready));
  }
  const maxInFlight = options.maxInFlight ?? DEFAULT_IN_FLIGHT;
  if (typeof maxInFlight !== 'number' || !Number.isInteger(maxInFlight) || maxInFlight < 1 || maxInFlight > MAX_IN_FLIGHT) {
    throw new DataDistArgumentError(op, 'maxInFlight', `must be an integer in [1, ${MAX_IN_FLIGHT}]`, describe(maxInFlight));
  }
  if (options.onLayer !== undefined && typeof options.onLayer !== 'function') {
    throw new DataDistArgumentError(op, 'onLayer', 'must be a function', describe(options.onLayer));
  }
  return {
    op,
    first: local[0],
    count,
    remoteFirst: remote[0],
    maxInFlight,
    ready: ready as LayerReadiness,
    onLayer: options.onLayer as LayerPlan['onLayer'],
    signal: toSignal(op, 'signal', options.signal),
  };
}

/** The layers in the order they become ready, each checked to be in range and new. */
async function* readyLayers(plan: LayerPlan, signal: AbortSignal): AsyncGenerator<number> {
  const { ready, first, count } = plan;
  if (typeof ready === 'function') {
    for (let layer = first; layer < first + count; layer += 1) {
      await ready(layer, signal);
      yield layer;
    }
  } else if (Array.isArray(ready)) {
    for (let i = 0; i < count; i += 1) {
      await (ready as readonly PromiseLike<unknown>[])[i];
      yield first + i;
    }
  } else {
    const seen = new Set<number>();
    for await (const layer of ready as AsyncIterable<number>) {
      if (!Number.isInteger(layer) || layer < first || layer >= first + count || seen.has(layer)) {
        throw new DataDistArgumentError(plan.op, 'ready', `must yield each layer of [${first}, ${first + count}) once`, describe(layer));
      }
      seen.add(layer);
      yield layer;
      if (seen.size === count) return;
    }
  }
}

/** Rejects as soon as `signal` aborts, else settles as `work` does. */
function unlessAborted<T>(op: OperationName, work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new OperationAbortedError(op, signal.reason));
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * Moves the layers of `plan` as they become ready, at most `maxInFlight` at a time. Stops starting
 * layers at the first failure, waits for those on the wire, and throws a LayerTransferError.
 */
export async function runLayers(plan: LayerPlan, move: LayerMove): Promise<LayerTransferReport> {
  const { op, first, count, remoteFirst, signal } = plan;
  if (signal?.aborted) throw new OperationAbortedError(op, signal.reason);
  const started = performance.now();
  const results: LayerResult[] = Array.from({ length: count }, (_x, i) => ({ status: 'not-started', layer: first + i, remoteLayer: remoteFirst + i }));
  const inFlight = new Set<Promise<void>>();
  let stop: { readonly status: number; readonly message: string; readonly cause: unknown } | undefined;
  // Aborted when the call ends or stops early, so a readiness function can stop waiting for it.
  const ended = new AbortController();
  let wake: () => void = () => undefined;
  // Settles when the call stops early, so a wait for readiness ends with it.
  const stopped = new Promise<void>((resolve) => {
    wake = resolve;
  });
  const halt = (reason: { readonly status: number; readonly message: string; readonly cause: unknown }): void => {
    stop ??= reason;
    wake();
    ended.abort();
  };

  const report = (result: LayerResult): void => {
    results[result.layer - first] = result;
    try {
      plan.onLayer?.(result);
    } catch (error) {
      halt({ status: StatusCode.LLM_FAILED, message: `${op}: onLayer threw for layer ${result.layer}`, cause: error });
    }
  };

  const start = (layer: number): void => {
    const remoteLayer = remoteFirst + (layer - first);
    const running = move({ start: layer, end: layer + 1 }, { start: remoteLayer, end: remoteLayer + 1 }, signal).then(
      (done) => report({ status: 'done', layer, remoteLayer, bytes: done.bytes, durationMs: done.durationMs, attempts: done.attempts }),
      (error: unknown) => {
        const failure = error instanceof DataDistError ? error : new DataDistError({ status: StatusCode.LLM_FAILED, operation: op, message: String(error), cause: error });
        halt({ status: failure.status, message: `${op}: layer ${layer} failed: ${failure.message}`, cause: failure });
        report({ status: 'failed', layer, remoteLayer, error: failure });
      },
    );
    const tracked = running.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
  };

  const source = readyLayers(plan, ended.signal);
  try {
    for (;;) {
      while (inFlight.size >= plan.maxInFlight) await unlessAborted(op, Promise.race(inFlight), signal);
      if (stop !== undefined) break;
      let next: IteratorResult<number> | undefined;
      try {
        const pending = source.next();
        // A readiness that fails after the call stopped has nobody to tell.
        pending.catch(() => undefined);
        next = await unlessAborted(op, Promise.race([pending, stopped.then(() => undefined)]), signal);
      } catch (error) {
        if (error instanceof OperationAbortedError) throw error;
        halt({ status: StatusCode.LLM_FAILED, message: `${op}: a layer never became ready: ${error instanceof Error ? error.message : String(error)}`, cause: error });
        break;
      }
      if (next === undefined) break;
      if (next.done === true || stop !== undefined) break;
      start(next.value);
    }
    await unlessAborted(op, Promise.all(inFlight), signal);
  } finally {
    ended.abort();
    void source.return(undefined).catch(() => undefined);
  }

  const missing = results.find((r) => r.status === 'not-started');
  if (stop === undefined && missing !== undefined) {
    stop = { status: StatusCode.LLM_FAILED, message: `${op}: the readiness source ended before layer ${missing.layer} was ready`, cause: undefined };
  }
  if (stop !== undefined) throw new LayerTransferError(op, stop.status, stop.message, results, stop.cause);
  const layers = results as LayerDone[];
  return { bytes: layers.reduce((sum, l) => sum + l.bytes, 0), durationMs: performance.now() - started, layers };
}
