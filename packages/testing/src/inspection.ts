import type { CachePlacement, DataType, LlmRole, Status } from '@dd/sys';

export type TransferKind = 'PullKvCache' | 'PullKvBlocks' | 'PushKvCache' | 'PushKvBlocks';

/** One LlmDataDist on the network. */
export interface InstanceRecord {
  readonly clusterId: bigint;
  readonly role: LlmRole;
  readonly initialized: boolean;
  /** `ip:port` it listens on, or null for a client-only instance. */
  readonly listenAddress: string | null;
  readonly deviceId: number | null;
}

/** One end of a link; a healthy default-backend link shows up twice, once per side, a hixl link once. */
export interface LinkRecord {
  /** Cluster of the instance that holds this end. */
  readonly clusterId: bigint;
  /**
   * The cluster id this end is stored under, which transfers name: the peer's own cluster id on the
   * default backend (A1), `remote_cluster_id` as given on hixl.
   */
  readonly peerClusterId: bigint;
  readonly side: 'client' | 'server';
  /** The server's `ip:port`. */
  readonly address: string;
  /** The other side no longer holds this link (it finalized, died or dropped its end); this end stays until it is unlinked. */
  readonly broken: boolean;
}

/** A cache currently registered on an instance. */
export interface RegistrationRecord {
  readonly clusterId: bigint;
  readonly cacheId: bigint;
  readonly placement: CachePlacement;
  readonly dataType: DataType;
  readonly shape: readonly bigint[];
  readonly tensorAddresses: readonly bigint[];
  readonly tensorBytes: number;
}

/** One LinkLlmClusters / UnlinkLlmClusters attempt for one cluster. */
export interface LinkAttemptRecord {
  readonly seq: number;
  readonly operation: 'link' | 'unlink';
  readonly from: bigint;
  readonly remoteClusterId: bigint;
  readonly address: string;
  readonly force: boolean;
  readonly status: Status;
}

/** One pull or push call, whatever its status (a call refused by a check copies 0 bytes). */
export interface TransferRecord {
  readonly seq: number;
  readonly kind: TransferKind;
  /** Cluster of the instance that called. */
  readonly initiator: bigint;
  /** The cluster the call named: the source of a pull, the destination of a push. */
  readonly peer: bigint;
  readonly localCacheId: bigint;
  readonly remoteCacheId: bigint;
  readonly status: Status;
  /** Bytes copied, summed over tensors: 0 when a check refused the call, the layers written when a push failed part-way. */
  readonly bytes: number;
  /** Tensors copied per side (0 when a check refused the call). */
  readonly tensors: number;
  /** Block pairs requested (PullKvBlocks / PushKvBlocks), else empty. */
  readonly srcBlocks: readonly bigint[];
  readonly dstBlocks: readonly bigint[];
  /** Contiguous runs the block pairs merged into, per tensor. */
  readonly runs: number;
  /** How long the transfer took on the fake's timers (injected latency), in ms. */
  readonly latencyMs: number;
}

/** Everything a downstream test may want to assert about the network. */
export interface NetworkSnapshot {
  readonly instances: readonly InstanceRecord[];
  readonly links: readonly LinkRecord[];
  readonly registrations: readonly RegistrationRecord[];
  readonly linkAttempts: readonly LinkAttemptRecord[];
  readonly transfers: readonly TransferRecord[];
}
