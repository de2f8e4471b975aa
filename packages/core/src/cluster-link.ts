import { makeClusterInfo, makeIpInfo, type ClusterInfo, type IpInfo } from '@dd/sys';
import { DataDistArgumentError, type ClusterFailure, type DataDistError, type OperationName } from './errors.js';
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

/** Why a link stopped working, as far as this engine can tell. */
export interface LinkBreakCause {
  /**
   * What found it: `'backend'` when the backend reported the peer gone without a transfer (the
   * host backend's hang-up and heartbeat watch, the fake's `vanish`); `'transfer'` when a transfer
   * over the link failed with a link-level status (`LLM_TIMEOUT`, `LLM_WAIT_PROC_TIMEOUT`,
   * `LLM_LINK_FAILED`).
   */
  readonly source: 'backend' | 'transfer';
  /**
   * True when the backend confirmed that the peer is gone. False on a backend that cannot tell
   * (CANN: only transfer results), where a timeout may also be a slow transfer; such a link goes
   * back to `'up'` when a later transfer over it succeeds.
   */
  readonly confirmed: boolean;
  /** The backend's reason (its link-state text, or the failed transfer's native detail). */
  readonly message: string;
  /** The failed transfer's error, when a transfer found it. */
  readonly error?: DataDistError;
  /** When it was found (`Date.now()`). */
  readonly at: number;
}

/** Why a link this engine made is no longer held. */
export type LinkCloseReason =
  /** `unlink()` / `unlinkClusters()` took it down. */
  | 'unlinked'
  /** `relink()` replaced it (force-unlinked it and linked again). */
  | 'relinked'
  /** The backend no longer holds it: the peer unlinked it (a plain unlink drops both sides, A20). */
  | 'dropped'
  /** The engine was closed. */
  | 'engine-closed';

/** The link works as far as anything tells. */
export interface LinkUpState {
  readonly status: 'up';
}
/** The link is still held, but its peer is gone or stopped answering; `relink()` it. */
export interface LinkBrokenState {
  readonly status: 'broken';
  readonly cause: LinkBreakCause;
}
/** The link is no longer held; it never comes back (a relink makes a new ClusterLink). */
export interface LinkClosedState {
  readonly status: 'closed';
  readonly reason: LinkCloseReason;
  /** Why it had broken, when it was broken before it closed. */
  readonly cause?: LinkBreakCause;
}
/** What is known of a link this engine made: `up`, `broken` (with the cause) or `closed`. */
export type LinkState = LinkUpState | LinkBrokenState | LinkClosedState;
/** A state that is not `up`. */
export type LinkDownState = LinkBrokenState | LinkClosedState;

const UP: LinkUpState = Object.freeze({ status: 'up' });

interface LinkLife {
  state: LinkState;
  readonly down: Promise<LinkDownState>;
  resolveDown(state: LinkDownState): void;
}
const lives = new WeakMap<ClusterLink, LinkLife>();

function lifeOf(link: ClusterLink): LinkLife {
  const life = lives.get(link);
  if (life === undefined) throw new TypeError('not a ClusterLink made by an engine');
  return life;
}

/**
 * A link this engine made, as listed by `engine.links` and returned by `link()`. Its `state` is
 * live; `down` resolves when it first stops being `up`; the engine's `linkstatechange` event
 * reports every change. A relink makes a new ClusterLink and closes this one.
 */
export class ClusterLink {
  /** The peer's own cluster id: the name transfers use (A1). */
  readonly clusterId: bigint;
  /** The address the peer listens on. */
  readonly remote: PeerAddress;
  /** This side's address for the link, when one was given or defaulted. */
  readonly local: PeerAddress | undefined;

  /** @internal Made by the engine (and by argument checks, for peers named in a call). */
  constructor(clusterId: bigint, remote: PeerAddress, local: PeerAddress | undefined) {
    this.clusterId = clusterId;
    this.remote = remote;
    this.local = local;
    let resolveDown!: (state: LinkDownState) => void;
    const down = new Promise<LinkDownState>((resolve) => {
      resolveDown = resolve;
    });
    lives.set(this, { state: UP, down, resolveDown });
    Object.freeze(this);
  }

  /** What is known of the link now: `up`, `broken` (with the cause) or `closed`. */
  get state(): LinkState {
    return lifeOf(this).state;
  }

  /** Resolves with the first state that is not `up` (broken or closed); never rejects. */
  get down(): Promise<LinkDownState> {
    return lifeOf(this).down;
  }
}

/** What only the engine's link-health module changes. */
export const linkInternals = {
  /** Sets the state; returns the previous one, or undefined when nothing changed (a closed link stays closed). */
  setState(link: ClusterLink, state: LinkState): LinkState | undefined {
    const life = lifeOf(link);
    const previous = life.state;
    if (previous.status === 'closed' || previous === state) return undefined;
    life.state = state;
    if (state.status !== 'up') life.resolveDown(state);
    return previous;
  },
};

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
  return new ClusterLink(clusterId, remote, local);
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
