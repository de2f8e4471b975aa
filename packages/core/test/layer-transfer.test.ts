import diagnostics_channel from 'node:diagnostics_channel';
import { FakeNetwork } from '@dd/testing';
import { describe, expect, it } from 'vitest';
import {
  DataDistArgumentError,
  LayerTransferError,
  OPERATION_END_CHANNEL,
  OPERATION_START_CHANNEL,
  OperationAbortedError,
  StatusCode,
  type KvCache,
  type LayerResult,
  type OperationStartEvent,
} from '../src/index.js';
import { backends } from './backends.js';
import { createPair, fillPattern, patternBlock, smallCache, type EnginePair } from './harness.js';

// 6 tensors with 2 per layer: 3 layers of 8 blocks.
const TENSORS = 6;

/** Every block of every tensor of a cache. */
function snapshot(cache: KvCache): Uint8Array[] {
  const blocks: Uint8Array[] = [];
  for (let t = 0; t < cache.numTensors; t += 1) for (let b = 0; b < cache.numBlocks; b += 1) blocks.push(cache.readBlock(t, b));
  return blocks;
}

async function withPair(backend: (typeof backends)[number], body: (pair: EnginePair) => Promise<void>): Promise<void> {
  const pair = await createPair(backend);
  try {
    await body(pair);
  } finally {
    await pair.dispose();
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe.each(backends)('layer-wise transfer over the $name backend', (backend) => {
  it('B §3.9: pushLayers writes exactly the bytes of one pushBlocks over the whole range, layer by layer as each is ready', async () => {
    await withPair(backend, async (pair) => {
      const byLayers = smallCache(pair.prompt, TENSORS);
      const byOneCall = smallCache(pair.prompt, TENSORS);
      const source = smallCache(pair.decoder, TENSORS, 8, 'device');
      fillPattern(source, 7);
      await pair.decoder.link({ clusterId: 1n, remote: { ip: '127.0.0.1', port: pair.promptPort } });
      const asked: number[] = [];
      const seen: LayerResult[] = [];
      const report = await pair.decoder.pushLayers({
        from: source,
        to: { clusterId: 1n, cacheId: byLayers.id },
        srcBlocks: [1, 2, 5],
        dstBlocks: [0, 6, 7],
        ready: async (layer) => {
          asked.push(layer);
          await delay(2); // the layer's compute
        },
        onLayer: (r) => seen.push(r),
      });
      const whole = await pair.decoder.pushBlocks({ from: source, to: { clusterId: 1n, cacheId: byOneCall.id }, srcBlocks: [1, 2, 5], dstBlocks: [0, 6, 7] });
      expect(asked).toEqual([0, 1, 2]);
      expect(report.bytes).toBe(whole.bytes);
      expect(report.layers.map((l) => [l.layer, l.remoteLayer, l.status, l.bytes, l.attempts])).toEqual([
        [0, 0, 'done', whole.bytes / 3, 1],
        [1, 1, 'done', whole.bytes / 3, 1],
        [2, 2, 'done', whole.bytes / 3, 1],
      ]);
      expect(seen.map((r) => r.layer).sort()).toEqual([0, 1, 2]);
      expect(snapshot(byLayers)).toEqual(snapshot(byOneCall));
      expect(byLayers.readBlock(5, 7)).toEqual(patternBlock(byLayers.bytesPerBlock, 7, 5, 5));
      await pair.decoder.unlink(1n);
    });
  });

  it('B §3.10: pullLayers over a sub-range maps local layers onto remote ones, from one promise per layer', async () => {
    await withPair(backend, async (pair) => {
      const served = smallCache(pair.prompt, TENSORS);
      fillPattern(served, 3);
      const byLayers = smallCache(pair.decoder, TENSORS);
      const byOneCall = smallCache(pair.decoder, TENSORS);
      await pair.decoder.link({ clusterId: 1n, remote: { ip: '127.0.0.1', port: pair.promptPort } });
      const from = { clusterId: 1n, cacheId: served.id };
      const ready = [delay(3), delay(1)];
      const report = await pair.decoder.pullLayers({ from, into: byLayers, srcBlocks: [4, 0], dstBlocks: [1, 2], layers: { start: 1, end: 3 }, remoteLayers: { start: 0, end: 2 }, ready });
      await pair.decoder.pullBlocks({ from, into: byOneCall, srcBlocks: [4, 0], dstBlocks: [1, 2], layers: { start: 1, end: 3 }, remoteLayers: { start: 0, end: 2 } });
      expect(report.layers.map((l) => [l.layer, l.remoteLayer])).toEqual([
        [1, 0],
        [2, 1],
      ]);
      expect(snapshot(byLayers)).toEqual(snapshot(byOneCall));
      expect(byLayers.readBlock(2, 1)).toEqual(patternBlock(byLayers.bytesPerBlock, 3, 0, 4));
      await pair.decoder.unlink(1n);
    });
  });
});

/** Counts this engine's transfers of `operation` running at once, through the diagnostics channels. */
function concurrency(clusterId: bigint, operation: string): { readonly max: () => number; stop(): void } {
  const running = new Set<number>();
  let max = 0;
  const onStart = (m: unknown): void => {
    const e = m as OperationStartEvent;
    if (e.clusterId !== clusterId || e.operation !== operation) return;
    running.add(e.id);
    max = Math.max(max, running.size);
  };
  const onEnd = (m: unknown): void => {
    running.delete((m as OperationStartEvent).id);
  };
  diagnostics_channel.subscribe(OPERATION_START_CHANNEL, onStart);
  diagnostics_channel.subscribe(OPERATION_END_CHANNEL, onEnd);
  return {
    max: () => max,
    stop() {
      diagnostics_channel.unsubscribe(OPERATION_START_CHANNEL, onStart);
      diagnostics_channel.unsubscribe(OPERATION_END_CHANNEL, onEnd);
    },
  };
}

const fake = { name: 'fake' as const, newBindings: () => new FakeNetwork().bindings };

async function fakePair(layers = 4): Promise<{ pair: EnginePair; network: FakeNetwork; served: KvCache; into: KvCache }> {
  const network = new FakeNetwork();
  const pair = await createPair({ ...fake, newBindings: () => network.bindings });
  const served = smallCache(pair.prompt, 2 * layers);
  fillPattern(served, 1);
  const into = smallCache(pair.decoder, 2 * layers);
  await pair.decoder.link({ clusterId: 1n, remote: { ip: '127.0.0.1', port: pair.promptPort } });
  return { pair, network, served, into };
}

describe('layer-wise transfer: flow control, failures, cancellation (fake)', () => {
  it('keeps at most maxInFlight layers on the wire and asks for the next layer only when there is room', async () => {
    const { pair, network, served, into } = await fakePair(8);
    const counter = concurrency(2n, 'pullBlocks');
    try {
      network.faults.addLatency(5, { kind: 'PullKvBlocks' });
      let yielded = 0;
      const pulledBeforeFirstEnd: number[] = [];
      let ended = 0;
      async function* everyLayerAtOnce(): AsyncGenerator<number> {
        for (let layer = 0; layer < 8; layer += 1) {
          yielded += 1;
          yield layer;
        }
      }
      await pair.decoder.pullLayers({
        from: { clusterId: 1n, cacheId: served.id },
        into,
        srcBlocks: [0],
        dstBlocks: [0],
        ready: everyLayerAtOnce(),
        maxInFlight: 3,
        onLayer: () => {
          if (ended === 0) pulledBeforeFirstEnd.push(yielded);
          ended += 1;
        },
      });
      expect(counter.max()).toBe(3);
      expect(pulledBeforeFirstEnd).toEqual([3]);
      expect(network.inspect().transfers.filter((t) => t.kind === 'PullKvBlocks')).toHaveLength(8);
    } finally {
      counter.stop();
      await pair.dispose();
    }
  });

  it('takes layers in the order an async iterable yields them', async () => {
    const { pair, network, served, into } = await fakePair(4);
    try {
      async function* outOfOrder(): AsyncGenerator<number> {
        yield* [2, 0, 3, 1];
      }
      const order: number[] = [];
      const report = await pair.decoder.pullLayers({ from: { clusterId: 1n, cacheId: served.id }, into, srcBlocks: [5], dstBlocks: [5], ready: outOfOrder(), maxInFlight: 1, onLayer: (r) => order.push(r.layer) });
      expect(order).toEqual([2, 0, 3, 1]);
      expect(network.inspect().transfers).toHaveLength(4);
      expect(report.layers.map((l) => l.layer)).toEqual([0, 1, 2, 3]);
      expect(into.readBlock(7, 5)).toEqual(patternBlock(into.bytesPerBlock, 1, 7, 5));
    } finally {
      await pair.dispose();
    }
  });

  it('stops starting layers at the first failure, waits for those in flight, and reports every layer', async () => {
    const { pair, network, served, into } = await fakePair(5);
    try {
      network.faults.failTransfer({ nth: 2, status: StatusCode.LLM_FAILED });
      network.faults.addLatency(5);
      const error = await pair.decoder
        .pullLayers({ from: { clusterId: 1n, cacheId: served.id }, into, srcBlocks: [0], dstBlocks: [0], ready: () => undefined, maxInFlight: 2 })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LayerTransferError);
      const failure = error as LayerTransferError;
      expect(failure.statusName).toBe('LLM_FAILED');
      expect(failure.layers.map((l) => l.status)).toEqual(['done', 'failed', 'done', 'not-started', 'not-started']);
      expect((failure.cause as Error).message).toContain('LLM_FAILED');
      expect(network.inspect().transfers).toHaveLength(3);
    } finally {
      await pair.dispose();
    }
  });

  it('a failed layer ends the wait for a layer that is never ready, and aborts the readiness function\'s signal', async () => {
    const { pair, network, served, into } = await fakePair(3);
    try {
      network.faults.failTransfer({ nth: 1, status: StatusCode.LLM_FAILED });
      let told = false;
      const error = await pair.decoder
        .pullLayers({
          from: { clusterId: 1n, cacheId: served.id },
          into,
          srcBlocks: [0],
          dstBlocks: [0],
          // Layer 0 is ready; layer 1 only ever becomes ready when the call gives up on it.
          ready: (layer, signal) =>
            layer === 0
              ? undefined
              : new Promise<void>((_resolve, reject) =>
                  signal.addEventListener('abort', () => {
                    told = true;
                    reject(new Error('no longer needed'));
                  }),
                ),
          maxInFlight: 2,
        })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LayerTransferError);
      expect((error as LayerTransferError).layers.map((l) => l.status)).toEqual(['failed', 'not-started', 'not-started']);
      expect(told).toBe(true);
    } finally {
      await pair.dispose();
    }
  });

  it('an abort rejects at once, starts no further layer, and passes the abort to the readiness function', async () => {
    const { pair, network, served, into } = await fakePair(4);
    try {
      const controller = new AbortController();
      let readinessAborted = false;
      const pulled = pair.decoder
        .pullLayers({
          from: { clusterId: 1n, cacheId: served.id },
          into,
          srcBlocks: [0],
          dstBlocks: [0],
          signal: controller.signal,
          ready: (layer, signal) =>
            layer === 0
              ? undefined
              : new Promise<void>((resolve) => {
                  signal.addEventListener('abort', () => {
                    readinessAborted = true;
                    resolve();
                  });
                }),
        })
        .catch((e: unknown) => e);
      await delay(20);
      controller.abort(new Error('request finished early'));
      expect(await pulled).toBeInstanceOf(OperationAbortedError);
      await pair.decoder.settled();
      expect(readinessAborted).toBe(true);
      expect(network.inspect().transfers).toHaveLength(1);
    } finally {
      await pair.dispose();
    }
  });

  it('a readiness source that fails or ends early is a LayerTransferError; one that yields a layer twice or out of range is an argument error', async () => {
    const { pair, served, into } = await fakePair(3);
    try {
      const base = { from: { clusterId: 1n, cacheId: served.id }, into, srcBlocks: [0], dstBlocks: [0] };
      const crashed = await pair.decoder.pullLayers({ ...base, ready: [Promise.resolve(), Promise.reject(new Error('model crashed')), Promise.resolve()] }).catch((e: unknown) => e);
      expect(crashed).toBeInstanceOf(LayerTransferError);
      expect((crashed as LayerTransferError).cause).toEqual(new Error('model crashed'));
      expect((crashed as LayerTransferError).layers.map((l) => l.status)).toEqual(['done', 'not-started', 'not-started']);
      async function* short(): AsyncGenerator<number> {
        yield 0;
      }
      const ended = await pair.decoder.pullLayers({ ...base, ready: short() }).catch((e: unknown) => e);
      expect((ended as LayerTransferError).message).toContain('ended before layer 1');
      async function* twice(): AsyncGenerator<number> {
        yield* [0, 0];
      }
      const repeated = await pair.decoder.pullLayers({ ...base, ready: twice() }).catch((e: unknown) => e);
      expect((repeated as LayerTransferError).cause).toBeInstanceOf(DataDistArgumentError);
    } finally {
      await pair.dispose();
    }
  });

  it('checks its arguments before any layer is asked for', async () => {
    const { pair, network, served, into } = await fakePair(3);
    try {
      const base = { from: { clusterId: 1n, cacheId: served.id }, into, srcBlocks: [0], dstBlocks: [0] };
      const bad: unknown[] = [
        { ...base, ready: 7 },
        { ...base, ready: [Promise.resolve()] },
        { ...base, ready: () => undefined, maxInFlight: 0 },
        { ...base, ready: () => undefined, layers: { start: 0, end: 4 } },
        { ...base, ready: () => undefined, layers: { start: 0, end: 2 }, remoteLayers: { start: 0, end: 1 } },
        { ...base, ready: () => undefined, dstBlocks: [8] },
        { ...base, ready: () => undefined, onLayer: 'log' },
      ];
      for (const options of bad) await expect(pair.decoder.pullLayers(options as never)).rejects.toBeInstanceOf(DataDistArgumentError);
      await expect(pair.decoder.pushLayers({ from: into, to: { clusterId: 1n, cacheId: served.id }, srcBlocks: [0], dstBlocks: [0], ready: () => undefined })).rejects.toThrow(/placement 'device'/);
      expect(network.inspect().transfers).toHaveLength(0);
    } finally {
      await pair.dispose();
    }
  });
});
