import { describe, expect, it } from 'vitest';
import { AggregateLinkError, DataDistArgumentError, LinkError, LlmDataDist, NotLinkedError, OperationAbortedError, StatusCode } from '../src/index.js';
import { backends, freePort } from './backends.js';
import { createPair, fillPattern, patternBlock, recordingBindings, smallCache } from './harness.js';

describe.each(backends)('links over the $name backend', (backend) => {
  it('A1: the side that accepted a link pulls and pushes over it, naming the side that linked by its own id', async () => {
    const pair = await createPair(backend);
    try {
      const served = smallCache(pair.decoder);
      fillPattern(served, 3);
      const local = smallCache(pair.prompt);
      await pair.decoder.link({ clusterId: 1n, remote: { ip: '127.0.0.1', port: pair.promptPort } });
      // The prompt never linked: it holds the link the decoder made, named 2 (the decoder's id).
      expect(pair.prompt.links).toEqual([]);
      await pair.prompt.pullBlocks({ from: { clusterId: 2n, cacheId: served.id }, into: local, srcBlocks: [5, 6], dstBlocks: [0, 1] });
      expect(local.block(1, 0)).toEqual(patternBlock(local.bytesPerBlock, 3, 1, 5));
      expect(local.block(3, 1)).toEqual(patternBlock(local.bytesPerBlock, 3, 3, 6));
      await pair.decoder.unlink(1n);
    } finally {
      await pair.dispose();
    }
  });

  it('A1: a link is named by the id the peer reports; transfers naming another id fail with a hint', async () => {
    const pair = await createPair(backend);
    try {
      const served = smallCache(pair.prompt);
      fillPattern(served, 4);
      const local = smallCache(pair.decoder);
      // The prompt engine is cluster 1; linking to it under the name 9 still links (to cluster 1).
      await pair.decoder.link({ clusterId: 9n, remote: { ip: '127.0.0.1', port: pair.promptPort } });
      const wrong = await pair.decoder.pullBlocks({ from: { clusterId: 9n, cacheId: served.id }, into: local, srcBlocks: [1], dstBlocks: [1] }).catch((e: unknown) => e);
      expect(wrong).toBeInstanceOf(NotLinkedError);
      expect((wrong as NotLinkedError).message).toContain("named by the peer's own cluster id");
      await pair.decoder.pullBlocks({ from: { clusterId: 1n, cacheId: served.id }, into: local, srcBlocks: [1], dstBlocks: [1] });
      expect(local.block(0, 1)).toEqual(patternBlock(local.bytesPerBlock, 4, 0, 1));
      // Only a forced unlink naming the real id clears this side (A1, A20).
      await pair.decoder.unlink({ clusterId: 1n, remote: { ip: '127.0.0.1', port: pair.promptPort } }, { force: true });
      await pair.prompt.unlink(2n, { force: true });
    } finally {
      await pair.dispose();
    }
  });

  it('A17: setRole of an engine that accepted a link is refused with LLM_EXIST_LINK', async () => {
    const pair = await createPair(backend);
    try {
      await pair.decoder.link({ clusterId: 1n, remote: { ip: '127.0.0.1', port: pair.promptPort } });
      const refused = (() => {
        try {
          pair.prompt.setRole('decoder');
        } catch (error) {
          return error;
        }
        return undefined;
      })();
      expect(refused).toBeInstanceOf(LinkError);
      expect((refused as LinkError).statusName).toBe('LLM_EXIST_LINK');
      expect(pair.prompt.role).toBe('prompt');
      await pair.decoder.unlink(1n);
      pair.prompt.setRole('decoder');
      expect(pair.prompt.role).toBe('decoder');
    } finally {
      await pair.dispose();
    }
  });

  it('D12: maxLinks bounds the links an engine holds; past it a cluster fails with LLM_LINK_FAILED', async () => {
    const pair = await createPair(backend, { maxLinks: 1 });
    const thirdPort = await freePort();
    const third = LlmDataDist.create({ clusterId: 3n, role: 'prompt', listen: { ip: '127.0.0.1', port: thirdPort }, bindings: pair.bindings });
    try {
      await pair.decoder.link({ clusterId: 1n, remote: { ip: '127.0.0.1', port: pair.promptPort } });
      const outcome = await pair.decoder.linkClusters({ clusterId: 3n, remote: { ip: '127.0.0.1', port: thirdPort } });
      expect(outcome.failures.map((f) => [f.clusterId, f.error.statusName])).toEqual([[3n, 'LLM_LINK_FAILED']]);
      expect(pair.decoder.links.map((l) => l.clusterId)).toEqual([1n]);
      await pair.decoder.unlink(1n);
    } finally {
      third.close({ force: true });
      await pair.dispose();
    }
  });

  it('links, lists and unlinks a cluster', async () => {
    const pair = await createPair(backend);
    try {
      const peer = { clusterId: 1n, remote: { ip: '127.0.0.1', port: pair.promptPort } };
      const outcome = await pair.decoder.linkClusters(peer);
      expect(outcome.status).toBe(StatusCode.LLM_SUCCESS);
      expect(outcome.failures).toEqual([]);
      expect(outcome.linked).toEqual([{ clusterId: 1n, remote: { ip: '127.0.0.1', port: pair.promptPort }, local: { ip: '127.0.0.1', port: pair.decoderPort } }]);
      expect(pair.decoder.links).toEqual(outcome.linked);

      const unlinked = await pair.decoder.unlinkClusters(pair.decoder.links);
      expect(unlinked).toEqual({ status: StatusCode.LLM_SUCCESS, unlinked: [1n], failures: [] });
      expect(pair.decoder.links).toEqual([]);
    } finally {
      await pair.dispose();
    }
  });

  it('reports each cluster of a mixed call as data, and link() throws an AggregateLinkError', async () => {
    const pair = await createPair(backend);
    const deadPort = await freePort();
    try {
      const good = { clusterId: 1n, remote: { ip: '127.0.0.1', port: pair.promptPort } };
      const dead = { clusterId: 5n, remote: { ip: '127.0.0.1', port: deadPort } };
      const outcome = await pair.decoder.linkClusters([dead, good], { timeoutMs: 500 });
      expect(outcome.linked.map((l) => l.clusterId)).toEqual([1n]);
      expect(outcome.failures.map((f) => f.clusterId)).toEqual([5n]);
      const failure = outcome.failures[0]?.error;
      expect(failure).toBeInstanceOf(LinkError);
      expect(failure?.statusName).toBe('LLM_LINK_FAILED');
      expect(failure?.operation).toBe('link');
      expect(outcome.status).toBe(StatusCode.LLM_LINK_FAILED);
      expect(pair.decoder.links.map((l) => l.clusterId)).toEqual([1n]);

      // Re-linking a linked cluster is refused per cluster, the existing link is kept.
      const again = await pair.decoder.linkClusters(good);
      expect(again.failures[0]?.error.statusName).toBe('LLM_ALREADY_LINK');
      expect(pair.decoder.links).toHaveLength(1);

      const thrown = await pair.decoder.link([dead], { timeoutMs: 500 }).catch((e: unknown) => e);
      expect(thrown).toBeInstanceOf(AggregateLinkError);
      const aggregate = thrown as AggregateLinkError;
      expect(aggregate.failures.map((f) => [f.clusterId, f.error.statusName])).toEqual([[5n, 'LLM_LINK_FAILED']]);
      expect(aggregate.succeeded).toEqual([]);
      expect(aggregate.message).toContain('cluster 5: LLM_LINK_FAILED');
      await pair.decoder.unlink(1n);
    } finally {
      await pair.dispose();
    }
  });

  it('unlinks by ClusterPeer, and by unknown id only with force', async () => {
    const pair = await createPair(backend);
    try {
      const peer = { clusterId: 1n, remote: { ip: '127.0.0.1', port: pair.promptPort } };
      await pair.decoder.link(peer);
      await pair.decoder.unlink(peer);
      expect(pair.decoder.links).toEqual([]);
      await expect(pair.decoder.unlink(42n)).rejects.toBeInstanceOf(DataDistArgumentError);
      await expect(pair.decoder.unlink(42n, { force: true })).resolves.toBeUndefined();
    } finally {
      await pair.dispose();
    }
  });

  it('force-unlinks locally on both sides', async () => {
    const pair = await createPair(backend);
    try {
      await pair.decoder.link({ clusterId: 1n, remote: { ip: '127.0.0.1', port: pair.promptPort } });
      const outcome = await pair.decoder.unlinkClusters(1, { force: true });
      expect(outcome.unlinked).toEqual([1n]);
      await pair.prompt.unlink(2n, { force: true });
      await pair.decoder.link({ clusterId: 1n, remote: { ip: '127.0.0.1', port: pair.promptPort } });
      await pair.decoder.unlink(1n);
    } finally {
      await pair.dispose();
    }
  });

  it('an aborted signal rejects before any native call', async () => {
    const pair = await createPair(backend);
    const rec = recordingBindings(pair.bindings);
    try {
      const controller = new AbortController();
      controller.abort(new Error('caller gave up'));
      const engine = LlmDataDist.create({ clusterId: 3n, role: 'decoder', listen: { ip: '127.0.0.1', port: await freePort() }, bindings: rec.bindings });
      const before = rec.calls.length;
      const error = await engine
        .linkClusters({ clusterId: 1n, remote: { ip: '127.0.0.1', port: pair.promptPort } }, { signal: controller.signal })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OperationAbortedError);
      expect((error as OperationAbortedError).cause).toBe(controller.signal.reason);
      expect(rec.calls.length).toBe(before);
      engine.close();
    } finally {
      await pair.dispose();
    }
  });

  it('a link that completes after its caller aborted still appears in links', async () => {
    const pair = await createPair(backend);
    const rec = recordingBindings(pair.bindings);
    try {
      const engine = LlmDataDist.create({ clusterId: 3n, role: 'decoder', listen: { ip: '127.0.0.1', port: await freePort() }, bindings: rec.bindings });
      rec.delayMs = 100;
      const controller = new AbortController();
      const pending = engine.linkClusters({ clusterId: 1n, remote: { ip: '127.0.0.1', port: pair.promptPort } }, { signal: controller.signal });
      controller.abort();
      await expect(pending).rejects.toBeInstanceOf(OperationAbortedError);
      await engine.settled();
      expect(engine.links.map((l) => l.clusterId)).toEqual([1n]);
      rec.delayMs = 0;
      await engine.unlink(1n);
      engine.close();
    } finally {
      await pair.dispose();
    }
  });
});
