import type { KvCache, LlmDataDist, RemoteCacheRef } from '@dd/core';
import type { BlockPlan } from './block-plan.js';
import { percentile } from './phase-stats.js';

/**
 * The layer-wise push phase: decode's generated blocks go back layer by layer while the "model"
 * is still computing the next layers, as prefill pushes a request's KV (Python's
 * transfer_cache_async with a LayerSynchronizer). The compute is simulated: layer l is ready
 * `computeMs` after layer l − 1, on the event loop's timers, while the native pushes run on worker
 * threads. The same request runs two ways, each after the prompt side zeroed the target blocks and
 * each checked byte for byte on the prompt side afterwards:
 * - sequential: compute layer l, then push it, then compute layer l + 1 (the hand-written loop);
 * - pipelined: `engine.pushLayers` pushes each layer as soon as it is computed (≤ 2 in flight).
 */

/** What the phase measured for one placement. */
export interface LayerwisePushStats {
  readonly layers: number;
  readonly computeMs: number;
  readonly maxInFlight: number;
  readonly requests: number;
  /** Bytes pushed per request (all layers). */
  readonly bytesPerRequest: number;
  /** Median wall time of one request, compute included. */
  readonly sequentialMs: number;
  readonly pipelinedMs: number;
  /** Median wall time of the compute alone (the floor of any overlap). */
  readonly computeOnlyMs: number;
  /** Bytes checked on the prompt side after every request of both ways. */
  readonly verifiedBytes: number;
}

/** The prompt side's part: zero the push targets before a request, check every byte after it. */
export interface PushTargetChecks {
  clearPushTargets(): Promise<void>;
  /** Resolves to the bytes checked. */
  verifyPushed(): Promise<number>;
}

const MAX_IN_FLIGHT = 2;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** One promise per layer: layer l is computed `computeMs` after layer l − 1, from now. */
function computeLayers(layers: number, computeMs: number): Promise<void>[] {
  const done: Promise<void>[] = [];
  let previous = Promise.resolve();
  for (let layer = 0; layer < layers; layer += 1) {
    previous = previous.then(() => sleep(computeMs));
    done.push(previous);
  }
  return done;
}

/** Runs the phase `requests` times each way on `cache`, pushing `plan.pushSource` into `plan.pushTarget` of `to`. */
export async function runLayerwisePush(
  engine: LlmDataDist,
  cache: KvCache,
  to: RemoteCacheRef,
  plan: BlockPlan,
  computeMs: number,
  requests: number,
  checks: PushTargetChecks,
): Promise<LayerwisePushStats> {
  const blocks = { srcBlocks: plan.pushSource, dstBlocks: plan.pushTarget };
  const sequential: number[] = [];
  const pipelined: number[] = [];
  const computeOnly: number[] = [];
  let bytesPerRequest = 0;
  let verifiedBytes = 0;

  for (let i = 0; i < requests; i += 1) {
    await checks.clearPushTargets();
    let started = performance.now();
    let bytes = 0;
    for (let layer = 0; layer < cache.numLayers; layer += 1) {
      await sleep(computeMs);
      bytes += (await engine.pushBlocks({ from: cache, to, ...blocks, layers: { start: layer, end: layer + 1 } })).bytes;
    }
    sequential.push(performance.now() - started);
    verifiedBytes += await checks.verifyPushed();

    await checks.clearPushTargets();
    started = performance.now();
    const report = await engine.pushLayers({ from: cache, to, ...blocks, ready: computeLayers(cache.numLayers, computeMs), maxInFlight: MAX_IN_FLIGHT });
    pipelined.push(performance.now() - started);
    verifiedBytes += await checks.verifyPushed();
    if (report.bytes !== bytes) throw new Error(`pushLayers moved ${report.bytes} bytes, the per-layer loop ${bytes}`);
    bytesPerRequest = bytes;

    started = performance.now();
    await Promise.all(computeLayers(cache.numLayers, computeMs));
    computeOnly.push(performance.now() - started);
  }
  return {
    layers: cache.numLayers,
    computeMs,
    maxInFlight: MAX_IN_FLIGHT,
    requests,
    bytesPerRequest,
    sequentialMs: percentile(sequential, 0.5),
    pipelinedMs: percentile(pipelined, 0.5),
    computeOnlyMs: percentile(computeOnly, 0.5),
    verifiedBytes,
  };
}
