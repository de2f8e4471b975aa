import {
  AclStatusCode,
  CachePlacement,
  DataType,
  aclrtMemcpyKind,
  aclrtMemMallocPolicy,
  LlmRole,
  OptionKey,
  makeCache,
  makeCacheDesc,
  makeCacheIndex,
  makeClusterInfo,
  type Bindings,
  type CacheDesc,
  type ClusterInfo,
  type LlmDataDistHandle,
  type StatusName,
  type StatusWithRets,
} from '@dd/sys';
import { expect, it } from 'vitest';
import { statusName } from '../outcome.js';
import type { ConformanceBackend, ConformanceBackendFactory, ConformanceScenarios } from './backend.js';

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
  'aclInit',
  'aclFinalize',
  'aclrtSetDevice',
  'aclrtResetDevice',
  'aclrtGetDeviceCount',
  'aclrtMalloc',
  'aclrtFree',
  'aclrtMallocHost',
  'aclrtFreeHost',
  'aclrtMemcpy',
  'aclrtMemset',
  'ddLinkStates',
  'ddLinkBreakCause',
] as const satisfies readonly (keyof Bindings)[];

/** The device every engine of the suite runs on (llm.DeviceId), and its memory is allocated on. */
export const SUITE_DEVICE = 0;

/** Small on purpose: every timeout the suite sets stays far below a second or two. */
export const LINK_TIMEOUT_MS = 1000;
export const SYNC_WAIT_MS = '1000';

export function expectStatus(actual: number, expected: StatusName): void {
  expect(statusName(actual)).toBe(expected);
}

const ACL_NAMES = new Map<number, string>();
for (const [name, value] of Object.entries(AclStatusCode)) if (!ACL_NAMES.has(value)) ACL_NAMES.set(value, name);

/** The name of an ACL status (`ACL_ERROR_RT_PARAM_INVALID`), or its number. */
export function aclName(status: number): string {
  return ACL_NAMES.get(status) ?? String(status);
}

export function expectNotSuccess(actual: number): void {
  expect(statusName(actual)).not.toBe('LLM_SUCCESS');
}

export function names(rets: Uint32Array): string[] {
  return [...rets].map(statusName);
}

/** A LinkLlmClusters/UnlinkLlmClusters result: the call status and one status per cluster. */
export function expectRets(result: StatusWithRets, status: StatusName, rets: readonly StatusName[]): void {
  expect({ status: statusName(result.status), rets: names(result.rets) }).toEqual({ status, rets: [...rets] });
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

/**
 * A cache's memory, one buffer per tensor, filled with a pattern derived from `seed`: JS memory, or
 * for placement kDevice device memory from aclrtMalloc (A22), whose `tensors` are copies read back
 * with aclrtMemcpy at each access (device memory has no host view on Ascend).
 */
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

/** Which engine the suite runs against: dd's backends apply docs/compat.md's deviations, V2 does not. */
export type EngineKind = 'dd' | 'v2';

/** Builds instances, memory and links for one test and tears them all down afterwards. */
export class Harness {
  private current: ConformanceBackend | null = null;
  private handles: LlmDataDistHandle[] = [];
  /** aclrtMalloc memory of this test, freed after every engine is gone. */
  private deviceMemory: bigint[] = [];
  private nextClusterId = 100n;
  private readonly probeCaches = new Map<LlmDataDistHandle, bigint>();

  constructor(
    private readonly factory: ConformanceBackendFactory,
    readonly engine: EngineKind = 'dd',
  ) {}

  /**
   * A case for one of dd's deliberate deviations (D1…): registered on dd's backends, and shown as
   * skipped, with the reason in its name, against the V2 engine, which behaves otherwise on purpose.
   */
  readonly deviation = (name: string, body: () => Promise<void> | void): void => {
    if (this.engine === 'dd') it(name, body);
    else it.skip(`${name} [dd deviation: V2 differs on purpose, docs/compat.md]`, body);
  };

  async setUp(): Promise<void> {
    this.current = await this.factory();
    const missing = REQUIRED_MEMBERS.filter((member) => typeof (this.current?.bindings as unknown as Record<string, unknown>)[member] !== 'function');
    if (missing.length > 0) {
      throw new Error(`backend "${this.current.bindings.backend?.name ?? '?'}" lacks ${missing.join(', ')}: the conformance suite needs every member of Bindings`);
    }
    // One ACL per process: a backend in this process may have initialized it already.
    expect(aclName(this.b.aclInit(null))).toMatch(/^ACL_(SUCCESS|ERROR_REPEAT_INITIALIZE)$/);
    expect(aclName(this.b.aclrtSetDevice(SUITE_DEVICE)), this.b.lastError()).toBe('ACL_SUCCESS');
  }

  async tearDown(): Promise<void> {
    const backend = this.current;
    if (backend === null) return;
    for (const handle of this.handles.reverse()) {
      backend.bindings.LlmDataDist_Finalize(handle);
      backend.bindings.LlmDataDist_destroy(handle);
    }
    this.handles = [];
    this.probeCaches.clear();
    for (const address of this.deviceMemory) expect(aclName(backend.bindings.aclrtFree(address)), backend.bindings.lastError()).toBe('ACL_SUCCESS');
    this.deviceMemory = [];
    expect(aclName(backend.bindings.aclrtResetDevice(SUITE_DEVICE))).toBe('ACL_SUCCESS');
    this.current = null;
    await backend.close();
  }

  get scenarios(): ConformanceScenarios {
    if (this.current === null) throw new Error('no backend: the suite is not running');
    return this.current.scenarios;
  }

  /** The engine dies as its process would (A16); the suite tears down what the backend left. */
  async kill(engine: Engine): Promise<void> {
    if ((await this.scenarios.kill(engine.handle)) === 'destroyed') this.handles = this.handles.filter((h) => h !== engine.handle);
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
  client(role: number = LlmRole.kDecoder, extra: Readonly<Record<string, string>> = {}, clusterId: bigint = this.clusterId()): Engine {
    const handle = this.create(clusterId, role);
    expectStatus(this.b.LlmDataDist_Initialize(handle, Harness.options(extra)), 'LLM_SUCCESS');
    return { handle, clusterId, address: null };
  }

  /** Initialize of a fresh instance with the suite's options plus `extra`; the status. */
  initStatus(extra: Readonly<Record<string, string>> = {}, role: number = LlmRole.kMix): number {
    return this.b.LlmDataDist_Initialize(this.create(this.clusterId(), role), Harness.options(extra));
  }

  linkTo(client: Engine, clusters: ClusterInfo[], timeout = LINK_TIMEOUT_MS): StatusWithRets {
    return this.b.LlmDataDist_LinkLlmClusters(client.handle, clusters, timeout);
  }

  unlinkFrom(client: Engine, clusters: ClusterInfo[], force = false, timeout = LINK_TIMEOUT_MS): StatusWithRets {
    return this.b.LlmDataDist_UnlinkLlmClusters(client.handle, clusters, timeout, force);
  }

  /**
   * Whether `engine` holds a link stored under `peerClusterId`. The probe is a PullKvBlocks into a
   * one-block cache of this engine's own whose dst block is out of range: it stops at NOT_YET_LINK
   * without a link and at PARAM_INVALID with one, before the cache-table fetch, so it leaves no trace.
   */
  hasLink(engine: Engine, peerClusterId: bigint): boolean {
    let probe = this.probeCaches.get(engine.handle);
    if (probe === undefined) {
      probe = this.register(engine, this.memory({ tensors: 1, rows: 1, rowElements: 1 }, 0));
      this.probeCaches.set(engine.handle, probe);
    }
    const index = makeCacheIndex({ cluster_id: peerClusterId, cache_id: 1n });
    const status = statusName(this.b.LlmDataDist_PullKvBlocks(engine.handle, index, makeCache({ cache_id: probe }), BigUint64Array.of(0n), BigUint64Array.of(1n)));
    expect(['LLM_NOT_YET_LINK', 'LLM_PARAM_INVALID']).toContain(status);
    return status === 'LLM_PARAM_INVALID';
  }

  /** Whether `engine` holds any link at all: SetRole refuses with EXIST_LINK then (A17), and changes nothing otherwise. */
  holdsAnyLink(engine: Engine): boolean {
    const options: Record<string, string> = engine.address === null ? {} : { [OptionKey.OPTION_LISTEN_IP_INFO]: engine.address };
    const status = statusName(this.b.LlmDataDist_SetRole(engine.handle, LlmRole.kMix, options));
    expect(['LLM_SUCCESS', 'LLM_EXIST_LINK']).toContain(status);
    return status === 'LLM_EXIST_LINK';
  }

  /** A ClusterInfo naming `server` by its own cluster id and address. */
  static to(server: Engine, init: Partial<ClusterInfo> = {}): ClusterInfo {
    return Harness.clusterInfo(server.clusterId, server.address ?? '', init);
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

  /**
   * Memory for a cache of int32 tensors, each `rows × rowElements`, one buffer per tensor: JS memory,
   * or device memory (aclrtMalloc, filled with aclrtMemcpy) for placement kDevice (A22).
   */
  memory(shape: KvShape, seed: number): KvMemory {
    const stride = shape.rowElements * 4;
    const initial: Uint8Array[] = [];
    for (let t = 0; t < shape.tensors; t += 1) initial.push(pattern(seed * 101 + t, shape.rows * stride));
    const placement = shape.placement ?? CachePlacement.kHost;
    const desc = makeCacheDesc({
      placement,
      num_tensors: shape.tensors,
      data_type: DataType.DT_INT32,
      shape: BigInt64Array.from([BigInt(shape.rows), BigInt(shape.rowElements)]),
    });
    if (placement !== CachePlacement.kDevice) {
      const tensors = initial.map((bytes) => bytes.slice());
      return { tensors, addrs: BigUint64Array.from(tensors.map((tensor) => this.b.addressOf(tensor))), desc, stride, initial };
    }
    const addrs = BigUint64Array.from(initial.map((bytes) => this.deviceCopyOf(bytes)));
    const read = (): Uint8Array[] => initial.map((bytes, t) => this.readDevice(addrs[t] as bigint, bytes.length));
    return {
      get tensors() {
        return read();
      },
      addrs,
      desc,
      stride,
      initial,
    };
  }

  /** Device memory holding a copy of `bytes` (aclrtMalloc, HOST_TO_DEVICE), freed at the end of the test. */
  deviceCopyOf(bytes: Uint8Array): bigint {
    const allocated = this.b.aclrtMalloc(BigInt(bytes.length), aclrtMemMallocPolicy.ACL_MEM_MALLOC_HUGE_FIRST);
    expect(aclName(allocated.status), this.b.lastError()).toBe('ACL_SUCCESS');
    this.deviceMemory.push(allocated.devPtr);
    const length = BigInt(bytes.length);
    expect(aclName(this.b.aclrtMemcpy(allocated.devPtr, length, this.b.addressOf(bytes), length, aclrtMemcpyKind.ACL_MEMCPY_HOST_TO_DEVICE)), this.b.lastError()).toBe('ACL_SUCCESS');
    return allocated.devPtr;
  }

  /** `length` bytes of device memory at `address`, copied to the host (DEVICE_TO_HOST). */
  readDevice(address: bigint, length: number): Uint8Array {
    const bytes = new Uint8Array(length);
    expect(aclName(this.b.aclrtMemcpy(this.b.addressOf(bytes), BigInt(length), address, BigInt(length), aclrtMemcpyKind.ACL_MEMCPY_DEVICE_TO_HOST)), this.b.lastError()).toBe('ACL_SUCCESS');
    return bytes;
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

