import { makeClusterInfo, makeIpInfo, type ClusterInfo, type IpInfo } from '@dd/sys';
import { DataDistArgumentError, type ClusterFailure, type OperationName } from './errors.js';
import { describe, requireObject, toIPv4, toPort, toU64 } from './validate.js';

/** An IPv4 address and port of a cluster. */
export interface PeerAddress {
  /** Dotted-quad IPv4 (upstream links by IPv4 only). */
  readonly ip: string;
  readonly port: number;
}

/** A remote cluster to link to. */
export interface ClusterPeer {
  /**
   * The remote engine's own cluster id, the one it was created with (bigint, or a non-negative
   * safe-integer number). The backend names the link by the id the peer reports when the link is
   * made, so transfers must name that id; another value here still links, but `engine.links` then
   * lists it under the wrong name and unlinking by it leaves the real link in place (V2 rule A1).
   */
  readonly clusterId: bigint | number;
  /** The address the remote engine listens on. */
  readonly remote: PeerAddress;
  /**
   * This side's address for the link; defaults to this engine's listen address. Required when the
   * engine neither listens nor has `localCommResources` (upstream needs one local address then).
   */
  readonly local?: PeerAddress;
}

/** A link this engine made, as listed by `engine.links`. */
export interface ClusterLink {
  readonly clusterId: bigint;
  readonly remote: PeerAddress;
  readonly local: PeerAddress | undefined;
}

/** Per-cluster result of `linkClusters()`: nothing is thrown for a cluster that failed. */
export interface LinkOutcome {
  /** The call's overall native status: 0, or the last non-success per-cluster status. */
  readonly status: number;
  /** The clusters linked by this call, in call order. */
  readonly linked: readonly ClusterLink[];
  /** The clusters that failed, in call order, each with its typed error. */
  readonly failures: readonly ClusterFailure[];
}

/** Per-cluster result of `unlinkClusters()`. */
export interface UnlinkOutcome {
  readonly status: number;
  /** The cluster ids unlinked by this call, in call order. */
  readonly unlinked: readonly bigint[];
  readonly failures: readonly ClusterFailure[];
}

/** A cluster to unlink: its id, a ClusterLink from `engine.links`, or a ClusterPeer. */
export type UnlinkTarget = bigint | number | ClusterPeer;

/** The links one engine may hold unless `maxLinks` says otherwise (`dd.MaxLinks`; V2 has no cap, docs/compat.md D12). */
export const DEFAULT_MAX_LINKS = 4096;
/** The largest `maxLinks`, hence the most clusters one call can name. */
export const MAX_LINKS_LIMIT = 1_048_576;

/** A checked IPv4 address and port. */
export function toPeerAddress(op: OperationName, argument: string, value: unknown, allowZeroPort: boolean): PeerAddress {
  const obj = requireObject(op, argument, value);
  return Object.freeze({ ip: toIPv4(op, `${argument}.ip`, obj.ip), port: toPort(op, `${argument}.port`, obj.port, allowZeroPort) });
}

/** One cluster or a non-empty list of at most MAX_LINKS_LIMIT. */
export function toClusterList(op: OperationName, argument: string, value: unknown): readonly unknown[] {
  const list: readonly unknown[] = Array.isArray(value) ? value : [value];
  if (list.length === 0 || list.length > MAX_LINKS_LIMIT) {
    throw new DataDistArgumentError(op, argument, `must name 1 to ${MAX_LINKS_LIMIT} clusters`, describe(value));
  }
  return list;
}

/** Throws when a cluster id repeats within one call. */
export function checkUniqueIds(op: OperationName, argument: string, ids: readonly bigint[]): void {
  const seen = new Set<bigint>();
  ids.forEach((id, i) => {
    if (seen.has(id)) throw new DataDistArgumentError(op, `${argument}[${i}].clusterId`, 'must not repeat a cluster of the same call', describe(id));
    seen.add(id);
  });
}

/** A checked ClusterPeer as the link this engine will hold. */
export function toClusterLink(op: OperationName, argument: string, value: unknown, defaultLocal: PeerAddress | undefined, localRequired: boolean): ClusterLink {
  const peer = requireObject(op, argument, value);
  const clusterId = toU64(op, `${argument}.clusterId`, peer.clusterId);
  const remote = toPeerAddress(op, `${argument}.remote`, peer.remote, false);
  const local = peer.local === undefined ? defaultLocal : toPeerAddress(op, `${argument}.local`, peer.local, true);
  if (local === undefined && localRequired) {
    throw new DataDistArgumentError(op, `${argument}.local`, 'is required: this engine neither listens nor has localCommResources');
  }
  return Object.freeze({ clusterId, remote, local });
}

function ipInfo(address: PeerAddress): IpInfo {
  return makeIpInfo({ ip: address.ip, port: address.port });
}

/** The native ClusterInfo of a link (remote_role_type is always 0 upstream). */
export function toClusterInfo(link: { readonly clusterId: bigint; readonly remote?: PeerAddress | undefined; readonly local?: PeerAddress | undefined }): ClusterInfo {
  return makeClusterInfo({
    remote_cluster_id: link.clusterId,
    local_ip_infos: link.local === undefined ? [] : [ipInfo(link.local)],
    remote_ip_infos: link.remote === undefined ? [] : [ipInfo(link.remote)],
  });
}
