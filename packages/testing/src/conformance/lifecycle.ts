import {
  LlmRole,
  OptionKey,
  makeCache,
  makeCacheDesc,
  makeCacheIndex,
  type Bindings,
  type LlmDataDistHandle,
} from '@dd/sys';
import { describe, expect, it } from 'vitest';
import { Harness, LINK_TIMEOUT_MS, blocks, expectStatus } from './harness.js';

function featureNotEnabled(b: Bindings, dd: LlmDataDistHandle): void {
  const cache = makeCache({ cache_id: 1n });
  expectStatus(b.LlmDataDist_AllocateCache(dd, makeCacheDesc()).status, 'LLM_FEATURE_NOT_ENABLED');
  expectStatus(b.LlmDataDist_DeallocateCache(dd, 1n), 'LLM_FEATURE_NOT_ENABLED');
  expectStatus(b.LlmDataDist_CopyKvCache(dd, cache, cache), 'LLM_FEATURE_NOT_ENABLED');
  expectStatus(b.LlmDataDist_CopyKvBlocks(dd, cache, cache, blocks(0), [blocks(1)]), 'LLM_FEATURE_NOT_ENABLED');
}

export function describeLifecycle(h: Harness): void {
  describe('lifecycle (facts §3.1)', () => {
    it('create gives distinct, non-zero handles', () => {
      const first = h.create();
      const second = h.create();
      expect(first).not.toBe(0n);
      expect(second).not.toBe(first);
    });

    it('every call before Initialize returns LLM_FAILED', async () => {
      const { b } = h;
      const dd = h.create();
      const memory = h.memory({ tensors: 1, rows: 2, rowElements: 4 }, 1);
      const cluster = Harness.clusterInfo(1n, '127.0.0.1:9');
      const index = makeCacheIndex({ cluster_id: 1n, cache_id: 1n });
      const cache = makeCache({ cache_id: 1n, cache_desc: memory.desc });
      expectStatus(b.LlmDataDist_SetRole(dd, LlmRole.kPrompt), 'LLM_FAILED');
      expectStatus(b.LlmDataDist_LinkLlmClusters(dd, [cluster], LINK_TIMEOUT_MS).status, 'LLM_FAILED');
      expectStatus((await b.LlmDataDist_LinkLlmClustersAsync(dd, [cluster], LINK_TIMEOUT_MS)).status, 'LLM_FAILED');
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
    });

    it('Finalize before Initialize does nothing', () => {
      const dd = h.create();
      expectStatus(h.b.LlmDataDist_Finalize(dd), 'LLM_SUCCESS');
      expectStatus(h.b.LlmDataDist_Initialize(dd, Harness.options()), 'LLM_SUCCESS');
    });

    it('AllocateCache, DeallocateCache, CopyKvCache and CopyKvBlocks are FEATURE_NOT_ENABLED, before and after Initialize', () => {
      const dd = h.create();
      featureNotEnabled(h.b, dd);
      expectStatus(h.b.LlmDataDist_Initialize(dd, Harness.options()), 'LLM_SUCCESS');
      featureNotEnabled(h.b, dd);
    });

    it('a repeat Initialize returns SUCCESS and changes nothing', async () => {
      const server = await h.server();
      const other = await h.address();
      expectStatus(h.b.LlmDataDist_Initialize(server.handle, { [OptionKey.OPTION_DEVICE_ID]: 'not a number' }), 'LLM_SUCCESS');
      expectStatus(h.b.LlmDataDist_Initialize(server.handle, Harness.options({ [OptionKey.OPTION_LISTEN_IP_INFO]: other })), 'LLM_SUCCESS');
      const client = h.client();
      const toOther = h.b.LlmDataDist_LinkLlmClusters(client.handle, [Harness.clusterInfo(server.clusterId, other)], LINK_TIMEOUT_MS);
      expectStatus(toOther.status, 'LLM_LINK_FAILED');
      h.link(client, server);
    });

    it('Finalize ends the instance: calls fail, registrations are gone, Initialize works again', () => {
      const dd = h.client();
      const memory = h.memory({ tensors: 1, rows: 2, rowElements: 4 }, 1);
      const cacheId = h.register(dd, memory);
      expectStatus(h.b.LlmDataDist_Finalize(dd.handle), 'LLM_SUCCESS');
      expectStatus(h.b.LlmDataDist_RegisterKvCache(dd.handle, memory.desc, memory.addrs).status, 'LLM_FAILED');
      expectStatus(h.b.LlmDataDist_Initialize(dd.handle, Harness.options()), 'LLM_SUCCESS');
      const index = makeCacheIndex({ cluster_id: dd.clusterId + 1n, cache_id: 1n });
      expectStatus(h.b.LlmDataDist_PullKvCache(dd.handle, index, makeCache({ cache_id: cacheId })), 'LLM_KV_CACHE_NOT_EXIST');
    });

    it('Finalize stops the listener and frees its address', async () => {
      const server = await h.server();
      expectStatus(h.b.LlmDataDist_Finalize(server.handle), 'LLM_SUCCESS');
      const client = h.client();
      const refused = h.b.LlmDataDist_LinkLlmClusters(client.handle, [Harness.clusterInfo(server.clusterId, server.address ?? '')], LINK_TIMEOUT_MS);
      expectStatus(refused.status, 'LLM_LINK_FAILED');
      const successor = h.create(server.clusterId);
      expectStatus(h.b.LlmDataDist_Initialize(successor, Harness.options({ [OptionKey.OPTION_LISTEN_IP_INFO]: server.address ?? '' })), 'LLM_SUCCESS');
      h.link(client, { handle: successor, clusterId: server.clusterId, address: server.address });
    });

    it('destroying an initialized instance stops its listener', async () => {
      const server = await h.server();
      h.destroy(server.handle);
      const client = h.client();
      const refused = h.b.LlmDataDist_LinkLlmClusters(client.handle, [Harness.clusterInfo(server.clusterId, server.address ?? '')], LINK_TIMEOUT_MS);
      expectStatus(refused.status, 'LLM_LINK_FAILED');
    });

    it('lastError names the method and status of a failure, and a success clears it', () => {
      const dd = h.create();
      expectStatus(h.b.LlmDataDist_Initialize(dd, {}), 'LLM_PARAM_INVALID');
      expect(h.b.lastError().startsWith('Initialize: LLM_PARAM_INVALID')).toBe(true);
      expectStatus(h.b.LlmDataDist_Initialize(dd, Harness.options()), 'LLM_SUCCESS');
      expect(h.b.lastError()).toBe('');
    });
  });
}
