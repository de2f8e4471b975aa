import { LlmDataDist, type Bindings, type KvCache, type PeerAddress, type Placement } from '@dd/core';
import { planBlocks, type BlockPlan } from './block-plan.js';
import { bytesPerBlock, type DemoOptions } from './demo-options.js';
import { allBlocks, readBlocks, writePattern, zeroFront } from './kv-io.js';
import { DECODER_WRITER, PROMPT_WRITER, expectBlock } from './kv-pattern.js';
import { DECODER_CLUSTER, registerKvCache } from './kv-layout.js';
import { runLayerwisePush, type LayerwisePushStats } from './layerwise-push.js';
import { PhaseRecorder, type PhaseStats } from './phase-stats.js';
import type { Progress } from './progress.js';
import { formatBytes, formatMs } from './units.js';

/** The prompt side as decode sees it: where it listens, which cache holds the request, and a way to have it check its own bytes. */
export interface PromptPeer {
  readonly address: PeerAddress;
  readonly clusterId: bigint;
  /** The prompt cache holding the request, per placement. */
  readonly cacheIds: ReadonlyMap<Placement, bigint>;
  /** Has the prompt side read back and check every byte of its cache of `placement`; resolves to the bytes checked. */
  verifyCache(placement: Placement, pushed: boolean): Promise<number>;
  /** Has the prompt side zero the blocks of its cache of `placement` that decode pushes into. */
  clearPushTargets(placement: Placement): Promise<void>;
}

/** What a run measured and checked. */
export interface DemoReport {
  readonly backend: string;
  /** Bytes of one cache of one side. */
  readonly cacheBytes: number;
  readonly bytesPerBlock: number;
  readonly linkMs: number;
  readonly unlinkMs: number;
  /** Every phase of every placement, in the order they ran. */
  readonly phases: readonly PhaseStats[];
  /** The layer-wise push phase (device placement only: V2 pushes only from device caches). */
  readonly layerwisePush: LayerwisePushStats | undefined;
  /** Bytes checked on both sides, over the whole run. */
  readonly verifiedBytes: number;
}

const LOOPBACK_CLIENT = { ip: '127.0.0.1', port: 0 } as const;
const LINK_TIMEOUT_MS = 5000;

function expectZero(where: string, block: Uint8Array): void {
  const at = block.findIndex((byte) => byte !== 0);
  if (at >= 0) throw new Error(`${where}: byte ${at} is ${block[at]}, expected 0 (a transfer wrote outside its range)`);
}

/** Reads back decode blocks `plan.decoderBlocks` of tensors [first, end) and checks each holds prompt block `plan.promptBlocks[j]`. */
function expectRequest(cache: KvCache, plan: BlockPlan, first: number, end: number): number {
  const promptBlockOf = new Map(plan.decoderBlocks.map((dst, j) => [dst, plan.promptBlocks[j] as number]));
  return readBlocks(cache, first, end, plan.decoderBlocks, (t, dst, bytes) => {
    const block = promptBlockOf.get(dst) as number;
    expectBlock(`${cache.placement} decode block ${dst} (pulled from prompt block ${block})`, bytes, { writer: PROMPT_WRITER, tensor: t, block });
  });
}

/** Reads back and checks every byte of the decode cache: the request, the generated blocks, and zeros elsewhere. */
function expectDecoderCache(cache: KvCache, plan: BlockPlan): number {
  expectRequest(cache, plan, 0, cache.numTensors);
  const request = new Set(plan.decoderBlocks);
  const generated = new Set(plan.pushSource);
  const rest = allBlocks(cache).filter((b) => !request.has(b));
  readBlocks(cache, 0, cache.numTensors, rest, (t, b, bytes) => {
    if (generated.has(b)) expectBlock(`${cache.placement} decode block ${b} (generated)`, bytes, { writer: DECODER_WRITER, tensor: t, block: b });
    else expectZero(`${cache.placement} decode tensor ${t} block ${b} (unused)`, bytes);
  });
  return cache.numTensors * cache.tensorBytes;
}

/**
 * The transfers of one placement: the request's blocks pulled (all layers at once, then layer by
 * layer), then for device memory the generated blocks pushed back (V2 pushes only from device
 * caches). Every byte moved is read back and checked on both sides.
 */
async function runPlacement(
  o: DemoOptions,
  engine: LlmDataDist,
  cache: KvCache,
  prompt: PromptPeer,
  plan: BlockPlan,
  progress: Progress,
): Promise<{ phases: PhaseStats[]; checked: number; layerwise?: LayerwisePushStats }> {
  const placement = cache.placement;
  const from = { clusterId: prompt.clusterId, cacheId: prompt.cacheIds.get(placement) as bigint };
  const n = plan.decoderBlocks.length;

  const whole = new PhaseRecorder('pullBlocks, all layers', placement);
  for (let i = 0; i < o.iterations; i += 1) {
    zeroFront(cache, n);
    await whole.time(() => engine.pullBlocks({ from, into: cache, srcBlocks: plan.promptBlocks, dstBlocks: plan.decoderBlocks }));
    whole.verified(expectRequest(cache, plan, 0, cache.numTensors));
    progress.tick(whole.label, i + 1, o.iterations, whole.bytes, whole.stats().busyMs);
  }
  progress.step(`${whole.label}: ${whole.calls} × ${n} blocks × ${cache.numTensors} tensors, every byte read back and verified`);

  const perLayer = new PhaseRecorder('pullBlocks, per layer', placement);
  for (let i = 0; i < o.iterations; i += 1) {
    zeroFront(cache, n);
    for (let layer = 0; layer < cache.numLayers; layer += 1) {
      await perLayer.time(() =>
        engine.pullBlocks({ from, into: cache, srcBlocks: plan.promptBlocks, dstBlocks: plan.decoderBlocks, layers: { start: layer, end: layer + 1 } }),
      );
      // Only this layer's K and V may have arrived: the next layer's first block is still zero.
      if (layer + 1 < cache.numLayers) expectZero(`${placement} decode tensor ${2 * layer + 2} block 0 after pulling layer ${layer}`, cache.readBlock(2 * layer + 2, 0));
      progress.tick(perLayer.label, i * cache.numLayers + layer + 1, o.iterations * cache.numLayers, perLayer.bytes, perLayer.stats().busyMs);
    }
    perLayer.verified(expectRequest(cache, plan, 0, cache.numTensors));
  }
  progress.step(`${perLayer.label}: ${perLayer.calls} calls of ${formatBytes(2 * n * cache.bytesPerBlock)}, every byte read back and verified`);

  const intact = await prompt.verifyCache(placement, false);
  progress.step(`prompt: ${placement} cache unchanged by the pulls (${formatBytes(intact)} read back and verified)`);
  const phases = [whole, perLayer];
  let checked = intact;
  let layerwise: LayerwisePushStats | undefined;
  if (placement === 'device') {
    const push = new PhaseRecorder('pushBlocks', placement);
    for (let i = 0; i < o.iterations; i += 1) {
      await push.time(() => engine.pushBlocks({ from: cache, to: from, srcBlocks: plan.pushSource, dstBlocks: plan.pushTarget }));
      progress.tick(push.label, i + 1, o.iterations, push.bytes, push.stats().busyMs);
    }
    push.verified(await prompt.verifyCache(placement, true));
    progress.step(`${push.label}: ${push.calls} × ${plan.pushSource.length} blocks into free prompt blocks [${plan.pushTarget.join(', ')}], prompt cache verified`);
    phases.push(push);
    layerwise = await runLayerwisePush(engine, cache, from, plan, o.layerComputeMs, o.iterations, {
      clearPushTargets: () => prompt.clearPushTargets(placement),
      verifyPushed: () => prompt.verifyCache(placement, true),
    });
    checked += layerwise.verifiedBytes;
    progress.step(
      `layer-wise push: ${layerwise.layers} layers × ${o.layerComputeMs} ms simulated compute, sequential ${formatMs(layerwise.sequentialMs)} vs pushLayers ${formatMs(layerwise.pipelinedMs)} per request; prompt cache verified after each`,
    );
  }
  const decoderChecked = expectDecoderCache(cache, plan);
  progress.step(`decode: whole ${placement} cache read back and verified (${formatBytes(decoderChecked)})`);
  checked += decoderChecked;
  return { phases: phases.map((p) => p.stats()), checked, ...(layerwise === undefined ? {} : { layerwise }) };
}

/**
 * The decode side of the hand-over: registers one cache per placement, links to the prompt
 * engine, runs the transfers of each placement, checks every byte on both sides, unlinks and
 * finalizes (which frees the device memory). Throws on the first wrong byte.
 */
export async function runDecoder(o: DemoOptions, prompt: PromptPeer, progress: Progress, bindings?: Bindings): Promise<DemoReport> {
  const plan = planBlocks(o);
  const engine = LlmDataDist.create({ clusterId: DECODER_CLUSTER, role: 'decoder', syncTimeoutMs: o.timeoutMs, bindings });
  let linked = false;
  try {
    // Every cache is registered before the link: a link sees only the caches that existed when it was made.
    const caches = o.placements.map((placement) => {
      const cache = registerKvCache(engine, o, placement);
      writePattern(cache, plan.pushSource, (tensor, block) => ({ writer: DECODER_WRITER, tensor, block }));
      progress.step(`decode: ${engine.backend.name} backend, ${placement} cache ${cache.id} registered (${cache.numTensors} tensors × ${formatBytes(cache.tensorBytes)}, ${cache.memory} memory)`);
      return cache;
    });

    const linkStarted = performance.now();
    await engine.link({ clusterId: prompt.clusterId, remote: prompt.address, local: LOOPBACK_CLIENT }, { timeoutMs: LINK_TIMEOUT_MS });
    linked = true;
    const linkMs = performance.now() - linkStarted;
    progress.step(`decode: linked to prompt cluster ${prompt.clusterId} at ${prompt.address.ip}:${prompt.address.port} in ${formatMs(linkMs)}`);

    const phases: PhaseStats[] = [];
    let verifiedBytes = 0;
    let layerwisePush: LayerwisePushStats | undefined;
    for (const cache of caches) {
      const run = await runPlacement(o, engine, cache, prompt, plan, progress);
      phases.push(...run.phases);
      verifiedBytes += run.checked;
      layerwisePush ??= run.layerwise;
    }

    const unlinkStarted = performance.now();
    await engine.unlink(prompt.clusterId, { timeoutMs: LINK_TIMEOUT_MS });
    linked = false;
    const unlinkMs = performance.now() - unlinkStarted;
    progress.step(`decode: unlinked in ${formatMs(unlinkMs)}`);
    const [first] = caches;
    const cacheBytes = first === undefined ? 0 : first.numTensors * first.tensorBytes;
    for (const cache of caches) cache.unregister();
    engine.close();
    progress.step('decode: caches unregistered (device memory freed), engine finalized');

    return {
      backend: engine.backend.name,
      cacheBytes,
      bytesPerBlock: bytesPerBlock(o),
      linkMs,
      unlinkMs,
      phases,
      layerwisePush,
      verifiedBytes: phases.reduce((sum, p) => sum + p.verifiedBytes, verifiedBytes),
    };
  } finally {
    if (!engine.closed) {
      // A failure left things behind: release them, keeping the original error.
      await engine.settled();
      if (linked) await engine.unlinkClusters(prompt.clusterId, { timeoutMs: LINK_TIMEOUT_MS }).catch(() => undefined);
      engine.close({ force: true });
    }
  }
}
