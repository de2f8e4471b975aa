import { LlmRole, OptionKey } from '@dd/sys';
import { describe, expect, it } from 'vitest';
import { pullPair } from './fixtures.js';
import { Harness, LINK_TIMEOUT_MS, expectRets, expectStatus } from './harness.js';

export function describeUnlink(h: Harness): void {
  describe('UnlinkLlmClusters (A20)', () => {
    it('A20: a plain unlink tears down both sides', async () => {
      const pair = await pullPair(h);
      expectRets(h.unlinkFrom(pair.client, [Harness.to(pair.server)]), 'LLM_SUCCESS', ['LLM_SUCCESS']);
      expect(h.hasLink(pair.client, pair.server.clusterId)).toBe(false);
      expect(h.hasLink(pair.server, pair.client.clusterId)).toBe(false);
      expectStatus(h.b.LlmDataDist_PullKvCache(pair.client.handle, pair.srcIndex, pair.dstCache), 'LLM_NOT_YET_LINK');
      h.link(pair.client, pair.server);
    });

    it('A20: the async twin unlinks too', async () => {
      const pair = await pullPair(h);
      expectRets(await h.b.LlmDataDist_UnlinkLlmClustersAsync(pair.client.handle, [Harness.to(pair.server)], LINK_TIMEOUT_MS), 'LLM_SUCCESS', ['LLM_SUCCESS']);
      expect(h.holdsAnyLink(pair.client)).toBe(false);
      expect(h.holdsAnyLink(pair.server)).toBe(false);
    });

    it('B §3.3: a forced unlink tears down only the local side, with no network; linking again rebuilds the server side', async () => {
      const pair = await pullPair(h);
      expectRets(h.unlinkFrom(pair.client, [Harness.to(pair.server, { remote_ip_infos: [] })], true), 'LLM_SUCCESS', ['LLM_SUCCESS']);
      expect(h.hasLink(pair.client, pair.server.clusterId)).toBe(false);
      expect(h.hasLink(pair.server, pair.client.clusterId)).toBe(true);
      h.link(pair.client, pair.server);
    });

    it('A20: unlinking a cluster that is not linked is SUCCESS when its address answers', async () => {
      const server = await h.server();
      expectRets(h.unlinkFrom(h.client(), [Harness.to(server)]), 'LLM_SUCCESS', ['LLM_SUCCESS']);
      expectRets(h.unlinkFrom(h.client(), [Harness.clusterInfo(h.clusterId(), '127.0.0.1:9')], true), 'LLM_SUCCESS', ['LLM_SUCCESS']);
    });

    it('A20: a plain unlink connects even when nothing is linked: nobody listening is UNLINK_FAILED', async () => {
      expectRets(h.unlinkFrom(h.client(), [Harness.clusterInfo(h.clusterId(), await h.address())]), 'LLM_UNLINK_FAILED', ['LLM_UNLINK_FAILED']);
    });

    it('A20: a plain unlink whose connect never completes is LLM_TIMEOUT', async () => {
      const address = await h.scenarios.unansweredAddress();
      expectRets(h.unlinkFrom(h.client(), [Harness.clusterInfo(h.clusterId(), address)], false, 300), 'LLM_TIMEOUT', ['LLM_TIMEOUT']);
    });

    it('A20: a plain unlink needs exactly one remote IpInfo, in its rets slot; the link stays', async () => {
      const pair = await pullPair(h);
      const other = await h.server();
      h.link(pair.client, other);
      const result = h.unlinkFrom(pair.client, [Harness.to(pair.server, { remote_ip_infos: [] }), Harness.to(other)]);
      expectRets(result, 'LLM_PARAM_INVALID', ['LLM_PARAM_INVALID', 'LLM_SUCCESS']);
      expect(h.hasLink(pair.client, pair.server.clusterId)).toBe(true);
      expect(h.hasLink(pair.client, other.clusterId)).toBe(false);
    });

    it('A20: every IpInfo string is checked, for a forced unlink and in local_ip_infos too: PARAM_INVALID, empty rets', async () => {
      const pair = await pullPair(h);
      expectRets(h.unlinkFrom(pair.client, [Harness.to(pair.server, { local_ip_infos: [{ ip: 'x', port: 0 }] })], true), 'LLM_PARAM_INVALID', []);
      expectRets(h.unlinkFrom(pair.client, [Harness.to(pair.server, { remote_ip_infos: [{ ip: '', port: 1 }] })]), 'LLM_PARAM_INVALID', []);
      expect(h.hasLink(pair.client, pair.server.clusterId)).toBe(true);
    });

    it('A20: timeout 0 and an empty list are PARAM_INVALID with empty rets', async () => {
      const pair = await pullPair(h);
      expectRets(h.unlinkFrom(pair.client, [Harness.to(pair.server)], false, 0), 'LLM_PARAM_INVALID', []);
      expectRets(h.unlinkFrom(pair.client, [Harness.to(pair.server)], true, -1), 'LLM_PARAM_INVALID', []);
      expectRets(h.unlinkFrom(pair.client, []), 'LLM_PARAM_INVALID', []);
    });

    it('A20: the side that only accepted a link unlinks it plainly only while the other side listens; otherwise by force', async () => {
      const pair = await pullPair(h);
      const toClient = Harness.clusterInfo(pair.client.clusterId, await h.address());
      expectRets(h.unlinkFrom(pair.server, [toClient]), 'LLM_UNLINK_FAILED', ['LLM_UNLINK_FAILED']);
      expectRets(h.unlinkFrom(pair.server, [toClient], true), 'LLM_SUCCESS', ['LLM_SUCCESS']);
      expect(h.hasLink(pair.server, pair.client.clusterId)).toBe(false);

      const listening = await h.server();
      const server = await h.server();
      h.link(listening, server);
      expectRets(h.unlinkFrom(server, [Harness.to(listening)]), 'LLM_SUCCESS', ['LLM_SUCCESS']);
      expect(h.holdsAnyLink(server)).toBe(false);
      expect(h.holdsAnyLink(listening)).toBe(false);
    });

    it('A20: after the server finalized, a plain unlink is UNLINK_FAILED, a forced one clears the client', async () => {
      const pair = await pullPair(h);
      expectStatus(h.b.LlmDataDist_Finalize(pair.server.handle), 'LLM_SUCCESS');
      expectRets(h.unlinkFrom(pair.client, [Harness.to(pair.server)]), 'LLM_UNLINK_FAILED', ['LLM_UNLINK_FAILED']);
      expect(h.hasLink(pair.client, pair.server.clusterId)).toBe(true);
      expectRets(h.unlinkFrom(pair.client, [Harness.to(pair.server)], true), 'LLM_SUCCESS', ['LLM_SUCCESS']);
      expect(h.holdsAnyLink(pair.client)).toBe(false);
    });

    it('A20: once a finalized server listens again, a plain unlink reaches it and drops the client\'s dangling link', async () => {
      const pair = await pullPair(h);
      expectStatus(h.b.LlmDataDist_Finalize(pair.server.handle), 'LLM_SUCCESS');
      expectStatus(h.b.LlmDataDist_Initialize(pair.server.handle, Harness.options({ [OptionKey.OPTION_LISTEN_IP_INFO]: pair.server.address ?? '' })), 'LLM_SUCCESS');
      expectRets(h.unlinkFrom(pair.client, [Harness.to(pair.server)]), 'LLM_SUCCESS', ['LLM_SUCCESS']);
      expect(h.holdsAnyLink(pair.client)).toBe(false);
      h.link(pair.client, pair.server);
    });

    it('A1/A20: a plain unlink naming a wrong remote_cluster_id drops the peer\'s side only; a forced unlink of the real id clears the dangling rest', async () => {
      const pair = await pullPair(h);
      const wrong = Harness.clusterInfo(pair.server.clusterId + 5000n, pair.server.address ?? '');
      expectRets(h.unlinkFrom(pair.client, [wrong]), 'LLM_SUCCESS', ['LLM_SUCCESS']);
      expect(h.hasLink(pair.server, pair.client.clusterId)).toBe(false);
      expect(h.hasLink(pair.client, pair.server.clusterId)).toBe(true);
      expectStatus(h.b.LlmDataDist_SetRole(pair.client.handle, LlmRole.kDecoder), 'LLM_EXIST_LINK');
      expectStatus(h.b.LlmDataDist_PullKvCache(pair.client.handle, pair.srcIndex, pair.dstCache), 'LLM_TIMEOUT');
      expectRets(h.unlinkFrom(pair.client, [wrong], true), 'LLM_SUCCESS', ['LLM_SUCCESS']);
      expect(h.hasLink(pair.client, pair.server.clusterId)).toBe(true);
      expectRets(h.unlinkFrom(pair.client, [Harness.to(pair.server)], true), 'LLM_SUCCESS', ['LLM_SUCCESS']);
      expect(h.holdsAnyLink(pair.client)).toBe(false);
    });
  });
}
