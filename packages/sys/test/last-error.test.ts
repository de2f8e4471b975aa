// lastError() over the host backend: the detail of the last non-success status reaches JavaScript
// for …Async calls too (they fail on a koffi worker thread, where the shim's last error is
// thread-local), names the method once, and a success clears it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  LlmRole,
  StatusCode,
  loadNativeBindings,
  type Bindings,
  type Cache,
  type CacheIndex,
  type LlmDataDistHandle,
} from '../src/index.js';
import { BLOCKS, block, createEngine, linkEngines, type LinkedEngines } from './kv-fixture.js';

const b: Bindings = loadNativeBindings();
let engines: LinkedEngines;
let decoder: LlmDataDistHandle;
let promptMemory: ArrayBuffer[];
let decoderMemory: ArrayBuffer[];
let promptCacheId: bigint;

const remote = (cacheId: bigint): CacheIndex => ({ cluster_id: 0n, cache_id: cacheId, batch_index: 0 });
const local = (): Cache => engines.decoderCache();
const blocks = (...ids: number[]): BigUint64Array => BigUint64Array.from(ids.map(BigInt));

beforeAll(async () => {
  engines = await linkEngines(b, { prompt: 3, decoder: 4 });
  ({ decoder, promptMemory, decoderMemory, promptCacheId } = engines);
});

afterAll(() => engines.close());

describe('lastError() after …Async calls', () => {
  it('holds the host backend reason of a failed async pull, and a following success clears it', async () => {
    const outOfRange = await b.LlmDataDist_PullKvBlocksAsync(decoder, remote(promptCacheId), local(), blocks(0), blocks(BLOCKS));
    expect(outOfRange).toBe(StatusCode.LLM_PARAM_INVALID);
    expect(b.lastError()).toBe(`PullKvBlocks: LLM_PARAM_INVALID: dst block ${BLOCKS} >= local block count ${BLOCKS}`);

    const ok = await b.LlmDataDist_PullKvBlocksAsync(decoder, remote(promptCacheId), local(), blocks(1), blocks(2));
    expect(ok).toBe(StatusCode.LLM_SUCCESS);
    expect(b.lastError()).toBe('');
    expect(block(decoderMemory[0]!, 2)).toEqual(block(promptMemory[0]!, 1));
  });

  it('holds the reason of an unknown remote cache, for the whole-cache pull too', async () => {
    expect(await b.LlmDataDist_PullKvBlocksAsync(decoder, remote(99n), local(), blocks(0), blocks(0))).toBe(StatusCode.LLM_KV_CACHE_NOT_EXIST);
    expect(b.lastError()).toBe('PullKvBlocks: LLM_KV_CACHE_NOT_EXIST: cluster 0 has no cache 99 visible to this link');
    expect(await b.LlmDataDist_PullKvCacheAsync(decoder, remote(77n), local())).toBe(StatusCode.LLM_KV_CACHE_NOT_EXIST);
    expect(b.lastError()).toBe('PullKvCache: LLM_KV_CACHE_NOT_EXIST: cluster 0 has no cache 77 visible to this link');
  });

  it('follows whichever call returned last, sync or async', async () => {
    expect(await b.LlmDataDist_PullKvBlocksAsync(decoder, remote(99n), local(), blocks(0), blocks(0))).toBe(StatusCode.LLM_KV_CACHE_NOT_EXIST);
    expect(b.LlmDataDist_UnregisterKvCache(decoder, 12345n)).toBe(StatusCode.LLM_SUCCESS);
    expect(b.lastError()).toBe('');
    expect(b.LlmDataDist_PullKvBlocks(decoder, remote(98n), local(), blocks(0), blocks(0))).toBe(StatusCode.LLM_KV_CACHE_NOT_EXIST);
    expect(b.lastError()).toBe('PullKvBlocks: LLM_KV_CACHE_NOT_EXIST: cluster 0 has no cache 98 visible to this link');
    expect(await b.LlmDataDist_PullKvBlocksAsync(decoder, remote(promptCacheId), local(), blocks(3), blocks(3))).toBe(StatusCode.LLM_SUCCESS);
    expect(b.lastError()).toBe('');
  });
});

describe('the error text', () => {
  it('names the method once although the host backend detail starts with it', () => {
    const h = createEngine(b, 2n, LlmRole.kDecoder);
    try {
      expect(b.LlmDataDist_Initialize(h, {})).toBe(StatusCode.LLM_PARAM_INVALID);
      expect(b.lastError()).toBe('Initialize: LLM_PARAM_INVALID: option llm.DeviceId is required (e.g. "0")');
    } finally {
      b.LlmDataDist_destroy(h);
    }
  });
});
