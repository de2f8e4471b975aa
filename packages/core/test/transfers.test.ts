import { describe, expect, it } from 'vitest';
import { CacheNotFoundError, NotLinkedError, OrderingError, TimeoutError, OperationAbortedError } from '../src/index.js';
import { backends } from './backends.js';
import { createPair, fillPattern, patternBlock, recordingBindings, smallCache, type EnginePair } from './harness.js';

const BLOCK = 64; // 16 int32

/** Prompt cache (filled, salt 1) and decoder cache (zeroed), decoder linked to prompt. */
async function linkedCaches(pair: EnginePair, placement: 'host' | 'device' = 'host') {
  const src = smallCache(pair.prompt, 4, 8, placement);
  fillPattern(src, 1);
  const dst = smallCache(pair.decoder, 4, 8, placement);
  await pair.decoder.link({ clusterId: 1n, remote: { ip: '127.0.0.1', port: pair.promptPort } });
  return { src, dst };
}

function zeroed(length: number): Uint8Array {
  return new Uint8Array(length);
}

describe.each(backends)('transfers over the $name backend', (backend) => {
  it('pullBlocks copies the listed blocks of every tensor, in any order, and nothing else', async () => {
    const pair = await createPair(backend);
    try {
      const { src, dst } = await linkedCaches(pair);
      const report = await pair.decoder.pullBlocks({ from: { clusterId: 1n, cacheId: src.id }, into: dst, srcBlocks: [1, 2, 3], dstBlocks: new BigUint64Array([6n, 5n, 0n]) });
      expect(report.bytes).toBe(4 * 3 * BLOCK);
      expect(report.durationMs).toBeGreaterThanOrEqual(0);
      const copied = new Map([[6, 1], [5, 2], [0, 3]]);
      for (let t = 0; t < 4; t += 1) {
        for (let b = 0; b < 8; b += 1) {
          const from = copied.get(b);
          expect(dst.block(t, b)).toEqual(from === undefined ? zeroed(BLOCK) : patternBlock(BLOCK, 1, t, from));
        }
      }
      await pair.decoder.unlink(1n);
    } finally {
      await pair.dispose();
    }
  });

  it('pullBlocks with half-open layer ranges copies only those layers', async () => {
    const pair = await createPair(backend);
    try {
      const { src, dst } = await linkedCaches(pair);
      // Local layer [0, 1) (tensors 0, 1) ← remote layer [1, 2) (tensors 2, 3).
      const report = await pair.decoder.pullBlocks({
        from: { clusterId: 1n, cacheId: src.id },
        into: dst,
        srcBlocks: [4],
        dstBlocks: [4],
        layers: { start: 0, end: 1 },
        remoteLayers: { start: 1, end: 2 },
      });
      expect(report.bytes).toBe(2 * BLOCK);
      expect(dst.block(0, 4)).toEqual(patternBlock(BLOCK, 1, 2, 4));
      expect(dst.block(1, 4)).toEqual(patternBlock(BLOCK, 1, 3, 4));
      expect(dst.block(2, 4)).toEqual(zeroed(BLOCK));
      expect(dst.block(3, 4)).toEqual(zeroed(BLOCK));
      await pair.decoder.unlink(1n);
    } finally {
      await pair.dispose();
    }
  });

  it('pullCache copies one row, or its first `size` bytes', async () => {
    const pair = await createPair(backend);
    try {
      const { src, dst } = await linkedCaches(pair);
      await pair.decoder.pullCache({ from: { clusterId: 1n, cacheId: src.id, batchIndex: 5 }, into: dst, batchIndex: 2 });
      for (let t = 0; t < 4; t += 1) expect(dst.block(t, 2)).toEqual(patternBlock(BLOCK, 1, t, 5));
      const report = await pair.decoder.pullCache({ from: { clusterId: 1n, cacheId: src.id, batchIndex: 7 }, into: dst, batchIndex: 3, size: 16 });
      expect(report.bytes).toBe(4 * 16);
      for (let t = 0; t < 4; t += 1) {
        expect(dst.block(t, 3).subarray(0, 16)).toEqual(patternBlock(BLOCK, 1, t, 7).subarray(0, 16));
        expect(dst.block(t, 3).subarray(16)).toEqual(zeroed(BLOCK - 16));
      }
      await pair.decoder.unlink(1n);
    } finally {
      await pair.dispose();
    }
  });

  it('pushBlocks and pushCache write into the remote cache', async () => {
    const pair = await createPair(backend);
    try {
      // The prompt pushes: it links to the decoder.
      const target = smallCache(pair.decoder, 4, 8, 'device');
      const src = smallCache(pair.prompt, 4, 8, 'device');
      fillPattern(src, 3);
      await pair.prompt.link({ clusterId: 2n, remote: { ip: '127.0.0.1', port: pair.decoderPort } });
      const blocks = await pair.prompt.pushBlocks({ from: src, to: { clusterId: 2n, cacheId: target.id }, srcBlocks: [5, 6, 7], dstBlocks: [5, 6, 7], layers: { start: 1, end: 2 } });
      expect(blocks.bytes).toBe(2 * 3 * BLOCK);
      for (const b of [5, 6, 7]) {
        expect(target.readBlock(0, b)).toEqual(zeroed(BLOCK));
        expect(target.readBlock(2, b)).toEqual(patternBlock(BLOCK, 3, 2, b));
        expect(target.readBlock(3, b)).toEqual(patternBlock(BLOCK, 3, 3, b));
      }
      await pair.prompt.pushCache({ from: src, batchIndex: 1, to: { clusterId: 2n, cacheId: target.id, batchIndex: 4 } });
      for (let t = 0; t < 4; t += 1) expect(target.readBlock(t, 4)).toEqual(patternBlock(BLOCK, 3, t, 1));
      await pair.prompt.unlink(2n);
    } finally {
      await pair.dispose();
    }
  });

  it('reports native failures as typed errors: not linked, unknown remote cache', async () => {
    const pair = await createPair(backend);
    try {
      const src = smallCache(pair.prompt);
      const dst = smallCache(pair.decoder);
      const notLinked = await pair.decoder.pullBlocks({ from: { clusterId: 1n, cacheId: src.id }, into: dst, srcBlocks: [0], dstBlocks: [0] }).catch((e: unknown) => e);
      expect(notLinked).toBeInstanceOf(NotLinkedError);
      expect(notLinked).toMatchObject({ statusName: 'LLM_NOT_YET_LINK', operation: 'pullBlocks', retryable: false });
      await pair.decoder.link({ clusterId: 1n, remote: { ip: '127.0.0.1', port: pair.promptPort } });
      const missing = await pair.decoder.pullCache({ from: { clusterId: 1n, cacheId: src.id + 100n }, into: dst }).catch((e: unknown) => e);
      expect(missing).toBeInstanceOf(CacheNotFoundError);
      expect(missing).toMatchObject({ statusName: 'LLM_KV_CACHE_NOT_EXIST', operation: 'pullCache' });
      await pair.decoder.unlink(1n);
    } finally {
      await pair.dispose();
    }
  });

  it('a per-call timeout rejects while the native transfer runs on; the cache stays busy until it ends', async () => {
    const rec = recordingBindings(backend.newBindings());
    const pair = await createPair(backend, { bindings: rec.bindings });
    try {
      const { src, dst } = await linkedCaches(pair);
      rec.delayMs = 150;
      const error = await pair.decoder
        .pullBlocks({ from: { clusterId: 1n, cacheId: src.id }, into: dst, srcBlocks: [1], dstBlocks: [1], timeoutMs: 20 })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TimeoutError);
      expect(error).toMatchObject({ abandoned: true, statusName: 'LLM_TIMEOUT', retryable: true, operation: 'pullBlocks' });
      expect(dst.pendingTransfers).toBe(1);
      expect(() => dst.unregister()).toThrow(expect.objectContaining({ rule: 'settle-before-unregister' }) as Error);
      expect(() => pair.decoder.close({ force: true })).toThrow(OrderingError);
      await pair.decoder.settled();
      expect(dst.pendingTransfers).toBe(0);
      // The native transfer completed: its bytes landed after the caller stopped waiting.
      expect(dst.block(0, 1)).toEqual(patternBlock(BLOCK, 1, 0, 1));

      const controller = new AbortController();
      const aborted = pair.decoder.pullCache({ from: { clusterId: 1n, cacheId: src.id }, into: dst, signal: controller.signal });
      controller.abort();
      await expect(aborted).rejects.toBeInstanceOf(OperationAbortedError);
      expect(dst.pendingTransfers).toBe(1);
      await dst.settled();
      rec.delayMs = 0;
      await pair.decoder.unlink(1n);
    } finally {
      rec.delayMs = 0;
      await pair.dispose();
    }
  });

  it('`await using` on a KvCache waits for its running transfer, then unregisters', async () => {
    const rec = recordingBindings(backend.newBindings());
    const pair = await createPair(backend, { bindings: rec.bindings });
    try {
      const { src, dst } = await linkedCaches(pair);
      rec.delayMs = 100;
      const abandoned = pair.decoder.pullBlocks({ from: { clusterId: 1n, cacheId: src.id }, into: dst, srcBlocks: [2], dstBlocks: [2], timeoutMs: 10 }).catch((e: unknown) => e);
      expect(await abandoned).toBeInstanceOf(TimeoutError);
      {
        await using owned = dst;
        expect(owned.pendingTransfers).toBe(1);
      }
      expect(dst.pendingTransfers).toBe(0);
      expect(dst.registered).toBe(false);
      expect(rec.calls.filter((c) => c.name === 'LlmDataDist_UnregisterKvCache').map((c) => c.args[1])).toEqual([dst.id]);
      rec.delayMs = 0;
      await pair.decoder.unlink(1n);
    } finally {
      rec.delayMs = 0;
      await pair.dispose();
    }
  });

  it('refuses a push from a host cache, and transfers on an unregistered cache', async () => {
    const rec = recordingBindings(backend.newBindings());
    const pair = await createPair(backend, { bindings: rec.bindings });
    try {
      const { src, dst } = await linkedCaches(pair);
      const before = rec.calls.length;
      await expect(pair.decoder.pushBlocks({ from: dst, to: { clusterId: 1n, cacheId: src.id }, srcBlocks: [0], dstBlocks: [0] })).rejects.toThrow(
        /placement 'device'/,
      );
      expect(rec.calls.length).toBe(before);
      await pair.decoder.unlink(1n);
      dst.unregister();
      const afterUnregister = rec.calls.length;
      await expect(pair.decoder.pullBlocks({ from: { clusterId: 1n, cacheId: src.id }, into: dst, srcBlocks: [0], dstBlocks: [0] })).rejects.toThrow(
        CacheNotFoundError,
      );
      expect(rec.calls.length).toBe(afterUnregister);
    } finally {
      await pair.dispose();
    }
  });
});
