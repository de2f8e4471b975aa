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
import { freePort } from './free-port.js';
import { BLOCKS, block, cacheDesc, register, tensors } from './kv-fixture.js';

const b: Bindings = loadNativeBindings();
let prompt: LlmDataDistHandle;
let decoder: LlmDataDistHandle;
let port: number;
const promptMemory = tensors(3);
const decoderMemory = tensors(4);
let promptCacheId: bigint;
let decoderCacheId: bigint;

function create(clusterId: bigint, role: LlmRole): LlmDataDistHandle {
  const r = b.LlmDataDist_create(clusterId, role);
  expect(r.status).toBe(StatusCode.LLM_SUCCESS);
  return r.handle;
}

const remote = (cacheId: bigint): CacheIndex => ({ cluster_id: 0n, cache_id: cacheId, batch_index: 0 });
const local = (): Cache => ({ cache_id: decoderCacheId, tensor_addrs: new BigUint64Array(0), cache_desc: cacheDesc() });
const blocks = (...ids: number[]): BigUint64Array => BigUint64Array.from(ids.map(BigInt));

beforeAll(async () => {
  port = await freePort();
  prompt = create(0n, LlmRole.kPrompt);
  decoder = create(1n, LlmRole.kDecoder);
  expect(b.LlmDataDist_Initialize(prompt, { 'llm.DeviceId': '0', 'llm.ListenIpInfo': `127.0.0.1:${port}` })).toBe(0);
  expect(b.LlmDataDist_Initialize(decoder, { 'llm.DeviceId': '0' })).toBe(0);
  promptCacheId = register(b, prompt, promptMemory);
  decoderCacheId = register(b, decoder, decoderMemory);
  const linked = await b.LlmDataDist_LinkLlmClustersAsync(
    decoder,
    [{ remote_cluster_id: 0n, remote_role_type: 0, local_ip_infos: [{ ip: '127.0.0.1', port: 0 }], remote_ip_infos: [{ ip: '127.0.0.1', port }] }],
    2000,
  );
  expect(linked.status, b.lastError()).toBe(StatusCode.LLM_SUCCESS);
});

afterAll(() => {
  b.LlmDataDist_Finalize(decoder);
  b.LlmDataDist_Finalize(prompt);
  b.LlmDataDist_destroy(decoder);
  b.LlmDataDist_destroy(prompt);
});

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
    const h = create(2n, LlmRole.kDecoder);
    try {
      expect(b.LlmDataDist_Initialize(h, {})).toBe(StatusCode.LLM_PARAM_INVALID);
      expect(b.lastError()).toBe('Initialize: LLM_PARAM_INVALID: option llm.DeviceId is required (e.g. "0")');
    } finally {
      b.LlmDataDist_destroy(h);
    }
  });
});
