import { OptionKey, makeCache } from '@dd/sys';
import { describe, expect, it } from 'vitest';
import { pullPair, pushPair, unchanged } from './fixtures.js';
import { Harness, blocks, expectBytes, expectStatus, initialRowOf, rowOf } from './harness.js';

export function describeCacheTable(h: Harness): void {
  const shape = { tensors: 4, rows: 8, rowElements: 16 };

  describe('the peer\'s cache table and bound memory (A23)', () => {
    it('A23: a cache the peer registers after the link\'s first transfer is not in the fetched table: KV_CACHE_NOT_EXIST', async () => {
      const pair = await pullPair(h);
      expectStatus(h.b.LlmDataDist_PullKvCache(pair.client.handle, pair.srcIndex, pair.dstCache), 'LLM_SUCCESS');
      const late = h.register(pair.server, h.memory(shape, 5));
      expectStatus(h.b.LlmDataDist_PullKvCache(pair.client.handle, { ...pair.srcIndex, cache_id: late }, pair.dstCache), 'LLM_KV_CACHE_NOT_EXIST');
    });

    it('choice A23: a cache registered after the link was made is not bound to it: LLM_FAILED, local or remote, nothing written', async () => {
      const pair = await pullPair(h);
      const lateRemote = h.register(pair.server, h.memory(shape, 5));
      expectStatus(h.b.LlmDataDist_PullKvCache(pair.client.handle, { ...pair.srcIndex, cache_id: lateRemote }, pair.dstCache), 'LLM_FAILED');
      const lateLocal = h.memory(shape, 6);
      const lateLocalId = h.register(pair.client, lateLocal);
      expectStatus(h.b.LlmDataDist_PullKvBlocks(pair.client.handle, pair.srcIndex, makeCache({ cache_id: lateLocalId }), blocks(1), blocks(1)), 'LLM_FAILED');
      expect(unchanged(pair.dst)).toBe(true);
      expect(unchanged(lateLocal)).toBe(true);
    });

    it('choice A23: the same for a push of a cache registered after the link', async () => {
      const pair = await pushPair(h);
      const late = h.memory({ ...shape, placement: pair.src.desc.placement }, 7);
      const lateId = h.register(pair.client, late);
      const status = h.b.LlmDataDist_PushKvBlocks(pair.client.handle, { ...pair.srcCache, cache_id: lateId }, pair.dstIndex, blocks(0), blocks(0));
      expectStatus(status, 'LLM_FAILED');
      expect(unchanged(pair.dst)).toBe(true);
    });

    it('A23: unlink and link again refreshes the table and binds the late caches', async () => {
      const pair = await pullPair(h);
      expectStatus(h.b.LlmDataDist_PullKvCache(pair.client.handle, pair.srcIndex, pair.dstCache), 'LLM_SUCCESS');
      const late = h.memory(shape, 5);
      const lateId = h.register(pair.server, late);
      expectStatus(h.unlink(pair.client, pair.server), 'LLM_SUCCESS');
      h.link(pair.client, pair.server);
      expectStatus(h.b.LlmDataDist_PullKvBlocks(pair.client.handle, { ...pair.srcIndex, cache_id: lateId }, pair.dstCache, blocks(6), blocks(2)), 'LLM_SUCCESS');
      late.tensors.forEach((_tensor, t) => expectBytes(rowOf(pair.dst, t, 2), initialRowOf(late, t, 6), `tensor ${t}`));
    });

    it('A1/A23: a link naming a wrong remote_cluster_id is a forced rebuild, which refreshes the table too', async () => {
      const pair = await pullPair(h);
      expectStatus(h.b.LlmDataDist_PullKvCache(pair.client.handle, pair.srcIndex, pair.dstCache), 'LLM_SUCCESS');
      const lateId = h.register(pair.server, h.memory(shape, 5));
      expectStatus(h.linkTo(pair.client, [Harness.clusterInfo(pair.server.clusterId + 7000n, pair.server.address ?? '')]).status, 'LLM_SUCCESS');
      expectStatus(h.b.LlmDataDist_PullKvCache(pair.client.handle, { ...pair.srcIndex, cache_id: lateId }, pair.dstCache), 'LLM_SUCCESS');
    });

    h.deviation('D6: a cache the peer unregistered after the table was fetched is KV_CACHE_NOT_EXIST', async () => {
      const pair = await pullPair(h);
      expectStatus(h.b.LlmDataDist_PullKvCache(pair.client.handle, pair.srcIndex, pair.dstCache), 'LLM_SUCCESS');
      expectStatus(h.b.LlmDataDist_UnregisterKvCache(pair.server.handle, pair.srcIndex.cache_id), 'LLM_SUCCESS');
      const before = pair.dst.tensors.map((tensor) => tensor.slice());
      expectStatus(h.b.LlmDataDist_PullKvCache(pair.client.handle, pair.srcIndex, pair.dstCache, 3), 'LLM_KV_CACHE_NOT_EXIST');
      pair.dst.tensors.forEach((tensor, t) => expectBytes(tensor, before[t] as Uint8Array, `tensor ${t}`));
    });

    h.deviation('D7: unregistering a cache an async pull reads either waits for the pull (all its bytes) or comes first (KV_CACHE_NOT_EXIST, none)', async () => {
      const pair = await pullPair(h);
      const pending = h.b.LlmDataDist_PullKvCacheAsync(pair.client.handle, { ...pair.srcIndex, batch_index: 2 }, pair.dstCache, 6);
      expectStatus(h.b.LlmDataDist_UnregisterKvCache(pair.server.handle, pair.srcIndex.cache_id), 'LLM_SUCCESS');
      const status = await pending;
      if (status === 0) pair.dst.tensors.forEach((_tensor, t) => expectBytes(rowOf(pair.dst, t, 6), initialRowOf(pair.src, t, 2), `tensor ${t}`));
      else {
        expectStatus(status, 'LLM_KV_CACHE_NOT_EXIST');
        expect(unchanged(pair.dst)).toBe(true);
      }
    });

    it('choice A8/B §1.3 (UT sync-timeout → TIMEOUT): with SyncKvCacheWaitTime "0" every pull and push is LLM_TIMEOUT, nothing transferred', async () => {
      const zero = { [OptionKey.OPTION_SYNC_CACHE_WAIT_TIME]: '0' };
      const pull = await pullPair(h, undefined, undefined, { clientOptions: zero });
      expectStatus(h.b.LlmDataDist_PullKvCache(pull.client.handle, pull.srcIndex, pull.dstCache), 'LLM_TIMEOUT');
      expectStatus(await h.b.LlmDataDist_PullKvBlocksAsync(pull.client.handle, pull.srcIndex, pull.dstCache, blocks(1), blocks(2)), 'LLM_TIMEOUT');
      expectStatus(h.b.LlmDataDist_PullKvCache(pull.client.handle, { ...pull.srcIndex, cache_id: 77n }, pull.dstCache), 'LLM_TIMEOUT');
      expect(unchanged(pull.dst)).toBe(true);
      const push = await pushPair(h, undefined, undefined, { clientOptions: zero });
      expectStatus(h.b.LlmDataDist_PushKvCache(push.client.handle, push.srcCache, push.dstIndex), 'LLM_TIMEOUT');
      expectStatus(await h.b.LlmDataDist_PushKvBlocksAsync(push.client.handle, push.srcCache, push.dstIndex, blocks(0), blocks(1)), 'LLM_TIMEOUT');
      expect(unchanged(push.dst)).toBe(true);
    });
  });
}
