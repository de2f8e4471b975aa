import {
  AclStatusCode,
  CachePlacement,
  DataType,
  LlmRole,
  OptionKey,
  StatusCode,
  aclrtMemMallocPolicy,
  makeCache,
  makeCacheDesc,
  makeCacheIndex,
  makeClusterInfo,
  type Bindings,
  type Cache,
  type CacheIndex,
  type ClusterInfo,
  type LlmDataDistHandle,
} from '@dd/sys';
import { expect } from 'vitest';
import { FakeNetwork, type FakeNetworkOptions } from '../src/index.js';

export const SERVER_ADDRESS = '10.0.0.1:26000';
export const ROW_BYTES = 16;
export const ROWS = 4;

export function clusterInfo(remoteClusterId: bigint, address = SERVER_ADDRESS, init: Partial<ClusterInfo> = {}): ClusterInfo {
  const [ip = '', port = '0'] = address.split(':');
  return makeClusterInfo({
    remote_cluster_id: remoteClusterId,
    local_ip_infos: [{ ip: '10.0.0.2', port: 0 }],
    remote_ip_infos: [{ ip, port: Number(port) }],
    ...init,
  });
}

export function create(b: Bindings, clusterId: bigint, options: Record<string, string> = {}, role: LlmRole = LlmRole.kMix): LlmDataDistHandle {
  const { status, handle } = b.LlmDataDist_create(clusterId, role);
  expect(status).toBe(StatusCode.LLM_SUCCESS);
  expect(b.LlmDataDist_Initialize(handle, { [OptionKey.OPTION_DEVICE_ID]: '0', [OptionKey.OPTION_SYNC_CACHE_WAIT_TIME]: '100', ...options })).toBe(
    StatusCode.LLM_SUCCESS,
  );
  return handle;
}

/**
 * `tensors` device buffers (aclrtMalloc: kDevice registers device memory, A22) of ROWS × ROW_BYTES,
 * byte i of tensor t = seed + t·64 + i (mod 256). `buffers` are the fake's views of them: the fake
 * keeps device memory in its ArrayBuffers, so these tests read and write it directly.
 */
export function kvMemory(b: Bindings, seed: number, tensors = 2) {
  expect([AclStatusCode.ACL_SUCCESS, AclStatusCode.ACL_ERROR_REPEAT_INITIALIZE]).toContain(b.aclInit(null));
  expect(b.aclrtSetDevice(0)).toBe(AclStatusCode.ACL_SUCCESS);
  const addrs = BigUint64Array.from({ length: tensors }, () => {
    const allocated = b.aclrtMalloc(BigInt(ROWS * ROW_BYTES), aclrtMemMallocPolicy.ACL_MEM_MALLOC_HUGE_FIRST);
    expect(allocated.status).toBe(AclStatusCode.ACL_SUCCESS);
    return allocated.devPtr;
  });
  const buffers = [...addrs].map((address, t) => b.view(address, ROWS * ROW_BYTES).map((_byte, i) => (seed + t * 64 + i) & 0xff));
  buffers.forEach((bytes, t) => b.view(addrs[t] as bigint, bytes.length).set(bytes));
  const desc = makeCacheDesc({ placement: CachePlacement.kDevice, num_tensors: tensors, data_type: DataType.DT_UINT8, shape: BigInt64Array.from([BigInt(ROWS), BigInt(ROW_BYTES)]) });
  return { buffers: [...addrs].map((address) => b.view(address, ROWS * ROW_BYTES)), desc, addrs };
}

export function register(b: Bindings, handle: LlmDataDistHandle, memory: ReturnType<typeof kvMemory>): bigint {
  const result = b.LlmDataDist_RegisterKvCache(handle, memory.desc, memory.addrs);
  expect(result.status).toBe(StatusCode.LLM_SUCCESS);
  return result.cache_id;
}

export interface FakePair {
  readonly network: FakeNetwork;
  readonly b: Bindings;
  readonly server: LlmDataDistHandle;
  readonly client: LlmDataDistHandle;
  readonly src: ReturnType<typeof kvMemory>;
  readonly dst: ReturnType<typeof kvMemory>;
  readonly srcIndex: CacheIndex;
  readonly dstCache: Cache;
}

/** Cluster 0 serves on SERVER_ADDRESS with a source cache; cluster 1 is linked to it with a destination cache. */
export function fakePair(options: FakeNetworkOptions = {}, link = true): FakePair {
  const network = new FakeNetwork(options);
  const b = network.bindings;
  const server = create(b, 0n, { [OptionKey.OPTION_LISTEN_IP_INFO]: SERVER_ADDRESS }, LlmRole.kPrompt);
  const client = create(b, 1n, {}, LlmRole.kDecoder);
  const src = kvMemory(b, 10);
  const dst = kvMemory(b, 200);
  const srcId = register(b, server, src);
  const dstId = register(b, client, dst);
  if (link) expect(b.LlmDataDist_LinkLlmClusters(client, [clusterInfo(0n)]).status).toBe(StatusCode.LLM_SUCCESS);
  return {
    network,
    b,
    server,
    client,
    src,
    dst,
    srcIndex: makeCacheIndex({ cluster_id: 0n, cache_id: srcId }),
    dstCache: makeCache({ cache_id: dstId, cache_desc: dst.desc }),
  };
}

export function blocks(...values: number[]): BigUint64Array {
  return BigUint64Array.from(values.map(BigInt));
}

/** Row `row` of tensor `t`. */
export function row(memory: ReturnType<typeof kvMemory>, t: number, index: number): number[] {
  return [...(memory.buffers[t] as Uint8Array).subarray(index * ROW_BYTES, (index + 1) * ROW_BYTES)];
}
