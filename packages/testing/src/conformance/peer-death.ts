import { LlmRole, OptionKey, makeCache, makeCacheIndex } from '@dd/sys';
import { describe, expect, it } from 'vitest';
import { pullPair, pushPair, unchanged } from './fixtures.js';
import { statusName } from '../outcome.js';
import { Harness, blocks, expectRets, expectStatus } from './harness.js';

// Far past the suite's 30 s bound: a backend that waited for the deadline instead of answering
// as soon as it knows the peer is gone would fail the case by running out of time.
const LONG_WAIT = { [OptionKey.OPTION_SYNC_CACHE_WAIT_TIME]: '600000' };

export function describePeerDeath(h: Harness): void {
  describe('a peer that dies or finalizes (A16)', () => {
    it('choice A1/A16: pulls over a link whose peer died are LLM_TIMEOUT at once, sync and async; nothing is written', async () => {
      const pair = await pullPair(h, undefined, undefined, { clientOptions: LONG_WAIT });
      await h.kill(pair.server);
      expectStatus(h.b.LlmDataDist_PullKvCache(pair.client.handle, pair.srcIndex, pair.dstCache), 'LLM_TIMEOUT');
      expectStatus(await h.b.LlmDataDist_PullKvBlocksAsync(pair.client.handle, pair.srcIndex, pair.dstCache, blocks(0), blocks(1)), 'LLM_TIMEOUT');
      expect(unchanged(pair.dst)).toBe(true);
    });

    it('choice A1/A16: pushes over a link whose peer died are LLM_TIMEOUT at once, sync and async', async () => {
      const pair = await pushPair(h, undefined, undefined, { clientOptions: LONG_WAIT });
      await h.kill(pair.server);
      expectStatus(h.b.LlmDataDist_PushKvCache(pair.client.handle, pair.srcCache, pair.dstIndex), 'LLM_TIMEOUT');
      expectStatus(await h.b.LlmDataDist_PushKvBlocksAsync(pair.client.handle, pair.srcCache, pair.dstIndex, blocks(0), blocks(1)), 'LLM_TIMEOUT');
    });

    it('choice A1/A16: the same after the peer finalized, also when the table was fetched before', async () => {
      const pair = await pullPair(h, undefined, undefined, { clientOptions: LONG_WAIT });
      expectStatus(h.b.LlmDataDist_PullKvCache(pair.client.handle, pair.srcIndex, pair.dstCache), 'LLM_SUCCESS');
      expectStatus(h.b.LlmDataDist_Finalize(pair.server.handle), 'LLM_SUCCESS');
      expectStatus(h.b.LlmDataDist_PullKvCache(pair.client.handle, pair.srcIndex, pair.dstCache, 1), 'LLM_TIMEOUT');
      expectStatus(await h.b.LlmDataDist_PullKvCacheAsync(pair.client.handle, pair.srcIndex, pair.dstCache, 2), 'LLM_TIMEOUT');
    });

    it('choice A16: the local checks and the link lookup still come first', async () => {
      const pair = await pullPair(h, undefined, undefined, { clientOptions: LONG_WAIT });
      await h.kill(pair.server);
      expectStatus(h.b.LlmDataDist_PullKvCache(pair.client.handle, pair.srcIndex, makeCache({ cache_id: 99n })), 'LLM_KV_CACHE_NOT_EXIST');
      expectStatus(h.b.LlmDataDist_PullKvCache(pair.client.handle, pair.srcIndex, pair.dstCache, 8), 'LLM_PARAM_INVALID');
      expectStatus(h.b.LlmDataDist_PullKvCache(pair.client.handle, { ...pair.srcIndex, cluster_id: pair.server.clusterId + 1000n }, pair.dstCache), 'LLM_NOT_YET_LINK');
    });

    it('A16: the survivor keeps its end (SetRole EXIST_LINK) until it force-unlinks; then NOT_YET_LINK', async () => {
      const pair = await pullPair(h);
      await h.kill(pair.server);
      expect(h.holdsAnyLink(pair.client)).toBe(true);
      expectStatus(h.unlink(pair.client, pair.server), 'LLM_UNLINK_FAILED');
      expectStatus(h.unlink(pair.client, pair.server, true), 'LLM_SUCCESS');
      expect(h.holdsAnyLink(pair.client)).toBe(false);
      expectStatus(h.b.LlmDataDist_PullKvCache(pair.client.handle, pair.srcIndex, pair.dstCache), 'LLM_NOT_YET_LINK');
    });

    it('A16: a dead client leaves the server a dangling link: its pulls from it time out, and a successor with that id links by forced rebuild', async () => {
      const server = await h.server(undefined, LONG_WAIT);
      const client = h.client();
      const into = h.memory({ tensors: 1, rows: 2, rowElements: 4 }, 5);
      const intoId = h.register(server, into);
      h.link(client, server);
      await h.kill(client);
      const fromDead = makeCacheIndex({ cluster_id: client.clusterId, cache_id: 1n });
      expectStatus(h.b.LlmDataDist_PullKvCache(server.handle, fromDead, makeCache({ cache_id: intoId })), 'LLM_TIMEOUT');
      const successor = h.client(undefined, {}, client.clusterId);
      const from = h.memory({ tensors: 1, rows: 2, rowElements: 4 }, 6);
      const fromId = h.register(successor, from);
      h.link(successor, server);
      expectStatus(h.b.LlmDataDist_PullKvCache(server.handle, { ...fromDead, cache_id: fromId }, makeCache({ cache_id: intoId })), 'LLM_SUCCESS');
    });

    h.deviation('D17: an accepted link whose peer died gives its dd.MaxLinks slot back at once and stays filed under the peer\'s id', async () => {
      const server = await h.server(LlmRole.kPrompt, { 'dd.MaxLinks': '1', ...LONG_WAIT });
      const dead = h.client();
      h.link(dead, server);
      expectRets(h.linkTo(h.client(), [Harness.to(server)]), 'LLM_LINK_FAILED', ['LLM_LINK_FAILED']);
      await h.kill(dead);
      // A backend learns of the death from the connection; a bounded wait covers the kernel's notice.
      let linked = false;
      for (let attempt = 0; attempt < 100 && !linked; attempt += 1) {
        linked = statusName(h.linkTo(h.client(), [Harness.to(server)]).status) === 'LLM_SUCCESS';
        if (!linked) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(linked).toBe(true);
      expect(h.hasLink(server, dead.clusterId)).toBe(true);
    });

    it('A16: an engine that died can still be finalized, unregistered from and destroyed without throwing', async () => {
      const pair = await pullPair(h);
      await h.kill(pair.server);
      await h.kill(pair.client);
      // Whatever the backend left of them is torn down by the suite after each case; nothing throws.
    });

    it('choice A24: a pull in flight while its link is unlinked either completes with its bytes or is NOT_YET_LINK with none', async () => {
      const pair = await pullPair(h);
      const pending = h.b.LlmDataDist_PullKvCacheAsync(pair.client.handle, { ...pair.srcIndex, batch_index: 3 }, pair.dstCache, 5);
      expectStatus(h.unlink(pair.client, pair.server), 'LLM_SUCCESS');
      const status = await pending;
      if (status === 0) expect(unchanged(pair.dst)).toBe(false);
      else {
        expectStatus(status, 'LLM_NOT_YET_LINK');
        expect(unchanged(pair.dst)).toBe(true);
      }
    });
  });
}
