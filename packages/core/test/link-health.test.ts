import diagnostics_channel from 'node:diagnostics_channel';
import { describe, expect, it } from 'vitest';
import {
  ClusterLink,
  DataDistArgumentError,
  LINK_STATE_CHANNEL,
  LinkStateChangeEvent,
  LlmDataDist,
  StatusCode,
  TimeoutError,
  type Bindings,
  type LinkDownState,
  type LinkStateChangeMessage,
} from '../src/index.js';
import { FakeNetwork } from '@dd/testing';
import { backends } from './backends.js';
import { createPair, fillPattern, patternBlock, recordingBindings, smallCache, WAIT_BOUND_MS, within } from './harness.js';


/** The next linkstatechange event of `engine`. */
function nextChange(engine: LlmDataDist): Promise<LinkStateChangeEvent> {
  return new Promise((resolve) => engine.addEventListener('linkstatechange', resolve, { once: true }));
}

describe.each(backends)('link health over the $name backend', (backend) => {
  it('A16: a link is up, and when its peer dies it turns broken without any transfer: event, down promise, engine.links', async () => {
    const pair = await createPair(backend);
    try {
      smallCache(pair.prompt);
      const into = smallCache(pair.decoder);
      const [link] = await pair.decoder.link({ clusterId: 1n, remote: { ip: '127.0.0.1', port: pair.promptPort } });
      expect(link).toBeInstanceOf(ClusterLink);
      expect(link!.state).toEqual({ status: 'up' });
      expect(pair.decoder.watchesLinks).toBe(true);
      const event = nextChange(pair.decoder);
      const started = performance.now();
      pair.prompt.close({ force: true }); // tells no peer (A16): only the backend's watch can find it
      const seen = await within('linkstatechange', event);
      const afterMs = performance.now() - started;
      expect(seen.link).toBe(link);
      expect(seen.previous).toEqual({ status: 'up' });
      expect(seen.state).toMatchObject({ status: 'broken', cause: { source: 'backend', confirmed: true } });
      expect(seen.state.status === 'broken' && seen.state.cause.message.length > 0).toBe(true);
      expect(await link!.down).toBe(seen.state);
      expect(pair.decoder.links).toEqual([link]);
      expect(pair.decoder.links[0]!.state.status).toBe('broken');
      expect(afterMs).toBeLessThan(WAIT_BOUND_MS);
      // A transfer over it now fails as the rules say (choice A1/A16), naming the cause the event
      // reported, and the state stays broken.
      const failed = await pair.decoder.pullBlocks({ from: { clusterId: 1n, cacheId: 1n }, into, srcBlocks: [0], dstBlocks: [0] }).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failed).toBeInstanceOf(TimeoutError);
      expect((failed as TimeoutError).nativeMessage).toContain(seen.state.status === 'broken' ? seen.state.cause.message : '?');
    } finally {
      await pair.dispose();
    }
  });

  it('A20: unlink closes the link (event, down), and closing the engine closes the links it holds', async () => {
    const pair = await createPair(backend);
    try {
      const [first] = await pair.decoder.link({ clusterId: 1n, remote: { ip: '127.0.0.1', port: pair.promptPort } });
      const changes: LinkStateChangeEvent[] = [];
      pair.decoder.addEventListener('linkstatechange', (e) => changes.push(e));
      await pair.decoder.unlink(1n);
      expect(await first!.down).toEqual({ status: 'closed', reason: 'unlinked' });
      expect(changes.map((c) => c.state.status)).toEqual(['closed']);
      expect(pair.decoder.links).toEqual([]);
      const [second] = await pair.decoder.link({ clusterId: 1n, remote: { ip: '127.0.0.1', port: pair.promptPort } });
      await pair.decoder.settled();
      pair.decoder.close({ force: true });
      expect(second!.state).toEqual({ status: 'closed', reason: 'engine-closed' });
    } finally {
      await pair.dispose();
    }
  });

  it('A21: relink after the peer restarted on the same address: one call, the old link closes, the new one moves the right bytes', async () => {
    const pair = await createPair(backend);
    let restarted: LlmDataDist | undefined;
    try {
      smallCache(pair.prompt);
      const into = smallCache(pair.decoder);
      const [old] = await pair.decoder.link({ clusterId: 1n, remote: { ip: '127.0.0.1', port: pair.promptPort } });
      pair.prompt.close({ force: true });
      const down = await within('down', old!.down);
      expect(down.status).toBe('broken');
      // The peer comes back: same cluster id, same address, its cache registered before any link.
      restarted = LlmDataDist.create({ clusterId: 1n, role: 'prompt', listen: { ip: '127.0.0.1', port: pair.promptPort }, syncTimeoutMs: 2000, bindings: pair.bindings });
      const served = smallCache(restarted);
      fillPattern(served, 9);
      const fresh = await pair.decoder.relink(old!);
      expect(fresh).not.toBe(old);
      expect(fresh.state).toEqual({ status: 'up' });
      expect(old!.state).toMatchObject({ status: 'closed', reason: 'relinked', cause: { source: 'backend' } });
      expect(pair.decoder.links).toEqual([fresh]);
      await pair.decoder.pullBlocks({ from: { clusterId: 1n, cacheId: served.id }, into, srcBlocks: [3, 4], dstBlocks: [0, 1] });
      expect(into.block(2, 1)).toEqual(patternBlock(into.bytesPerBlock, 9, 2, 4));
      await pair.decoder.unlink(1n);
    } finally {
      await pair.dispose();
      await restarted?.settled();
      restarted?.close({ force: true });
    }
  });

  it('A21: two callers relinking the same broken link relink once; a late caller with the old link gets the new one', async () => {
    const base = backend.newBindings();
    const recorded = recordingBindings(base);
    const pair = await createPair(backend, { bindings: recorded.bindings });
    let restarted: LlmDataDist | undefined;
    try {
      const [old] = await pair.decoder.link({ clusterId: 1n, remote: { ip: '127.0.0.1', port: pair.promptPort } });
      pair.prompt.close({ force: true });
      await within('down', old!.down);
      restarted = LlmDataDist.create({ clusterId: 1n, role: 'prompt', listen: { ip: '127.0.0.1', port: pair.promptPort }, bindings: base });
      const linksBefore = recorded.calls.filter((c) => c.name === 'LlmDataDist_LinkLlmClustersAsync').length;
      const [a, b] = await Promise.all([pair.decoder.relink(old!), pair.decoder.relink(1n)]);
      expect(a).toBe(b);
      const late = await pair.decoder.relink(old!);
      expect(late).toBe(a);
      const calls = recorded.calls.filter((c) => c.name === 'LlmDataDist_LinkLlmClustersAsync').length - linksBefore;
      expect(calls).toBe(1);
      expect(recorded.calls.filter((c) => c.name === 'LlmDataDist_UnlinkLlmClustersAsync' && c.args[3] === true)).toHaveLength(1);
      await pair.decoder.unlink(1n);
    } finally {
      await pair.dispose();
      await restarted?.settled();
      restarted?.close({ force: true });
    }
  });

  it('A21: a relink while the peer is still gone throws the link error; the old link is closed and engine.links is empty', async () => {
    const pair = await createPair(backend);
    try {
      const [old] = await pair.decoder.link({ clusterId: 1n, remote: { ip: '127.0.0.1', port: pair.promptPort } });
      pair.prompt.close({ force: true });
      await within('down', old!.down);
      const failed = await pair.decoder.relink(old!, { timeoutMs: 500 }).catch((e: unknown) => e);
      expect(failed).toMatchObject({ operation: 'link' });
      expect(old!.state).toMatchObject({ status: 'closed', reason: 'relinked' });
      expect(pair.decoder.links).toEqual([]);
      await expect(pair.decoder.relink(1n)).rejects.toBeInstanceOf(DataDistArgumentError);
    } finally {
      await pair.dispose();
    }
  });

  it('publishes every change on the dd:core:link:state channel', async () => {
    const pair = await createPair(backend);
    const seen: LinkStateChangeMessage[] = [];
    const listener = (m: unknown): void => {
      seen.push(m as LinkStateChangeMessage);
    };
    diagnostics_channel.subscribe(LINK_STATE_CHANNEL, listener);
    try {
      const [link] = await pair.decoder.link({ clusterId: 1n, remote: { ip: '127.0.0.1', port: pair.promptPort } });
      pair.prompt.close({ force: true });
      await within('down', link!.down);
      await pair.decoder.unlink(1n, { force: true });
      const mine = seen.filter((m) => m.clusterId === 2n);
      expect(mine.map((m) => [m.peerClusterId, m.previous.status, m.state.status])).toEqual([
        [1n, 'up', 'broken'],
        [1n, 'broken', 'closed'],
      ]);
    } finally {
      diagnostics_channel.unsubscribe(LINK_STATE_CHANNEL, listener);
      await pair.dispose();
    }
  });
});

/** The fake's bindings, with dd's link-health extension answering as CANN's shim does. */
function cannLike(inner: Bindings): Bindings {
  return new Proxy(inner, {
    get(target, key, receiver) {
      if (key === 'ddLinkStates' || key === 'ddLinkBreakCause') {
        return () => (key === 'ddLinkStates' ? StatusCode.LLM_FEATURE_NOT_ENABLED : { status: StatusCode.LLM_FEATURE_NOT_ENABLED, length: 0n });
      }
      const value: unknown = Reflect.get(target, key, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

describe('link health judged by transfer results', () => {
  it('on a backend that watches its links, a timed-out transfer over a live link leaves it up (a slow transfer is no break)', async () => {
    const network = new FakeNetwork();
    const pair = await createPair({ name: 'fake', newBindings: () => network.bindings });
    try {
      const served = smallCache(pair.prompt);
      const into = smallCache(pair.decoder);
      const [link] = await pair.decoder.link({ clusterId: 1n, remote: { ip: '127.0.0.1', port: pair.promptPort } });
      network.faults.stallTransfer({ nth: 1 });
      await expect(pair.decoder.pullBlocks({ from: { clusterId: 1n, cacheId: served.id }, into, srcBlocks: [0], dstBlocks: [0] })).rejects.toBeInstanceOf(TimeoutError);
      expect(link!.state).toEqual({ status: 'up' });
    } finally {
      await pair.dispose();
    }
  });

  it('on a backend that cannot tell (CANN), a link-level failure marks the link broken, unconfirmed; a later success brings it back up', async () => {
    const network = new FakeNetwork();
    const bindings = cannLike(network.bindings);
    const pair = await createPair({ name: 'fake', newBindings: () => bindings });
    try {
      const served = smallCache(pair.prompt);
      const into = smallCache(pair.decoder);
      const [link] = await pair.decoder.link({ clusterId: 1n, remote: { ip: '127.0.0.1', port: pair.promptPort } });
      expect(pair.decoder.watchesLinks).toBe(false);
      const changes: LinkDownState['status'][] = [];
      pair.decoder.addEventListener('linkstatechange', (e) => changes.push(e.state.status as LinkDownState['status']));
      network.faults.failTransfer({ nth: 1, status: StatusCode.LLM_TIMEOUT });
      const failed = await pair.decoder.pullBlocks({ from: { clusterId: 1n, cacheId: served.id }, into, srcBlocks: [0], dstBlocks: [0] }).catch((e: unknown) => e);
      expect(link!.state).toMatchObject({ status: 'broken', cause: { source: 'transfer', confirmed: false, error: failed } });
      // A failure that says nothing about the link (a missing cache) changes nothing.
      await expect(pair.decoder.pullBlocks({ from: { clusterId: 1n, cacheId: 77n }, into, srcBlocks: [0], dstBlocks: [0] })).rejects.toMatchObject({ statusName: 'LLM_KV_CACHE_NOT_EXIST' });
      await pair.decoder.pullBlocks({ from: { clusterId: 1n, cacheId: served.id }, into, srcBlocks: [0], dstBlocks: [0] });
      expect(link!.state).toEqual({ status: 'up' });
      expect(changes).toEqual(['broken', 'up']);
    } finally {
      await pair.dispose();
    }
  });

  it('on the fake, vanish (a process that died) breaks the link without a transfer, and the fault named the cause', async () => {
    const network = new FakeNetwork();
    const pair = await createPair({ name: 'fake', newBindings: () => network.bindings });
    try {
      const [link] = await pair.decoder.link({ clusterId: 1n, remote: { ip: '127.0.0.1', port: pair.promptPort } });
      network.faults.vanish(1n);
      const down = await within('down', link!.down);
      expect(down).toMatchObject({ status: 'broken', cause: { source: 'backend', confirmed: true } });
      expect(down.status === 'broken' && down.cause.message).toMatch(/cluster 1 no longer holds its side/);
    } finally {
      await pair.dispose();
    }
  });

  it('rejects a bad linkPollIntervalMs and a relink target that is neither a link nor a peer', async () => {
    const network = new FakeNetwork();
    expect(() => LlmDataDist.create({ clusterId: 1n, role: 'prompt', linkPollIntervalMs: 5, bindings: network.bindings })).toThrow(DataDistArgumentError);
    const engine = LlmDataDist.create({ clusterId: 1n, role: 'prompt', bindings: network.bindings });
    try {
      await expect(engine.relink({ clusterId: 2n } as never)).rejects.toBeInstanceOf(DataDistArgumentError);
    } finally {
      engine.close();
    }
  });
});
