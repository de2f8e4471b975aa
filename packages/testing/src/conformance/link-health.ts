import { LinkState, StatusCode, type LlmDataDistHandle } from '@dd/sys';
import { describe, expect, it } from 'vitest';
import { pullPair } from './fixtures.js';
import { Harness, expectStatus } from './harness.js';

/*
 * dd's link-health extension (headers/dd/link_health.h, docs/design/link-health.md): what a
 * backend knows of its links without a transfer. dd's backends watch their links; CANN's engine
 * cannot tell, and its shim answers LLM_FEATURE_NOT_ENABLED with every state DD_LINK_STATE_UNKNOWN.
 */

// A dead peer's hang-up reaches the survivor through the kernel at once; this bounds the wait for it.
const HANG_UP_BOUND_MS = 5000;

function states(h: Harness, engine: LlmDataDistHandle, ids: readonly bigint[]): { status: number; states: number[] } {
  const idMemory = BigUint64Array.from(ids);
  const out = new Int32Array(ids.length).fill(-1);
  const status = h.b.ddLinkStates(engine, h.b.addressOf(idMemory), h.b.addressOf(out), BigInt(ids.length));
  return { status, states: [...out] };
}

function breakCause(h: Harness, engine: LlmDataDistHandle, clusterId: bigint): { status: number; text: string } {
  const text = new Uint8Array(512);
  const { status, length } = h.b.ddLinkBreakCause(engine, clusterId, h.b.addressOf(text), BigInt(text.length));
  const end = Math.min(Number(length), text.length - 1);
  expect(text[end], 'NUL after the text').toBe(0);
  return { status, text: new TextDecoder().decode(text.subarray(0, end)) };
}

/** Polls `ddLinkStates` until `clusterId` has left UP, within a bound (the peer's hang-up travels through the kernel). */
async function stateAfterHangUp(h: Harness, engine: LlmDataDistHandle, clusterId: bigint): Promise<number> {
  const until = Date.now() + HANG_UP_BOUND_MS;
  for (;;) {
    const [state] = states(h, engine, [clusterId]).states;
    if (state !== LinkState.DD_LINK_STATE_UP || Date.now() > until) return state as number;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export function describeLinkHealth(h: Harness): void {
  describe('link health, dd extension (A16)', () => {
    if (h.engine === 'v2') {
      it('link health: CANN cannot tell a link’s state: LLM_FEATURE_NOT_ENABLED, every state DD_LINK_STATE_UNKNOWN', async () => {
        const pair = await pullPair(h);
        const seen = states(h, pair.client.handle, [pair.server.clusterId, 4242n]);
        expectStatus(seen.status, 'LLM_FEATURE_NOT_ENABLED');
        expect(seen.states).toEqual([LinkState.DD_LINK_STATE_UNKNOWN, LinkState.DD_LINK_STATE_UNKNOWN]);
        expectStatus(breakCause(h, pair.client.handle, pair.server.clusterId).status, 'LLM_FEATURE_NOT_ENABLED');
      });
      return;
    }

    it('link health: a held link is UP on both sides, an id with no link ABSENT; an UP link has no cause', async () => {
      const pair = await pullPair(h);
      expect(states(h, pair.client.handle, [pair.server.clusterId, 4242n])).toEqual({ status: StatusCode.LLM_SUCCESS, states: [LinkState.DD_LINK_STATE_UP, LinkState.DD_LINK_STATE_ABSENT] });
      expect(states(h, pair.server.handle, [pair.client.clusterId]).states).toEqual([LinkState.DD_LINK_STATE_UP]);
      expect(breakCause(h, pair.client.handle, pair.server.clusterId)).toEqual({ status: StatusCode.LLM_SUCCESS, text: '' });
      expectStatus(breakCause(h, pair.client.handle, 4242n).status, 'LLM_NOT_YET_LINK');
    });

    it('link health: a peer that dies makes the survivor’s link BROKEN without any transfer, with the cause; a force unlink makes it ABSENT', async () => {
      const pair = await pullPair(h);
      await h.kill(pair.server);
      expect(await stateAfterHangUp(h, pair.client.handle, pair.server.clusterId)).toBe(LinkState.DD_LINK_STATE_BROKEN);
      const cause = breakCause(h, pair.client.handle, pair.server.clusterId);
      expectStatus(cause.status, 'LLM_SUCCESS');
      expect(cause.text.length).toBeGreaterThan(0);
      // A transfer now fails as the rules say (choice A1/A16), and the link stays BROKEN, not gone.
      expectStatus(h.b.LlmDataDist_PullKvCache(pair.client.handle, pair.srcIndex, pair.dstCache), 'LLM_TIMEOUT');
      expect(states(h, pair.client.handle, [pair.server.clusterId]).states).toEqual([LinkState.DD_LINK_STATE_BROKEN]);
      expectStatus(h.unlink(pair.client, pair.server, true), 'LLM_SUCCESS');
      expect(states(h, pair.client.handle, [pair.server.clusterId]).states).toEqual([LinkState.DD_LINK_STATE_ABSENT]);
    });

    it('link health: a peer that finalizes breaks the link too; a plain unlink by the peer removes it (ABSENT)', async () => {
      const finalized = await pullPair(h);
      expectStatus(h.b.LlmDataDist_Finalize(finalized.server.handle), 'LLM_SUCCESS');
      expect(await stateAfterHangUp(h, finalized.client.handle, finalized.server.clusterId)).toBe(LinkState.DD_LINK_STATE_BROKEN);
      const unlinked = await pullPair(h);
      expectStatus(h.unlink(unlinked.client, unlinked.server), 'LLM_SUCCESS');
      expect(states(h, unlinked.server.handle, [unlinked.client.clusterId]).states).toEqual([LinkState.DD_LINK_STATE_ABSENT]);
    });

    it('link health: count 0 is SUCCESS; a handle that is not a live engine is LLM_PARAM_INVALID; before Initialize LLM_FAILED', () => {
      const engine = h.client();
      expectStatus(h.b.ddLinkStates(engine.handle, 0n, 0n, 0n), 'LLM_SUCCESS');
      const uninitialized = h.create();
      expectStatus(states(h, uninitialized, [1n]).status, 'LLM_FAILED');
      expectStatus(breakCause(h, uninitialized, 1n).status, 'LLM_FAILED');
      const stale = h.create();
      h.destroy(stale);
      expectStatus(states(h, stale, [1n]).status, 'LLM_PARAM_INVALID');
      expect(h.b.lastError()).toMatch(/^ddLinkStates: LLM_PARAM_INVALID: /);
    });
  });
}
