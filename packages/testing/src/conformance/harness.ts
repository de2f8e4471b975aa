import {
  CachePlacement,
  DataType,
  LlmRole,
  OptionKey,
  makeCacheDesc,
  makeClusterInfo,
  type Bindings,
  type CacheDesc,
  type ClusterInfo,
  type LlmDataDistHandle,
  type StatusName,
} from '@dd/sys';
import { expect } from 'vitest';
import { statusName } from '../outcome.js';
import type { ConformanceBackend, ConformanceBackendFactory } from './backend.js';

/** Every member of Bindings the suite calls; a backend without one fails, it is never skipped. */
export const REQUIRED_MEMBERS = [
  'addressOf',
  'view',
  'lastError',
  'LlmDataDist_create',
  'LlmDataDist_destroy',
  'LlmDataDist_Initialize',
  'LlmDataDist_Finalize',
  'LlmDataDist_SetRole',
  'LlmDataDist_LinkLlmClusters',
  'LlmDataDist_LinkLlmClustersAsync',
  'LlmDataDist_UnlinkLlmClusters',
  'LlmDataDist_UnlinkLlmClustersAsync',
  'LlmDataDist_AllocateCache',
  'LlmDataDist_DeallocateCache',
  'LlmDataDist_PullKvCache',
  'LlmDataDist_PullKvCacheAsync',
  'LlmDataDist_PullKvBlocks',
  'LlmDataDist_PullKvBlocksAsync',
  'LlmDataDist_CopyKvCache',
  'LlmDataDist_CopyKvBlocks',
  'LlmDataDist_PushKvCache',
  'LlmDataDist_PushKvCacheAsync',
  'LlmDataDist_PushKvBlocks',
  'LlmDataDist_PushKvBlocksAsync',
  'LlmDataDist_RegisterKvCache',
  'LlmDataDist_UnregisterKvCache',
] as const satisfies readonly (keyof Bindings)[];

/** Small on purpose: every timeout the suite sets stays far below a second or two. */
export const LINK_TIMEOUT_MS = 1000;
export const SYNC_WAIT_MS = '1000';

export function expectStatus(actual: number, expected: StatusName): void {
  expect(statusName(actual)).toBe(expected);
}

export function expectNotSuccess(actual: number): void {
  expect(statusName(actual)).not.toBe('LLM_SUCCESS');
}

/** Distinct, position-dependent bytes, so a copy from the wrong place or of the wrong length shows. */
export function pattern(seed: number, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i += 1) bytes[i] = (seed * 37 + i * 7 + (i >> 8) * 13 + 1) & 0xff;
  return bytes;
}

export function expectBytes(actual: Uint8Array, expected: Uint8Array, what: string): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  const first = actual.findIndex((byte, i) => byte !== expected[i]);
  expect(first, `${what}: first differing byte`).toBe(-1);
}

/** A cache's memory: one ArrayBuffer per tensor, filled with a pattern derived from `seed`. */
export interface KvMemory {
  readonly tensors: Uint8Array[];
  readonly addrs: BigUint64Array;
  readonly desc: CacheDesc;
  readonly stride: number;
  /** A copy of the bytes at creation, to check what changed. */
  readonly initial: Uint8Array[];
}

export interface KvShape {
  readonly tensors: number;
  readonly rows: number;
  /** int32 elements per row. */
  readonly rowElements: number;
  readonly placement?: CachePlacement;
}

export interface Engine {
  readonly handle: LlmDataDistHandle;
  readonly clusterId: bigint;
  /** `127.0.0.1:port` it listens on, or null. */
  readonly address: string | null;
}

/** Builds instances, memory and links for one test and tears them all down afterwards. */
export class Harness {
  private current: ConformanceBackend | null = null;
  private handles: LlmDataDistHandle[] = [];
  private nextClusterId = 100n;

  constructor(private readonly factory: ConformanceBackendFactory) {}

  async setUp(): Promise<void> {
    this.current = await this.factory();
    const missing = REQUIRED_MEMBERS.filter((member) => typeof (this.current?.bindings as unknown as Record<string, unknown>)[member] !== 'function');
    if (missing.length > 0) {
      throw new Error(`backend "${this.current.bindings.backend?.name ?? '?'}" lacks ${missing.join(', ')}: the conformance suite needs every member of Bindings`);
    }
  }

  async tearDown(): Promise<void> {
    const backend = this.current;
    if (backend === null) return;
    for (const handle of this.handles.reverse()) {
      backend.bindings.LlmDataDist_Finalize(handle);
      backend.bindings.LlmDataDist_destroy(handle);
    }
    this.handles = [];
    this.current = null;
    await backend.close();
  }

  get b(): Bindings {
    if (this.current === null) throw new Error('no backend: the suite is not running');
    return this.current.bindings;
  }

  async address(): Promise<string> {
    if (this.current === null) throw new Error('no backend: the suite is not running');
    return this.current.listenAddress();
  }

  clusterId(): bigint {
    this.nextClusterId += 1n;
    return this.nextClusterId;
  }

  create(clusterId: bigint = this.clusterId(), role: number = LlmRole.kMix): LlmDataDistHandle {
    const created = this.b.LlmDataDist_create(clusterId, role as LlmRole);
    expectStatus(created.status, 'LLM_SUCCESS');
    this.handles.push(created.handle);
    return created.handle;
  }

  /** Destroys an instance now instead of at the end of the test. */
  destroy(handle: LlmDataDistHandle): void {
    this.b.LlmDataDist_destroy(handle);
    this.handles = this.handles.filter((h) => h !== handle);
  }

  static options(extra: Readonly<Record<string, string>> = {}): Record<string, string> {
    return { [OptionKey.OPTION_DEVICE_ID]: '0', [OptionKey.OPTION_SYNC_CACHE_WAIT_TIME]: SYNC_WAIT_MS, ...extra };
  }

  /** An initialized instance listening on a fresh address. */
  async server(role: number = LlmRole.kPrompt, extra: Readonly<Record<string, string>> = {}): Promise<Engine> {
    const clusterId = this.clusterId();
    const handle = this.create(clusterId, role);
    const address = await this.address();
    expectStatus(this.b.LlmDataDist_Initialize(handle, Harness.options({ [OptionKey.OPTION_LISTEN_IP_INFO]: address, ...extra })), 'LLM_SUCCESS');
    return { handle, clusterId, address };
  }

  /** An initialized client-only instance. */
  client(role: number = LlmRole.kDecoder, extra: Readonly<Record<string, string>> = {}): Engine {
    const clusterId = this.clusterId();
    const handle = this.create(clusterId, role);
    expectStatus(this.b.LlmDataDist_Initialize(handle, Harness.options(extra)), 'LLM_SUCCESS');
    return { handle, clusterId, address: null };
  }

  static clusterInfo(remoteClusterId: bigint, address: string, init: Partial<ClusterInfo> = {}): ClusterInfo {
    const colon = address.lastIndexOf(':');
    return makeClusterInfo({
      remote_cluster_id: remoteClusterId,
      local_ip_infos: [{ ip: '127.0.0.1', port: 0 }],
      remote_ip_infos: [{ ip: address.slice(0, colon), port: Number(address.slice(colon + 1)) }],
      ...init,
    });
  }

  link(client: Engine, server: Engine): void {
    const result = this.b.LlmDataDist_LinkLlmClusters(client.handle, [Harness.clusterInfo(server.clusterId, server.address ?? '')], LINK_TIMEOUT_MS);
    expectStatus(result.status, 'LLM_SUCCESS');
  }

  unlink(client: Engine, server: Engine, force = false): number {
    return this.b.LlmDataDist_UnlinkLlmClusters(client.handle, [Harness.clusterInfo(server.clusterId, server.address ?? '')], LINK_TIMEOUT_MS, force).status;
  }

  /** Memory for a cache of int32 tensors, each `rows × rowElements`, one ArrayBuffer per tensor. */
  memory(shape: KvShape, seed: number): KvMemory {
    const stride = shape.rowElements * 4;
    const tensors: Uint8Array[] = [];
    for (let t = 0; t < shape.tensors; t += 1) tensors.push(pattern(seed * 101 + t, shape.rows * stride));
    return {
      tensors,
      addrs: BigUint64Array.from(tensors.map((tensor) => this.b.addressOf(tensor))),
      desc: makeCacheDesc({
        placement: shape.placement ?? CachePlacement.kHost,
        num_tensors: shape.tensors,
        data_type: DataType.DT_INT32,
        shape: BigInt64Array.from([BigInt(shape.rows), BigInt(shape.rowElements)]),
      }),
      stride,
      initial: tensors.map((tensor) => tensor.slice()),
    };
  }

  register(engine: Engine, memory: KvMemory): bigint {
    const result = this.b.LlmDataDist_RegisterKvCache(engine.handle, memory.desc, memory.addrs);
    expectStatus(result.status, 'LLM_SUCCESS');
    return result.cache_id;
  }
}

/** Row `row` of a tensor. */
export function rowOf(memory: KvMemory, tensor: number, row: number, rows = 1): Uint8Array {
  return (memory.tensors[tensor] as Uint8Array).subarray(row * memory.stride, (row + rows) * memory.stride);
}

export function initialRowOf(memory: KvMemory, tensor: number, row: number, rows = 1): Uint8Array {
  return (memory.initial[tensor] as Uint8Array).subarray(row * memory.stride, (row + rows) * memory.stride);
}

export function blocks(...values: number[]): BigUint64Array {
  return BigUint64Array.from(values.map(BigInt));
}

