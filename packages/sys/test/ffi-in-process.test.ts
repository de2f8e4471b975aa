// End to end through koffi: two host-backend engines in this process move real bytes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  LlmRole,
  StatusCode,
  loadNativeBindings,
  makeKvCacheExtParam,
  type Bindings,
  type Cache,
  type ClusterInfo,
  type LlmDataDistHandle,
} from '../src/index.js';
import { freePort } from './free-port.js';
import { BLOCKS, LAYERS, block, cacheDesc, linkEngines, type LinkedEngines } from './kv-fixture.js';

const b: Bindings = loadNativeBindings();
let engines: LinkedEngines;
let decoder: LlmDataDistHandle;
let promptMemory: ArrayBuffer[];
let decoderMemory: ArrayBuffer[];
let promptCacheId: bigint;
let decoderCacheId: bigint;
const cluster = (): ClusterInfo => engines.cluster();
const decoderCache = (): Cache => engines.decoderCache();

beforeAll(async () => {
  engines = await linkEngines(b, { prompt: 1, decoder: 2 });
  ({ decoder, promptMemory, decoderMemory, promptCacheId, decoderCacheId } = engines);
});

afterAll(() => engines.close());

describe('@dd/sys over the host backend, two engines in one process', () => {
  it('reports which backend and library it loaded', () => {
    expect(b.backend.name).toBe('host');
    expect(b.backend.library).toMatch(/libdd_llm_datadist\.so$/);
  });

  it('assigns cache ids from 1', () => {
    expect(promptCacheId).toBe(1n);
    expect(decoderCacheId).toBe(1n);
  });

  it('pulls blocks in any index order and copies exact bytes', async () => {
    const status = await b.LlmDataDist_PullKvBlocksAsync(
      decoder,
      { cluster_id: 0n, cache_id: promptCacheId, batch_index: 0 },
      decoderCache(),
      BigUint64Array.from([0n, 1n, 2n, 3n]),
      BigUint64Array.from([7n, 6n, 5n, 4n]),
      makeKvCacheExtParam({ tensor_num_per_layer: 1 }),
    );
    expect(status, b.lastError()).toBe(StatusCode.LLM_SUCCESS);
    for (let t = 0; t < LAYERS; t++) {
      for (let i = 0; i < 4; i++) expect(block(decoderMemory[t]!, 7 - i)).toEqual(block(promptMemory[t]!, i));
    }
  });

  it('pulls one batch row of the whole cache, synchronously too', () => {
    const status = b.LlmDataDist_PullKvCache(decoder, { cluster_id: 0n, cache_id: promptCacheId, batch_index: 3 }, decoderCache(), 3);
    expect(status, b.lastError()).toBe(StatusCode.LLM_SUCCESS);
    for (let t = 0; t < LAYERS; t++) expect(block(decoderMemory[t]!, 3)).toEqual(block(promptMemory[t]!, 3));
  });

  it('pushes blocks of one layer range only', async () => {
    const source: Cache = { cache_id: decoderCacheId, tensor_addrs: new BigUint64Array(0), cache_desc: { ...cacheDesc(), placement: 1 } };
    new Uint8Array(decoderMemory[2]!).fill(0xab);
    const status = await b.LlmDataDist_PushKvBlocksAsync(
      decoder,
      source,
      { cluster_id: 0n, cache_id: promptCacheId, batch_index: 0 },
      BigUint64Array.from([0n]),
      BigUint64Array.from([BigInt(BLOCKS - 1)]),
      makeKvCacheExtParam({ src_layer_range: [2, 2], dst_layer_range: [2, 2], tensor_num_per_layer: 1 }),
    );
    expect(status, b.lastError()).toBe(StatusCode.LLM_SUCCESS);
    expect(block(promptMemory[2]!, BLOCKS - 1).every((v) => v === 0xab)).toBe(true);
    expect(block(promptMemory[1]!, BLOCKS - 1).every((v) => v === 0xab)).toBe(false);
  });

  it('returns the engine status unchanged with the reason in lastError', async () => {
    const status = await b.LlmDataDist_PullKvBlocksAsync(
      decoder,
      { cluster_id: 0n, cache_id: promptCacheId, batch_index: 0 },
      decoderCache(),
      BigUint64Array.from([0n]),
      BigUint64Array.from([BigInt(BLOCKS)]),
    );
    expect(status).toBe(StatusCode.LLM_PARAM_INVALID);
    const sync = b.LlmDataDist_PullKvBlocks(
      decoder,
      { cluster_id: 0n, cache_id: 99n, batch_index: 0 },
      decoderCache(),
      BigUint64Array.from([0n]),
      BigUint64Array.from([0n]),
    );
    expect(sync).toBe(StatusCode.LLM_KV_CACHE_NOT_EXIST);
    expect(b.lastError()).toMatch(/PullKvBlocks/);
    expect(b.LlmDataDist_PullKvBlocks(decoder, { cluster_id: 5n, cache_id: 1n, batch_index: 0 }, decoderCache(), BigUint64Array.from([0n]), BigUint64Array.from([0n]))).toBe(
      StatusCode.LLM_NOT_YET_LINK,
    );
    expect(b.LlmDataDist_AllocateCache(decoder, cacheDesc()).status).toBe(StatusCode.LLM_FEATURE_NOT_ENABLED);
  });

  it('rejects out-of-range integers before they reach koffi', () => {
    expect(() => b.LlmDataDist_UnregisterKvCache(decoder, 1n << 64n)).toThrow(RangeError);
    expect(() => b.LlmDataDist_PullKvCache(decoder, { cluster_id: -1n, cache_id: 1n, batch_index: 0 }, decoderCache())).toThrow(RangeError);
    expect(() => b.LlmDataDist_PullKvCache(decoder, { cluster_id: 0n, cache_id: 1n, batch_index: 2 ** 32 }, decoderCache())).toThrow(RangeError);
    expect(() => b.LlmDataDist_create(0n, 1.5 as LlmRole)).toThrow(RangeError);
  });

  it('keeps statuses per cluster for a link that fails', async () => {
    const other = await freePort();
    const r = await b.LlmDataDist_LinkLlmClustersAsync(
      decoder,
      [cluster(), { ...cluster(), remote_cluster_id: 7n, remote_ip_infos: [{ ip: '127.0.0.1', port: other }] }],
      500,
    );
    expect(Array.from(r.rets)).toEqual([StatusCode.LLM_ALREADY_LINK, StatusCode.LLM_LINK_FAILED]);
    expect(r.status).toBe(StatusCode.LLM_LINK_FAILED);
  });

  it('unlinks, after which transfers report NOT_YET_LINK', async () => {
    const r = await b.LlmDataDist_UnlinkLlmClustersAsync(decoder, [cluster()], 2000);
    expect(r.status, b.lastError()).toBe(StatusCode.LLM_SUCCESS);
    const status = b.LlmDataDist_PullKvCache(decoder, { cluster_id: 0n, cache_id: promptCacheId, batch_index: 0 }, decoderCache());
    expect(status).toBe(StatusCode.LLM_NOT_YET_LINK);
  });
});
