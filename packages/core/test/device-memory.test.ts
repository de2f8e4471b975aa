import type { Bindings } from '@dd/sys';
import { describe, expect, it } from 'vitest';
import {
  AclError,
  AclStatusCode,
  CacheNotFoundError,
  DataDistArgumentError,
  DataType,
  FeatureNotEnabledError,
  HCCS_ALIGNMENT,
  LlmDataDist,
  OrderingError,
  StatusCode,
  type KvCache,
} from '../src/index.js';
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { backends } from './backends.js';
import { createPair, patternBlock, recordingBindings } from './harness.js';

/** Bindings that count the ACL calls made through them, and can make RegisterKvCache fail. */
function aclCounting(inner: Bindings): { readonly bindings: Bindings; readonly count: (name: string) => number; readonly calls: string[]; failRegister: boolean } {
  const calls: string[] = [];
  const control = { failRegister: false };
  const bindings = new Proxy(inner, {
    get(target, key, receiver) {
      const value: unknown = Reflect.get(target, key, receiver);
      if (typeof value !== 'function') return value;
      const fn = value as (...args: unknown[]) => unknown;
      if (key === 'LlmDataDist_RegisterKvCache') {
        return (...args: unknown[]) => (control.failRegister ? { status: StatusCode.LLM_FAILED, cache_id: -1n } : fn.apply(target, args));
      }
      if (typeof key === 'string' && key.startsWith('acl')) {
        return (...args: unknown[]) => {
          calls.push(key);
          return fn.apply(target, args);
        };
      }
      return fn.bind(target);
    },
  });
  return {
    bindings,
    calls,
    count: (name) => calls.filter((c) => c === name).length,
    get failRegister() {
      return control.failRegister;
    },
    set failRegister(fail: boolean) {
      control.failRegister = fail;
    },
  };
}

/** Mappings of dd's memory files in this process (`/proc/self/maps`). */
function memoryFileMappings(): number {
  return readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .filter((line) => line.includes('/memfd:dd-memory')).length;
}

/** `read()` once it equals `want`, polled every 10 ms for at most 2 s; else its last value. */
async function settlesAt(read: () => number, want: number): Promise<number> {
  for (let waited = 0; waited < 2000 && read() !== want; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
  return read();
}

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Collects garbage until `done()`, within a bound: a free that waits for collected views then ran. */
async function collectUntil(done: () => boolean): Promise<void> {
  for (let round = 0; round < 50 && !done(); round += 1) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  expect(done()).toBe(true);
}

const DESC = { placement: 'device', dataType: DataType.DT_INT32, shape: [8, 16], numTensors: 4 } as const;
const BLOCK = 64;

function pattern(length: number, seed: number): Uint8Array {
  return Uint8Array.from({ length }, (_x, i) => (seed * 13 + i * 7) & 0xff);
}

describe.each(backends)('device memory over the $name backend', (backend) => {
  it('allocateCache puts zeroed, 2 MiB-aligned device memory on the engine device and owns it', () => {
    const acl = aclCounting(backend.newBindings());
    using engine = LlmDataDist.create({ clusterId: 1n, role: 'prompt', deviceId: 1, bindings: acl.bindings });
    expect(engine.deviceId).toBe(1);
    const cache = engine.allocateCache(DESC);
    expect(cache).toMatchObject({ placement: 'device', memory: 'device', numTensors: 4, tensorBytes: 8 * 64, registered: true });
    for (const address of cache.addresses) expect(address % BigInt(HCCS_ALIGNMENT)).toBe(0n);
    // The engine's device is set before the allocation (a reference the cache holds until it frees).
    expect(acl.calls.slice(0, 3)).toEqual(['aclInit', 'aclrtSetDevice', 'aclrtMalloc']);
    expect(acl.count('aclrtMalloc')).toBe(4);
    for (let t = 0; t < 4; t += 1) expect(cache.read(t)).toEqual(new Uint8Array(8 * 64));
    expect(() => cache.tensor(0)).toThrow(FeatureNotEnabledError);
    expect(() => cache.block(0, 0)).toThrow(/no host view/);
  });

  it('write and read copy through aclrtMemcpy by tensor, offset, range and block; out-of-range arguments throw before any copy', () => {
    using engine = LlmDataDist.create({ clusterId: 1n, role: 'prompt', bindings: backend.newBindings() });
    const cache = engine.allocateCache(DESC);
    const bytes = pattern(8 * 64, 5);
    cache.write(2, bytes);
    expect(cache.read(2)).toEqual(bytes);
    cache.write(1, new Uint16Array([0x0201, 0x0403]), 10);
    expect(cache.read(1, { offset: 8, length: 8 })).toEqual(Uint8Array.of(0, 0, 1, 2, 3, 4, 0, 0));
    cache.writeBlock(3, 7, pattern(BLOCK, 9));
    expect(cache.readBlock(3, 7)).toEqual(pattern(BLOCK, 9));
    expect(cache.read(3, { offset: 6 * BLOCK, length: BLOCK })).toEqual(new Uint8Array(BLOCK));
    expect(() => cache.write(0, new Uint8Array(8 * 64 + 1))).toThrow(DataDistArgumentError);
    expect(() => cache.write(4, new Uint8Array(1))).toThrow(/tensorIndex/);
    expect(() => cache.read(0, { offset: 8 * 64 - 1, length: 2 })).toThrow(/range.length/);
    expect(() => cache.writeBlock(0, 8, new Uint8Array(1))).toThrow(/block/);
    expect(() => cache.writeBlock(0, 0, new Uint8Array(BLOCK + 1))).toThrow(/one block/);
  });

  it('device caches pull and push between engines; the bytes read back are the source blocks', async () => {
    const pair = await createPair(backend);
    try {
      const src = pair.prompt.allocateCache(DESC);
      const dst = pair.decoder.allocateCache(DESC);
      for (let t = 0; t < 4; t += 1) for (let b = 0; b < 8; b += 1) src.writeBlock(t, b, patternBlock(BLOCK, 1, t, b));
      await pair.decoder.link({ clusterId: 1n, remote: { ip: '127.0.0.1', port: pair.promptPort } });
      const pulled = await pair.decoder.pullBlocks({ from: { clusterId: 1n, cacheId: src.id }, into: dst, srcBlocks: [2, 3, 7], dstBlocks: [0, 1, 5] });
      expect(pulled.bytes).toBe(4 * 3 * BLOCK);
      for (let t = 0; t < 4; t += 1) {
        expect(dst.readBlock(t, 0)).toEqual(patternBlock(BLOCK, 1, t, 2));
        expect(dst.readBlock(t, 5)).toEqual(patternBlock(BLOCK, 1, t, 7));
        expect(dst.readBlock(t, 2)).toEqual(new Uint8Array(BLOCK));
      }
      dst.writeBlock(0, 6, pattern(BLOCK, 4));
      await pair.decoder.pushBlocks({ from: dst, to: { clusterId: 1n, cacheId: src.id }, srcBlocks: [6], dstBlocks: [0] });
      expect(src.readBlock(0, 0)).toEqual(pattern(BLOCK, 4));
      await pair.decoder.unlink(1n);
    } finally {
      await pair.dispose();
    }
  });

  it("placement 'host' allocates page-locked memory (aclrtMallocHost), which has views; copies in and out keep no view, so unregister frees at once", () => {
    const acl = aclCounting(backend.newBindings());
    using engine = LlmDataDist.create({ clusterId: 1n, role: 'prompt', bindings: acl.bindings });
    const cache = engine.allocateCache({ ...DESC, placement: 'host' });
    expect(cache.memory).toBe('pinned');
    expect(acl.count('aclrtMallocHost')).toBe(4);
    expect(acl.count('aclrtMalloc')).toBe(0);
    cache.writeBlock(1, 2, pattern(BLOCK, 2));
    expect(cache.readBlock(1, 2)).toEqual(pattern(BLOCK, 2));
    cache.write(0, pattern(8, 3));
    expect(cache.read(0, { length: 8 })).toEqual(pattern(8, 3));
    // Empty copies at the very end are fine, as for JS memory.
    cache.write(0, new Uint8Array(0), cache.tensorBytes);
    expect(cache.read(0, { offset: cache.tensorBytes, length: 0 })).toEqual(new Uint8Array(0));
    cache.unregister();
    expect(acl.count('aclrtFreeHost')).toBe(4);
  });

  it('a view of page-locked memory keeps its bytes after unregister; the memory is freed once the view is collected', async () => {
    const acl = aclCounting(backend.newBindings());
    using engine = LlmDataDist.create({ clusterId: 1n, role: 'prompt', bindings: acl.bindings });
    const cache = engine.registerHostCache({ ...DESC, placement: 'host' });
    expect(cache.memory).toBe('pinned');
    const kept = { view: cache.block(1, 2) as Uint8Array | undefined };
    kept.view?.set(pattern(BLOCK, 2));
    // Views share one buffer per tensor, and see what copies wrote.
    expect(cache.tensor(1).buffer).toBe(kept.view?.buffer);
    expect(cache.readBlock(1, 2)).toEqual(pattern(BLOCK, 2));
    cache.unregister();
    expect(() => cache.tensor(1)).toThrow(CacheNotFoundError);
    expect(Array.from(kept.view ?? [])).toEqual(Array.from(pattern(BLOCK, 2)));
    // The fake's views are JS memory and hold their bytes; native memory waits for its views.
    expect(acl.count('aclrtFreeHost')).toBe(backend.name === 'fake' ? 4 : 0);
    kept.view = undefined;
    await collectUntil(() => acl.count('aclrtFreeHost') === 4);
    expect([acl.count('aclrtSetDevice'), acl.count('aclrtResetDevice')]).toEqual([1, 1]);
  });

  it('unregister frees the memory exactly once; reading it afterwards is CacheNotFoundError; close frees nothing twice', () => {
    const acl = aclCounting(backend.newBindings());
    const engine = LlmDataDist.create({ clusterId: 1n, role: 'prompt', bindings: acl.bindings });
    const cache = engine.allocateCache(DESC);
    const kept = engine.allocateCache({ ...DESC, numTensors: 2 });
    cache.unregister();
    expect(acl.count('aclrtFree')).toBe(4);
    cache.unregister();
    expect(acl.count('aclrtFree')).toBe(4);
    expect(() => cache.read(0)).toThrow(CacheNotFoundError);
    expect(() => cache.write(0, new Uint8Array(1))).toThrow(/freed/);
    engine.close({ force: true });
    expect(acl.count('aclrtFree')).toBe(6);
    expect(kept.registered).toBe(false);
    expect(() => kept.read(0)).toThrow(CacheNotFoundError);
    engine.close();
    expect(acl.count('aclrtFree')).toBe(6);
    // Each cache took one device reference and gave it back.
    expect([acl.count('aclrtSetDevice'), acl.count('aclrtResetDevice')]).toEqual([2, 2]);
  });

  it('using and await using free every cache the engine allocated', async () => {
    const acl = aclCounting(backend.newBindings());
    {
      using engine = LlmDataDist.create({ clusterId: 1n, role: 'prompt', bindings: acl.bindings });
      engine.allocateCache(DESC);
      engine.allocateCache({ ...DESC, placement: 'host' });
    }
    expect([acl.count('aclrtFree'), acl.count('aclrtFreeHost')]).toEqual([4, 4]);
    {
      await using engine = LlmDataDist.create({ clusterId: 2n, role: 'prompt', bindings: acl.bindings });
      engine.registerHostCache(DESC);
    }
    expect(acl.count('aclrtFree')).toBe(8);
  });

  it('memory is never freed while a transfer on its cache runs', async () => {
    const rec = recordingBindings(backend.newBindings());
    const acl = aclCounting(rec.bindings);
    const pair = await createPair(backend, { bindings: acl.bindings });
    try {
      const src = pair.prompt.allocateCache(DESC);
      const dst = pair.decoder.allocateCache(DESC);
      src.writeBlock(0, 1, pattern(BLOCK, 8));
      await pair.decoder.link({ clusterId: 1n, remote: { ip: '127.0.0.1', port: pair.promptPort } });
      rec.delayMs = 200;
      const pulling = pair.decoder.pullBlocks({ from: { clusterId: 1n, cacheId: src.id }, into: dst, srcBlocks: [1], dstBlocks: [3] });
      expect(() => dst.unregister()).toThrow(OrderingError);
      expect(() => pair.decoder.close({ force: true })).toThrow(/settle-before-close/);
      expect(acl.count('aclrtFree')).toBe(0);
      await pulling;
      rec.delayMs = 0;
      expect(dst.readBlock(0, 3)).toEqual(pattern(BLOCK, 8));
      await pair.decoder.unlink(1n);
      dst.unregister();
      expect(acl.count('aclrtFree')).toBe(4);
    } finally {
      await pair.dispose();
    }
  });

  it("registerHostCache with placement 'device' allocates device memory; JS memory cannot be registered as 'device'", () => {
    const acl = aclCounting(backend.newBindings());
    using engine = LlmDataDist.create({ clusterId: 1n, role: 'prompt', bindings: acl.bindings });
    const cache = engine.registerHostCache(DESC);
    expect(cache.memory).toBe('device');
    expect(acl.count('aclrtMalloc')).toBe(4);
    expect(() => engine.registerCache({ desc: DESC, tensors: [0, 1, 2, 3].map(() => new Uint8Array(512)) })).toThrow(/placement 'device' registers device memory/);
    expect(engine.caches).toEqual([cache]);
  });

  it('an ACL failure is an AclError with the ACL code, its name, the function and the reason; nothing stays allocated', () => {
    const acl = aclCounting(backend.newBindings());
    using engine = LlmDataDist.create({ clusterId: 1n, role: 'prompt', deviceId: 99, bindings: acl.bindings });
    let caught: unknown;
    try {
      engine.allocateCache(DESC);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(AclError);
    const error = caught as AclError;
    expect(error).toMatchObject({ status: 107001, statusName: 'ACL_ERROR_RT_INVALID_DEVICEID', aclFunction: 'aclrtSetDevice', operation: 'allocateCache', retryable: false });
    expect(error.nativeMessage).toMatch(/^aclrtSetDevice: ACL_ERROR_RT_INVALID_DEVICEID: device 99 is not in \[0, 8\)/);
    expect(error.message).toContain('allocateCache failed in aclrtSetDevice with ACL_ERROR_RT_INVALID_DEVICEID (107001)');
    expect(acl.count('aclrtMalloc')).toBe(0);
    expect(engine.caches).toEqual([]);
  });

  it('a registration that fails after the allocation frees the memory again', () => {
    const acl = aclCounting(backend.newBindings());
    using engine = LlmDataDist.create({ clusterId: 1n, role: 'prompt', bindings: acl.bindings });
    acl.failRegister = true;
    expect(() => engine.allocateCache(DESC)).toThrow(/LLM_FAILED/);
    expect([acl.count('aclrtMalloc'), acl.count('aclrtFree')]).toEqual([4, 4]);
    acl.failRegister = false;
    const cache: KvCache = engine.allocateCache(DESC);
    expect(cache.registered).toBe(true);
  });
});

// Memory files are the host backend's (Linux memfd); the fake has no processes to map between.
const native = backends.find((b) => b.name === 'native') as (typeof backends)[number];

describe.runIf(process.platform === 'linux')('host caches in memory files over the native backend', () => {
  it('a free that waited for views and then fails is a process warning with the AclError; close leaves a viewed cache to it too', async () => {
    const inner = native.newBindings();
    const failing = new Proxy(inner, {
      get(target, key, receiver) {
        if (key === 'aclrtFreeHost') return () => AclStatusCode.ACL_ERROR_RT_PARAM_INVALID;
        const value: unknown = Reflect.get(target, key, receiver);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const engine = LlmDataDist.create({ clusterId: 1n, role: 'prompt', bindings: failing });
      const cache = engine.registerHostCache({ ...DESC, placement: 'host', numTensors: 1 });
      const kept = { view: cache.tensor(0) as Uint8Array | undefined };
      // Closing releases the cache; its free waits for the view, so close itself does not fail.
      engine.close({ force: true });
      expect(kept.view?.byteLength).toBe(cache.tensorBytes);
      kept.view = undefined;
      await collectUntil(() => warnings.length > 0);
      expect(warnings[0]).toBeInstanceOf(AclError);
      expect(warnings[0]).toMatchObject({ aclFunction: 'aclrtFreeHost', operation: 'close', statusName: 'ACL_ERROR_RT_PARAM_INVALID' });
    } finally {
      process.off('warning', onWarning);
    }
  });

  it(
    'a host cache from registerHostCache is a memory file: a same-host pull maps it and copies the right bytes; unlinking unmaps it',
    async () => {
      const pair = await createPair(native);
      try {
        const desc = { placement: 'host', dataType: DataType.DT_UINT8, shape: [8, 4096], numTensors: 2 } as const;
        const src = pair.prompt.registerHostCache(desc);
        const dst = pair.decoder.registerHostCache(desc);
        for (let t = 0; t < 2; t += 1) for (let b = 0; b < 8; b += 1) src.writeBlock(t, b, patternBlock(4096, 3, t, b));
        const files = memoryFileMappings();
        // Each tensor of each side is one memory file, mapped once by its owner.
        expect(files).toBeGreaterThanOrEqual(4);
        await pair.decoder.link({ clusterId: 1n, remote: { ip: '127.0.0.1', port: pair.promptPort } });
        await pair.decoder.pullBlocks({ from: { clusterId: 1n, cacheId: src.id }, into: dst, srcBlocks: [6, 1], dstBlocks: [0, 7] });
        for (let t = 0; t < 2; t += 1) {
          expect(dst.readBlock(t, 0)).toEqual(patternBlock(4096, 3, t, 6));
          expect(dst.readBlock(t, 7)).toEqual(patternBlock(4096, 3, t, 1));
          expect(dst.readBlock(t, 1)).toEqual(new Uint8Array(4096));
        }
        // The decoder mapped the prompt's two tensors (both engines live in this process).
        expect(memoryFileMappings()).toBe(files + 2);
        await pair.decoder.unlink(1n);
        // The link's transport, torn down on the reactor just after the unlink returns, holds it last.
        expect(await settlesAt(memoryFileMappings, files)).toBe(files);
      } finally {
        await pair.dispose();
      }
    },
  );
});
