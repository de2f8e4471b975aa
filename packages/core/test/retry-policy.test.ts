import diagnostics_channel from 'node:diagnostics_channel';
import { FakeNetwork } from '@dd/testing';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  CacheNotFoundError,
  DataDistArgumentError,
  LinkError,
  LlmDataDist,
  OPERATION_START_CHANNEL,
  OperationAbortedError,
  RETRY_CHANNEL,
  StatusCode,
  TimeoutError,
  type OperationStartEvent,
  type RetryEvent,
} from '../src/index.js';
import { fillPattern, patternBlock, smallCache } from './harness.js';

// Retries are timed with setTimeout, faked here so that every delay is exact; the fake network's
// transfers start on setImmediate, left real, so they run without the clock moving.
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
});
afterEach(() => {
  vi.useRealTimers();
});

interface Setup {
  readonly network: FakeNetwork;
  readonly prompt: LlmDataDist;
  readonly decoder: LlmDataDist;
  readonly served: ReturnType<typeof smallCache>;
  readonly into: ReturnType<typeof smallCache>;
  readonly retries: RetryEvent[];
  readonly starts: OperationStartEvent[];
  dispose(): Promise<void>;
}

const PROMPT = { ip: '10.0.0.1', port: 26000 } as const;

async function setUp(): Promise<Setup> {
  const network = new FakeNetwork();
  const prompt = LlmDataDist.create({ clusterId: 1n, role: 'prompt', listen: PROMPT, bindings: network.bindings });
  const served = smallCache(prompt, 4, 8, 'device');
  fillPattern(served, 5);
  const decoder = LlmDataDist.create({ clusterId: 2n, role: 'decoder', listen: { ip: '10.0.0.2', port: 26000 }, bindings: network.bindings });
  const into = smallCache(decoder, 4, 8, 'device');
  await decoder.link({ clusterId: 1n, remote: PROMPT });
  const retries: RetryEvent[] = [];
  const starts: OperationStartEvent[] = [];
  const onRetry = (m: unknown): void => {
    retries.push(m as RetryEvent);
  };
  const onStart = (m: unknown): void => {
    const e = m as OperationStartEvent;
    if (e.clusterId === 2n && e.attempt !== undefined) starts.push(e);
  };
  diagnostics_channel.subscribe(RETRY_CHANNEL, onRetry);
  diagnostics_channel.subscribe(OPERATION_START_CHANNEL, onStart);
  return {
    network,
    prompt,
    decoder,
    served,
    into,
    retries,
    starts,
    async dispose() {
      diagnostics_channel.unsubscribe(RETRY_CHANNEL, onRetry);
      diagnostics_channel.unsubscribe(OPERATION_START_CHANNEL, onStart);
      for (const engine of [decoder, prompt]) {
        await engine.settled();
        if (!engine.closed) engine.close({ force: true });
      }
    },
  };
}

/** Lets the fake's transfers (setImmediate) and the promise chains after them run, without moving the clock. */
async function drain(): Promise<void> {
  for (let i = 0; i < 20; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

describe('retry policy (fake network, fake timers)', () => {
  it('retries a timed-out pull after exactly delayMs, on the diagnostics channel; attempts in the report', async () => {
    const s = await setUp();
    try {
      s.network.faults.failTransfer({ nth: 1, status: StatusCode.LLM_TIMEOUT, kind: 'PullKvBlocks' });
      let settled = false;
      const pulled = s.decoder
        .pullBlocks({ from: { clusterId: 1n, cacheId: s.served.id }, into: s.into, srcBlocks: [6], dstBlocks: [1], retry: { attempts: 3, delayMs: 1000, jitter: 0 } })
        .finally(() => {
          settled = true;
        });
      await drain();
      expect(s.retries).toMatchObject([{ operation: 'pullBlocks', attempt: 1, attempts: 3, decision: 'retry', delayMs: 1000, remoteClusterId: 1n }]);
      expect(s.retries[0]!.error).toBeInstanceOf(TimeoutError);
      await vi.advanceTimersByTimeAsync(999);
      await drain();
      expect(settled).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      const report = await pulled;
      expect(report.attempts).toBe(2);
      expect(s.starts.map((e) => [e.operation, e.attempt])).toEqual([
        ['pullBlocks', 1],
        ['pullBlocks', 2],
      ]);
      expect(s.into.readBlock(3, 1)).toEqual(patternBlock(s.into.bytesPerBlock, 5, 3, 6));
      expect(s.network.inspect().transfers.map((t) => t.status)).toEqual([StatusCode.LLM_TIMEOUT, StatusCode.LLM_SUCCESS]);
    } finally {
      await s.dispose();
    }
  });

  it('backs off by factor, capped at maxDelayMs, with jitter from the random source; gives up when exhausted with the last error', async () => {
    const s = await setUp();
    try {
      for (let nth = 1; nth <= 4; nth += 1) s.network.faults.failTransfer({ nth, status: StatusCode.LLM_TIMEOUT });
      const draws = [0.5, 0, 0.999];
      const random = vi.fn(() => draws.shift() ?? 0);
      const pushed = s.decoder
        .pushBlocks({ from: s.into, to: { clusterId: 1n, cacheId: s.served.id }, srcBlocks: [0], dstBlocks: [7], retry: { attempts: 4, delayMs: 100, factor: 3, maxDelayMs: 500, jitter: 0.5, random } })
        .catch((e: unknown) => e);
      await drain();
      await vi.advanceTimersByTimeAsync(75); // 100 · (1 − 0.5 · 0.5)
      await drain();
      await vi.advanceTimersByTimeAsync(300); // 300 · (1 − 0)
      await drain();
      await vi.advanceTimersByTimeAsync(250); // min(900, 500) · (1 − 0.5 · 0.999), rounded
      const error = await pushed;
      expect(error).toBeInstanceOf(TimeoutError);
      expect(s.retries.map((r) => [r.attempt, r.decision, r.delayMs])).toEqual([
        [1, 'retry', 75],
        [2, 'retry', 300],
        [3, 'retry', 250],
        [4, 'exhausted', undefined],
      ]);
      expect(random).toHaveBeenCalledTimes(3);
      expect(s.retries[3]!.error).toBe(error);
    } finally {
      await s.dispose();
    }
  });

  it('does not retry what retryOn refuses (default: not retryable), and retryOn can widen it', async () => {
    const s = await setUp();
    try {
      const missing = { from: { clusterId: 1n, cacheId: 99n }, into: s.into, srcBlocks: [0], dstBlocks: [0] } as const;
      await expect(s.decoder.pullBlocks({ ...missing, retry: {} })).rejects.toBeInstanceOf(CacheNotFoundError);
      expect(s.retries.map((r) => r.decision)).toEqual(['not-retryable']);
      const widened = s.decoder.pullBlocks({ ...missing, retry: { attempts: 2, delayMs: 10, jitter: 0, retryOn: (e) => e.statusName === 'LLM_KV_CACHE_NOT_EXIST' } }).catch((e: unknown) => e);
      await drain();
      await vi.advanceTimersByTimeAsync(10);
      expect(await widened).toBeInstanceOf(CacheNotFoundError);
      expect(s.retries.map((r) => r.decision)).toEqual(['not-retryable', 'retry', 'exhausted']);
    } finally {
      await s.dispose();
    }
  });

  it('starts no attempt past deadlineMs', async () => {
    const s = await setUp();
    try {
      s.network.faults.failTransfer({ nth: 1, status: StatusCode.LLM_TIMEOUT });
      s.network.faults.addLatency(40, { times: 1 });
      s.network.faults.failTransfer({ nth: 2, status: StatusCode.LLM_TIMEOUT });
      const pulled = s.decoder
        .pullBlocks({ from: { clusterId: 1n, cacheId: s.served.id }, into: s.into, srcBlocks: [0], dstBlocks: [0], retry: { attempts: 5, delayMs: 50, factor: 2, jitter: 0, deadlineMs: 120 } })
        .catch((e: unknown) => e);
      await drain();
      await vi.advanceTimersByTimeAsync(40); // the first attempt's latency: it fails at t = 40
      await drain();
      await vi.advanceTimersByTimeAsync(50); // the second starts at 90 and fails; a third would start at 190 > 120
      expect(await pulled).toBeInstanceOf(TimeoutError);
      expect(s.retries.map((r) => r.decision)).toEqual(['retry', 'deadline']);
    } finally {
      await s.dispose();
    }
  });

  it('an abort during the backoff ends the call at once with OperationAbortedError', async () => {
    const s = await setUp();
    try {
      s.network.faults.failTransfer({ nth: 1, status: StatusCode.LLM_TIMEOUT });
      const controller = new AbortController();
      const pulled = s.decoder
        .pullBlocks({ from: { clusterId: 1n, cacheId: s.served.id }, into: s.into, srcBlocks: [0], dstBlocks: [0], signal: controller.signal, retry: { delayMs: 60_000 } })
        .catch((e: unknown) => e);
      await drain();
      controller.abort(new Error('request cancelled'));
      const error = await pulled;
      expect(error).toBeInstanceOf(OperationAbortedError);
      expect((error as OperationAbortedError).cause).toEqual(new Error('request cancelled'));
      expect(s.network.inspect().transfers).toHaveLength(1);
    } finally {
      await s.dispose();
    }
  });

  it('A16/A21: re-links between attempts when the link broke (the peer died and came back), then the retry moves the bytes', async () => {
    const s = await setUp();
    let restarted: LlmDataDist | undefined;
    try {
      const [old] = s.decoder.links;
      s.network.faults.vanishDuringTransfer({ nth: 1, kind: 'PullKvBlocks' });
      const pulled = s.decoder.pullBlocks({ from: { clusterId: 1n, cacheId: 1n }, into: s.into, srcBlocks: [2, 3], dstBlocks: [4, 5], retry: { delayMs: 500, jitter: 0 } });
      await drain();
      expect(old!.state).toMatchObject({ status: 'broken', cause: { source: 'transfer', confirmed: true } });
      // While the retry waits, the prompt process is restarted on the same address with the same id.
      restarted = LlmDataDist.create({ clusterId: 1n, role: 'prompt', listen: PROMPT, bindings: s.network.bindings });
      const again = smallCache(restarted, 4, 8, 'device');
      fillPattern(again, 8);
      await vi.advanceTimersByTimeAsync(500);
      const report = await pulled;
      expect(report.attempts).toBe(2);
      expect(old!.state).toMatchObject({ status: 'closed', reason: 'relinked' });
      expect(s.decoder.links[0]!.state).toEqual({ status: 'up' });
      expect(s.into.readBlock(1, 5)).toEqual(patternBlock(s.into.bytesPerBlock, 8, 1, 3));
      const attempts = s.network.inspect().linkAttempts.filter((a) => a.from === 2n);
      expect(attempts.map((a) => [a.operation, a.force, a.status])).toEqual([
        ['link', false, StatusCode.LLM_SUCCESS],
        ['unlink', true, StatusCode.LLM_SUCCESS],
        ['link', false, StatusCode.LLM_SUCCESS],
      ]);
    } finally {
      await s.dispose();
      await restarted?.settled();
      restarted?.close({ force: true });
    }
  });

  it('link(…, { retry }) links again only the clusters whose failure is retried', async () => {
    const network = new FakeNetwork();
    const a = LlmDataDist.create({ clusterId: 1n, role: 'prompt', listen: { ip: '10.0.0.1', port: 1 }, bindings: network.bindings });
    const b = LlmDataDist.create({ clusterId: 3n, role: 'prompt', listen: { ip: '10.0.0.3', port: 1 }, bindings: network.bindings });
    const decoder = LlmDataDist.create({ clusterId: 2n, role: 'decoder', listen: { ip: '10.0.0.2', port: 1 }, bindings: network.bindings });
    try {
      network.faults.refuseLinks('10.0.0.1:1', { times: 1, status: StatusCode.LLM_LINK_BUSY });
      network.faults.refuseLinks('10.0.0.3:1', { status: StatusCode.LLM_LINK_FAILED });
      const linking = decoder.linkClusters(
        [
          { clusterId: 1n, remote: { ip: '10.0.0.1', port: 1 } },
          { clusterId: 3n, remote: { ip: '10.0.0.3', port: 1 } },
        ],
        { retry: { delayMs: 200, jitter: 0 } },
      );
      await drain();
      await vi.advanceTimersByTimeAsync(200);
      const outcome = await linking;
      expect(outcome.linked.map((l) => l.clusterId)).toEqual([1n]);
      expect(outcome.failures.map((f) => [f.clusterId, f.error.statusName])).toEqual([[3n, 'LLM_LINK_FAILED']]);
      expect(outcome.failures[0]!.error).toBeInstanceOf(LinkError);
      const tries = network.inspect().linkAttempts.filter((x) => x.operation === 'link');
      expect(tries.map((x) => [x.remoteClusterId, x.status])).toEqual([
        [1n, StatusCode.LLM_LINK_BUSY],
        [3n, StatusCode.LLM_LINK_FAILED],
        [1n, StatusCode.LLM_SUCCESS],
      ]);
      await decoder.unlink(1n);
    } finally {
      for (const engine of [decoder, a, b]) {
        await engine.settled();
        engine.close({ force: true });
      }
    }
  });

  it('checks the policy before any native call', async () => {
    const s = await setUp();
    try {
      const base = { from: { clusterId: 1n, cacheId: s.served.id }, into: s.into, srcBlocks: [0], dstBlocks: [0] } as const;
      for (const retry of [{ attempts: 0 }, { attempts: 101 }, { delayMs: -1 }, { factor: 0.5 }, { jitter: 2 }, { maxDelayMs: 10, delayMs: 20 }, { deadlineMs: 0 }, { retryOn: 1 }, { relink: 'yes' }, 'often']) {
        await expect(s.decoder.pullBlocks({ ...base, retry: retry as never })).rejects.toBeInstanceOf(DataDistArgumentError);
      }
      await expect(s.decoder.link({ clusterId: 1n, remote: PROMPT }, { retry: { attempts: 1.5 } })).rejects.toBeInstanceOf(DataDistArgumentError);
      expect(s.network.inspect().transfers).toHaveLength(0);
    } finally {
      await s.dispose();
    }
  });
});
