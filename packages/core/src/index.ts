/**
 * `@dd/core`: the TypeScript API of LLM-DataDist. Importing it never loads native code; an engine
 * loads the native backend only when created without `bindings`.
 * @packageDocumentation
 */
export {
  LlmDataDist,
  type AddListenerOptions,
  type CloseOptions,
  type LinkOptions,
  type LinkStateChangeListener,
  type RegisterCacheOptions,
  type RemoveListenerOptions,
  type SetRoleOptions,
  type UnlinkOptions,
} from './engine.js';
export type { AuthOptions, EngineOptions, ListenAddress } from './engine-options.js';
export { UNAUTHENTICATED_LISTENER_CHANNEL, type UnauthenticatedListenerEvent } from './listener-exposure.js';
export type { Role } from './role.js';
export { KvCache, type CacheMemory, type TensorMemory } from './kv-cache.js';
export { HCCS_ALIGNMENT } from './device-memory.js';
export { MAX_REGISTERED_ADDRESSES, type CacheDesc, type CacheGeometry, type Placement } from './cache-desc.js';
export { allocateHostTensors, cacheGeometry, type AddressSource, type SizedCacheDesc } from './host-tensors.js';
export {
  ClusterLink,
  DEFAULT_MAX_LINKS,
  MAX_LINKS_LIMIT,
  type ClusterPeer,
  type LinkBreakCause,
  type LinkBrokenState,
  type LinkCloseReason,
  type LinkClosedState,
  type LinkDownState,
  type LinkOutcome,
  type LinkState,
  type LinkUpState,
  type PeerAddress,
  type UnlinkOutcome,
  type UnlinkTarget,
} from './cluster-link.js';
export {
  DEFAULT_LINK_POLL_MS,
  LINK_STATE_CHANGE_EVENT,
  LINK_STATE_CHANNEL,
  LinkStateChangeEvent,
  isLinkLevelStatus,
  type LinkStateChangeMessage,
} from './link-health.js';
export { RETRY_CHANNEL, type RetryEvent, type RetryPolicy } from './retry-policy.js';
export {
  LayerTransferError,
  type LayerDone,
  type LayerFailed,
  type LayerNotStarted,
  type LayerReadiness,
  type LayerResult,
  type LayerTransferReport,
  type LayerwiseOptions,
  type PullLayersOptions,
  type PushLayersOptions,
} from './layer-transfer.js';
export type { LayerRange } from './layer-range.js';
export type {
  PullBlocksOptions,
  PullCacheOptions,
  PushBlocksOptions,
  PushCacheOptions,
  RemoteCacheRef,
  RemoteCacheRowRef,
  TransferCallOptions,
  TransferReport,
} from './transfer-plan.js';
export type { BlockList } from './validate.js';
export {
  AclError,
  AggregateLinkError,
  CacheNotFoundError,
  DataDistArgumentError,
  DataDistError,
  EngineClosedError,
  FeatureNotEnabledError,
  LinkError,
  NotLinkedError,
  OperationAbortedError,
  OrderingError,
  OutOfMemoryError,
  ParamInvalidError,
  TimeoutError,
  isRetryableStatus,
  statusMeaningOf,
  statusNameOf,
  aclStatusNameOf,
  type AclStatusName,
  type ClusterFailure,
  type DataDistErrorInit,
  type DataDistStatusName,
  type OperationName,
  type OrderingRule,
} from './errors.js';
export {
  OPERATION_END_CHANNEL,
  OPERATION_START_CHANNEL,
  type OperationEndEvent,
  type OperationStartEvent,
} from './diagnostics.js';
export { AclStatusCode, DataType, StatusCode, STATUS_TABLE, type Bindings, type BackendInfo, type StatusName } from '@dd/sys';
