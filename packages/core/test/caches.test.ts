import { describe, expect, it } from 'vitest';
import { DataDistArgumentError, DataType, LlmDataDist, OrderingError, allocateHostTensors, cacheGeometry } from '../src/index.js';
import { backends } from './backends.js';
import { createPair, recordingBindings, smallCache } from './harness.js';

describe.each(backends)('KV caches over the $name backend', (backend) => {
  it('registers host memory and knows its geometry', () => {
    using engine = LlmDataDist.create({ clusterId: 1n, role: 'prompt', bindings: backend.newBindings() });
    const cache = engine.registerHostCache({ placement: 'host', dataType: DataType.DT_BF16, shape: [8, 4, 2, 8], numTensors: 6 });
    expect(cache.id).toBeGreaterThanOrEqual(1n);
    expect(cache).toMatchObject({
      placement: 'host',
      dataType: DataType.DT_BF16,
      shape: [8, 4, 2, 8],
      numTensors: 6,
      numBlocks: 8,
      tensorBytes: 8 * 4 * 2 * 8 * 2,
      bytesPerBlock: 4 * 2 * 8 * 2,
      tensorsPerLayer: 2,
      numLayers: 3,
      registered: true,
      pendingTransfers: 0,
    });
    expect(cache.addresses).toHaveLength(6);
    // Each tensor starts on a page (JS memory itself starts 16 bytes into one on the host backend).
    for (const address of cache.addresses) expect(address % 4096n).toBe(0n);
    cache.tensor(5).fill(7);
    expect(cache.tensor(4).every((b) => b === 0)).toBe(true);
    expect(cache.tensor(5).byteLength).toBe(cache.tensorBytes);
    expect(engine.caches).toEqual([cache]);
    const second = smallCache(engine, 1);
    expect(second.id).toBeGreaterThan(cache.id);
  });

  it('registers Buffers, ArrayBuffers and typed arrays, and its views alias that memory', () => {
    const rec = recordingBindings(backend.newBindings());
    using engine = LlmDataDist.create({ clusterId: 1n, role: 'prompt', bindings: rec.bindings });
    const buffer = Buffer.alloc(64);
    const arrayBuffer = new ArrayBuffer(64);
    const floats = new Float32Array(20).subarray(4);
    const cache = engine.registerCache({ desc: { placement: 'host', dataType: DataType.DT_FLOAT, shape: [4, 4] }, tensors: [buffer, arrayBuffer, floats] });
    expect(cache.numTensors).toBe(3);
    const register = rec.calls.find((c) => c.name === 'LlmDataDist_RegisterKvCache');
    expect(register?.args[2]).toEqual(cache.addresses);
    expect(register?.args[1]).toMatchObject({ placement: 0, num_tensors: 3, data_type: DataType.DT_FLOAT, shape: new BigInt64Array([4n, 4n]) });

    buffer[5] = 11;
    new Uint8Array(arrayBuffer)[63] = 12;
    floats[0] = 1.5;
    expect(cache.tensor(0)[5]).toBe(11);
    expect(cache.block(1, 3)[15]).toBe(12);
    expect(new Float32Array(cache.tensor(2).slice().buffer)[0]).toBe(1.5);
    cache.block(0, 1)[0] = 99;
    expect(buffer[16]).toBe(99);
  });

  it('registers raw addresses, viewed through the backend', () => {
    const bindings = backend.newBindings();
    using engine = LlmDataDist.create({ clusterId: 1n, role: 'prompt', bindings });
    const memory = new Uint8Array(32);
    const address = bindings.addressOf(memory);
    const cache = engine.registerCache({ desc: { placement: 'host', dataType: DataType.DT_UINT8, shape: [2, 16] }, addresses: [address] });
    expect(cache.addresses).toEqual(new BigUint64Array([address]));
    memory[17] = 77;
    expect(cache.block(0, 1)[1]).toBe(77);
  });

  it('unregisters once, on unregister() or at the end of a `using` scope', () => {
    const rec = recordingBindings(backend.newBindings());
    using engine = LlmDataDist.create({ clusterId: 1n, role: 'prompt', bindings: rec.bindings });
    const cache = smallCache(engine);
    cache.unregister();
    cache.unregister();
    expect(cache.registered).toBe(false);
    expect(engine.caches).toEqual([]);
    {
      using scoped = smallCache(engine);
      expect(scoped.registered).toBe(true);
    }
    expect(rec.calls.filter((c) => c.name === 'LlmDataDist_UnregisterKvCache').map((c) => c.args[1])).toEqual([cache.id, cache.id + 1n]);
  });

  it('refuses to register after linking', async () => {
    const pair = await createPair(backend);
    try {
      smallCache(pair.prompt);
      await pair.decoder.link({ clusterId: 1n, remote: { ip: '127.0.0.1', port: pair.promptPort } });
      const rec = recordingBindings(pair.bindings);
      let caught: unknown;
      try {
        smallCache(pair.decoder);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(OrderingError);
      expect(caught).toMatchObject({ rule: 'register-before-link', statusName: 'LLM_EXIST_LINK', operation: 'registerCache' });
      expect(rec.calls).toHaveLength(0);
      await pair.decoder.unlink(1n);
      expect(smallCache(pair.decoder).registered).toBe(true);
    } finally {
      await pair.dispose();
    }
  });

  it('limits an engine to 240 registered addresses', () => {
    using engine = LlmDataDist.create({ clusterId: 1n, role: 'prompt', bindings: backend.newBindings() });
    smallCache(engine, 200, 1);
    expect(() => smallCache(engine, 41, 1)).toThrow(DataDistArgumentError);
    expect(smallCache(engine, 40, 1).numTensors).toBe(40);
  });
});

describe('host memory helpers', () => {
  it('size every tensor exactly, sub-byte types included', () => {
    const tensors = allocateHostTensors({ placement: 'host', dataType: DataType.DT_INT32, shape: [8, 16], numTensors: 3 });
    expect(tensors.map((t) => t.byteLength)).toEqual([512, 512, 512]);
    // With the bindings' addresses, every tensor starts on a page, zeroed, exactly as long.
    let next = 0x10010n;
    const seen = new Map<ArrayBufferLike, bigint>();
    const addresses = { addressOf: (m: ArrayBufferView) => (seen.get(m.buffer) ?? (seen.set(m.buffer, (next += 0x100000n)), next)) + BigInt(m.byteOffset) };
    const aligned = allocateHostTensors({ placement: 'host', dataType: DataType.DT_INT32, shape: [8, 16], numTensors: 2 }, addresses);
    expect(aligned.map((t) => t.byteLength)).toEqual([512, 512]);
    expect(aligned.map((t) => addresses.addressOf(t) % 4096n)).toEqual([0n, 0n]);
    expect(aligned.every((t) => t.every((b) => b === 0))).toBe(true);
    expect(cacheGeometry({ placement: 'device', dataType: DataType.DT_INT4, shape: [4, 4], numTensors: 2 })).toMatchObject({
      tensorBytes: 8,
      bytesPerBlock: 2,
      numLayers: 1,
    });
    expect(cacheGeometry({ placement: 'host', dataType: DataType.DT_FLOAT16, shape: [2, 3], numTensors: 3, tensorsPerLayer: 2 }).numLayers).toBe(2);
    expect(() => cacheGeometry({ placement: 'host', dataType: DataType.DT_UNDEFINED, shape: [2], numTensors: 1 })).toThrow(/dataType/);
  });
});
