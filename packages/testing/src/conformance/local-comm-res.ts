import { LlmRole, OptionKey } from '@dd/sys';
import { describe, expect, it } from 'vitest';
import { Harness, expectRets, expectStatus, type Engine } from './harness.js';

const COMM_RES = OptionKey.OPTION_LOCAL_COMM_RES;

/** A rank table as LocalCommRes carries it: one server entry per `devices` list. */
function rankTable(version: unknown, devices: readonly (readonly string[])[] = [['0']]): string {
  return JSON.stringify({
    version,
    server_count: String(devices.length),
    server_list: devices.map((ids, index) => ({ server_id: `127.0.0.${index + 1}`, device: ids.map((id) => ({ device_id: id, device_ip: '10.0.0.1', rank_id: '0' })) })),
    status: 'completed',
  });
}

const BAD_VALUES: readonly [string, string][] = [
  ['not JSON (UT)', '{version'],
  ['version "1.9" (UT)', rankTable('1.9')],
  ['"mock" (UT)', 'mock'],
  ['version "1.3" (HixlCS, not for the default backend)', rankTable('1.3')],
  ['a numeric version', rankTable(1.2)],
  ['no server_list', JSON.stringify({ version: '1.0' })],
  ['a server entry with two devices', rankTable('1.0', [['0', '1']])],
  ['a server entry with no device', rankTable('1.0', [[]])],
  ['a numeric device_id', JSON.stringify({ version: '1.0', server_list: [{ server_id: '127.0.0.1', device: [{ device_id: 0 }] }] })],
  ['a server entry without server_id', JSON.stringify({ version: '1.0', server_list: [{ device: [{ device_id: '0' }] }] })],
  ['a JSON array', '[]'],
];

export function describeLocalCommRes(h: Harness): void {
  const serverWith = (commRes: string | undefined): Promise<Engine> => h.server(LlmRole.kPrompt, commRes === undefined ? {} : { [COMM_RES]: commRes });
  const clientWith = (commRes: string): Engine => h.client(LlmRole.kDecoder, { [COMM_RES]: commRes });

  describe('llm.LocalCommRes (A7)', () => {
    it.each(BAD_VALUES)('A7: Initialize stores the value unparsed: %s initializes', (_name, value) => {
      expectStatus(h.initStatus({ [COMM_RES]: value }), 'LLM_SUCCESS');
    });

    it.each(BAD_VALUES)('A7: a client whose value is %s fails that link with PARAM_INVALID in its rets slot', async (_name, value) => {
      const server = await h.server();
      const client = clientWith(value);
      expectRets(h.linkTo(client, [Harness.to(server)]), 'LLM_PARAM_INVALID', ['LLM_PARAM_INVALID']);
      expect(h.holdsAnyLink(client)).toBe(false);
      expect(h.holdsAnyLink(server)).toBe(false);
    });

    it.each(BAD_VALUES)('A7: a server whose value is %s fails every link to it with PARAM_INVALID', async (_name, value) => {
      const server = await serverWith(value);
      const good = await h.server();
      const client = h.client();
      expectRets(h.linkTo(client, [Harness.to(server), Harness.to(good)]), 'LLM_PARAM_INVALID', ['LLM_PARAM_INVALID', 'LLM_SUCCESS']);
      expect(h.hasLink(client, server.clusterId)).toBe(false);
      expect(h.hasLink(client, good.clusterId)).toBe(true);
    });

    it.each(['1.0', '1.2'])('A7: rank tables of version %j link, with no local IpInfo needed', async (version) => {
      const server = await serverWith(rankTable(version));
      const client = clientWith(rankTable(version));
      expectRets(h.linkTo(client, [Harness.to(server, { local_ip_infos: [] })]), 'LLM_SUCCESS', ['LLM_SUCCESS']);
    });

    it('A7: the two versions link with each other', async () => {
      const server = await serverWith(rankTable('1.2'));
      const client = clientWith(rankTable('1.0'));
      expectRets(h.linkTo(client, [Harness.to(server)]), 'LLM_SUCCESS', ['LLM_SUCCESS']);
    });

    it('choice A7: a local value whose server_list is empty has no device of this node: PARAM_INVALID', async () => {
      const server = await h.server();
      const client = clientWith(JSON.stringify({ version: '1.0', server_list: [] }));
      expectRets(h.linkTo(client, [Harness.to(server)]), 'LLM_PARAM_INVALID', ['LLM_PARAM_INVALID']);
    });

    it('A7: the local device entries must name this node\'s device id', async () => {
      const server = await h.server();
      expectRets(h.linkTo(clientWith(rankTable('1.0', [['3']])), [Harness.to(server)]), 'LLM_PARAM_INVALID', ['LLM_PARAM_INVALID']);
      expectRets(h.linkTo(clientWith(rankTable('1.0', [['0'], ['3']])), [Harness.to(server)]), 'LLM_PARAM_INVALID', ['LLM_PARAM_INVALID']);
    });

    it('A7: a value over 64 KiB is PARAM_INVALID at link time', async () => {
      const big = JSON.stringify({ ...JSON.parse(rankTable('1.0')), padding: 'x'.repeat(64 * 1024) });
      const server = await h.server();
      expectRets(h.linkTo(clientWith(big), [Harness.to(server)]), 'LLM_PARAM_INVALID', ['LLM_PARAM_INVALID']);
    });

    it('A7/A15: only the server checks its own device id, and its status comes first', async () => {
      const server = await serverWith(rankTable('1.0', [['3']]));
      const client = h.client();
      expectRets(h.linkTo(client, [Harness.to(server)]), 'LLM_PARAM_INVALID', ['LLM_PARAM_INVALID']);
    });

    h.deviation('D9: when the server refuses after the client set up its side, the client drops it: no half-open link', async () => {
      const server = await serverWith(rankTable('1.0', [['3']]));
      const client = h.client();
      expectStatus(h.linkTo(client, [Harness.to(server)]).status, 'LLM_PARAM_INVALID');
      expect(h.hasLink(client, server.clusterId)).toBe(false);
      expect(h.holdsAnyLink(client)).toBe(false);
      expectRets(h.linkTo(client, [Harness.to(server)]), 'LLM_PARAM_INVALID', ['LLM_PARAM_INVALID']);
    });

    it('A7: without LocalCommRes and ListenIpInfo, the first link needs exactly one local IpInfo, in its rets slot', async () => {
      const server = await h.server();
      const client = h.client();
      expectRets(h.linkTo(client, [Harness.to(server, { local_ip_infos: [] })]), 'LLM_PARAM_INVALID', ['LLM_PARAM_INVALID']);
      const two = [{ ip: '127.0.0.1', port: 0 }, { ip: '127.0.0.2', port: 0 }];
      expectRets(h.linkTo(client, [Harness.to(server, { local_ip_infos: two })]), 'LLM_PARAM_INVALID', ['LLM_PARAM_INVALID']);
    });

    it('A7: the value the first link generates is kept: later links need no local IpInfo', async () => {
      const first = await h.server();
      const second = await h.server();
      const client = h.client();
      h.link(client, first);
      expectRets(h.linkTo(client, [Harness.to(second, { local_ip_infos: [] })]), 'LLM_SUCCESS', ['LLM_SUCCESS']);
    });

    it('A7: with ListenIpInfo the value is generated at Initialize: no local IpInfo is needed', async () => {
      const server = await h.server();
      const listening = await h.server();
      expectRets(h.linkTo(listening, [Harness.to(server, { local_ip_infos: [] })]), 'LLM_SUCCESS', ['LLM_SUCCESS']);
    });

    it('A7: an empty llm.LocalCommRes counts as absent', async () => {
      const server = await h.server();
      const client = clientWith('');
      expectRets(h.linkTo(client, [Harness.to(server, { local_ip_infos: [] })]), 'LLM_PARAM_INVALID', ['LLM_PARAM_INVALID']);
      expectRets(h.linkTo(client, [Harness.to(server)]), 'LLM_SUCCESS', ['LLM_SUCCESS']);
    });
  });
}
