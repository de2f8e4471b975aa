// CONTRACT PLACEHOLDER written by hand before @dd/codegen exists; @dd/codegen replaces this
// file with generated output exporting the same names and types. Do not build on details beyond them.

/** ge::Status: 0 on success, otherwise an LLM status code. */
export type Status = number;

/** Opaque handle of a native llm_datadist::LlmDataDist. Never forge one. */
export type LlmDataDistHandle = bigint & { readonly __brand: 'LlmDataDistHandle' };

export const LlmRole = {
  kPrompt: 1,
  kDecoder: 2,
  kMix: 3,
  kEnd: 4,
} as const;
export type LlmRole = (typeof LlmRole)[keyof typeof LlmRole];

export const CachePlacement = {
  kHost: 0,
  kDevice: 1,
} as const;
export type CachePlacement = (typeof CachePlacement)[keyof typeof CachePlacement];

export const DataType = {
  DT_FLOAT: 0,
  DT_FLOAT16: 1,
  DT_INT8: 2,
  DT_INT32: 3,
  DT_UINT8: 4,
  DT_INT16: 6,
  DT_UINT16: 7,
  DT_UINT32: 8,
  DT_INT64: 9,
  DT_UINT64: 10,
  DT_DOUBLE: 11,
  DT_BOOL: 12,
  DT_STRING: 13,
  DT_DUAL_SUB_INT8: 14,
  DT_DUAL_SUB_UINT8: 15,
  DT_COMPLEX64: 16,
  DT_COMPLEX128: 17,
  DT_QINT8: 18,
  DT_QINT16: 19,
  DT_QINT32: 20,
  DT_QUINT8: 21,
  DT_QUINT16: 22,
  DT_RESOURCE: 23,
  DT_STRING_REF: 24,
  DT_DUAL: 25,
  DT_VARIANT: 26,
  DT_BF16: 27,
  DT_UNDEFINED: 28,
  DT_INT4: 29,
  DT_UINT1: 30,
  DT_INT2: 31,
  DT_UINT2: 32,
  DT_COMPLEX32: 33,
  DT_HIFLOAT8: 34,
  DT_FLOAT8_E5M2: 35,
  DT_FLOAT8_E4M3FN: 36,
  DT_FLOAT8_E8M0: 37,
  DT_FLOAT6_E3M2: 38,
  DT_FLOAT6_E2M3: 39,
  DT_FLOAT4_E2M1: 40,
  DT_FLOAT4_E1M2: 41,
  DT_HIFLOAT4: 42,
  DT_HIFLOAT4_SCALE: 43,
  DT_MAX: 44,
} as const;
export type DataType = (typeof DataType)[keyof typeof DataType];

/** Bits per element (ge::GetSizeByDataType); a type not listed has no size and is rejected. */
export const DATA_TYPE_ELEMENT_BITS: Readonly<Partial<Record<DataType, number>>> = {
  [DataType.DT_FLOAT]: 32,
  [DataType.DT_FLOAT16]: 16,
  [DataType.DT_INT8]: 8,
  [DataType.DT_INT32]: 32,
  [DataType.DT_UINT8]: 8,
  [DataType.DT_INT16]: 16,
  [DataType.DT_UINT16]: 16,
  [DataType.DT_UINT32]: 32,
  [DataType.DT_INT64]: 64,
  [DataType.DT_UINT64]: 64,
  [DataType.DT_DOUBLE]: 64,
  [DataType.DT_BOOL]: 8,
  [DataType.DT_STRING]: 128,
  [DataType.DT_DUAL_SUB_INT8]: 8,
  [DataType.DT_DUAL_SUB_UINT8]: 8,
  [DataType.DT_COMPLEX64]: 64,
  [DataType.DT_COMPLEX128]: 128,
  [DataType.DT_QINT8]: 8,
  [DataType.DT_QINT16]: 16,
  [DataType.DT_QINT32]: 32,
  [DataType.DT_QUINT8]: 8,
  [DataType.DT_QUINT16]: 16,
  [DataType.DT_RESOURCE]: 64,
  [DataType.DT_STRING_REF]: 128,
  [DataType.DT_DUAL]: 40,
  [DataType.DT_VARIANT]: 64,
  [DataType.DT_BF16]: 16,
  [DataType.DT_INT4]: 4,
  [DataType.DT_UINT1]: 1,
  [DataType.DT_INT2]: 2,
  [DataType.DT_UINT2]: 2,
  [DataType.DT_COMPLEX32]: 32,
  [DataType.DT_HIFLOAT8]: 8,
  [DataType.DT_FLOAT8_E5M2]: 8,
  [DataType.DT_FLOAT8_E4M3FN]: 8,
  [DataType.DT_FLOAT8_E8M0]: 8,
  [DataType.DT_FLOAT6_E3M2]: 6,
  [DataType.DT_FLOAT6_E2M3]: 6,
  [DataType.DT_FLOAT4_E2M1]: 4,
  [DataType.DT_FLOAT4_E1M2]: 4,
};

export const StatusCode = {
  LLM_SUCCESS: 0x00000000,
  LLM_WAIT_PROC_TIMEOUT: 0x5010b001,
  LLM_KV_CACHE_NOT_EXIST: 0x5010b002,
  LLM_REPEAT_REQUEST: 0x5010b003,
  LLM_REQUEST_ALREADY_COMPLETED: 0x5010b004,
  LLM_PARAM_INVALID: 0x5010b005,
  LLM_ENGINE_FINALIZED: 0x5010b006,
  LLM_NOT_YET_LINK: 0x5010b007,
  LLM_ALREADY_LINK: 0x5010b008,
  LLM_LINK_FAILED: 0x5010b009,
  LLM_UNLINK_FAILED: 0x5010b00a,
  LLM_NOTIFY_PROMPT_UNLINK_FAILED: 0x5010b00b,
  LLM_CLUSTER_NUM_EXCEED_LIMIT: 0x5010b00c,
  LLM_PROCESSING_LINK: 0x5010b00d,
  LLM_DEVICE_OUT_OF_MEMORY: 0x5010b00e,
  LLM_PREFIX_ALREADY_EXIST: 0x5010b00f,
  LLM_PREFIX_NOT_EXIST: 0x5010b010,
  LLM_SEQ_LEN_OVER_LIMIT: 0x5010b011,
  LLM_NO_FREE_BLOCK: 0x5010b012,
  LLM_BLOCKS_OUT_OF_MEMORY: 0x5010b013,
  LLM_CACHE_INCOMPATIBLE: 0x5010b014,
  LLM_CACHE_KEY_ALREADY_EXIST: 0x5010b015,
  LLM_COPY_CACHE_FAILED: 0x5010b016,
  LLM_CACHE_ID_ALREADY_EXIST: 0x5010b017,
  LLM_EXIST_LINK: 0x5010b018,
  LLM_FEATURE_NOT_ENABLED: 0x5010b019,
  LLM_TIMEOUT: 0x5010b01a,
  LLM_LINK_BUSY: 0x5010b01b,
  LLM_OUT_OF_MEMORY: 0x5010b01c,
  LLM_FAILED: 0xffffffff,
} as const;
export type StatusName = keyof typeof StatusCode;

export const STATUS_TABLE: readonly { readonly name: StatusName; readonly value: number; readonly meaning: string }[] = [
  { name: 'LLM_SUCCESS', value: 0x00000000, meaning: 'The call succeeded.' },
  { name: 'LLM_WAIT_PROC_TIMEOUT', value: 0x5010b001, meaning: 'Waiting for a request to be processed timed out.' },
  { name: 'LLM_KV_CACHE_NOT_EXIST', value: 0x5010b002, meaning: 'The local or remote KV cache does not exist.' },
  { name: 'LLM_REPEAT_REQUEST', value: 0x5010b003, meaning: 'The same request was submitted twice.' },
  { name: 'LLM_REQUEST_ALREADY_COMPLETED', value: 0x5010b004, meaning: 'The request has already completed.' },
  { name: 'LLM_PARAM_INVALID', value: 0x5010b005, meaning: 'An argument or option failed validation.' },
  { name: 'LLM_ENGINE_FINALIZED', value: 0x5010b006, meaning: 'The engine has already been finalized.' },
  { name: 'LLM_NOT_YET_LINK', value: 0x5010b007, meaning: 'No link exists to the remote cluster.' },
  { name: 'LLM_ALREADY_LINK', value: 0x5010b008, meaning: 'A link to the remote cluster already exists.' },
  { name: 'LLM_LINK_FAILED', value: 0x5010b009, meaning: 'Establishing the link failed.' },
  { name: 'LLM_UNLINK_FAILED', value: 0x5010b00a, meaning: 'Tearing down the link failed.' },
  { name: 'LLM_NOTIFY_PROMPT_UNLINK_FAILED', value: 0x5010b00b, meaning: 'Notifying the prompt side of the unlink failed.' },
  { name: 'LLM_CLUSTER_NUM_EXCEED_LIMIT', value: 0x5010b00c, meaning: 'Too many clusters in one call or in total.' },
  { name: 'LLM_PROCESSING_LINK', value: 0x5010b00d, meaning: 'A link operation is already in progress.' },
  { name: 'LLM_DEVICE_OUT_OF_MEMORY', value: 0x5010b00e, meaning: 'Device memory is exhausted.' },
  { name: 'LLM_PREFIX_ALREADY_EXIST', value: 0x5010b00f, meaning: 'The prefix cache already exists.' },
  { name: 'LLM_PREFIX_NOT_EXIST', value: 0x5010b010, meaning: 'The prefix cache does not exist.' },
  { name: 'LLM_SEQ_LEN_OVER_LIMIT', value: 0x5010b011, meaning: 'The sequence length exceeds the limit.' },
  { name: 'LLM_NO_FREE_BLOCK', value: 0x5010b012, meaning: 'No free block is left in the pool.' },
  { name: 'LLM_BLOCKS_OUT_OF_MEMORY', value: 0x5010b013, meaning: 'Block memory is exhausted.' },
  { name: 'LLM_CACHE_INCOMPATIBLE', value: 0x5010b014, meaning: 'The two caches have incompatible descriptions.' },
  { name: 'LLM_CACHE_KEY_ALREADY_EXIST', value: 0x5010b015, meaning: 'The cache key is already in use.' },
  { name: 'LLM_COPY_CACHE_FAILED', value: 0x5010b016, meaning: 'Copying the cache failed.' },
  { name: 'LLM_CACHE_ID_ALREADY_EXIST', value: 0x5010b017, meaning: 'The cache id is already in use.' },
  { name: 'LLM_EXIST_LINK', value: 0x5010b018, meaning: 'Links still exist; unlink them first.' },
  { name: 'LLM_FEATURE_NOT_ENABLED', value: 0x5010b019, meaning: 'The feature is not available in this engine.' },
  { name: 'LLM_TIMEOUT', value: 0x5010b01a, meaning: 'The operation did not finish within its deadline.' },
  { name: 'LLM_LINK_BUSY', value: 0x5010b01b, meaning: 'The link is busy (reserved; never returned).' },
  { name: 'LLM_OUT_OF_MEMORY', value: 0x5010b01c, meaning: 'Host memory is exhausted.' },
  { name: 'LLM_FAILED', value: 0xffffffff, meaning: 'The call failed for an unspecified reason (also: any call before Initialize).' },
];

export const OptionKey = {
  OPTION_LISTEN_IP_INFO: 'llm.ListenIpInfo',
  OPTION_DEVICE_ID: 'llm.DeviceId',
  OPTION_SYNC_CACHE_WAIT_TIME: 'llm.SyncKvCacheWaitTime',
  OPTION_BUF_POOL_CFG: 'llm.BufPoolCfg',
  OPTION_ENABLE_SET_ROLE: 'llm.EnableSwitchRole',
  OPTION_LOCAL_COMM_RES: 'llm.LocalCommRes',
  OPTION_TRANSFER_BACKEND: 'llm.TransferBackend',
  OPTION_GLOBAL_RESOURCE_CONFIG: 'llm.GlobalResourceConfig',
} as const;

export const kDefaultTensorNumPerLayer = 2;

export interface IpInfo {
  ip: string;
  /** uint16 */
  port: number;
}

export interface ClusterInfo {
  remote_cluster_id: bigint;
  /** int32 */
  remote_role_type: number;
  local_ip_infos: readonly IpInfo[];
  remote_ip_infos: readonly IpInfo[];
}

export interface CacheIndex {
  cluster_id: bigint;
  cache_id: bigint;
  /** uint32 */
  batch_index: number;
}

export interface CacheDesc {
  placement: CachePlacement;
  /** uint32 */
  num_tensors: number;
  data_type: DataType;
  shape: BigInt64Array;
}

export interface Cache {
  cache_id: bigint;
  tensor_addrs: BigUint64Array;
  cache_desc: CacheDesc;
}

export interface KvCacheExtParam {
  /** int32 pair, inclusive layer indices; [-1, -1] = every layer */
  src_layer_range: readonly [number, number];
  dst_layer_range: readonly [number, number];
  /** uint8 */
  tensor_num_per_layer: number;
}

/** RegisterCfg has only reserved bytes. */
export type RegisterCfg = Record<string, never>;

/** Struct default values from the header's member initialisers. */
export function makeIpInfo(init: Partial<IpInfo> = {}): IpInfo {
  return { ip: '', port: 0, ...init };
}
export function makeClusterInfo(init: Partial<ClusterInfo> = {}): ClusterInfo {
  return { remote_cluster_id: 0n, remote_role_type: 0, local_ip_infos: [], remote_ip_infos: [], ...init };
}
export function makeCacheIndex(init: Partial<CacheIndex> = {}): CacheIndex {
  return { cluster_id: 0n, cache_id: 0n, batch_index: 0, ...init };
}
export function makeCacheDesc(init: Partial<CacheDesc> = {}): CacheDesc {
  return { placement: CachePlacement.kDevice, num_tensors: 0, data_type: DataType.DT_UNDEFINED, shape: new BigInt64Array(0), ...init };
}
export function makeCache(init: Partial<Cache> = {}): Cache {
  return { cache_id: -1n, tensor_addrs: new BigUint64Array(0), cache_desc: makeCacheDesc(), ...init };
}
export function makeKvCacheExtParam(init: Partial<KvCacheExtParam> = {}): KvCacheExtParam {
  return { src_layer_range: [-1, -1], dst_layer_range: [-1, -1], tensor_num_per_layer: kDefaultTensorNumPerLayer, ...init };
}

export interface StatusWithRets {
  status: Status;
  /** One status per cluster, in order. */
  rets: Uint32Array;
}

/**
 * One function per bound method of llm_datadist::LlmDataDist, named Class_Method, taking the
 * handle first. Parameters keep their C++ names; defaulted parameters are optional and take the
 * header's defaults. Out-parameters come back in a result object next to the status.
 * Methods that wait on the network also have an ...Async twin that runs off the JS thread.
 */
export interface LlmDataDistBindings {
  LlmDataDist_create(cluster_id: bigint, role: LlmRole): { status: Status; handle: LlmDataDistHandle };
  LlmDataDist_destroy(self: LlmDataDistHandle): void;
  LlmDataDist_Initialize(self: LlmDataDistHandle, options: Readonly<Record<string, string>>): Status;
  LlmDataDist_Finalize(self: LlmDataDistHandle): Status;
  LlmDataDist_SetRole(self: LlmDataDistHandle, role: LlmRole, options?: Readonly<Record<string, string>>): Status;
  LlmDataDist_LinkLlmClusters(self: LlmDataDistHandle, clusters: readonly ClusterInfo[], timeout_in_millis?: number): StatusWithRets;
  LlmDataDist_LinkLlmClustersAsync(self: LlmDataDistHandle, clusters: readonly ClusterInfo[], timeout_in_millis?: number): Promise<StatusWithRets>;
  LlmDataDist_UnlinkLlmClusters(self: LlmDataDistHandle, clusters: readonly ClusterInfo[], timeout_in_millis?: number, force_flag?: boolean): StatusWithRets;
  LlmDataDist_UnlinkLlmClustersAsync(self: LlmDataDistHandle, clusters: readonly ClusterInfo[], timeout_in_millis?: number, force_flag?: boolean): Promise<StatusWithRets>;
  LlmDataDist_AllocateCache(self: LlmDataDistHandle, cache_desc: CacheDesc): { status: Status; cache: Cache };
  LlmDataDist_DeallocateCache(self: LlmDataDistHandle, cache_id: bigint): Status;
  LlmDataDist_PullKvCache(self: LlmDataDistHandle, src_cache_index: CacheIndex, dst_cache: Cache, batch_index?: number, size?: bigint, ext_param?: KvCacheExtParam): Status;
  LlmDataDist_PullKvCacheAsync(self: LlmDataDistHandle, src_cache_index: CacheIndex, dst_cache: Cache, batch_index?: number, size?: bigint, ext_param?: KvCacheExtParam): Promise<Status>;
  LlmDataDist_PullKvBlocks(self: LlmDataDistHandle, src_cache_index: CacheIndex, dst_cache: Cache, src_blocks: BigUint64Array, dst_blocks: BigUint64Array, ext_param?: KvCacheExtParam): Status;
  LlmDataDist_PullKvBlocksAsync(self: LlmDataDistHandle, src_cache_index: CacheIndex, dst_cache: Cache, src_blocks: BigUint64Array, dst_blocks: BigUint64Array, ext_param?: KvCacheExtParam): Promise<Status>;
  LlmDataDist_CopyKvCache(self: LlmDataDistHandle, src_cache: Cache, dst_cache: Cache, src_batch_index?: number, dst_batch_index?: number, offset?: bigint, size?: bigint): Status;
  LlmDataDist_CopyKvBlocks(self: LlmDataDistHandle, src_cache: Cache, dst_cache: Cache, src_blocks: BigUint64Array, dst_blocks_list: readonly BigUint64Array[]): Status;
  LlmDataDist_PushKvCache(self: LlmDataDistHandle, src_cache: Cache, dst_cache_index: CacheIndex, src_batch_index?: number, size?: bigint, ext_param?: KvCacheExtParam): Status;
  LlmDataDist_PushKvCacheAsync(self: LlmDataDistHandle, src_cache: Cache, dst_cache_index: CacheIndex, src_batch_index?: number, size?: bigint, ext_param?: KvCacheExtParam): Promise<Status>;
  LlmDataDist_PushKvBlocks(self: LlmDataDistHandle, src_cache: Cache, dst_cache_index: CacheIndex, src_blocks: BigUint64Array, dst_blocks: BigUint64Array, ext_param?: KvCacheExtParam): Status;
  LlmDataDist_PushKvBlocksAsync(self: LlmDataDistHandle, src_cache: Cache, dst_cache_index: CacheIndex, src_blocks: BigUint64Array, dst_blocks: BigUint64Array, ext_param?: KvCacheExtParam): Promise<Status>;
  LlmDataDist_RegisterKvCache(self: LlmDataDistHandle, cache_desc: CacheDesc, addrs: BigUint64Array, cfg?: RegisterCfg): { status: Status; cache_id: bigint };
  LlmDataDist_UnregisterKvCache(self: LlmDataDistHandle, cache_id: bigint): Status;
}
