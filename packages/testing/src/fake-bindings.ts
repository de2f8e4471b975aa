import {
  AclStatusCode,
  StatusCode,
  makeCache,
  makeKvCacheExtParam,
  type Bindings,
  type Cache,
  type CacheDesc,
  type CacheIndex,
  type ClusterInfo,
  type KvCacheExtParam,
  type LlmDataDistHandle,
  type LlmRole,
  type Status,
  type StatusWithRets,
  type AclStatus,
} from '@dd/sys';
import type { AclOutcome } from './acl-runtime.js';
import * as check from './argument-checks.js';
import { linkClusters, unlinkClusters, type LinkCallResult } from './cluster-calls.js';
import type { FakeDataDist } from './data-dist.js';
import { linkBreakCause, linkState } from './link-health.js';
import type { TransferKind } from './inspection.js';
import type { NetworkState } from './network-state.js';
import { aclStatusName, statusName, type Outcome } from './outcome.js';
import { planPullKvBlocks, planPullKvCache } from './pull-plan.js';
import { planPushKvBlocks, planPushKvCache } from './push-plan.js';
import type { TransferPlan } from './transfer-plan.js';
import { nextTurn, runTransferAsync, runTransferSync, sleep, type TransferRequest } from './transfer-runner.js';

const DEFAULT_LINK_TIMEOUT_MS = 1000;

/** The generated Bindings interface, served by a fake network instead of a native library. */
export function createFakeBindings(state: NetworkState): Bindings {
  // One JS thread, so "the last error of this thread" is the last error of these bindings.
  let lastError = '';

  function settle(method: string, status: Status, detail: string): Status {
    lastError = status === StatusCode.LLM_SUCCESS ? '' : `${method}: ${statusName(status)}${detail === '' ? '' : `: ${detail}`}`;
    return status;
  }

  /** An ACL function: its status unchanged, and the last error as the shim writes it for one. */
  function settleAcl(fn: string, outcome: AclOutcome<unknown>): AclStatus {
    lastError = outcome.status === AclStatusCode.ACL_SUCCESS ? '' : `${fn}: ${aclStatusName(outcome.status)}${outcome.detail === '' ? '' : `: ${outcome.detail}`}`;
    return outcome.status;
  }

  function settleOutcome(method: string, outcome: Outcome<unknown>): Status {
    return outcome.ok ? settle(method, StatusCode.LLM_SUCCESS, '') : settle(method, outcome.status, outcome.detail);
  }

  /** Like the C shim: a NULL handle is LLM_PARAM_INVALID. */
  function call<T>(method: string, self: LlmDataDistHandle, onNull: (status: Status) => T, body: (instance: FakeDataDist) => T): T {
    if (self === 0n) return onNull(settle(method, StatusCode.LLM_PARAM_INVALID, 'self is NULL'));
    return body(state.instance(self));
  }

  const bare = (status: Status): Status => status;
  const withRets = (status: Status): StatusWithRets => ({ status, rets: new Uint32Array(0) });

  function linkResult(method: string, result: LinkCallResult): StatusWithRets {
    return { status: settle(method, result.status, result.detail), rets: result.rets };
  }

  function checkLinkArgs(clusters: readonly ClusterInfo[], timeout: number): void {
    check.clusterInfos('clusters', clusters);
    check.int32('timeout_in_millis', timeout);
  }

  function checkPullArgs(src: CacheIndex, dst: Cache, ext: KvCacheExtParam): void {
    check.cacheIndex('src_cache_index', src);
    check.cache('dst_cache', dst);
    check.extParam('ext_param', ext);
  }

  function checkPushArgs(src: Cache, dst: CacheIndex, ext: KvCacheExtParam): void {
    check.cache('src_cache', src);
    check.cacheIndex('dst_cache_index', dst);
    check.extParam('ext_param', ext);
  }

  function checkBlocks(src: BigUint64Array, dst: BigUint64Array): void {
    check.bigUint64Array('src_blocks', src);
    check.bigUint64Array('dst_blocks', dst);
  }

  function pullRequest(kind: TransferRequest['kind'], dd: FakeDataDist, src: CacheIndex, dst: Cache, blocks?: [BigUint64Array, BigUint64Array]): TransferRequest {
    const [srcBlocks, dstBlocks] = blocks ?? [[], []];
    return { kind, initiator: dd, peer: src.cluster_id, localCacheId: dst.cache_id, remoteCacheId: src.cache_id, srcBlocks: [...srcBlocks], dstBlocks: [...dstBlocks] };
  }

  function pushRequest(kind: TransferRequest['kind'], dd: FakeDataDist, src: Cache, dst: CacheIndex, blocks?: [BigUint64Array, BigUint64Array]): TransferRequest {
    const [srcBlocks, dstBlocks] = blocks ?? [[], []];
    return { kind, initiator: dd, peer: dst.cluster_id, localCacheId: src.cache_id, remoteCacheId: dst.cache_id, srcBlocks: [...srcBlocks], dstBlocks: [...dstBlocks] };
  }

  type Planner = (dd: FakeDataDist) => Outcome<TransferPlan>;
  type Requester = (dd: FakeDataDist) => TransferRequest;

  function transferSync(kind: TransferKind, self: LlmDataDistHandle, request: Requester, plan: Planner): Status {
    return call(kind, self, bare, (dd) => settleOutcome(kind, runTransferSync(request(dd), plan(dd))));
  }

  function transferAsync(kind: TransferKind, self: LlmDataDistHandle, request: Requester, plan: Planner): Promise<Status> {
    return call(kind, self, async (status) => status, async (dd) => settleOutcome(kind, await runTransferAsync(request(dd), () => plan(dd))));
  }

  return {
    backend: { name: 'fake' },
    lastError: () => lastError,
    addressOf: (memory) => state.memory.addressOf(memory),
    view: (address, length) => state.memory.view(address, length),
    // Every byte of the fake is JS memory: a view holds its buffer.
    viewsKeepMemory: true,

    LlmDataDist_create(cluster_id: bigint, role: LlmRole) {
      check.uint64('cluster_id', cluster_id);
      check.int32('role', role);
      const handle = state.create(cluster_id, role);
      return { status: settle('create', StatusCode.LLM_SUCCESS, ''), handle };
    },
    LlmDataDist_destroy(self) {
      if (self !== 0n) state.destroy(self);
    },
    LlmDataDist_Initialize(self, options) {
      check.stringMap('options', options);
      return call('Initialize', self, bare, (dd) => settleOutcome('Initialize', dd.initialize(options)));
    },
    LlmDataDist_Finalize(self) {
      return call('Finalize', self, bare, (dd) => {
        dd.finalize();
        return settle('Finalize', StatusCode.LLM_SUCCESS, '');
      });
    },
    LlmDataDist_SetRole(self, role, options = {}) {
      check.int32('role', role);
      check.stringMap('options', options);
      return call('SetRole', self, bare, (dd) => settleOutcome('SetRole', dd.setRole(role, options)));
    },
    LlmDataDist_LinkLlmClusters(self, clusters, timeout_in_millis = DEFAULT_LINK_TIMEOUT_MS) {
      checkLinkArgs(clusters, timeout_in_millis);
      return call('LinkLlmClusters', self, withRets, (dd) => linkResult('LinkLlmClusters', linkClusters(dd, clusters, timeout_in_millis)));
    },
    async LlmDataDist_LinkLlmClustersAsync(self, clusters, timeout_in_millis = DEFAULT_LINK_TIMEOUT_MS) {
      checkLinkArgs(clusters, timeout_in_millis);
      await nextTurn();
      return call('LinkLlmClusters', self, async (status) => withRets(status), async (dd) => {
        const result = linkClusters(dd, clusters, timeout_in_millis);
        await sleep(result.delayMs);
        return linkResult('LinkLlmClusters', result);
      });
    },
    LlmDataDist_UnlinkLlmClusters(self, clusters, timeout_in_millis = DEFAULT_LINK_TIMEOUT_MS, force_flag = false) {
      checkLinkArgs(clusters, timeout_in_millis);
      if (typeof force_flag !== 'boolean') throw new TypeError('force_flag must be a boolean');
      return call('UnlinkLlmClusters', self, withRets, (dd) => linkResult('UnlinkLlmClusters', unlinkClusters(dd, clusters, timeout_in_millis, force_flag)));
    },
    async LlmDataDist_UnlinkLlmClustersAsync(self, clusters, timeout_in_millis = DEFAULT_LINK_TIMEOUT_MS, force_flag = false) {
      checkLinkArgs(clusters, timeout_in_millis);
      if (typeof force_flag !== 'boolean') throw new TypeError('force_flag must be a boolean');
      await nextTurn();
      return call('UnlinkLlmClusters', self, async (status) => withRets(status), async (dd) => {
        const result = unlinkClusters(dd, clusters, timeout_in_millis, force_flag);
        await sleep(result.delayMs);
        return linkResult('UnlinkLlmClusters', result);
      });
    },

    // V2 has no cache pool: these four always answer FEATURE_NOT_ENABLED, even before Initialize.
    LlmDataDist_AllocateCache(self, cache_desc: CacheDesc) {
      check.cacheDesc('cache_desc', cache_desc);
      const notEnabled = (status: Status) => ({ status, cache: makeCache() });
      return call('AllocateCache', self, notEnabled, () =>
        notEnabled(settle('AllocateCache', StatusCode.LLM_FEATURE_NOT_ENABLED, 'V2 has no cache pool; register memory with RegisterKvCache')),
      );
    },
    LlmDataDist_DeallocateCache(self, cache_id) {
      check.int64('cache_id', cache_id);
      return call('DeallocateCache', self, bare, () => settle('DeallocateCache', StatusCode.LLM_FEATURE_NOT_ENABLED, 'V2 has no cache pool'));
    },
    LlmDataDist_CopyKvCache(self, src_cache, dst_cache, src_batch_index = 0, dst_batch_index = 0, offset = 0n, size = -1n) {
      check.cache('src_cache', src_cache);
      check.cache('dst_cache', dst_cache);
      check.uint32('src_batch_index', src_batch_index);
      check.uint32('dst_batch_index', dst_batch_index);
      check.uint64('offset', offset);
      check.int64('size', size);
      return call('CopyKvCache', self, bare, () => settle('CopyKvCache', StatusCode.LLM_FEATURE_NOT_ENABLED, 'V2 has no cache pool'));
    },
    LlmDataDist_CopyKvBlocks(self, src_cache, dst_cache, src_blocks, dst_blocks_list) {
      check.cache('src_cache', src_cache);
      check.cache('dst_cache', dst_cache);
      check.bigUint64Array('src_blocks', src_blocks);
      dst_blocks_list.forEach((blocks, index) => check.bigUint64Array(`dst_blocks_list[${index}]`, blocks));
      return call('CopyKvBlocks', self, bare, () => settle('CopyKvBlocks', StatusCode.LLM_FEATURE_NOT_ENABLED, 'V2 has no cache pool'));
    },

    LlmDataDist_PullKvCache(self, src_cache_index, dst_cache, batch_index = 0, size = -1n, ext_param = makeKvCacheExtParam()) {
      checkPullArgs(src_cache_index, dst_cache, ext_param);
      check.uint32('batch_index', batch_index);
      check.int64('size', size);
      return transferSync(
        'PullKvCache',
        self,
        (dd) => pullRequest('PullKvCache', dd, src_cache_index, dst_cache),
        (dd) => planPullKvCache(dd, src_cache_index, dst_cache, batch_index, size, ext_param),
      );
    },
    async LlmDataDist_PullKvCacheAsync(self, src_cache_index, dst_cache, batch_index = 0, size = -1n, ext_param = makeKvCacheExtParam()) {
      checkPullArgs(src_cache_index, dst_cache, ext_param);
      check.uint32('batch_index', batch_index);
      check.int64('size', size);
      return transferAsync(
        'PullKvCache',
        self,
        (dd) => pullRequest('PullKvCache', dd, src_cache_index, dst_cache),
        (dd) => planPullKvCache(dd, src_cache_index, dst_cache, batch_index, size, ext_param),
      );
    },
    LlmDataDist_PullKvBlocks(self, src_cache_index, dst_cache, src_blocks, dst_blocks, ext_param = makeKvCacheExtParam()) {
      checkPullArgs(src_cache_index, dst_cache, ext_param);
      checkBlocks(src_blocks, dst_blocks);
      return transferSync(
        'PullKvBlocks',
        self,
        (dd) => pullRequest('PullKvBlocks', dd, src_cache_index, dst_cache, [src_blocks, dst_blocks]),
        (dd) => planPullKvBlocks(dd, src_cache_index, dst_cache, src_blocks, dst_blocks, ext_param),
      );
    },
    async LlmDataDist_PullKvBlocksAsync(self, src_cache_index, dst_cache, src_blocks, dst_blocks, ext_param = makeKvCacheExtParam()) {
      checkPullArgs(src_cache_index, dst_cache, ext_param);
      checkBlocks(src_blocks, dst_blocks);
      return transferAsync(
        'PullKvBlocks',
        self,
        (dd) => pullRequest('PullKvBlocks', dd, src_cache_index, dst_cache, [src_blocks, dst_blocks]),
        (dd) => planPullKvBlocks(dd, src_cache_index, dst_cache, src_blocks, dst_blocks, ext_param),
      );
    },
    LlmDataDist_PushKvCache(self, src_cache, dst_cache_index, src_batch_index = 0, size = -1n, ext_param = makeKvCacheExtParam()) {
      checkPushArgs(src_cache, dst_cache_index, ext_param);
      check.uint32('src_batch_index', src_batch_index);
      check.int64('size', size);
      return transferSync(
        'PushKvCache',
        self,
        (dd) => pushRequest('PushKvCache', dd, src_cache, dst_cache_index),
        (dd) => planPushKvCache(dd, src_cache, dst_cache_index, src_batch_index, size, ext_param),
      );
    },
    async LlmDataDist_PushKvCacheAsync(self, src_cache, dst_cache_index, src_batch_index = 0, size = -1n, ext_param = makeKvCacheExtParam()) {
      checkPushArgs(src_cache, dst_cache_index, ext_param);
      check.uint32('src_batch_index', src_batch_index);
      check.int64('size', size);
      return transferAsync(
        'PushKvCache',
        self,
        (dd) => pushRequest('PushKvCache', dd, src_cache, dst_cache_index),
        (dd) => planPushKvCache(dd, src_cache, dst_cache_index, src_batch_index, size, ext_param),
      );
    },
    LlmDataDist_PushKvBlocks(self, src_cache, dst_cache_index, src_blocks, dst_blocks, ext_param = makeKvCacheExtParam()) {
      checkPushArgs(src_cache, dst_cache_index, ext_param);
      checkBlocks(src_blocks, dst_blocks);
      return transferSync(
        'PushKvBlocks',
        self,
        (dd) => pushRequest('PushKvBlocks', dd, src_cache, dst_cache_index, [src_blocks, dst_blocks]),
        (dd) => planPushKvBlocks(dd, src_cache, dst_cache_index, src_blocks, dst_blocks, ext_param),
      );
    },
    async LlmDataDist_PushKvBlocksAsync(self, src_cache, dst_cache_index, src_blocks, dst_blocks, ext_param = makeKvCacheExtParam()) {
      checkPushArgs(src_cache, dst_cache_index, ext_param);
      checkBlocks(src_blocks, dst_blocks);
      return transferAsync(
        'PushKvBlocks',
        self,
        (dd) => pushRequest('PushKvBlocks', dd, src_cache, dst_cache_index, [src_blocks, dst_blocks]),
        (dd) => planPushKvBlocks(dd, src_cache, dst_cache_index, src_blocks, dst_blocks, ext_param),
      );
    },

    ddLinkStates(engine, cluster_ids, states, count) {
      for (const [name, value] of [['engine', engine], ['cluster_ids', cluster_ids], ['states', states], ['count', count]] as const) check.uint64(name, value);
      const n = Number(count);
      if (n > 0 && (cluster_ids === 0n || states === 0n)) return settle('ddLinkStates', StatusCode.LLM_PARAM_INVALID, `cluster_ids and states must not be NULL when count is ${n}`);
      const dd = state.liveInstance(engine);
      if (dd === undefined) return settle('ddLinkStates', StatusCode.LLM_PARAM_INVALID, `engine 0x${engine.toString(16)} is not a live LlmDataDist of this process`);
      if (!dd.initialized) return settle('ddLinkStates', StatusCode.LLM_FAILED, 'the engine is not initialized (call Initialize first)');
      const ids = n === 0 ? undefined : state.memory.view(cluster_ids, n * 8);
      const out = n === 0 ? undefined : state.memory.view(states, n * 4);
      for (let i = 0; i < n; i += 1) {
        const id = new DataView(ids!.buffer, ids!.byteOffset).getBigUint64(i * 8, true);
        new DataView(out!.buffer, out!.byteOffset).setInt32(i * 4, linkState(dd, id).state, true);
      }
      return settle('ddLinkStates', StatusCode.LLM_SUCCESS, '');
    },
    ddLinkBreakCause(engine, cluster_id, text, capacity) {
      for (const [name, value] of [['engine', engine], ['cluster_id', cluster_id], ['text', text], ['capacity', capacity]] as const) check.uint64(name, value);
      const failed = (status: Status, detail: string) => ({ status: settle('ddLinkBreakCause', status, detail), length: 0n });
      if (capacity > 0n && text === 0n) return failed(StatusCode.LLM_PARAM_INVALID, `length must not be NULL, nor text when capacity is ${capacity}`);
      const dd = state.liveInstance(engine);
      if (dd === undefined) return failed(StatusCode.LLM_PARAM_INVALID, `engine 0x${engine.toString(16)} is not a live LlmDataDist of this process`);
      if (!dd.initialized) return failed(StatusCode.LLM_FAILED, 'the engine is not initialized (call Initialize first)');
      const outcome = linkBreakCause(dd, cluster_id);
      if (!outcome.ok) return failed(outcome.status, outcome.detail);
      const bytes = new TextEncoder().encode(outcome.value);
      if (capacity > 0n) {
        // As the C function: NUL-terminated, truncated to capacity.
        const copied = Math.min(bytes.length, Number(capacity) - 1);
        const out = state.memory.view(text, copied + 1);
        out.set(bytes.subarray(0, copied));
        out[copied] = 0;
      }
      return { status: settle('ddLinkBreakCause', StatusCode.LLM_SUCCESS, ''), length: BigInt(bytes.length) };
    },

    aclInit(configPath) {
      if (configPath !== null) check.cString('configPath', configPath);
      return settleAcl('aclInit', state.acl.init());
    },
    aclFinalize() {
      return settleAcl('aclFinalize', state.acl.finalize());
    },
    aclrtSetDevice(deviceId) {
      check.int32('deviceId', deviceId);
      return settleAcl('aclrtSetDevice', state.acl.setDevice(deviceId));
    },
    aclrtResetDevice(deviceId) {
      check.int32('deviceId', deviceId);
      return settleAcl('aclrtResetDevice', state.acl.resetDevice(deviceId));
    },
    aclrtGetDeviceCount() {
      const outcome = state.acl.getDeviceCount();
      return { status: settleAcl('aclrtGetDeviceCount', outcome), count: outcome.value ?? 0 };
    },
    aclrtMalloc(size, policy) {
      check.uint64('size', size);
      check.int32('policy', policy);
      const outcome = state.acl.malloc(size, policy);
      return { status: settleAcl('aclrtMalloc', outcome), devPtr: outcome.value ?? 0n };
    },
    aclrtFree(devPtr) {
      check.uint64('devPtr', devPtr);
      return settleAcl('aclrtFree', state.acl.free(devPtr, 'device'));
    },
    aclrtMallocHost(size) {
      check.uint64('size', size);
      const outcome = state.acl.mallocHost(size);
      return { status: settleAcl('aclrtMallocHost', outcome), hostPtr: outcome.value ?? 0n };
    },
    aclrtFreeHost(hostPtr) {
      check.uint64('hostPtr', hostPtr);
      return settleAcl('aclrtFreeHost', state.acl.free(hostPtr, 'pinned'));
    },
    aclrtMemcpy(dst, destMax, src, count, kind) {
      for (const [name, value] of [['dst', dst], ['destMax', destMax], ['src', src], ['count', count]] as const) check.uint64(name, value);
      check.int32('kind', kind);
      return settleAcl('aclrtMemcpy', state.acl.memcpy(dst, destMax, src, count, kind));
    },
    aclrtMemset(devPtr, maxCount, value, count) {
      for (const [name, v] of [['devPtr', devPtr], ['maxCount', maxCount], ['count', count]] as const) check.uint64(name, v);
      check.int32('value', value);
      return settleAcl('aclrtMemset', state.acl.memset(devPtr, maxCount, value, count));
    },

    LlmDataDist_RegisterKvCache(self, cache_desc, addrs) {
      check.cacheDesc('cache_desc', cache_desc);
      check.bigUint64Array('addrs', addrs);
      const failed = (status: Status) => ({ status, cache_id: -1n });
      return call('RegisterKvCache', self, failed, (dd) => {
        const outcome = dd.register(cache_desc, addrs);
        const status = settleOutcome('RegisterKvCache', outcome);
        return outcome.ok ? { status, cache_id: outcome.value } : failed(status);
      });
    },
    LlmDataDist_UnregisterKvCache(self, cache_id) {
      check.int64('cache_id', cache_id);
      return call('UnregisterKvCache', self, bare, (dd) => settleOutcome('UnregisterKvCache', dd.unregister(cache_id)));
    },
  };
}
