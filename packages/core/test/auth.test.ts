import diagnostics_channel from 'node:diagnostics_channel';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DataDistArgumentError, LinkError, LlmDataDist, UNAUTHENTICATED_LISTENER_CHANNEL, type UnauthenticatedListenerEvent } from '../src/index.js';
import { isLoopback } from '../src/listener-exposure.js';
import { backends, freePort } from './backends.js';
import { createPair, fillPattern, patternBlock, smallCache, within } from './harness.js';
import { FakeNetwork } from '@dd/testing';

const SECRET = { secret: 'a shared secret of 32 bytes long' };


describe.each(backends)('auth over the $name backend (D18)', (backend) => {
  it('engines with the same secret link and pull the right bytes', async () => {
    const pair = await createPair(backend, { auth: SECRET });
    try {
      const served = smallCache(pair.prompt);
      fillPattern(served, 5);
      const local = smallCache(pair.decoder);
      await pair.decoder.link({ clusterId: 1n, remote: { ip: '127.0.0.1', port: pair.promptPort } });
      await pair.decoder.pullBlocks({ from: { clusterId: 1n, cacheId: served.id }, into: local, srcBlocks: [3], dstBlocks: [0] });
      expect(local.block(2, 0)).toEqual(patternBlock(local.bytesPerBlock, 5, 2, 3));
      await pair.decoder.unlink(1n);
    } finally {
      await pair.dispose();
    }
  });

  it('an engine without the secret, or with another one, gets LLM_LINK_FAILED with the reason, and holds no link', async () => {
    const pair = await createPair(backend, { auth: SECRET });
    const strangers = [
      LlmDataDist.create({ clusterId: 7n, role: 'decoder', bindings: pair.bindings }),
      LlmDataDist.create({ clusterId: 8n, role: 'decoder', bindings: pair.bindings, auth: { secret: 'another secret, also 32 bytes!!!' } }),
    ];
    try {
      for (const stranger of strangers) {
        const outcome = await stranger.linkClusters({ clusterId: 1n, remote: { ip: '127.0.0.1', port: pair.promptPort }, local: { ip: '127.0.0.1', port: 0 } });
        const error = outcome.failures[0]?.error;
        expect(error).toBeInstanceOf(LinkError);
        expect(error?.statusName).toBe('LLM_LINK_FAILED');
        expect(error?.message).toMatch(/AuthSecret/);
        expect(stranger.links).toEqual([]);
      }
    } finally {
      for (const stranger of strangers) stranger.close({ force: true });
      await pair.dispose();
    }
  });

  it('link health with a secret: a broken link relinks to the restarted peer holding the secret; one with another secret is refused and the link stays closed', async () => {
    const pair = await createPair(backend, { auth: SECRET });
    const restarted: LlmDataDist[] = [];
    const listen = { ip: '127.0.0.1', port: pair.promptPort };
    try {
      smallCache(pair.prompt);
      const into = smallCache(pair.decoder);
      const [old] = await pair.decoder.link({ clusterId: 1n, remote: listen });
      pair.prompt.close({ force: true });
      expect((await within('down', old!.down)).status).toBe('broken');
      // A stranger takes the address: the relink is refused for the secret, nothing is linked.
      const stranger = LlmDataDist.create({ clusterId: 1n, role: 'prompt', listen, bindings: pair.bindings, auth: { secret: 'another secret, also 32 bytes!!!' } });
      restarted.push(stranger);
      const refused = await pair.decoder.relink(old!, { timeoutMs: 1000 }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(LinkError);
      expect((refused as LinkError).statusName).toBe('LLM_LINK_FAILED');
      expect(pair.decoder.links).toEqual([]);
      stranger.close({ force: true });
      // The real peer comes back with the secret: a plain link works again and moves the right bytes.
      const peer = LlmDataDist.create({ clusterId: 1n, role: 'prompt', listen, syncTimeoutMs: 2000, bindings: pair.bindings, auth: SECRET });
      restarted.push(peer);
      const served = smallCache(peer);
      fillPattern(served, 6);
      await pair.decoder.link({ clusterId: 1n, remote: listen });
      await pair.decoder.pullBlocks({ from: { clusterId: 1n, cacheId: served.id }, into, srcBlocks: [2], dstBlocks: [1] });
      expect(into.block(1, 1)).toEqual(patternBlock(into.bytesPerBlock, 6, 1, 2));
      await pair.decoder.unlink(1n);
    } finally {
      await pair.dispose();
      for (const engine of restarted) {
        await engine.settled();
        engine.close({ force: true });
      }
    }
  });
});

/** What `call` threw (undefined when it returned). */
function thrownBy(call: () => unknown): Error | undefined {
  try {
    call();
  } catch (error) {
    return error as Error;
  }
  return undefined;
}

describe('auth option checks', () => {
  const network = new FakeNetwork();
  it.each([
    [{ secret: 'short' }, /16 to 4096 bytes/],
    [{ secret: 'x'.repeat(4097) }, /16 to 4096 bytes/],
    [{ secret: 'sixteen bytes ok\0 but a NUL' }, /NUL/],
    [{ secret: 42 }, /must be a string/],
    [{ secrets: 'a shared secret of 32 bytes long' }, /not an auth option/],
    ['a shared secret of 32 bytes long', /must be an object/],
  ])('rejects auth %# before native code, without echoing the secret', (auth, rule) => {
    const thrown = thrownBy(() => LlmDataDist.create({ clusterId: 1n, role: 'prompt', bindings: network.bindings, auth: auth as never }));
    expect(thrown).toBeInstanceOf(DataDistArgumentError);
    expect(thrown?.message).toMatch(rule);
    expect(thrown?.message).not.toContain('sixteen bytes ok');
  });

  it('a secret in extraOptions as well as in auth is refused; a bad one there is not echoed', () => {
    expect(() => LlmDataDist.create({ clusterId: 1n, role: 'prompt', bindings: network.bindings, auth: SECRET, extraOptions: { 'dd.AuthSecret': SECRET.secret } })).toThrow(/repeats an option set by a typed field/);
    const thrown = thrownBy(() => LlmDataDist.create({ clusterId: 1n, role: 'prompt', bindings: network.bindings, extraOptions: { 'dd.AuthSecret': 'top secret\0value' } }));
    expect(thrown).toBeInstanceOf(DataDistArgumentError);
    expect(thrown?.message).not.toContain('top secret');
  });
});

describe('an engine listening beyond loopback without auth', () => {
  afterEach(() => vi.restoreAllMocks());

  it('knows loopback addresses', () => {
    for (const ip of ['127.0.0.1', '127.3.2.1', '::1', '::ffff:127.0.0.1']) expect(isLoopback(ip)).toBe(true);
    for (const ip of ['0.0.0.0', '10.0.0.1', '::', 'fe80::1', '::ffff:10.0.0.1', '128.0.0.1']) expect(isLoopback(ip)).toBe(false);
  });

  it('warns once per process and publishes every time; loopback and authenticated engines do not', async () => {
    const network = new FakeNetwork();
    const events: UnauthenticatedListenerEvent[] = [];
    const onEvent = (event: unknown) => events.push(event as UnauthenticatedListenerEvent);
    diagnostics_channel.subscribe(UNAUTHENTICATED_LISTENER_CHANNEL, onEvent);
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const engines: LlmDataDist[] = [];
    try {
      engines.push(LlmDataDist.create({ clusterId: 1n, role: 'prompt', bindings: network.bindings, listen: { ip: '127.0.0.1', port: await freePort() } }));
      engines.push(LlmDataDist.create({ clusterId: 2n, role: 'prompt', bindings: network.bindings, listen: { ip: '0.0.0.0', port: await freePort() }, auth: SECRET }));
      expect(events).toEqual([]);
      engines.push(LlmDataDist.create({ clusterId: 3n, role: 'prompt', bindings: network.bindings, listen: { ip: '10.1.2.3', port: 7000 } }));
      engines.push(LlmDataDist.create({ clusterId: 4n, role: 'prompt', bindings: network.bindings, listen: { ip: '0.0.0.0', port: 7001 } }));
      expect(events.map((e) => e.clusterId)).toEqual([3n, 4n]);
      expect(events[1]?.listen).toEqual({ ip: '0.0.0.0', port: 7001 });
      // Another test file may have warned already in this process; never more than once.
      expect(warn.mock.calls.length).toBeLessThanOrEqual(1);
      const first = warn.mock.calls[0];
      if (first !== undefined) {
        expect(String(first[0])).toContain('without auth');
        expect(first[1]).toMatchObject({ type: 'DataDistSecurityWarning', code: 'DD_UNAUTHENTICATED_LISTENER' });
      }
      // setRole onto a public address is announced too.
      const first1 = engines[0] as LlmDataDist;
      first1.setRole('prompt', { listen: { ip: '0.0.0.0', port: 7002 } });
      expect(events.map((e) => e.clusterId)).toEqual([3n, 4n, 1n]);
    } finally {
      diagnostics_channel.unsubscribe(UNAUTHENTICATED_LISTENER_CHANNEL, onEvent);
      for (const engine of engines) engine.close({ force: true });
    }
  });
});
