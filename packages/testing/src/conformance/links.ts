import { LlmRole, OptionKey, makeCache, makeCacheIndex } from '@dd/sys';
import { describe, expect, it } from 'vitest';
import { statusName } from '../outcome.js';
import { Harness, LINK_TIMEOUT_MS, expectStatus, type Engine } from './harness.js';

function names(rets: Uint32Array): string[] {
  return [...rets].map(statusName);
}

export function describeLinks(h: Harness): void {
  const linkTo = (client: Engine, clusters: ReturnType<typeof Harness.clusterInfo>[], timeout = LINK_TIMEOUT_MS) =>
    h.b.LlmDataDist_LinkLlmClusters(client.handle, clusters, timeout);

  /** Whether `client` can pull from `server` cluster: NOT_YET_LINK means no link. */
  const pullStatus = (client: Engine, server: Engine): string => {
    const memory = h.memory({ tensors: 1, rows: 1, rowElements: 4 }, 9);
    const cacheId = h.register(client, memory);
    return statusName(h.b.LlmDataDist_PullKvCache(client.handle, makeCacheIndex({ cluster_id: server.clusterId, cache_id: 1n }), makeCache({ cache_id: cacheId })));
  };

  describe('LinkLlmClusters (facts §3.3)', () => {
    it('links a client to a server: SUCCESS with one SUCCESS per cluster', async () => {
      const server = await h.server();
      const client = h.client();
      const result = linkTo(client, [Harness.clusterInfo(server.clusterId, server.address ?? '')]);
      expectStatus(result.status, 'LLM_SUCCESS');
      expect(names(result.rets)).toEqual(['LLM_SUCCESS']);
    });

    it('the async twin links too', async () => {
      const server = await h.server();
      const client = h.client();
      const result = await h.b.LlmDataDist_LinkLlmClustersAsync(client.handle, [Harness.clusterInfo(server.clusterId, server.address ?? '')], LINK_TIMEOUT_MS);
      expectStatus(result.status, 'LLM_SUCCESS');
      expect(names(result.rets)).toEqual(['LLM_SUCCESS']);
    });

    it.each([0, -1])('timeout %d is PARAM_INVALID', async (timeout) => {
      const server = await h.server();
      expectStatus(linkTo(h.client(), [Harness.clusterInfo(server.clusterId, server.address ?? '')], timeout).status, 'LLM_PARAM_INVALID');
    });

    it('an empty cluster list is PARAM_INVALID', () => {
      expectStatus(linkTo(h.client(), []).status, 'LLM_PARAM_INVALID');
    });

    const badClusters: [string, (address: string) => Parameters<typeof Harness.clusterInfo>[2]][] = [
      ['an empty remote ip', () => ({ remote_ip_infos: [{ ip: '', port: 26000 }] })],
      ['an IPv6 remote ip', (address) => ({ remote_ip_infos: [{ ip: '::1', port: Number(address.split(':')[1]) }] })],
      ['a remote ip that is not an address', () => ({ remote_ip_infos: [{ ip: '300.1.1.1', port: 26000 }] })],
      ['an invalid local ip', () => ({ local_ip_infos: [{ ip: 'localhost', port: 0 }] })],
      ['no remote ip', () => ({ remote_ip_infos: [] })],
      ['two remote ips', (address) => ({ remote_ip_infos: [{ ip: '127.0.0.1', port: Number(address.split(':')[1]) }, { ip: '127.0.0.1', port: 1 }] })],
      ['no local ip (no llm.LocalCommRes)', () => ({ local_ip_infos: [] })],
      ['two local ips', () => ({ local_ip_infos: [{ ip: '127.0.0.1', port: 0 }, { ip: '127.0.0.2', port: 0 }] })],
    ];
    it.each(badClusters)('a cluster with %s is PARAM_INVALID', async (_name, change) => {
      const server = await h.server();
      const address = server.address ?? '';
      expectStatus(linkTo(h.client(), [Harness.clusterInfo(server.clusterId, address, change(address))]).status, 'LLM_PARAM_INVALID');
    });

    it('one invalid cluster rejects the whole call before any link is made', async () => {
      const server = await h.server();
      const client = h.client();
      const good = Harness.clusterInfo(server.clusterId, server.address ?? '');
      const bad = Harness.clusterInfo(server.clusterId + 1000n, server.address ?? '', { remote_ip_infos: [] });
      expectStatus(linkTo(client, [good, bad]).status, 'LLM_PARAM_INVALID');
      expectStatus(linkTo(client, [good]).status, 'LLM_SUCCESS');
    });

    it('linking a linked cluster again is ALREADY_LINK', async () => {
      const server = await h.server();
      const client = h.client();
      h.link(client, server);
      const again = linkTo(client, [Harness.clusterInfo(server.clusterId, server.address ?? '')]);
      expectStatus(again.status, 'LLM_ALREADY_LINK');
      expect(names(again.rets)).toEqual(['LLM_ALREADY_LINK']);
    });

    it('a link to an address nobody listens on is LINK_FAILED', async () => {
      const result = linkTo(h.client(), [Harness.clusterInfo(h.clusterId(), await h.address())]);
      expectStatus(result.status, 'LLM_LINK_FAILED');
      expect(names(result.rets)).toEqual(['LLM_LINK_FAILED']);
    });

    it('links several servers in one call, one status per cluster', async () => {
      const first = await h.server();
      const second = await h.server();
      const client = h.client();
      const result = linkTo(client, [Harness.clusterInfo(first.clusterId, first.address ?? ''), Harness.clusterInfo(second.clusterId, second.address ?? '')]);
      expectStatus(result.status, 'LLM_SUCCESS');
      expect(names(result.rets)).toEqual(['LLM_SUCCESS', 'LLM_SUCCESS']);
    });

    it('returns the last non-success status, and the clusters that worked stay linked', async () => {
      const server = await h.server();
      const nowhere = await h.address();
      const client = h.client();
      const good = Harness.clusterInfo(server.clusterId, server.address ?? '');
      const absent = Harness.clusterInfo(h.clusterId(), nowhere);
      const first = linkTo(client, [good, absent]);
      expectStatus(first.status, 'LLM_LINK_FAILED');
      expect(names(first.rets)).toEqual(['LLM_SUCCESS', 'LLM_LINK_FAILED']);
      const second = linkTo(client, [absent, good]);
      expectStatus(second.status, 'LLM_ALREADY_LINK');
      expect(names(second.rets)).toEqual(['LLM_LINK_FAILED', 'LLM_ALREADY_LINK']);
      const third = linkTo(client, [good, absent]);
      expectStatus(third.status, 'LLM_LINK_FAILED');
      expect(names(third.rets)).toEqual(['LLM_ALREADY_LINK', 'LLM_LINK_FAILED']);
    });
  });

  describe('UnlinkLlmClusters (facts §3.3)', () => {
    const unlink = (client: Engine, clusters: ReturnType<typeof Harness.clusterInfo>[], force = false, timeout = LINK_TIMEOUT_MS) =>
      h.b.LlmDataDist_UnlinkLlmClusters(client.handle, clusters, timeout, force);

    it('a plain unlink tears down both sides', async () => {
      const server = await h.server();
      const client = h.client();
      h.link(client, server);
      const result = unlink(client, [Harness.clusterInfo(server.clusterId, server.address ?? '')]);
      expectStatus(result.status, 'LLM_SUCCESS');
      expect(names(result.rets)).toEqual(['LLM_SUCCESS']);
      expect(pullStatus(client, server)).toBe('LLM_NOT_YET_LINK');
      // The server kept nothing: it may change role, and the client may link again.
      expectStatus(h.b.LlmDataDist_SetRole(server.handle, LlmRole.kPrompt, { [OptionKey.OPTION_LISTEN_IP_INFO]: server.address ?? '' }), 'LLM_SUCCESS');
      h.link(client, server);
    });

    it('the async twin unlinks too', async () => {
      const server = await h.server();
      const client = h.client();
      h.link(client, server);
      const result = await h.b.LlmDataDist_UnlinkLlmClustersAsync(client.handle, [Harness.clusterInfo(server.clusterId, server.address ?? '')], LINK_TIMEOUT_MS);
      expectStatus(result.status, 'LLM_SUCCESS');
      expect(pullStatus(client, server)).toBe('LLM_NOT_YET_LINK');
    });

    it('a forced unlink tears down only the local side; linking again rebuilds the server side', async () => {
      const server = await h.server();
      const client = h.client();
      h.link(client, server);
      expectStatus(unlink(client, [Harness.clusterInfo(server.clusterId, server.address ?? '')], true).status, 'LLM_SUCCESS');
      expect(pullStatus(client, server)).toBe('LLM_NOT_YET_LINK');
      expectStatus(h.b.LlmDataDist_SetRole(server.handle, LlmRole.kPrompt, { [OptionKey.OPTION_LISTEN_IP_INFO]: server.address ?? '' }), 'LLM_EXIST_LINK');
      h.link(client, server);
    });

    it('a forced unlink needs no remote ip', async () => {
      const server = await h.server();
      const client = h.client();
      h.link(client, server);
      expectStatus(unlink(client, [Harness.clusterInfo(server.clusterId, server.address ?? '', { remote_ip_infos: [] })], true).status, 'LLM_SUCCESS');
      expect(pullStatus(client, server)).toBe('LLM_NOT_YET_LINK');
    });

    it('unlinking a cluster that is not linked is SUCCESS', async () => {
      const server = await h.server();
      const result = unlink(h.client(), [Harness.clusterInfo(server.clusterId, server.address ?? '')]);
      expectStatus(result.status, 'LLM_SUCCESS');
      expect(names(result.rets)).toEqual(['LLM_SUCCESS']);
    });

    it('a plain unlink without exactly one remote ip is PARAM_INVALID', async () => {
      const server = await h.server();
      const client = h.client();
      h.link(client, server);
      expectStatus(unlink(client, [Harness.clusterInfo(server.clusterId, server.address ?? '', { remote_ip_infos: [] })]).status, 'LLM_PARAM_INVALID');
      expect(pullStatus(client, server)).not.toBe('LLM_NOT_YET_LINK');
    });

    it('timeout 0 and an empty list are PARAM_INVALID', async () => {
      const server = await h.server();
      const client = h.client();
      expectStatus(unlink(client, [Harness.clusterInfo(server.clusterId, server.address ?? '')], false, 0).status, 'LLM_PARAM_INVALID');
      expectStatus(unlink(client, []).status, 'LLM_PARAM_INVALID');
    });

    it('after the server finalized, a plain unlink is UNLINK_FAILED, a forced one clears the client, a restarted server can be linked', async () => {
      // Finalize tears down only the links this side initiated; the client keeps its half, and a
      // plain unlink must reach the (gone) server to succeed.
      const server = await h.server();
      const client = h.client();
      h.link(client, server);
      expectStatus(h.b.LlmDataDist_Finalize(server.handle), 'LLM_SUCCESS');
      const cluster = Harness.clusterInfo(server.clusterId, server.address ?? '');
      const plain = unlink(client, [cluster]);
      expectStatus(plain.status, 'LLM_UNLINK_FAILED');
      expect(names(plain.rets)).toEqual(['LLM_UNLINK_FAILED']);
      const forced = unlink(client, [cluster], true);
      expectStatus(forced.status, 'LLM_SUCCESS');
      expect(names(forced.rets)).toEqual(['LLM_SUCCESS']);
      expect(pullStatus(client, server)).toBe('LLM_NOT_YET_LINK');
      expectStatus(h.b.LlmDataDist_Initialize(server.handle, Harness.options({ [OptionKey.OPTION_LISTEN_IP_INFO]: server.address ?? '' })), 'LLM_SUCCESS');
      h.link(client, server);
    });
  });

  describe('SetRole (facts §3.4)', () => {
    it('an invalid role is PARAM_INVALID', () => {
      expectStatus(h.b.LlmDataDist_SetRole(h.client().handle, LlmRole.kEnd), 'LLM_PARAM_INVALID');
    });

    it('is EXIST_LINK while a link exists, on the client and on the server', async () => {
      const server = await h.server();
      const client = h.client();
      h.link(client, server);
      expectStatus(h.b.LlmDataDist_SetRole(client.handle, LlmRole.kPrompt), 'LLM_EXIST_LINK');
      expectStatus(h.b.LlmDataDist_SetRole(server.handle, LlmRole.kDecoder, { [OptionKey.OPTION_LISTEN_IP_INFO]: server.address ?? '' }), 'LLM_EXIST_LINK');
    });

    it('an invalid ListenIpInfo is PARAM_INVALID', () => {
      expectStatus(h.b.LlmDataDist_SetRole(h.client().handle, LlmRole.kPrompt, { [OptionKey.OPTION_LISTEN_IP_INFO]: '127.0.0.1' }), 'LLM_PARAM_INVALID');
    });

    it('a client becomes a server when given a ListenIpInfo', async () => {
      const dd = h.client();
      const address = await h.address();
      expectStatus(h.b.LlmDataDist_SetRole(dd.handle, LlmRole.kPrompt, { [OptionKey.OPTION_LISTEN_IP_INFO]: address }), 'LLM_SUCCESS');
      h.link(h.client(), { ...dd, address });
    });

    it('a new port moves the listener', async () => {
      const server = await h.server();
      const moved = await h.address();
      expectStatus(h.b.LlmDataDist_SetRole(server.handle, LlmRole.kPrompt, { [OptionKey.OPTION_LISTEN_IP_INFO]: moved }), 'LLM_SUCCESS');
      const client = h.client();
      expectStatus(h.b.LlmDataDist_LinkLlmClusters(client.handle, [Harness.clusterInfo(server.clusterId, server.address ?? '')], LINK_TIMEOUT_MS).status, 'LLM_LINK_FAILED');
      h.link(client, { ...server, address: moved });
    });

    it('the same ListenIpInfo keeps the listener', async () => {
      const server = await h.server();
      expectStatus(h.b.LlmDataDist_SetRole(server.handle, LlmRole.kMix, { [OptionKey.OPTION_LISTEN_IP_INFO]: server.address ?? '' }), 'LLM_SUCCESS');
      h.link(h.client(), server);
    });

    it('no ListenIpInfo stops listening: the instance becomes client-only', async () => {
      const server = await h.server();
      expectStatus(h.b.LlmDataDist_SetRole(server.handle, LlmRole.kDecoder), 'LLM_SUCCESS');
      const result = h.b.LlmDataDist_LinkLlmClusters(h.client().handle, [Harness.clusterInfo(server.clusterId, server.address ?? '')], LINK_TIMEOUT_MS);
      expectStatus(result.status, 'LLM_LINK_FAILED');
    });

    it('after unlinking, the roles can switch and the former client serves (upstream switch-role flow)', async () => {
      const first = await h.server(LlmRole.kPrompt);
      const second = h.client(LlmRole.kDecoder);
      h.link(second, first);
      expectStatus(h.b.LlmDataDist_UnlinkLlmClusters(second.handle, [Harness.clusterInfo(first.clusterId, first.address ?? '')], LINK_TIMEOUT_MS).status, 'LLM_SUCCESS');
      const address = await h.address();
      expectStatus(h.b.LlmDataDist_SetRole(second.handle, LlmRole.kPrompt, { [OptionKey.OPTION_LISTEN_IP_INFO]: address }), 'LLM_SUCCESS');
      expectStatus(h.b.LlmDataDist_SetRole(first.handle, LlmRole.kDecoder), 'LLM_SUCCESS');
      h.link(first, { ...second, address });
    });
  });
}
