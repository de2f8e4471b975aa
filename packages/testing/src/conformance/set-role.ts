import { LlmRole, OptionKey } from '@dd/sys';
import { describe, expect, it } from 'vitest';
import { pullPair } from './fixtures.js';
import { Harness, expectRets, expectStatus } from './harness.js';

const LISTEN = OptionKey.OPTION_LISTEN_IP_INFO;

export function describeSetRole(h: Harness): void {
  const setRole = (handle: Parameters<typeof h.b.LlmDataDist_SetRole>[0], role: number, listen?: string) =>
    h.b.LlmDataDist_SetRole(handle, role as LlmRole, listen === undefined ? {} : { [LISTEN]: listen });

  describe('SetRole (A17)', () => {
    it('A17: an invalid role is PARAM_INVALID', () => {
      expectStatus(setRole(h.client().handle, LlmRole.kEnd), 'LLM_PARAM_INVALID');
    });

    it('A17: the checks run in order: role, then ListenIpInfo, then links', async () => {
      const pair = await pullPair(h);
      expectStatus(setRole(pair.client.handle, LlmRole.kEnd, '127.0.0.1'), 'LLM_PARAM_INVALID');
      expectStatus(setRole(pair.client.handle, LlmRole.kPrompt, '127.0.0.1'), 'LLM_PARAM_INVALID');
      expectStatus(setRole(pair.client.handle, LlmRole.kPrompt), 'LLM_EXIST_LINK');
    });

    it('A17: EXIST_LINK while any link exists, on the client and on the side that only accepted it', async () => {
      const pair = await pullPair(h);
      expectStatus(setRole(pair.client.handle, LlmRole.kPrompt), 'LLM_EXIST_LINK');
      expectStatus(setRole(pair.server.handle, LlmRole.kDecoder, pair.server.address ?? ''), 'LLM_EXIST_LINK');
      expectStatus(h.unlink(pair.client, pair.server), 'LLM_SUCCESS');
      expectStatus(setRole(pair.client.handle, LlmRole.kPrompt), 'LLM_SUCCESS');
      expectStatus(setRole(pair.server.handle, LlmRole.kDecoder, pair.server.address ?? ''), 'LLM_SUCCESS');
    });

    it('A17: a new port moves the listener; the old address is free', async () => {
      const server = await h.server();
      const moved = await h.address();
      expectStatus(setRole(server.handle, LlmRole.kPrompt, moved), 'LLM_SUCCESS');
      expectStatus(h.linkTo(h.client(), [Harness.to(server)]).status, 'LLM_LINK_FAILED');
      h.link(h.client(), { ...server, address: moved });
    });

    it('A17: the same port number keeps the running listener, even given another IP', async () => {
      const server = await h.server();
      const port = (server.address ?? '').split(':')[1];
      expectStatus(setRole(server.handle, LlmRole.kMix, `127.0.0.2:${port}`), 'LLM_SUCCESS');
      h.link(h.client(), server);
    });

    it('A17: a listener that fails to start leaves nothing listening: FAILED, and the old address is free', async () => {
      const server = await h.server();
      const other = await h.server();
      expectStatus(setRole(server.handle, LlmRole.kPrompt, other.address ?? ''), 'LLM_FAILED');
      expectStatus(h.linkTo(h.client(), [Harness.to(server)]).status, 'LLM_LINK_FAILED');
      expectStatus(setRole(server.handle, LlmRole.kPrompt, server.address ?? ''), 'LLM_SUCCESS');
      h.link(h.client(), server);
    });

    it('A17: no ListenIpInfo stops listening: the instance becomes client-only', async () => {
      const server = await h.server();
      expectStatus(setRole(server.handle, LlmRole.kDecoder), 'LLM_SUCCESS');
      expectStatus(h.linkTo(h.client(), [Harness.to(server)]).status, 'LLM_LINK_FAILED');
    });

    it('A17: a node that listens only through SetRole, with no comm resource yet, fails every incoming link with PARAM_INVALID', async () => {
      const dd = h.client();
      const address = await h.address();
      expectStatus(setRole(dd.handle, LlmRole.kPrompt, address), 'LLM_SUCCESS');
      expectRets(h.linkTo(h.client(), [Harness.clusterInfo(dd.clusterId, address)]), 'LLM_PARAM_INVALID', ['LLM_PARAM_INVALID']);
    });

    it('A17 (UT): decoder pulls, unlinks, becomes a prompt on a new address and is pulled from; the prompt becomes client-only', async () => {
      const prompt = await h.server(LlmRole.kPrompt);
      const decoder = h.client(LlmRole.kDecoder);
      h.link(decoder, prompt);
      expectStatus(h.unlink(decoder, prompt), 'LLM_SUCCESS');
      const address = await h.address();
      expectStatus(setRole(decoder.handle, LlmRole.kPrompt, address), 'LLM_SUCCESS');
      expectStatus(setRole(prompt.handle, LlmRole.kDecoder), 'LLM_SUCCESS');
      h.link(prompt, { ...decoder, address });
      expectStatus(setRole(decoder.handle, LlmRole.kDecoder), 'LLM_EXIST_LINK');
      expect(h.holdsAnyLink(prompt)).toBe(true);
    });

    it('A17 (UT): SetRole back and forth without links keeps working, with and without a listener', async () => {
      const dd = await h.server(LlmRole.kPrompt);
      for (const role of [LlmRole.kDecoder, LlmRole.kPrompt, LlmRole.kMix]) {
        expectStatus(setRole(dd.handle, role), 'LLM_SUCCESS');
        expectStatus(setRole(dd.handle, role, dd.address ?? ''), 'LLM_SUCCESS');
      }
      h.link(h.client(), dd);
    });
  });
}
