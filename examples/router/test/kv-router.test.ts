import { CacheNotFoundError, LinkError, StatusCode, TimeoutError } from '@dd/core';
import { createRequire } from 'node:module';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PROMPT, kvBytes, prefill, startPrompt, world, type World } from './world.js';

let w: World;
beforeEach(() => {
  w = world();
});
afterEach(() => {
  vi.useRealTimers();
  w.close();
});

/** The decoder blocks `local` hold request `tag`'s KV from prompt blocks `remote`, in every tensor. */
function expectKv(tag: number, remote: readonly number[], local: readonly number[]): void {
  for (let tensor = 0; tensor < w.decoderCache.numTensors; tensor += 1) {
    remote.forEach((block, i) => expect([...w.decoderCache.readBlock(tensor, local[i] as number)]).toEqual([...kvBytes(tag, tensor, block)]));
  }
}

describe('KvRouter on the fake network', () => {
  it('links the decoder to the prompt and pulls a request into free decoder blocks', async () => {
    prefill(w.prompt.cache, 7, [5, 2, 6]);
    const routed = await w.router.fetch({ requestId: 'r7', prompt: PROMPT.clusterId, cacheId: w.prompt.cache.id, blocks: [5, 2, 6] });
    expect(routed).toEqual({ requestId: 'r7', blocks: [0, 1, 2], bytes: 3 * 4 * 16, pullAttempts: 1 });
    expectKv(7, [5, 2, 6], [0, 1, 2]);

    const seen = w.network.inspect();
    expect(seen.linkAttempts.map((attempt) => [attempt.from, attempt.remoteClusterId, attempt.address])).toEqual([[9n, 1n, '10.0.0.1:26000']]);
    expect(seen.transfers).toMatchObject([{ kind: 'PullKvBlocks', initiator: 9n, peer: 1n, srcBlocks: [5n, 2n, 6n], dstBlocks: [0n, 1n, 2n], bytes: 192 }]);
  });

  it('links once per prompt and hands out blocks until requests are released', async () => {
    prefill(w.prompt.cache, 1, [0, 1]);
    prefill(w.prompt.cache, 2, [3]);
    const first = await w.router.fetch({ requestId: 'a', prompt: 1n, cacheId: w.prompt.cache.id, blocks: [0, 1] });
    const second = await w.router.fetch({ requestId: 'b', prompt: 1n, cacheId: w.prompt.cache.id, blocks: [3] });
    expect([first.blocks, second.blocks]).toEqual([[0, 1], [2]]);
    expect(w.router.freeBlocks).toBe(5);
    w.router.release('a');
    expect(w.router.freeBlocks).toBe(7);
    expect(w.network.inspect().linkAttempts).toHaveLength(1);
  });

  it('retries a prompt that refuses links, then pulls', async () => {
    w.network.faults.refuseLinks('10.0.0.1:26000', { times: 2 });
    prefill(w.prompt.cache, 3, [4]);
    await w.router.fetch({ requestId: 'r', prompt: 1n, cacheId: w.prompt.cache.id, blocks: [4] });
    expect(w.network.inspect().linkAttempts.map((attempt) => attempt.status)).toEqual([StatusCode.LLM_LINK_FAILED, StatusCode.LLM_LINK_FAILED, StatusCode.LLM_SUCCESS]);
    expectKv(3, [4], [0]);
  });

  it('gives up linking after three refusals and keeps its blocks free', async () => {
    w.network.faults.refuseLinks('10.0.0.1:26000');
    const fetching = w.router.fetch({ requestId: 'r', prompt: 1n, cacheId: w.prompt.cache.id, blocks: [4] });
    await expect(fetching).rejects.toBeInstanceOf(LinkError);
    expect(w.network.inspect().linkAttempts).toHaveLength(3);
    expect(w.router.freeBlocks).toBe(8);
  });

  it('retries a pull that timed out; the retry moves the bytes', async () => {
    const fault = w.network.faults.failTransfer({ nth: 1, status: StatusCode.LLM_TIMEOUT, kind: 'PullKvBlocks' });
    prefill(w.prompt.cache, 4, [1, 2]);
    const routed = await w.router.fetch({ requestId: 'r', prompt: 1n, cacheId: w.prompt.cache.id, blocks: [1, 2] });
    expect(fault.fired).toBe(1);
    expect(routed.pullAttempts).toBe(2);
    expect(w.network.inspect().transfers.map((transfer) => transfer.status)).toEqual([StatusCode.LLM_TIMEOUT, StatusCode.LLM_SUCCESS]);
    expectKv(4, [1, 2], [0, 1]);
  });

  it('does not retry what cannot succeed: a missing remote cache fails at once and frees the blocks', async () => {
    await expect(w.router.fetch({ requestId: 'r', prompt: 1n, cacheId: 42n, blocks: [0] })).rejects.toBeInstanceOf(CacheNotFoundError);
    expect(w.network.inspect().transfers.map((transfer) => transfer.status)).toEqual([StatusCode.LLM_KV_CACHE_NOT_EXIST]);
    expect(w.router.freeBlocks).toBe(8);
  });

  it('waits the retry delay between tries, on timers', async () => {
    vi.useFakeTimers();
    w.network.faults.failTransfer({ nth: 1, status: StatusCode.LLM_DEVICE_OUT_OF_MEMORY });
    prefill(w.prompt.cache, 5, [0]);
    const fetching = w.router.fetch({ requestId: 'r', prompt: 1n, cacheId: w.prompt.cache.id, blocks: [0] });
    await vi.advanceTimersByTimeAsync(9); // link, first pull fails, 9 of the 10 ms retry delay pass
    expect(w.network.inspect().transfers).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(5); // the delay ends; the second pull runs on the next turns
    expect(w.network.inspect().transfers.map((transfer) => transfer.status)).toEqual([StatusCode.LLM_DEVICE_OUT_OF_MEMORY, StatusCode.LLM_SUCCESS]);
    expect((await fetching).pullAttempts).toBe(2);
  });

  it('a pull slower than SyncKvCacheWaitTime times out natively and is retried', async () => {
    w.network.faults.addLatency(500, { times: 1 });
    prefill(w.prompt.cache, 6, [7]);
    const routed = await w.router.fetch({ requestId: 'r', prompt: 1n, cacheId: w.prompt.cache.id, blocks: [7] });
    expect(routed.pullAttempts).toBe(2);
    expect(w.network.inspect().transfers.map((transfer) => [transfer.status, transfer.latencyMs])).toEqual([
      [StatusCode.LLM_TIMEOUT, 500],
      [StatusCode.LLM_SUCCESS, 0],
    ]);
    expectKv(6, [7], [0]);
  });

  it('a prompt that dies mid-transfer: the router gives up, drops the link, and relinks to its restart', async () => {
    w.network.faults.vanishDuringTransfer({ nth: 1 });
    prefill(w.prompt.cache, 8, [3]);
    await expect(w.router.fetch({ requestId: 'r1', prompt: 1n, cacheId: w.prompt.cache.id, blocks: [3] })).rejects.toBeInstanceOf(TimeoutError);
    expect(w.network.inspect().transfers.map((transfer) => transfer.status)).toEqual([StatusCode.LLM_TIMEOUT, StatusCode.LLM_TIMEOUT, StatusCode.LLM_TIMEOUT]);
    expect(w.decoder.links).toEqual([]);

    const restarted = startPrompt(w.network);
    try {
      prefill(restarted.cache, 9, [3]);
      const routed = await w.router.fetch({ requestId: 'r2', prompt: 1n, cacheId: restarted.cache.id, blocks: [3] });
      expect(routed.pullAttempts).toBe(1);
      expectKv(9, [3], [0]);
    } finally {
      restarted.engine.close({ force: true });
    }
  });

  it('runs on the fake alone: no native library, no koffi', () => {
    expect(w.decoder.backend.name).toBe('fake');
    const loaded = Object.keys(createRequire(import.meta.url).cache);
    expect(loaded.filter((path) => /koffi|\.node$/.test(path))).toEqual([]);
  });
});
