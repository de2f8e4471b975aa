// The generated shim compiled with g++ -Wall -Wextra -Werror and linked with a test-only C++
// LlmDataDist (test/stub), driven through the generated koffi bindings: conversions, exception →
// status mapping, the last-error text (sync and async), out-vector capacity rules and the ABI self-check.
import { closeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ABI_LAYOUT,
  AclStatusCode,
  CachePlacement,
  DataType,
  LlmRole,
  SHIM_SYMBOLS,
  SHIM_VERSION,
  StatusCode,
  createNativeBindings,
  declareNativeFunctions,
  nativeCompletionQueue,
  declareNativeTypes,
  makeCache,
  makeCacheDesc,
  makeCacheIndex,
  makeClusterInfo,
  makeIpInfo,
  makeKvCacheExtParam,
  aclrtMemcpyKind,
  aclrtMemMallocPolicy,
  type AclBindings,
  type LinkHealthBindings,
  type LlmDataDistBindings,
  type LlmDataDistHandle,
} from '../../../packages/sys/src/generated/index.js';
import { openCompletionQueue } from '../../../packages/sys/src/completion-queue.js';
import { codegenRoot, compileCxx, completionsDir, headersDir, shimDir, sysKoffi, tempDir } from './helpers.js';

const koffi = sysKoffi();
const tmp = tempDir('stub');
let lib: ReturnType<typeof koffi.load>;
let b: LlmDataDistBindings & AclBindings & LinkHealthBindings & { lastError(): string };
let fn: ReturnType<typeof declareNativeFunctions>;
let journal: () => string;
/** dd_last_error() read on this, the JavaScript, thread. */
let threadLastError: () => string;
let handle: LlmDataDistHandle;

beforeAll(() => {
  const so = join(tmp.path, 'libdd_stub.so');
  const built = compileCxx([
    '-fvisibility=hidden',
    '-fPIC',
    '-shared',
    `-I${headersDir}`,
    `-I${join(headersDir, 'extensions')}`,
    `-I${shimDir}`,
    `-I${completionsDir}`,
    '-DDD_BACKEND_NAME="stub"',
    join(shimDir, 'dd_shim.cc'),
    join(completionsDir, 'completion_queue.cc'),
    join(codegenRoot, 'test/stub/llm_datadist_stub.cc'),
    '-o',
    so,
  ]);
  expect(built.stderr).toBe('');
  expect(built.status).toBe(0);
  lib = koffi.load(so);
  b = createNativeBindings(koffi, lib, openCompletionQueue);
  fn = declareNativeFunctions(koffi, lib);
  const journalFn = lib.func('const char *stub_journal(void)');
  journal = () => journalFn() as string;
  const buffer = Buffer.alloc(1024);
  threadLastError = () => {
    const length = Number(fn.dd_last_error(buffer, buffer.length));
    return buffer.toString('utf8', 0, Math.min(length, buffer.length - 1));
  };
  const created = b.LlmDataDist_create(5n, LlmRole.kDecoder);
  expect(created.status).toBe(StatusCode.LLM_SUCCESS);
  handle = created.handle;
  expect(journal()).toBe('create 5 role=2\n');
}, 180_000);

afterAll(() => {
  b.LlmDataDist_destroy(handle);
  tmp.remove();
});

describe('identity and ABI', () => {
  it('reports the shim version the TS was generated with and the compiled-in backend name', () => {
    expect(SHIM_VERSION).toMatch(/^abi-[0-9a-f]{12}$/);
    expect(fn.dd_shim_version()).toBe(SHIM_VERSION);
    expect(fn.dd_backend_name()).toBe('stub');
    expect(SHIM_SYMBOLS.lastError).toBe('dd_last_error');
  });

  it('lays out every C struct the way koffi and the generated ABI_LAYOUT say', () => {
    const types = declareNativeTypes(koffi);
    expect(ABI_LAYOUT.length).toBe(6);
    for (const s of ABI_LAYOUT) {
      const type = types[s.name as keyof typeof types];
      const sizeof = Number(lib.func(s.sizeofSymbol, 'size_t', [])());
      expect([s.name, koffi.sizeof(type), sizeof]).toEqual([s.name, s.size, s.size]);
      for (const f of s.fields) {
        const offsetof = Number(lib.func(f.offsetofSymbol, 'size_t', [])());
        expect([s.name, f.name, koffi.offsetof(type, f.name), offsetof]).toEqual([s.name, f.name, f.offset, f.offset]);
      }
    }
  });
});

describe('conversions into C++', () => {
  it('passes the options map as a std::map of AscendString', () => {
    expect(b.LlmDataDist_Initialize(handle, { 'llm.SyncKvCacheWaitTime': '500', 'llm.DeviceId': '0', 'llm.ListenIpInfo': '127.0.0.1:26000' })).toBe(0);
    expect(journal()).toBe('Initialize {llm.DeviceId=0;llm.ListenIpInfo=127.0.0.1:26000;llm.SyncKvCacheWaitTime=500;}\n');
    expect(b.LlmDataDist_SetRole(handle, LlmRole.kPrompt)).toBe(0);
    expect(journal()).toBe('SetRole 1 {}\n');
  });

  it('passes vectors of structs with their strings, ports and the timeout', () => {
    const clusters = [
      makeClusterInfo({ remote_cluster_id: 7n, local_ip_infos: [makeIpInfo({ ip: '10.0.0.1', port: 26001 })], remote_ip_infos: [makeIpInfo({ ip: '10.0.0.2', port: 26000 })] }),
      makeClusterInfo({ remote_cluster_id: 18446744073709551615n, remote_ip_infos: [makeIpInfo({ ip: '节点', port: 65535 })] }),
    ];
    const result = b.LlmDataDist_LinkLlmClusters(handle, clusters, 5000);
    expect(result.status).toBe(0);
    expect([...result.rets]).toEqual([100, 101]);
    expect(journal()).toBe('Link timeout=5000 {7,0,[10.0.0.1:26001,],[10.0.0.2:26000,]} {18446744073709551615,0,[],[节点:65535,]}\n');
  });

  it('passes caches, indexes, block lists and the header defaults of omitted parameters', () => {
    const cache = makeCache({
      cache_id: 3n,
      tensor_addrs: new BigUint64Array([0x7f0000001000n, 0x7f0000002000n]),
      cache_desc: makeCacheDesc({ num_tensors: 2, data_type: DataType.DT_BF16, shape: new BigInt64Array([8n, 16n]) }),
    });
    const index = makeCacheIndex({ cluster_id: 1n, cache_id: 9n, batch_index: 2 });
    expect(b.LlmDataDist_PullKvCache(handle, index, cache)).toBe(0);
    expect(journal()).toBe('PullKvCache index(1,9,2) cache(3,[139637976731648,139637976735744],desc(1,2,27,[8,16])) 0 -1 ext(-1,-1,-1,-1,2)\n');
    const ext = makeKvCacheExtParam({ src_layer_range: [0, 3], dst_layer_range: [1, 4], tensor_num_per_layer: 1 });
    expect(b.LlmDataDist_PushKvBlocks(handle, cache, index, new BigUint64Array([1n, 2n]), new BigUint64Array([3n, 4n]), ext)).toBe(0);
    expect(journal()).toMatch(/^PushKvBlocks .* \[1,2\] \[3,4\] ext\(0,3,1,4,1\)\n$/);
    expect(b.LlmDataDist_CopyKvBlocks(handle, cache, cache, new BigUint64Array([5n]), [new BigUint64Array([6n, 7n]), new BigUint64Array([]), new BigUint64Array([8n])])).toBe(0);
    expect(journal()).toBe('CopyKvBlocks 3 3 [5] [6,7][][8]\n');
    expect(b.LlmDataDist_CopyKvCache(handle, cache, cache, 1, 2, 3n, 4n)).toBe(0);
    expect(journal()).toMatch(/ 1 2 3 4\n$/);
  });

  it('places a cache and its arrays in the call\'s arena, and hands one too large for it to koffi, with the same values', async () => {
    const desc = makeCacheDesc({ num_tensors: 2, data_type: DataType.DT_BF16, shape: new BigInt64Array([8n, 16n]) });
    const small = makeCache({ cache_id: 3n, tensor_addrs: new BigUint64Array([0x1000n, 0x2000n]), cache_desc: desc });
    // 600 addresses are 4,800 bytes: more than the 4 KiB arena.
    const many = new BigUint64Array(600).map((_, i) => BigInt(0x10000 + i));
    const large = makeCache({ cache_id: 4n, tensor_addrs: many, cache_desc: desc });
    const index = makeCacheIndex({ cluster_id: 1n, cache_id: 9n });
    const shown = (c: typeof small): string => `cache(${c.cache_id},[${[...c.tensor_addrs].join(',')}],desc(1,2,27,[8,16]))`;
    for (const cache of [small, large, small]) {
      expect(b.LlmDataDist_PullKvBlocks(handle, index, cache, new BigUint64Array([1n]), new BigUint64Array([2n]))).toBe(0);
      expect(journal()).toBe(`PullKvBlocks index(1,9,0) ${shown(cache)} [1] [2] ext(-1,-1,-1,-1,2)\n`);
      expect(await b.LlmDataDist_PullKvBlocksAsync(handle, index, cache, new BigUint64Array([3n]), new BigUint64Array([4n]))).toBe(0);
      expect(journal()).toBe(`PullKvBlocks index(1,9,0) ${shown(cache)} [3] [4] ext(-1,-1,-1,-1,2)\n`);
    }
    // Empty arrays cross as NULL with a count of 0.
    const bare = makeCache({ cache_id: 5n, cache_desc: makeCacheDesc({ shape: new BigInt64Array(0) }) });
    expect(b.LlmDataDist_PullKvBlocks(handle, index, bare, new BigUint64Array([1n]), new BigUint64Array([2n]))).toBe(0);
    expect(journal()).toBe('PullKvBlocks index(1,9,0) cache(5,[],desc(1,0,28,[])) [1] [2] ext(-1,-1,-1,-1,2)\n');
  });

  it('drops the reserved-only RegisterCfg (the shim passes a zeroed one) and returns the out cache_id as bigint', () => {
    const desc = makeCacheDesc({ placement: CachePlacement.kHost, num_tensors: 1, data_type: DataType.DT_INT32, shape: new BigInt64Array([4n, 16n]) });
    expect(b.LlmDataDist_RegisterKvCache(handle, desc, new BigUint64Array([0x1234n]))).toEqual({ status: 0, cache_id: 7n });
    expect(journal()).toBe('Register desc(0,1,3,[4,16]) [4660] cfg=zero\n');
    expect(b.LlmDataDist_UnregisterKvCache(handle, 7n)).toBe(0);
    expect(journal()).toBe('Unregister 7\n');
  });
});

describe('out-parameters', () => {
  it('fills an out-struct with caller-allocated vector fields', () => {
    const desc = makeCacheDesc({ num_tensors: 3, data_type: DataType.DT_FLOAT16, shape: new BigInt64Array([2n, 4n, 8n]) });
    const { status, cache } = b.LlmDataDist_AllocateCache(handle, desc);
    expect(status).toBe(0);
    expect(cache.cache_id).toBe(42n);
    expect([...cache.tensor_addrs]).toEqual([0x1000n, 0x1001n, 0x1002n]);
    expect(cache.cache_desc).toEqual({ placement: CachePlacement.kDevice, num_tensors: 3, data_type: DataType.DT_FLOAT16, shape: new BigInt64Array([2n, 4n, 8n]) });
    journal();
  });

  it('copies min(size, capacity) elements of an out-vector and always reports the full size', () => {
    const clusters = [{ remote_cluster_id: 1n, remote_role_type: 2, local_ip_infos: [], remote_ip_infos: [] }];
    const rets = new Uint32Array([0xeeeeeeee, 0xeeeeeeee, 0xeeeeeeee]);
    const count: unknown[] = [0];
    expect(fn.dd_LlmDataDist_LinkLlmClusters(handle, clusters, 1, rets, 1, count, 1000)).toBe(0);
    expect(Number(count[0])).toBe(3);
    expect([...rets]).toEqual([100, 0xeeeeeeee, 0xeeeeeeee]);
    const none: unknown[] = [0];
    expect(fn.dd_LlmDataDist_LinkLlmClusters(handle, clusters, 1, null, 0, none, 1000)).toBe(0);
    expect(Number(none[0])).toBe(3);
    // Through the bindings the capacity is the number of clusters, so extra entries are cut off.
    expect([...b.LlmDataDist_LinkLlmClusters(handle, clusters).rets]).toEqual([100]);
    journal();
  });

  it('rejects an out-vector without a count pointer before calling C++', () => {
    expect(fn.dd_LlmDataDist_LinkLlmClusters(handle, [], 0, null, 0, null, 1000)).toBe(StatusCode.LLM_PARAM_INVALID);
    expect(threadLastError()).toBe('LinkLlmClusters: LLM_PARAM_INVALID: rets_count is NULL');
    expect(journal()).toBe('');
  });
});

describe('statuses and the last error', () => {
  it('maps C++ exceptions to statuses with the exception text', () => {
    expect(b.LlmDataDist_Initialize(handle, { throw: 'boom' })).toBe(StatusCode.LLM_FAILED);
    expect(threadLastError()).toBe('Initialize: LLM_FAILED: boom');
    expect(b.LlmDataDist_Initialize(handle, { bad_alloc: '1' })).toBe(StatusCode.LLM_OUT_OF_MEMORY);
    expect(threadLastError()).toBe('Initialize: LLM_OUT_OF_MEMORY: std::bad_alloc');
    expect(b.LlmDataDist_Initialize(handle, { throw_int: '1' })).toBe(StatusCode.LLM_FAILED);
    expect(threadLastError()).toBe('Initialize: LLM_FAILED: unknown C++ exception');
    const failed = b.LlmDataDist_create(0xbadn, LlmRole.kPrompt);
    expect(failed).toEqual({ status: StatusCode.LLM_FAILED, handle: 0n });
    expect(threadLastError()).toBe('LlmDataDist: LLM_FAILED: constructor refused');
    journal();
  });

  it('returns the C++ status unchanged, with the backend detail hook, and a success clears it', () => {
    expect(b.LlmDataDist_Initialize(handle, { status: '0x5010B01A' })).toBe(StatusCode.LLM_TIMEOUT);
    expect(threadLastError()).toBe('Initialize: LLM_TIMEOUT: stub detail for 0x5010B01A');
    expect(b.LlmDataDist_Initialize(handle, { status: '0x1234' })).toBe(0x1234);
    expect(threadLastError()).toBe('Initialize: 0x00001234: stub detail for 0x1234');
    expect(b.LlmDataDist_Initialize(handle, {})).toBe(0);
    expect(threadLastError()).toBe('');
    const small = Buffer.alloc(8);
    expect(b.LlmDataDist_Initialize(handle, { throw: 'x'.repeat(40) })).toBe(StatusCode.LLM_FAILED);
    expect(Number(fn.dd_last_error(small, small.length))).toBe('Initialize: LLM_FAILED: '.length + 40);
    expect(small.toString('utf8')).toBe('Initiali\0'.slice(0, 7) + '\0');
    journal();
  });

  it('names the method once when the backend detail already starts with "<Method>: "', () => {
    expect(b.LlmDataDist_Initialize(handle, { status: '0x5010B01A', detail: 'Initialize: said once' })).toBe(StatusCode.LLM_TIMEOUT);
    expect(threadLastError()).toBe('Initialize: LLM_TIMEOUT: said once');
    expect(b.LlmDataDist_Initialize(handle, { status: '0x5010B01A', detail: 'Initialize:no space' })).toBe(StatusCode.LLM_TIMEOUT);
    expect(threadLastError()).toBe('Initialize: LLM_TIMEOUT: Initialize:no space');
    expect(b.LlmDataDist_Initialize(handle, { status: '0x5010B01A', detail: 'SetRole: another method' })).toBe(StatusCode.LLM_TIMEOUT);
    expect(threadLastError()).toBe('Initialize: LLM_TIMEOUT: SetRole: another method');
    expect(b.LlmDataDist_Initialize(handle, { status: '0x5010B01A', detail: 'Initialize: ' })).toBe(StatusCode.LLM_TIMEOUT);
    expect(threadLastError()).toBe('Initialize: LLM_TIMEOUT');
    expect(b.LlmDataDist_Initialize(handle, { throw: 'Initialize: from an exception' })).toBe(StatusCode.LLM_FAILED);
    expect(threadLastError()).toBe('Initialize: LLM_FAILED: from an exception');
    journal();
  });

  it('keeps the detail of the last status returned to JavaScript in the bindings, sync calls included', () => {
    expect(b.LlmDataDist_Initialize(handle, { status: '0x5010B01A' })).toBe(StatusCode.LLM_TIMEOUT);
    expect(b.lastError()).toBe('Initialize: LLM_TIMEOUT: stub detail for 0x5010B01A');
    expect(b.LlmDataDist_create(0xbadn, LlmRole.kPrompt).status).toBe(StatusCode.LLM_FAILED);
    expect(b.lastError()).toBe('LlmDataDist: LLM_FAILED: constructor refused');
    expect(b.LlmDataDist_Initialize(handle, {})).toBe(0);
    expect(b.lastError()).toBe('');
    journal();
  });

  it('turns NULL handles, structs and arrays into LLM_PARAM_INVALID without calling C++', () => {
    expect(fn.dd_LlmDataDist_Initialize(null, [], [], 0)).toBe(StatusCode.LLM_PARAM_INVALID);
    expect(threadLastError()).toBe('Initialize: LLM_PARAM_INVALID: self is NULL');
    expect(fn.dd_LlmDataDist_PullKvCache(handle, null, makeCache(), 0, -1, makeKvCacheExtParam())).toBe(StatusCode.LLM_PARAM_INVALID);
    expect(threadLastError()).toBe('PullKvCache: LLM_PARAM_INVALID: src_cache_index is NULL');
    expect(fn.dd_LlmDataDist_PullKvBlocks(handle, makeCacheIndex(), { cache_id: 0n, tensor_addrs: null, tensor_addrs_count: 0, cache_desc: { placement: 0, num_tensors: 0, data_type: 0, shape: null, shape_count: 0 } }, null, 3, null, 0, makeKvCacheExtParam())).toBe(
      StatusCode.LLM_PARAM_INVALID,
    );
    expect(threadLastError()).toBe('PullKvBlocks: LLM_PARAM_INVALID: src_blocks is NULL but its count is 3');
    expect(fn.dd_LlmDataDist_Initialize(handle, ['k'], [null], 1)).toBe(StatusCode.LLM_PARAM_INVALID);
    expect(threadLastError()).toBe('Initialize: LLM_PARAM_INVALID: options has a NULL key or value at index 0');
    fn.dd_LlmDataDist_destroy(null);
    expect(journal()).toBe('');
  });

  it('reports non-success statuses of void-free calls with their out-vectors', () => {
    const result = b.LlmDataDist_UnlinkLlmClusters(handle, [makeClusterInfo(), makeClusterInfo()], 1000, true);
    expect(result.status).toBe(StatusCode.LLM_NOT_YET_LINK);
    expect([...result.rets]).toEqual([StatusCode.LLM_NOT_YET_LINK, StatusCode.LLM_NOT_YET_LINK]);
    expect(threadLastError()).toBe('UnlinkLlmClusters: LLM_NOT_YET_LINK');
    expect(journal()).toBe('Unlink n=2 timeout=1000 force=1\n');
    expect(b.LlmDataDist_Finalize(handle)).toBe(StatusCode.LLM_SUCCESS);
    expect(journal()).toBe('Finalize\n');
  });
});

describe('checks before koffi', () => {
  it('range-checks every integer and names the parameter or field', () => {
    const bad = [makeClusterInfo({ remote_ip_infos: [makeIpInfo({ ip: '1.2.3.4', port: 70000 })] })];
    expect(() => b.LlmDataDist_LinkLlmClusters(handle, bad)).toThrow(
      new RangeError('LlmDataDist_LinkLlmClusters: clusters[0].remote_ip_infos[0].port must be an integer in [0, 65535] (uint16), got 70000'),
    );
    expect(() => b.LlmDataDist_PullKvCache(handle, makeCacheIndex({ batch_index: -1 }), makeCache())).toThrow(RangeError);
    expect(() => b.LlmDataDist_DeallocateCache(handle, 1n << 63n)).toThrow(/cache_id must be in \[-9223372036854775808, 9223372036854775807\] \(int64\)/);
    expect(() => b.LlmDataDist_LinkLlmClusters(handle, [], 2 ** 31)).toThrow(/timeout_in_millis must be an integer in \[-2147483648, 2147483647\]/);
    expect(() => b.LlmDataDist_create(-1n, LlmRole.kPrompt)).toThrow(/cluster_id must be in \[0, 18446744073709551615\] \(uint64\)/);
    expect(journal()).toBe('');
  });

  it('checks typed-array kinds, strings and handles', () => {
    const index = makeCacheIndex();
    const cache = makeCache();
    const wrongKind = new BigInt64Array([1n]) as unknown as BigUint64Array;
    expect(() => b.LlmDataDist_PullKvBlocks(handle, index, cache, wrongKind, new BigUint64Array([1n]))).toThrow(
      new TypeError('LlmDataDist_PullKvBlocks: src_blocks must be a BigUint64Array, got a BigInt64Array'),
    );
    expect(() => b.LlmDataDist_Initialize(handle, { key: 'a\0b' })).toThrow(/options\["key"\] must not contain a NUL character/);
    expect(() => b.LlmDataDist_Finalize(1 as unknown as LlmDataDistHandle)).toThrow(/self must be a handle/);
    expect(journal()).toBe('');
  });

  it('accepts safe-integer numbers for 64-bit values and normalises them', () => {
    const asNumber = 9 as unknown as bigint;
    expect(b.LlmDataDist_DeallocateCache(handle, asNumber)).toBe(StatusCode.LLM_FEATURE_NOT_ENABLED);
    expect(journal()).toBe('Deallocate 9\n');
  });
});

describe('async twins', () => {
  it('run on another thread and resolve with the same result shape', async () => {
    const index = makeCacheIndex({ cluster_id: 2n, cache_id: 1n });
    const pending = b.LlmDataDist_PullKvBlocksAsync(handle, index, makeCache({ cache_id: 4n }), new BigUint64Array([1n]), new BigUint64Array([2n]));
    expect(pending).toBeInstanceOf(Promise);
    expect(await pending).toBe(0);
    expect(journal()).toBe('PullKvBlocks index(2,1,0) cache(4,[],desc(1,0,28,[])) [1] [2] ext(-1,-1,-1,-1,2)\n');
    const link = await b.LlmDataDist_LinkLlmClustersAsync(handle, [makeClusterInfo(), makeClusterInfo()]);
    expect([...link.rets]).toEqual([100, 101]);
    journal();
  });

  it('hand the last error of the worker thread back: lastError() holds it, a success clears it', async () => {
    const blocks = new BigUint64Array([1n]);
    expect(b.LlmDataDist_SetRole(handle, LlmRole.kPrompt)).toBe(0);
    const missing = await b.LlmDataDist_PullKvBlocksAsync(handle, makeCacheIndex({ cluster_id: 0xbadn, cache_id: 6n }), makeCache(), blocks, blocks);
    expect(missing).toBe(StatusCode.LLM_KV_CACHE_NOT_EXIST);
    expect(b.lastError()).toBe('PullKvBlocks: LLM_KV_CACHE_NOT_EXIST: no cache 6 on this worker');
    // The JS thread's own last error is untouched: it was the worker's.
    expect(threadLastError()).toBe('');
    expect(await b.LlmDataDist_PullKvBlocksAsync(handle, makeCacheIndex({ cluster_id: 0xbaen }), makeCache(), blocks, blocks)).toBe(StatusCode.LLM_FAILED);
    expect(b.lastError()).toBe('PullKvBlocks: LLM_FAILED: boom!');
    expect(await b.LlmDataDist_PullKvBlocksAsync(handle, makeCacheIndex({ cluster_id: 2n }), makeCache(), blocks, blocks)).toBe(0);
    expect(b.lastError()).toBe('');
    const link = await b.LlmDataDist_UnlinkLlmClustersAsync(handle, [makeClusterInfo()]);
    expect(link.status).toBe(StatusCode.LLM_NOT_YET_LINK);
    expect(b.lastError()).toBe('UnlinkLlmClusters: LLM_NOT_YET_LINK');
    journal();
  });

  it('_async variants write the error NUL-terminated, truncated to error_cap, and "" on success', async () => {
    const call = (error: Buffer | null, cap: number): Promise<unknown> =>
      new Promise((resolve, reject) => {
        const rets = new Uint32Array(1);
        const count = [0];
        const info = { remote_cluster_id: 1n, remote_role_type: 0, local_ip_infos: null, local_ip_infos_count: 0, remote_ip_infos: null, remote_ip_infos_count: 0 };
        fn.dd_LlmDataDist_UnlinkLlmClusters_async.async(handle, [info], 1, rets, 1, count, 1000, false, error, cap, (err: unknown, status: unknown) => (err ? reject(err) : resolve(status)));
      });
    const small = Buffer.alloc(16, 0xff);
    expect(await call(small, small.length)).toBe(StatusCode.LLM_NOT_YET_LINK);
    expect(small.toString('latin1')).toBe('UnlinkLlmCluste\0');
    const exact = Buffer.alloc('UnlinkLlmClusters: LLM_NOT_YET_LINK'.length + 1, 0xff);
    expect(await call(exact, exact.length)).toBe(StatusCode.LLM_NOT_YET_LINK);
    expect(exact.toString('latin1')).toBe('UnlinkLlmClusters: LLM_NOT_YET_LINK\0');
    expect(await call(null, 0)).toBe(StatusCode.LLM_NOT_YET_LINK);
    journal();
  });

  it('queued calls own copies of their arguments: the caller may change its arrays as soon as the call returns', async () => {
    const src = BigUint64Array.of(1n, 2n, 3n);
    const dst = BigUint64Array.of(4n, 5n, 6n);
    const pending = b.LlmDataDist_PushKvBlocksAsync(handle, makeCache({ cache_id: 7n }), makeCacheIndex({ cluster_id: 2n, cache_id: 8n }), src, dst);
    src.fill(99n);
    dst.fill(99n);
    expect(await pending).toBe(0);
    expect(journal()).toBe('PushKvBlocks cache(7,[],desc(1,0,28,[])) index(2,8,0) [1,2,3] [4,5,6] ext(-1,-1,-1,-1,2)\n');
  });

  it('a submission its argument checks refuse never runs: its status and last error come at once, on this thread', async () => {
    const out: unknown[] = [null];
    const wake = new Int32Array(1);
    expect(fn.dd_completion_queue_open(out, wake)).toBe(0);
    try {
      const status = fn.dd_LlmDataDist_PullKvBlocks_submit(out[0], 1, handle, null, null, null, 0, null, 0, null);
      expect(status).toBe(StatusCode.LLM_PARAM_INVALID);
      expect(threadLastError()).toBe('PullKvBlocks: LLM_PARAM_INVALID: src_cache_index is NULL');
      expect(fn.dd_completion_queue_take(out[0], new Uint32Array(2), 1)).toBe(0);
      expect(journal()).toBe('');
    } finally {
      fn.dd_completion_queue_close(out[0]);
      closeSync(wake[0]!);
    }
  });

  it('a thousand queued calls in flight each end with their own status and last-error text', async () => {
    const runner = openCompletionQueue(
      nativeCompletionQueue(koffi, fn),
      { success: StatusCode.LLM_SUCCESS, syncError: threadLastError },
    );
    const cache = makeCache();
    const ext = makeKvCacheExtParam();
    const submit = (i: number) => (queue: unknown, token: number) => {
      const index = { cluster_id: i % 3 === 0 ? 0xbadn : 2n, cache_id: BigInt(i), batch_index: 0 };
      const list = BigUint64Array.of(BigInt(i));
      const c = { cache_id: cache.cache_id, tensor_addrs: null, tensor_addrs_count: 0, cache_desc: { placement: 0, num_tensors: 0, data_type: 0, shape: null, shape_count: 0 } };
      return fn.dd_LlmDataDist_PullKvBlocks_submit(queue, token, handle, index, c, list, 1, list, 1, ext);
    };
    const done = await Promise.all(Array.from({ length: 1000 }, (_, i) => runner.run(submit(i))));
    done.forEach((d, i) => {
      if (i % 3 === 0) expect(d).toEqual({ status: StatusCode.LLM_KV_CACHE_NOT_EXIST, error: `PullKvBlocks: LLM_KV_CACHE_NOT_EXIST: no cache ${i} on this worker` });
      else expect(d).toEqual({ status: StatusCode.LLM_SUCCESS, error: '' });
    });
    expect(journal().split('\n').filter(Boolean)).toHaveLength(1000);
  });

  it('reject, rather than throw, on bad input', async () => {
    const pending = b.LlmDataDist_PushKvCacheAsync(handle, makeCache(), makeCacheIndex({ batch_index: 1.5 }));
    await expect(pending).rejects.toThrow(/dst_cache_index.batch_index must be an integer/);
    expect(journal()).toBe('');
  });
});

describe('free functions (group LinkHealth): dd\'s extension, statuses of the LLM table', () => {
  it('passes the engine and the caller\'s arrays as addresses, and the count', () => {
    const ids = BigUint64Array.of(5n, 6n, 7n);
    const states = new Int32Array(3);
    const address = (view: ArrayBufferView): bigint => BigInt(koffi.address(view) as bigint | number);
    expect(b.ddLinkStates(0x1234n, address(ids), address(states), 3n)).toBe(StatusCode.LLM_SUCCESS);
    expect([...states]).toEqual([1, 2, 3]);
    expect(journal()).toBe('ddLinkStates 0x1234 count=3\n');
  });

  it('reads the out-length next to the status; a failure names the function and its LLM status', () => {
    const text = Buffer.alloc(8);
    const address = BigInt(koffi.address(text) as bigint | number);
    expect(b.ddLinkBreakCause(0x1234n, 42n, address, 8n)).toEqual({ status: 0, length: 15n });
    expect(text.toString('utf8', 0, 7)).toBe('peer 42');
    expect(text[7]).toBe(0);
    expect(b.ddLinkBreakCause(0x1234n, 0n, address, 8n).status).toBe(StatusCode.LLM_NOT_YET_LINK);
    expect(b.lastError()).toBe('ddLinkBreakCause: LLM_NOT_YET_LINK: no link to cluster 0');
    journal();
  });
});

describe('free functions (group Acl): a pass-through of each ACL function', () => {
  it('passes a NULL or a string config path, and reads an out-scalar', () => {
    expect(b.aclInit(null)).toBe(AclStatusCode.ACL_SUCCESS);
    expect(b.aclInit('/etc/acl.json')).toBe(AclStatusCode.ACL_SUCCESS);
    expect(journal()).toBe('aclInit NULL\naclInit /etc/acl.json\n');
    expect(b.aclrtGetDeviceCount()).toEqual({ status: 0, count: 3 });
    expect(journal()).toBe('aclrtGetDeviceCount\n');
  });

  it('hands addresses over as 64-bit values both ways, and enums as their values', () => {
    const malloc = b.aclrtMalloc(4096n, aclrtMemMallocPolicy.ACL_MEM_MALLOC_HUGE_ONLY);
    expect(malloc).toEqual({ status: 0, devPtr: 0x7e0000200000n });
    expect(b.aclrtMallocHost(8n)).toEqual({ status: 0, hostPtr: 0x7e0000400000n });
    expect(b.aclrtMemcpy(0xfffffffffffffff0n, 18446744073709551615n, 0x10n, 0n, aclrtMemcpyKind.ACL_MEMCPY_INTER_DEVICE_TO_DEVICE)).toBe(0);
    expect(b.aclrtMemset(malloc.devPtr, 64n, -1, 64n)).toBe(0);
    expect(b.aclrtFree(malloc.devPtr)).toBe(0);
    expect(b.aclrtFreeHost(0x7e0000400000n)).toBe(0);
    expect(journal()).toBe(
      [
        'aclrtMalloc size=4096 policy=1',
        'aclrtMallocHost size=8',
        'aclrtMemcpy 0xfffffffffffffff0 18446744073709551615 0x10 0 kind=7',
        'aclrtMemset 0x7e0000200000 64 -1 64',
        'aclrtFree 0x7e0000200000',
        'aclrtFreeHost 0x7e0000400000',
        '',
      ].join('\n'),
    );
  });

  it('returns the ACL status unchanged; the last error names it (or its number) and the reason once', () => {
    expect(b.aclrtSetDevice(-5)).toBe(AclStatusCode.ACL_ERROR_RT_DEV_SETUP_ERROR);
    expect(b.lastError()).toBe('aclrtSetDevice: ACL_ERROR_RT_DEV_SETUP_ERROR: device -5 refused');
    expect(threadLastError()).toBe('aclrtSetDevice: ACL_ERROR_RT_DEV_SETUP_ERROR: device -5 refused');
    expect(b.aclrtResetDevice(77)).toBe(123456);
    expect(b.lastError()).toBe('aclrtResetDevice: 123456');
    expect(b.aclFinalize()).toBe(AclStatusCode.ACL_ERROR_REPEAT_FINALIZE);
    expect(b.lastError()).toBe('aclFinalize: ACL_ERROR_REPEAT_FINALIZE: already finalized');
    expect(b.aclrtSetDevice(1)).toBe(0);
    expect(b.lastError()).toBe('');
    journal();
  });

  it('refuses a NULL out-pointer itself with the group\'s invalid-parameter code', () => {
    expect(fn.dd_aclrtMalloc(null, 16, 0)).toBe(AclStatusCode.ACL_ERROR_INVALID_PARAM);
    expect(threadLastError()).toBe('aclrtMalloc: ACL_ERROR_INVALID_PARAM: devPtr is NULL');
    expect(journal()).toBe('');
  });

  it('range-checks every argument before koffi sees it', () => {
    expect(() => b.aclrtSetDevice(2 ** 31)).toThrow(RangeError);
    expect(() => b.aclrtMalloc(-1n, aclrtMemMallocPolicy.ACL_MEM_MALLOC_HUGE_FIRST)).toThrow(RangeError);
    expect(() => b.aclrtMemcpy(1n << 64n, 1n, 1n, 1n, aclrtMemcpyKind.ACL_MEMCPY_DEFAULT)).toThrow(RangeError);
    expect(() => b.aclInit('a\0b')).toThrow(RangeError);
    expect(() => b.aclInit(7 as unknown as string)).toThrow(TypeError);
    expect(journal()).toBe('');
  });
});
