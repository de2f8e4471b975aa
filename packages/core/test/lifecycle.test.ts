import { OptionKey, loadNativeBindings } from '@dd/sys';
import { describe, expect, it } from 'vitest';
import { FakeNetwork } from '@dd/testing';
import {
  DataDistArgumentError,
  DataDistError,
  DataType,
  EngineClosedError,
  LinkError,
  LlmDataDist,
  OrderingError,
  StatusCode,
} from '../src/index.js';
import { backends, freePort } from './backends.js';
import { createPair, recordingBindings, smallCache } from './harness.js';

describe.each(backends)('lifecycle over the $name backend', (backend) => {
  it('creates an engine from one options object and passes every option to Initialize', async () => {
    const port = await freePort();
    const rec = recordingBindings(backend.newBindings());
    const engine = LlmDataDist.create({
      clusterId: 7,
      role: 'prompt',
      deviceId: 0,
      listen: { ip: '127.0.0.1', port },
      syncTimeoutMs: 1500,
      extraOptions: { 'llm.EnableSwitchRole': '1' },
      bindings: rec.bindings,
    });
    try {
      expect(engine.clusterId).toBe(7n);
      expect(engine.role).toBe('prompt');
      expect(engine.listen).toEqual({ ip: '127.0.0.1', port });
      expect(engine.closed).toBe(false);
      expect(engine.backend.name).toBe(backend.newBindings().backend.name);
      const create = rec.calls.find((c) => c.name === 'LlmDataDist_create');
      expect(create?.args.slice(0, 2)).toEqual([7n, 1]);
      const init = rec.calls.find((c) => c.name === 'LlmDataDist_Initialize');
      expect(init?.args[1]).toEqual({
        [OptionKey.OPTION_DEVICE_ID]: '0',
        [OptionKey.OPTION_LISTEN_IP_INFO]: `127.0.0.1:${port}`,
        [OptionKey.OPTION_SYNC_CACHE_WAIT_TIME]: '1500',
        'llm.EnableSwitchRole': '1',
      });
    } finally {
      engine.close();
    }
  });

  it('reports a refused Initialize with the native detail and frees the handle', async () => {
    const port = await freePort();
    const bindings = backend.newBindings();
    const first = LlmDataDist.create({ clusterId: 1n, role: 'prompt', listen: { ip: '127.0.0.1', port }, bindings });
    const rec = recordingBindings(bindings);
    try {
      let caught: unknown;
      try {
        LlmDataDist.create({ clusterId: 2n, role: 'prompt', listen: { ip: '127.0.0.1', port }, bindings: rec.bindings });
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(DataDistError);
      expect(caught).not.toBeInstanceOf(DataDistArgumentError);
      const error = caught as DataDistError;
      expect(error.operation).toBe('initialize');
      expect(error.status).not.toBe(StatusCode.LLM_SUCCESS);
      expect(error.message).toContain(error.statusName);
      expect(rec.calls.map((c) => c.name)).toEqual(['LlmDataDist_create', 'LlmDataDist_Initialize', 'LlmDataDist_destroy']);
    } finally {
      first.close();
    }
  });

  it('close() finalizes once; afterwards every method throws EngineClosedError without reaching native code', async () => {
    const rec = recordingBindings(backend.newBindings());
    const engine = LlmDataDist.create({ clusterId: 3n, role: 'decoder', bindings: rec.bindings });
    engine.close();
    engine.close();
    expect(engine.closed).toBe(true);
    expect(rec.calls.filter((c) => c.name === 'LlmDataDist_Finalize')).toHaveLength(1);
    expect(rec.calls.filter((c) => c.name === 'LlmDataDist_destroy')).toHaveLength(1);
    const before = rec.calls.length;
    const attempts: (() => unknown)[] = [
      () => engine.setRole('prompt'),
      () => smallCache(engine),
      () => engine.registerCache({ desc: { placement: 'host', dataType: 1, shape: [1] }, tensors: [new Uint8Array(2)] }),
    ];
    for (const attempt of attempts) {
      expect(attempt).toThrow(EngineClosedError);
    }
    const peer = { clusterId: 1n, remote: { ip: '127.0.0.1', port: 9 }, local: { ip: '127.0.0.1', port: 0 } };
    await expect(engine.linkClusters(peer)).rejects.toBeInstanceOf(EngineClosedError);
    await expect(engine.unlinkClusters(1n, { force: true })).rejects.toBeInstanceOf(EngineClosedError);
    const closedError = await engine.link(peer).catch((e: unknown) => e);
    expect(closedError).toMatchObject({ status: StatusCode.LLM_ENGINE_FINALIZED, statusName: 'LLM_ENGINE_FINALIZED', operation: 'link' });
    expect(rec.calls.length).toBe(before);
  });

  it('close() refuses while caches are registered or links exist, and force closes anyway', async () => {
    const pair = await createPair(backend);
    try {
      const cache = smallCache(pair.decoder);
      expect(() => pair.decoder.close()).toThrow(OrderingError);
      try {
        pair.decoder.close();
      } catch (error) {
        expect(error).toMatchObject({ rule: 'unregister-before-close', operation: 'close' });
        expect((error as Error).message).toContain(`unregister caches ${cache.id}`);
      }
      cache.unregister();
      smallCache(pair.prompt);
      await pair.decoder.link({ clusterId: 1n, remote: { ip: '127.0.0.1', port: pair.promptPort } });
      expect(() => pair.decoder.close()).toThrow(expect.objectContaining({ rule: 'unlink-before-close', statusName: 'LLM_EXIST_LINK' }) as Error);
      const promptCache = pair.prompt.caches[0];
      pair.prompt.close({ force: true });
      expect(pair.prompt.closed).toBe(true);
      expect(promptCache?.registered).toBe(false);
      promptCache?.unregister();
    } finally {
      await pair.dispose();
    }
  });

  it('`using` unregisters caches and finalizes at scope end', async () => {
    const rec = recordingBindings(backend.newBindings());
    let cache;
    {
      using engine = LlmDataDist.create({ clusterId: 4n, role: 'prompt', bindings: rec.bindings });
      cache = smallCache(engine);
      expect(cache.registered).toBe(true);
    }
    expect(cache.registered).toBe(false);
    const names = rec.calls.map((c) => c.name);
    expect(names.indexOf('LlmDataDist_UnregisterKvCache')).toBeGreaterThan(-1);
    expect(names.indexOf('LlmDataDist_UnregisterKvCache')).toBeLessThan(names.indexOf('LlmDataDist_Finalize'));
  });

  it('`await using` unlinks, unregisters and finalizes in that order', async () => {
    const pair = await createPair(backend);
    const rec = recordingBindings(pair.bindings);
    const port = await freePort();
    try {
      smallCache(pair.prompt);
      let engine: LlmDataDist;
      {
        await using scoped = LlmDataDist.create({ clusterId: 9n, role: 'decoder', listen: { ip: '127.0.0.1', port }, bindings: rec.bindings });
        engine = scoped;
        smallCache(scoped);
        await scoped.link({ clusterId: 1n, remote: { ip: '127.0.0.1', port: pair.promptPort } });
        expect(scoped.links).toHaveLength(1);
      }
      expect(engine.closed).toBe(true);
      const names = rec.calls.map((c) => c.name);
      const unlinkAt = names.indexOf('LlmDataDist_UnlinkLlmClustersAsync');
      const unregisterAt = names.indexOf('LlmDataDist_UnregisterKvCache');
      const finalizeAt = names.indexOf('LlmDataDist_Finalize');
      expect(unlinkAt).toBeGreaterThan(-1);
      expect(unlinkAt).toBeLessThan(unregisterAt);
      expect(unregisterAt).toBeLessThan(finalizeAt);
    } finally {
      await pair.dispose();
    }
  });

  it('setRole changes the role and listen address, and refuses while linked', async () => {
    const pair = await createPair(backend);
    try {
      smallCache(pair.prompt);
      pair.decoder.setRole('mix');
      expect(pair.decoder.role).toBe('mix');
      expect(pair.decoder.listen?.port).toBe(pair.decoderPort);

      await pair.decoder.link({ clusterId: 1n, remote: { ip: '127.0.0.1', port: pair.promptPort } });
      const rec = recordingBindings(pair.bindings);
      expect(() => pair.decoder.setRole('prompt')).toThrow(expect.objectContaining({ rule: 'unlink-before-set-role', statusName: 'LLM_EXIST_LINK' }) as Error);
      expect(rec.calls).toHaveLength(0);
      await pair.decoder.unlink(1n);

      // The prompt stops listening: a new link to its old address now fails.
      pair.prompt.setRole('prompt', { listen: null });
      expect(pair.prompt.listen).toBeUndefined();
      const outcome = await pair.decoder.linkClusters({ clusterId: 1n, remote: { ip: '127.0.0.1', port: pair.promptPort } }, { timeoutMs: 500 });
      expect(outcome.linked).toHaveLength(0);
      expect(outcome.failures[0]?.error).toBeInstanceOf(LinkError);

      // Listening again on a new port makes it reachable there.
      const port = await freePort();
      pair.prompt.setRole('prompt', { listen: { ip: '127.0.0.1', port } });
      await pair.decoder.link({ clusterId: 1n, remote: { ip: '127.0.0.1', port } });
      expect(pair.decoder.links.map((l) => l.clusterId)).toEqual([1n]);
      await pair.decoder.unlink(1n);
    } finally {
      await pair.dispose();
    }
  });
});

describe('native backend loading', () => {
  it('loads the native backend when no bindings are given', () => {
    const engine = LlmDataDist.create({ clusterId: 8n, role: 'mix' });
    expect(engine.backend.name).toBe('host');
    expect(engine.backend).toEqual(loadNativeBindings().backend);
    engine.close();
  });

  it('reports a native library that cannot be loaded as a DataDistError of create', () => {
    let caught: unknown;
    try {
      LlmDataDist.create({ clusterId: 8n, role: 'mix', nativeLibrary: '/nonexistent/libdd_llm_datadist.so' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(DataDistError);
    expect(caught).toMatchObject({ operation: 'create', statusName: 'LLM_FAILED' });
    expect((caught as Error).message).toContain('/nonexistent/libdd_llm_datadist.so');
  });
});

describe('an engine whose process vanished (fake)', () => {
  it('can still be disposed: unregister, close and await using do not throw', async () => {
    const network = new FakeNetwork();
    const promptPort = await freePort();
    const prompt = LlmDataDist.create({ clusterId: 1n, role: 'prompt', listen: { ip: '127.0.0.1', port: promptPort }, bindings: network.bindings });
    const cache = prompt.registerHostCache({ placement: 'host', dataType: DataType.DT_INT32, shape: [4, 16], numTensors: 2 });
    const other = prompt.registerHostCache({ placement: 'host', dataType: DataType.DT_INT32, shape: [4, 16], numTensors: 2 });
    {
      await using decoder = LlmDataDist.create({ clusterId: 2n, role: 'decoder', bindings: network.bindings });
      await decoder.link({ clusterId: 1n, remote: { ip: '127.0.0.1', port: promptPort }, local: { ip: '127.0.0.1', port: 0 } });
      network.faults.vanish(1n);
      // The prompt's process is gone: its objects still release without throwing.
      cache.unregister();
      expect(cache.registered).toBe(false);
      await prompt[Symbol.asyncDispose]();
      expect(prompt.closed).toBe(true);
      expect(other.registered).toBe(false);
      // The decoder's await using unlinks a link whose peer is gone: its failure is not thrown.
    }
  });
});
