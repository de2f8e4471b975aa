import {
  CachePlacement,
  DataType,
  LlmRole,
  StatusCode,
  type Bindings,
  type Cache,
  type CacheDesc,
  type ClusterInfo,
  type LlmDataDistHandle,
} from '../src/index.js';
import { freePort } from './free-port.js';

export const LAYERS = 4;
export const BLOCKS = 8;
/** int32 elements per block per tensor */
export const BLOCK_ELEMENTS = 16;
export const BLOCK_BYTES = BLOCK_ELEMENTS * 4;

export function cacheDesc(): CacheDesc {
  return {
    placement: CachePlacement.kHost,
    num_tensors: LAYERS,
    data_type: DataType.DT_INT32,
    shape: BigInt64Array.from([BigInt(BLOCKS), BigInt(BLOCK_ELEMENTS)]),
  };
}

/** One ArrayBuffer per tensor, each byte a function of (seed, tensor, offset). */
export function tensors(seed: number): ArrayBuffer[] {
  return Array.from({ length: LAYERS }, (_, t) => {
    const buffer = new ArrayBuffer(BLOCKS * BLOCK_BYTES);
    const bytes = new Uint8Array(buffer);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (seed * 131 + t * 31 + i * 7) & 0xff;
    return buffer;
  });
}

export function block(buffer: ArrayBuffer, index: number): Uint8Array {
  return new Uint8Array(buffer, index * BLOCK_BYTES, BLOCK_BYTES);
}

export function register(b: Bindings, h: LlmDataDistHandle, buffers: ArrayBuffer[]): bigint {
  const addrs = BigUint64Array.from(buffers.map((buf) => b.addressOf(buf)));
  const r = b.LlmDataDist_RegisterKvCache(h, cacheDesc(), addrs);
  if (r.status !== StatusCode.LLM_SUCCESS) throw new Error(`RegisterKvCache: ${r.status} ${b.lastError()}`);
  return r.cache_id;
}

export function createEngine(b: Bindings, clusterId: bigint, role: LlmRole): LlmDataDistHandle {
  const r = b.LlmDataDist_create(clusterId, role);
  if (r.status !== StatusCode.LLM_SUCCESS) throw new Error(`create: ${r.status} ${b.lastError()}`);
  return r.handle;
}

/** A prompt (cluster 0, listening) and a decoder (cluster 1) in this process, each with a cache, linked. */
export interface LinkedEngines {
  readonly prompt: LlmDataDistHandle;
  readonly decoder: LlmDataDistHandle;
  readonly promptMemory: ArrayBuffer[];
  readonly decoderMemory: ArrayBuffer[];
  readonly promptCacheId: bigint;
  readonly decoderCacheId: bigint;
  /** The decoder's ClusterInfo of the prompt. */
  cluster(): ClusterInfo;
  /** The decoder's own cache, as the transfer calls take it. */
  decoderCache(): Cache;
  close(): void;
}

export async function linkEngines(b: Bindings, seeds: { prompt: number; decoder: number }): Promise<LinkedEngines> {
  const port = await freePort();
  const prompt = createEngine(b, 0n, LlmRole.kPrompt);
  const decoder = createEngine(b, 1n, LlmRole.kDecoder);
  const init = (h: LlmDataDistHandle, options: Record<string, string>): void => {
    const status = b.LlmDataDist_Initialize(h, options);
    if (status !== StatusCode.LLM_SUCCESS) throw new Error(`Initialize: ${status} ${b.lastError()}`);
  };
  init(prompt, { 'llm.DeviceId': '0', 'llm.ListenIpInfo': `127.0.0.1:${port}` });
  init(decoder, { 'llm.DeviceId': '0' });
  const promptMemory = tensors(seeds.prompt);
  const decoderMemory = tensors(seeds.decoder);
  const promptCacheId = register(b, prompt, promptMemory);
  const decoderCacheId = register(b, decoder, decoderMemory);
  const cluster = (): ClusterInfo => ({
    remote_cluster_id: 0n,
    remote_role_type: 0,
    local_ip_infos: [{ ip: '127.0.0.1', port: 0 }],
    remote_ip_infos: [{ ip: '127.0.0.1', port }],
  });
  const linked = await b.LlmDataDist_LinkLlmClustersAsync(decoder, [cluster()], 2000);
  if (linked.status !== StatusCode.LLM_SUCCESS || linked.rets[0] !== StatusCode.LLM_SUCCESS) {
    throw new Error(`LinkLlmClusters: ${linked.status} [${Array.from(linked.rets).join(', ')}] ${b.lastError()}`);
  }
  return {
    prompt,
    decoder,
    promptMemory,
    decoderMemory,
    promptCacheId,
    decoderCacheId,
    cluster,
    decoderCache: () => ({ cache_id: decoderCacheId, tensor_addrs: new BigUint64Array(0), cache_desc: cacheDesc() }),
    close(): void {
      // Engines first: the registered memory must outlive them.
      for (const h of [decoder, prompt]) {
        b.LlmDataDist_Finalize(h);
        b.LlmDataDist_destroy(h);
      }
    },
  };
}
