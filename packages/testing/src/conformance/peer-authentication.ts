import { LlmRole, OptionKey } from '@dd/sys';
import { describe, expect } from 'vitest';
import { pullPair } from './fixtures.js';
import { Harness, expectBytes, expectRets, expectStatus, rowOf } from './harness.js';

const SECRET = { 'dd.AuthSecret': 'conformance shared secret, 36 bytes' };
const OTHER_SECRET = { 'dd.AuthSecret': 'another secret of the same length!!!' };
const HIXL = { [OptionKey.OPTION_TRANSFER_BACKEND]: 'hixl' };

/** D18: `dd.AuthSecret`, applied by every dd backend alike (V2 has no authentication, A25). */
export function describePeerAuthentication(h: Harness): void {
  describe('peer authentication with dd.AuthSecret (D18)', () => {
    h.deviation('D18: with the same dd.AuthSecret on both sides a link and its transfers work as without one', async () => {
      const pair = await pullPair(h, undefined, undefined, { serverOptions: SECRET, clientOptions: SECRET });
      expectStatus(h.b.LlmDataDist_PullKvCache(pair.client.handle, pair.srcIndex, pair.dstCache), 'LLM_SUCCESS');
      expectBytes(rowOf(pair.dst, 0, 0), rowOf(pair.src, 0, 0), 'tensor 0, row 0');
    });

    h.deviation('D18: a peer without the secret, with another one, or facing a server without one gets LLM_LINK_FAILED; neither side holds a link', async () => {
      const guarded = await h.server(LlmRole.kPrompt, SECRET);
      for (const options of [{}, OTHER_SECRET]) {
        const stranger = h.client(LlmRole.kDecoder, options);
        expectRets(h.linkTo(stranger, [Harness.to(guarded)]), 'LLM_LINK_FAILED', ['LLM_LINK_FAILED']);
        expect(h.holdsAnyLink(stranger)).toBe(false);
      }
      expect(h.holdsAnyLink(guarded)).toBe(false);
      const open = await h.server();
      const careful = h.client(LlmRole.kDecoder, SECRET);
      expectRets(h.linkTo(careful, [Harness.to(open)]), 'LLM_LINK_FAILED', ['LLM_LINK_FAILED']);
      expect(h.holdsAnyLink(careful)).toBe(false);
      expect(h.holdsAnyLink(open)).toBe(false);
      // An honest peer links afterwards.
      h.link(h.client(LlmRole.kDecoder, SECRET), guarded);
    });

    h.deviation('D18: without the secret a stranger claiming a linked decoder\'s cluster id neither takes its link over nor unlinks it', async () => {
      const pair = await pullPair(h, undefined, undefined, { serverOptions: SECRET, clientOptions: SECRET });
      for (const options of [{}, OTHER_SECRET]) {
        const impostor = h.client(LlmRole.kDecoder, options, pair.client.clusterId);
        expectRets(h.linkTo(impostor, [Harness.to(pair.server)]), 'LLM_LINK_FAILED', ['LLM_LINK_FAILED']);
        expectStatus(h.unlink(impostor, pair.server), 'LLM_UNLINK_FAILED');
      }
      expect(h.hasLink(pair.server, pair.client.clusterId)).toBe(true);
      expectStatus(h.b.LlmDataDist_PullKvCache(pair.client.handle, pair.srcIndex, pair.dstCache), 'LLM_SUCCESS');
    });

    h.deviation('D18: a plain unlink between engines whose secrets differ is LLM_UNLINK_FAILED and keeps the local link', async () => {
      const pair = await pullPair(h, undefined, undefined, { serverOptions: SECRET, clientOptions: SECRET });
      const other = await h.server(LlmRole.kPrompt, OTHER_SECRET);
      // The client names the other engine's address under the linked server's id.
      expectRets(h.unlinkFrom(pair.client, [Harness.clusterInfo(pair.server.clusterId, other.address ?? '')]), 'LLM_UNLINK_FAILED', ['LLM_UNLINK_FAILED']);
      expect(h.hasLink(pair.client, pair.server.clusterId)).toBe(true);
      expectStatus(h.unlink(pair.client, pair.server), 'LLM_SUCCESS');
      expect(h.holdsAnyLink(pair.client)).toBe(false);
    });

    h.deviation('D18 (hixl): a hixl link without the secret is LLM_LINK_FAILED and leaves no connection', async () => {
      const guarded = await h.server(LlmRole.kPrompt, { ...HIXL, ...SECRET });
      const stranger = await h.server(LlmRole.kDecoder, HIXL);
      expectRets(h.linkTo(stranger, [Harness.to(guarded)]), 'LLM_LINK_FAILED', ['LLM_LINK_FAILED']);
      expect(h.holdsAnyLink(stranger)).toBe(false);
      const honest = await h.server(LlmRole.kDecoder, { ...HIXL, ...SECRET });
      expectRets(h.linkTo(honest, [Harness.to(guarded)]), 'LLM_SUCCESS', ['LLM_SUCCESS']);
    });
  });
}
