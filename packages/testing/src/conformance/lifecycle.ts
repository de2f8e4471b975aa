import { LlmRole, OptionKey, makeCache, makeCacheDesc, makeCacheIndex, type Bindings, type LlmDataDistHandle } from '@dd/sys';
import { describe, expect, it } from 'vitest';
import { pullPair } from './fixtures.js';
import { Harness, LINK_TIMEOUT_MS, blocks, expectStatus } from './harness.js';

function featureNotEnabled(b: Bindings, dd: LlmDataDistHandle): void {
  const cache = makeCache({ cache_id: 1n });
  expectStatus(b.LlmDataDist_AllocateCache(dd, makeCacheDesc()).status, 'LLM_FEATURE_NOT_ENABLED');
  expectStatus(b.LlmDataDist_DeallocateCache(dd, 1n), 'LLM_FEATURE_NOT_ENABLED');
  expectStatus(b.LlmDataDist_CopyKvCache(dd, cache, cache), 'LLM_FEATURE_NOT_ENABLED');
  expectStatus(b.LlmDataDist_CopyKvBlocks(dd, cache, cache, blocks(0), [blocks(1)]), 'LLM_FEATURE_NOT_ENABLED');
}

/** Every call that needs an initialized instance answers LLM_FAILED, sync and async. */
async function everyCallFails(h: Harness, dd: LlmDataDistHandle): Promise<void> {
  const { b } = h;
  const memory = h.memory({ tensors: 1, rows: 2, rowElements: 4 }, 1);
  const cluster = Harness.clusterInfo(1n, '127.0.0.1:9');
  const index = makeCacheIndex({ cluster_id: 1n, cache_id: 1n });
  const cache = makeCache({ cache_id: 1n, cache_desc: memory.desc });
  expectStatus(b.LlmDataDist_SetRole(dd, LlmRole.kPrompt), 'LLM_FAILED');
  for (const result of [b.LlmDataDist_LinkLlmClusters(dd, [cluster], LINK_TIMEOUT_MS), await b.LlmDataDist_LinkLlmClustersAsync(dd, [cluster], LINK_TIMEOUT_MS)]) {
    expectStatus(result.status, 'LLM_FAILED');
    expect(result.rets.length).toBe(0);
  }
  expectStatus(b.LlmDataDist_UnlinkLlmClusters(dd, [cluster], LINK_TIMEOUT_MS).status, 'LLM_FAILED');
  expectStatus((await b.LlmDataDist_UnlinkLlmClustersAsync(dd, [cluster], LINK_TIMEOUT_MS)).status, 'LLM_FAILED');
  expectStatus(b.LlmDataDist_RegisterKvCache(dd, memory.desc, memory.addrs).status, 'LLM_FAILED');
  expectStatus(b.LlmDataDist_UnregisterKvCache(dd, 1n), 'LLM_FAILED');
  expectStatus(b.LlmDataDist_PullKvCache(dd, index, cache), 'LLM_FAILED');
  expectStatus(await b.LlmDataDist_PullKvCacheAsync(dd, index, cache), 'LLM_FAILED');
  expectStatus(b.LlmDataDist_PullKvBlocks(dd, index, cache, blocks(0), blocks(0)), 'LLM_FAILED');
  expectStatus(await b.LlmDataDist_PullKvBlocksAsync(dd, index, cache, blocks(0), blocks(0)), 'LLM_FAILED');
  expectStatus(b.LlmDataDist_PushKvCache(dd, cache, index), 'LLM_FAILED');
  expectStatus(await b.LlmDataDist_PushKvCacheAsync(dd, cache, index), 'LLM_FAILED');
  expectStatus(b.LlmDataDist_PushKvBlocks(dd, cache, index, blocks(0), blocks(0)), 'LLM_FAILED');
  expectStatus(await b.LlmDataDist_PushKvBlocksAsync(dd, cache, index, blocks(0), blocks(0)), 'LLM_FAILED');
  // The initialized check comes first: arguments that break every other rule change nothing.
  expectStatus(b.LlmDataDist_PullKvCache(dd, { ...index, cluster_id: 0n }, cache, 0, 0n), 'LLM_FAILED');
  expectStatus(b.LlmDataDist_LinkLlmClusters(dd, [], 0).status, 'LLM_FAILED');
}

export function describeLifecycle(h: Harness): void {
  describe('lifecycle', () => {
    it('B §3.1: create only stores its arguments: distinct, non-zero handles, any role until Initialize', () => {
      const first = h.create();
      const second = h.create(h.clusterId(), LlmRole.kEnd);
      expect(first).not.toBe(0n);
      expect(second).not.toBe(first);
    });

    it('B §3.1: every call before Initialize is LLM_FAILED, the initialized check first', async () => {
      await everyCallFails(h, h.create());
    });

    it('B §3.1: every call after Finalize is LLM_FAILED again', async () => {
      const dd = h.client();
      expectStatus(h.b.LlmDataDist_Finalize(dd.handle), 'LLM_SUCCESS');
      await everyCallFails(h, dd.handle);
    });

    it('B §3.1: Finalize of an uninitialized instance does nothing', () => {
      const dd = h.create();
      expectStatus(h.b.LlmDataDist_Finalize(dd), 'LLM_SUCCESS');
      expectStatus(h.b.LlmDataDist_Finalize(dd), 'LLM_SUCCESS');
      expectStatus(h.b.LlmDataDist_Initialize(dd, Harness.options()), 'LLM_SUCCESS');
    });

    it('B §3.1: AllocateCache, DeallocateCache, CopyKvCache and CopyKvBlocks are FEATURE_NOT_ENABLED before, during and after', () => {
      const dd = h.create();
      featureNotEnabled(h.b, dd);
      expectStatus(h.b.LlmDataDist_Initialize(dd, Harness.options()), 'LLM_SUCCESS');
      featureNotEnabled(h.b, dd);
      expectStatus(h.b.LlmDataDist_Finalize(dd), 'LLM_SUCCESS');
      featureNotEnabled(h.b, dd);
    });

    it('B §3.1: a repeat Initialize returns SUCCESS and ignores its options', async () => {
      const server = await h.server();
      const other = await h.address();
      expectStatus(h.b.LlmDataDist_Initialize(server.handle, { [OptionKey.OPTION_DEVICE_ID]: 'not a number' }), 'LLM_SUCCESS');
      expectStatus(h.b.LlmDataDist_Initialize(server.handle, Harness.options({ [OptionKey.OPTION_LISTEN_IP_INFO]: other })), 'LLM_SUCCESS');
      const client = h.client();
      expectStatus(h.linkTo(client, [Harness.clusterInfo(server.clusterId, other)]).status, 'LLM_LINK_FAILED');
      h.link(client, server);
    });

    it('B §3.1: Initialize after Finalize works, registrations are gone and cache ids restart at 1 (A13)', () => {
      const dd = h.client();
      const memory = h.memory({ tensors: 1, rows: 2, rowElements: 4 }, 1);
      expect(h.register(dd, memory)).toBe(1n);
      expect(h.register(dd, memory)).toBe(2n);
      expectStatus(h.b.LlmDataDist_Finalize(dd.handle), 'LLM_SUCCESS');
      expectStatus(h.b.LlmDataDist_Initialize(dd.handle, Harness.options()), 'LLM_SUCCESS');
      const index = makeCacheIndex({ cluster_id: dd.clusterId + 1n, cache_id: 1n });
      expectStatus(h.b.LlmDataDist_PullKvCache(dd.handle, index, makeCache({ cache_id: 2n })), 'LLM_KV_CACHE_NOT_EXIST');
      expect(h.register(dd, memory)).toBe(1n);
    });

    it('A16: Finalize stops the listener and frees its address', async () => {
      const server = await h.server();
      expectStatus(h.b.LlmDataDist_Finalize(server.handle), 'LLM_SUCCESS');
      const client = h.client();
      expectStatus(h.linkTo(client, [Harness.to(server)]).status, 'LLM_LINK_FAILED');
      const successor = h.create(server.clusterId);
      expectStatus(h.b.LlmDataDist_Initialize(successor, Harness.options({ [OptionKey.OPTION_LISTEN_IP_INFO]: server.address ?? '' })), 'LLM_SUCCESS');
      h.link(client, { handle: successor, clusterId: server.clusterId, address: server.address });
    });

    it('A16: destroying an initialized instance does what Finalize does: its listener is gone', async () => {
      const server = await h.server();
      h.destroy(server.handle);
      expectStatus(h.linkTo(h.client(), [Harness.to(server)]).status, 'LLM_LINK_FAILED');
    });

    it('A16: Finalize tears its links down on its own side only; the peer keeps its end until it unlinks', async () => {
      const pair = await pullPair(h);
      expectStatus(h.b.LlmDataDist_Finalize(pair.server.handle), 'LLM_SUCCESS');
      expect(h.hasLink(pair.client, pair.server.clusterId)).toBe(true);
      expect(h.holdsAnyLink(pair.client)).toBe(true);
      expectStatus(h.unlink(pair.client, pair.server, true), 'LLM_SUCCESS');
      expect(h.holdsAnyLink(pair.client)).toBe(false);
    });

    it('A16: a client that finalized and comes back links again as a forced rebuild of the server\'s stale side', async () => {
      const pair = await pullPair(h);
      expectStatus(h.b.LlmDataDist_Finalize(pair.client.handle), 'LLM_SUCCESS');
      expect(h.hasLink(pair.server, pair.client.clusterId)).toBe(true);
      expectStatus(h.b.LlmDataDist_Initialize(pair.client.handle, Harness.options()), 'LLM_SUCCESS');
      const dstId = h.register(pair.client, pair.dst);
      h.link(pair.client, pair.server);
      expectStatus(h.b.LlmDataDist_PullKvBlocks(pair.client.handle, pair.srcIndex, makeCache({ cache_id: dstId }), blocks(1), blocks(2)), 'LLM_SUCCESS');
    });
  });
}
