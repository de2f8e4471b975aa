import { LlmDataDist, type Bindings, type KvCache, type PeerAddress } from '@dd/core';
import { planBlocks, type BlockPlan } from './block-plan.js';
import { bytesPerBlock, type DemoOptions } from './demo-options.js';
import { DECODER_WRITER, PROMPT_WRITER, expectBlock, fillBlock } from './kv-pattern.js';
import { DECODER_CLUSTER, kvCacheDesc } from './kv-layout.js';
import { PhaseRecorder, type PhaseStats } from './phase-stats.js';
import type { Progress } from './progress.js';
import { formatBytes, formatMs } from './units.js';

/** The prompt side as decode sees it: where it listens, which cache holds the request, and a way to have it check its own bytes. */
export interface PromptPeer {
  readonly address: PeerAddress;
  readonly clusterId: bigint;
  readonly cacheId: bigint;
  /** Has the prompt side check every byte of its cache; resolves to the bytes checked. */
  verifyCache(pushed: boolean): Promise<number>;
}

/** What a run measured and checked. */
export interface DemoReport {
  readonly backend: string;
  readonly cacheBytes: number;
  readonly bytesPerBlock: number;
  readonly linkMs: number;
  readonly unlinkMs: number;
  readonly phases: readonly PhaseStats[];
  /** Bytes checked on both sides, over the whole run. */
  readonly verifiedBytes: number;
}

const LOOPBACK_CLIENT = { ip: '127.0.0.1', port: 0 } as const;
const LINK_TIMEOUT_MS = 5000;

/** Every tensor's first `blocks` blocks set to zero, so the next pull has to write each byte again. */
function zeroFront(cache: KvCache, blocks: number): void {
  for (let t = 0; t < cache.numTensors; t += 1) cache.tensor(t).subarray(0, blocks * cache.bytesPerBlock).fill(0);
}

function expectZero(where: string, block: Uint8Array): void {
  const at = block.findIndex((byte) => byte !== 0);
  if (at >= 0) throw new Error(`${where}: byte ${at} is ${block[at]}, expected 0 (a transfer wrote outside its range)`);
}

/** Checks that decode block `plan.decoderBlocks[j]` of tensors [first, end) holds prompt block `plan.promptBlocks[j]`. */
function expectRequest(cache: KvCache, plan: BlockPlan, first: number, end: number): number {
  for (let t = first; t < end; t += 1) {
    plan.decoderBlocks.forEach((dst, j) => {
      expectBlock(`decode block ${dst} (pulled from prompt block ${plan.promptBlocks[j]})`, cache.block(t, dst), {
        writer: PROMPT_WRITER,
        tensor: t,
        block: plan.promptBlocks[j] as number,
      });
    });
  }
  return (end - first) * plan.decoderBlocks.length * cache.bytesPerBlock;
}

/** Checks every byte of the decode cache: the request, the generated blocks, and zeros elsewhere. */
function expectDecoderCache(cache: KvCache, plan: BlockPlan): number {
  expectRequest(cache, plan, 0, cache.numTensors);
  const generated = new Set(plan.pushSource);
  for (let t = 0; t < cache.numTensors; t += 1) {
    for (let b = plan.decoderBlocks.length; b < cache.numBlocks; b += 1) {
      if (generated.has(b)) expectBlock(`decode block ${b} (generated)`, cache.block(t, b), { writer: DECODER_WRITER, tensor: t, block: b });
      else expectZero(`decode tensor ${t} block ${b} (unused)`, cache.block(t, b));
    }
  }
  return cache.numTensors * cache.tensorBytes;
}

/**
 * The decode side of the hand-over: links to the prompt engine, pulls the request's blocks (all
 * layers at once, then layer by layer), pushes its generated blocks back, checks every byte on
 * both sides, unlinks and finalizes. Throws on the first wrong byte.
 */
export async function runDecoder(o: DemoOptions, prompt: PromptPeer, progress: Progress, bindings?: Bindings): Promise<DemoReport> {
  const plan = planBlocks(o);
  const engine = LlmDataDist.create({ clusterId: DECODER_CLUSTER, role: 'decoder', syncTimeoutMs: o.timeoutMs, bindings });
  let linked = false;
  try {
    const cache = engine.registerHostCache(kvCacheDesc(o));
    for (let t = 0; t < cache.numTensors; t += 1) {
      for (const b of plan.pushSource) fillBlock(cache.block(t, b), { writer: DECODER_WRITER, tensor: t, block: b });
    }
    progress.step(`decode: ${engine.backend.name} backend, cache ${cache.id} registered (${cache.numTensors} tensors × ${formatBytes(cache.tensorBytes)})`);

    const linkStarted = performance.now();
    await engine.link({ clusterId: prompt.clusterId, remote: prompt.address, local: LOOPBACK_CLIENT }, { timeoutMs: LINK_TIMEOUT_MS });
    linked = true;
    const linkMs = performance.now() - linkStarted;
    progress.step(`decode: linked to prompt cluster ${prompt.clusterId} at ${prompt.address.ip}:${prompt.address.port} in ${formatMs(linkMs)}`);

    const from = { clusterId: prompt.clusterId, cacheId: prompt.cacheId };
    const n = plan.decoderBlocks.length;

    const whole = new PhaseRecorder('pullBlocks, all layers');
    for (let i = 0; i < o.iterations; i += 1) {
      zeroFront(cache, n);
      await whole.time(() => engine.pullBlocks({ from, into: cache, srcBlocks: plan.promptBlocks, dstBlocks: plan.decoderBlocks }));
      whole.verified(expectRequest(cache, plan, 0, cache.numTensors));
      progress.tick(whole.name, i + 1, o.iterations, whole.bytes, whole.stats().busyMs);
    }
    progress.step(`${whole.name}: ${whole.calls} × ${n} blocks × ${cache.numTensors} tensors, every byte verified`);

    const perLayer = new PhaseRecorder('pullBlocks, per layer');
    for (let i = 0; i < o.iterations; i += 1) {
      zeroFront(cache, n);
      for (let layer = 0; layer < cache.numLayers; layer += 1) {
        await perLayer.time(() =>
          engine.pullBlocks({ from, into: cache, srcBlocks: plan.promptBlocks, dstBlocks: plan.decoderBlocks, layers: { start: layer, end: layer + 1 } }),
        );
        // Only this layer's K and V may have arrived: the next layer's first block is still zero.
        if (layer + 1 < cache.numLayers) expectZero(`decode tensor ${2 * layer + 2} block 0 after pulling layer ${layer}`, cache.block(2 * layer + 2, 0));
        progress.tick(perLayer.name, i * cache.numLayers + layer + 1, o.iterations * cache.numLayers, perLayer.bytes, perLayer.stats().busyMs);
      }
      perLayer.verified(expectRequest(cache, plan, 0, cache.numTensors));
    }
    progress.step(`${perLayer.name}: ${perLayer.calls} calls of ${formatBytes(2 * n * cache.bytesPerBlock)}, every byte verified`);

    const intact = await prompt.verifyCache(false);
    progress.step(`prompt: cache unchanged by the pulls (${formatBytes(intact)} verified)`);

    const push = new PhaseRecorder('pushBlocks');
    for (let i = 0; i < o.iterations; i += 1) {
      await push.time(() => engine.pushBlocks({ from: cache, to: from, srcBlocks: plan.pushSource, dstBlocks: plan.pushTarget }));
      progress.tick(push.name, i + 1, o.iterations, push.bytes, push.stats().busyMs);
    }
    push.verified(await prompt.verifyCache(true));
    progress.step(`${push.name}: ${push.calls} × ${plan.pushSource.length} blocks into free prompt blocks [${plan.pushTarget.join(', ')}], prompt cache verified`);

    const decoderChecked = expectDecoderCache(cache, plan);
    progress.step(`decode: whole cache verified (${formatBytes(decoderChecked)})`);

    const unlinkStarted = performance.now();
    await engine.unlink(prompt.clusterId, { timeoutMs: LINK_TIMEOUT_MS });
    linked = false;
    const unlinkMs = performance.now() - unlinkStarted;
    progress.step(`decode: unlinked in ${formatMs(unlinkMs)}`);
    cache.unregister();
    engine.close();
    progress.step('decode: cache unregistered, engine finalized');

    const phases = [whole.stats(), perLayer.stats(), push.stats()];
    return {
      backend: engine.backend.name,
      cacheBytes: cache.numTensors * cache.tensorBytes,
      bytesPerBlock: bytesPerBlock(o),
      linkMs,
      unlinkMs,
      phases,
      verifiedBytes: phases.reduce((sum, p) => sum + p.verifiedBytes, intact + decoderChecked),
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
