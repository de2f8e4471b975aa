import { CachePlacement, LlmRole, makeCache, makeCacheIndex } from '@dd/sys';
import { describe, expect, it } from 'vitest';
import { pullPair } from './fixtures.js';
import { Harness, LINK_TIMEOUT_MS, blocks, expectBytes, expectRets, expectStatus, initialRowOf, names, rowOf, type Engine } from './harness.js';

const SHORT_TIMEOUT_MS = 300;

export function describeLinks(h: Harness): void {
  /** A cache of the upstream shape on `engine`, registered now (so before the links a test makes next). */
  const cacheOn = (engine: Engine, seed = 7) => {
    const memory = h.memory({ tensors: 4, rows: 8, rowElements: 16 }, seed);
    return { memory, id: h.register(engine, memory) };
  };
  /** Pulls block 1 of cache `cacheId` of cluster `clusterId` into block 0 of `into`'s cache `dstId`: the status. */
  const pullFrom = (into: Engine, clusterId: bigint, cacheId: bigint, dstId: bigint): number =>
    h.b.LlmDataDist_PullKvBlocks(into.handle, makeCacheIndex({ cluster_id: clusterId, cache_id: cacheId }), makeCache({ cache_id: dstId }), blocks(1), blocks(0));

  describe('LinkLlmClusters', () => {
    it('B §3.3: links a client to a server: SUCCESS with one SUCCESS per cluster, sync and async', async () => {
      const server = await h.server();
      expectRets(h.linkTo(h.client(), [Harness.to(server)]), 'LLM_SUCCESS', ['LLM_SUCCESS']);
      expectRets(await h.b.LlmDataDist_LinkLlmClustersAsync(h.client().handle, [Harness.to(server)], LINK_TIMEOUT_MS), 'LLM_SUCCESS', ['LLM_SUCCESS']);
    });

    it.each([0, -1])('B §3.3: timeout %d is PARAM_INVALID, rets stay empty (A26)', async (timeout) => {
      const server = await h.server();
      expectRets(h.linkTo(h.client(), [Harness.to(server)], timeout), 'LLM_PARAM_INVALID', []);
    });

    it('B §3.3: an empty cluster list is PARAM_INVALID', () => {
      expectRets(h.linkTo(h.client(), []), 'LLM_PARAM_INVALID', []);
    });

    it.each([
      ['an empty remote ip', { remote_ip_infos: [{ ip: '', port: 26000 }] }],
      ['an IPv6 remote ip', { remote_ip_infos: [{ ip: '::1', port: 26000 }] }],
      ['a remote ip past 255', { remote_ip_infos: [{ ip: '300.1.1.1', port: 26000 }] }],
      ['a remote ip with a leading zero', { remote_ip_infos: [{ ip: '127.0.0.01', port: 26000 }] }],
      ['a local ip that is a host name', { local_ip_infos: [{ ip: 'localhost', port: 0 }] }],
    ])('B §3.3: %s anywhere in the list rejects the whole call: PARAM_INVALID, empty rets, nothing linked', async (_name, change) => {
      const server = await h.server();
      const client = h.client();
      expectRets(h.linkTo(client, [Harness.to(server), Harness.to(server, change)]), 'LLM_PARAM_INVALID', []);
      expect(h.hasLink(client, server.clusterId)).toBe(false);
    });

    it.each([
      ['no remote ip', { remote_ip_infos: [] }],
      ['two remote ips', { remote_ip_infos: [{ ip: '127.0.0.1', port: 1 }, { ip: '127.0.0.1', port: 2 }] }],
    ])('B §3.3: a cluster with %s fails in its own rets slot; the other clusters link', async (_name, change) => {
      const server = await h.server();
      const other = await h.server();
      const client = h.client();
      expectRets(h.linkTo(client, [Harness.to(other, change), Harness.to(server)]), 'LLM_PARAM_INVALID', ['LLM_PARAM_INVALID', 'LLM_SUCCESS']);
      expect(h.hasLink(client, server.clusterId)).toBe(true);
    });

    it('B §3.3: one status per cluster in order; the call returns the last non-success by index', async () => {
      const server = await h.server();
      const nowhere = await h.address();
      const client = h.client();
      const good = Harness.to(server);
      const absent = Harness.clusterInfo(h.clusterId(), nowhere);
      expectRets(h.linkTo(client, [good, absent]), 'LLM_LINK_FAILED', ['LLM_SUCCESS', 'LLM_LINK_FAILED']);
      expectRets(h.linkTo(client, [absent, good]), 'LLM_ALREADY_LINK', ['LLM_LINK_FAILED', 'LLM_ALREADY_LINK']);
      expectRets(h.linkTo(client, [good, absent]), 'LLM_LINK_FAILED', ['LLM_ALREADY_LINK', 'LLM_LINK_FAILED']);
    });

    it('B §3.3: V2 does not check V1\'s 16 clusters per call: 17 link in one call', async () => {
      const servers: Engine[] = [];
      for (let i = 0; i < 17; i += 1) servers.push(await h.server());
      const result = h.linkTo(h.client(), servers.map((server) => Harness.to(server)));
      expectRets(result, 'LLM_SUCCESS', servers.map(() => 'LLM_SUCCESS'));
    });

    it('A26: rets stay empty after a call-level error, also before Initialize', () => {
      const cluster = Harness.clusterInfo(1n, '127.0.0.1:9');
      expectRets(h.b.LlmDataDist_LinkLlmClusters(h.create(), [cluster], LINK_TIMEOUT_MS), 'LLM_FAILED', []);
      expectRets(h.linkTo(h.client(), [Harness.clusterInfo(1n, '127.0.0.1:9', { local_ip_infos: [{ ip: 'x', port: 0 }] })]), 'LLM_PARAM_INVALID', []);
    });

    it('A1: the client stores the link under the server\'s own cluster id: remote_cluster_id 0 links, and a pull names the server (UT)', async () => {
      const pair = await pullPair(h);
      const client = h.client();
      const dst = cacheOn(client);
      expectRets(h.linkTo(client, [Harness.clusterInfo(0n, pair.server.address ?? '')]), 'LLM_SUCCESS', ['LLM_SUCCESS']);
      expectStatus(pullFrom(client, pair.server.clusterId, pair.srcIndex.cache_id, dst.id), 'LLM_SUCCESS');
      pair.src.initial.forEach((_tensor, t) => expectBytes(rowOf(dst.memory, t, 0), initialRowOf(pair.src, t, 1), `tensor ${t}`));
      expect(h.hasLink(client, 0n)).toBe(false);
    });

    it('A1: a pull or push naming the remote_cluster_id that was given instead of the server\'s is NOT_YET_LINK', async () => {
      const pair = await pullPair(h);
      const client = h.client();
      const dst = cacheOn(client);
      expectStatus(h.linkTo(client, [Harness.clusterInfo(4242n, pair.server.address ?? '')]).status, 'LLM_SUCCESS');
      expectStatus(pullFrom(client, 4242n, pair.srcIndex.cache_id, dst.id), 'LLM_NOT_YET_LINK');
      const push = h.b.LlmDataDist_PushKvBlocks(client.handle, makeCache({ cache_id: dst.id, cache_desc: { ...dst.memory.desc, placement: CachePlacement.kDevice } }), makeCacheIndex({ cluster_id: 4242n, cache_id: 1n }), blocks(0), blocks(0));
      expectStatus(push, 'LLM_NOT_YET_LINK');
    });

    it('A1: the server holds a link to the client too: it pulls from the client without linking back', async () => {
      const server = await h.server();
      const client = h.client();
      const into = cacheOn(server, 9);
      const from = cacheOn(client, 3);
      h.link(client, server);
      expect(h.hasLink(server, client.clusterId)).toBe(true);
      expectStatus(pullFrom(server, client.clusterId, from.id, into.id), 'LLM_SUCCESS');
      from.memory.initial.forEach((_tensor, t) => expectBytes(rowOf(into.memory, t, 0), initialRowOf(from.memory, t, 1), `tensor ${t}`));
    });

    it('A1: with a wrong remote_cluster_id every re-link is a forced rebuild: SUCCESS, never ALREADY_LINK', async () => {
      const pair = await pullPair(h);
      const wrong = Harness.clusterInfo(pair.server.clusterId + 5000n, pair.server.address ?? '');
      expectRets(h.linkTo(pair.client, [wrong]), 'LLM_SUCCESS', ['LLM_SUCCESS']);
      expectRets(h.linkTo(pair.client, [wrong]), 'LLM_SUCCESS', ['LLM_SUCCESS']);
      expectStatus(h.b.LlmDataDist_PullKvCache(pair.client.handle, pair.srcIndex, pair.dstCache), 'LLM_SUCCESS');
      expectRets(h.linkTo(pair.client, [Harness.to(pair.server)]), 'LLM_ALREADY_LINK', ['LLM_ALREADY_LINK']);
    });

    it('A1/A25: a second client presenting a linked cluster id takes over its slot on the server; the first one\'s link dangles', async () => {
      const pair = await pullPair(h);
      const impostor = h.client(LlmRole.kDecoder, {}, pair.client.clusterId);
      const dst = cacheOn(impostor);
      h.link(impostor, pair.server);
      expectStatus(h.b.LlmDataDist_PullKvCache(pair.client.handle, pair.srcIndex, pair.dstCache), 'LLM_TIMEOUT');
      expectStatus(pullFrom(impostor, pair.server.clusterId, pair.srcIndex.cache_id, dst.id), 'LLM_SUCCESS');
    });

    it('A5: no link cap in V2: a server holds 513 links', async () => {
      const server = await h.server();
      for (let i = 0; i < 513; i += 1) expectStatus(h.linkTo(h.client(), [Harness.to(server)]).status, 'LLM_SUCCESS');
      expect(h.holdsAnyLink(server)).toBe(true);
    });

    h.deviation('D12/A27: dd.MaxLinks bounds an engine\'s links: past it LINK_FAILED, never CLUSTER_NUM_EXCEED_LIMIT', async () => {
      const first = await h.server();
      const second = await h.server();
      const capped = h.client(LlmRole.kDecoder, { 'dd.MaxLinks': '1' });
      // One call per cluster: the clusters of one call are linked in parallel (B §3.3).
      expectRets(h.linkTo(capped, [Harness.to(first)]), 'LLM_SUCCESS', ['LLM_SUCCESS']);
      expectRets(h.linkTo(capped, [Harness.to(second)]), 'LLM_LINK_FAILED', ['LLM_LINK_FAILED']);
      expect(h.hasLink(capped, second.clusterId)).toBe(false);
      const full = await h.server(LlmRole.kPrompt, { 'dd.MaxLinks': '1' });
      h.link(h.client(), full);
      const refused = h.client();
      expectRets(h.linkTo(refused, [Harness.to(full)]), 'LLM_LINK_FAILED', ['LLM_LINK_FAILED']);
      expect(h.holdsAnyLink(refused)).toBe(false);
    });

    it('A14: a link to an address nobody listens on is LINK_FAILED (UT)', async () => {
      expectRets(h.linkTo(h.client(), [Harness.clusterInfo(h.clusterId(), await h.address())]), 'LLM_LINK_FAILED', ['LLM_LINK_FAILED']);
    });

    it('A14: a connect that does not complete within timeout_in_millis is LLM_TIMEOUT', async () => {
      const address = await h.scenarios.unansweredAddress();
      const client = h.client();
      expectRets(h.linkTo(client, [Harness.clusterInfo(h.clusterId(), address)], SHORT_TIMEOUT_MS), 'LLM_TIMEOUT', ['LLM_TIMEOUT']);
      expect(h.holdsAnyLink(client)).toBe(false);
    });

    it('A14/A29/D14: a listener that answers in a foreign protocol fails the link with LLM_FAILED; nothing is linked', async () => {
      const address = await h.scenarios.foreignAddress();
      const client = h.client();
      expectRets(h.linkTo(client, [Harness.clusterInfo(h.clusterId(), address)]), 'LLM_FAILED', ['LLM_FAILED']);
      expect(h.holdsAnyLink(client)).toBe(false);
    });

    h.deviation('D8: a peer that accepts and never answers the handshake is LLM_TIMEOUT within timeout_in_millis', async () => {
      const address = await h.scenarios.silentAddress();
      const client = h.client();
      expectRets(h.linkTo(client, [Harness.clusterInfo(h.clusterId(), address)], SHORT_TIMEOUT_MS), 'LLM_TIMEOUT', ['LLM_TIMEOUT']);
      expectRets(await h.b.LlmDataDist_LinkLlmClustersAsync(client.handle, [Harness.clusterInfo(h.clusterId(), address)], SHORT_TIMEOUT_MS), 'LLM_TIMEOUT', ['LLM_TIMEOUT']);
      expect(h.holdsAnyLink(client)).toBe(false);
    });

    it('A21 (a): re-linking a linked pair runs the handshake and answers ALREADY_LINK; the link is untouched', async () => {
      const pair = await pullPair(h);
      expectStatus(h.b.LlmDataDist_PullKvCache(pair.client.handle, pair.srcIndex, pair.dstCache), 'LLM_SUCCESS');
      expectRets(h.linkTo(pair.client, [Harness.to(pair.server)]), 'LLM_ALREADY_LINK', ['LLM_ALREADY_LINK']);
      expectStatus(h.b.LlmDataDist_PullKvCache(pair.client.handle, pair.srcIndex, pair.dstCache, 3), 'LLM_SUCCESS');
    });

    it('A21 (b): if only the server kept its side (the client force-unlinked), linking again rebuilds it: SUCCESS', async () => {
      const pair = await pullPair(h);
      expectStatus(h.unlink(pair.client, pair.server, true), 'LLM_SUCCESS');
      expect(h.hasLink(pair.server, pair.client.clusterId)).toBe(true);
      expectRets(h.linkTo(pair.client, [Harness.to(pair.server)]), 'LLM_SUCCESS', ['LLM_SUCCESS']);
      expectStatus(h.b.LlmDataDist_PullKvCache(pair.client.handle, pair.srcIndex, pair.dstCache), 'LLM_SUCCESS');
    });

    it('choice A21 (c): if only this side still holds the link, linking again is LINK_FAILED and changes nothing; after a force unlink it links', async () => {
      const pair = await pullPair(h);
      expectStatus(h.unlinkFrom(pair.server, [Harness.clusterInfo(pair.client.clusterId, '127.0.0.1:9')], true).status, 'LLM_SUCCESS');
      const again = h.linkTo(pair.client, [Harness.to(pair.server)]);
      expectRets(again, 'LLM_LINK_FAILED', ['LLM_LINK_FAILED']);
      expect(h.hasLink(pair.server, pair.client.clusterId)).toBe(false);
      expect(h.hasLink(pair.client, pair.server.clusterId)).toBe(true);
      expectStatus(h.unlink(pair.client, pair.server, true), 'LLM_SUCCESS');
      expectRets(h.linkTo(pair.client, [Harness.to(pair.server)]), 'LLM_SUCCESS', ['LLM_SUCCESS']);
      expect(names(again.rets)).toEqual(['LLM_LINK_FAILED']);
    });
  });
}
