import {
  LlmRole,
  StatusCode,
  type CacheDesc,
  type ClusterInfo,
  type Status,
} from '@dd/sys';
import type { AddressSpace } from './address-space.js';
import { cacheGeometry } from './cache-geometry.js';
import { parseEngineOptions, type EngineOptions } from './engine-options.js';
import type { FaultScript } from './faults.js';
import type { LinkAttemptRecord, TransferRecord } from './inspection.js';
import { addressKey, isIPv4, parseListenAddress } from './ip-address.js';
import { fail, invalid, ok, type Outcome } from './outcome.js';

type Memory = ArrayBuffer | SharedArrayBuffer;

/** What an instance needs from the network it lives on. */
export interface NetworkContext {
  readonly memory: AddressSpace;
  readonly faults: FaultScript;
  readonly enforceRegisterBeforeLink: boolean;
  /** Monotonic event counter: orders registrations against link creation without a clock. */
  nextSeq(): number;
  /** The instance accepting connections on `ip:port` (an exact listener, else one on 0.0.0.0). */
  listenerAt(ip: string, port: number): FakeDataDist | undefined;
  listen(key: string, instance: FakeDataDist): boolean;
  unlisten(key: string, instance: FakeDataDist): void;
  recordLinkAttempt(record: Omit<LinkAttemptRecord, 'seq'>): void;
  recordTransfer(record: Omit<TransferRecord, 'seq'>): void;
}

export interface RegisteredCache {
  readonly id: bigint;
  readonly desc: CacheDesc;
  readonly addrs: readonly bigint[];
  readonly rows: bigint;
  readonly tensorBytes: number;
  readonly stride: bigint;
  /** When it was registered, in network events: memory is bound to links created later only. */
  readonly seq: number;
  /** Registered memory stays alive until it is unregistered, as pinned memory would. */
  readonly pinned: readonly Memory[];
}

/** One side of a link. Both sides share `seq` (when the link was made). */
export interface LinkEnd {
  readonly peer: FakeDataDist;
  readonly side: 'client' | 'server';
  /** The server's `ip:port`. */
  readonly address: string;
  readonly seq: number;
  /** The peer is gone without unlinking; the entry stays until this side unlinks. */
  broken: boolean;
  /** Peer cache ids, fetched at the first transfer over the link (as V2 fetches the cache table). */
  remoteTable: ReadonlySet<bigint> | null;
  /** Async transfers on one link run one after another (V2 holds one mutex per peer entity). */
  queue: Promise<void>;
}

export interface LinkCallResult {
  readonly status: Status;
  readonly rets: Uint32Array;
  readonly detail: string;
  /** How long the handshake takes on the fake's timers (the async twin waits this long). */
  readonly delayMs: number;
}

const VALID_ROLES: readonly number[] = [LlmRole.kPrompt, LlmRole.kDecoder, LlmRole.kMix];

function lastFailure(rets: readonly Status[]): Status {
  let status: Status = StatusCode.LLM_SUCCESS;
  for (const ret of rets) if (ret !== StatusCode.LLM_SUCCESS) status = ret;
  return status;
}

/** One LlmDataDist on a fake network: the V2 rules of lifecycle, links and registration. */
export class FakeDataDist {
  private engine: EngineOptions | null = null;
  private listenKey: string | null = null;
  private nextCacheId = 1n;
  readonly caches = new Map<bigint, RegisteredCache>();
  /** Keyed by the peer's cluster id, as V2 keys its link entities. */
  readonly links = new Map<bigint, LinkEnd>();

  constructor(
    readonly network: NetworkContext,
    readonly clusterId: bigint,
    public role: LlmRole,
  ) {}

  get initialized(): boolean {
    return this.engine !== null;
  }

  get options(): EngineOptions | null {
    return this.engine;
  }

  get listenAddress(): string | null {
    return this.listenKey;
  }

  initialize(options: Readonly<Record<string, string>>): Outcome<void> {
    if (this.engine !== null) return ok(undefined); // a repeat Initialize does nothing
    if (!VALID_ROLES.includes(this.role)) return invalid(`role ${this.role} is not kPrompt, kDecoder or kMix`);
    const parsed = parseEngineOptions(options);
    if (!parsed.ok) return parsed;
    const { listen } = parsed.value;
    if (listen !== null && !this.network.listen(listen.key, this)) {
      return fail(StatusCode.LLM_FAILED, `cannot listen on ${listen.key}: address already in use`);
    }
    this.listenKey = listen?.key ?? null;
    this.engine = parsed.value;
    this.nextCacheId = 1n;
    return ok(undefined);
  }

  /** Finalize: links this side made are unlinked on both ends; links made to it break on the client. */
  finalize(): void {
    if (this.engine === null) return;
    for (const [peerId, end] of this.links) {
      const peerEnd = end.peer.links.get(this.clusterId);
      if (peerEnd !== undefined && peerEnd.peer === this) {
        if (end.side === 'client' && !end.broken) end.peer.links.delete(this.clusterId);
        else peerEnd.broken = true;
      }
      this.links.delete(peerId);
    }
    this.shutDown();
  }

  /** The process died: nothing is unlinked, every peer's link end breaks. */
  vanish(): void {
    for (const end of this.links.values()) {
      const peerEnd = end.peer.links.get(this.clusterId);
      if (peerEnd !== undefined && peerEnd.peer === this) peerEnd.broken = true;
    }
    this.links.clear();
    this.shutDown();
  }

  private shutDown(): void {
    if (this.listenKey !== null) this.network.unlisten(this.listenKey, this);
    this.listenKey = null;
    this.caches.clear();
    this.engine = null;
  }

  setRole(role: LlmRole, options: Readonly<Record<string, string>>): Outcome<void> {
    if (this.engine === null) return fail(StatusCode.LLM_FAILED, 'SetRole before Initialize');
    if (!VALID_ROLES.includes(role)) return invalid(`role ${role} is not kPrompt, kDecoder or kMix`);
    if (this.links.size > 0) return fail(StatusCode.LLM_EXIST_LINK, `${this.links.size} link(s) exist; unlink them first`);
    const listenText = options['llm.ListenIpInfo'];
    const parsed = listenText === undefined ? null : parseListenAddress(listenText);
    if (parsed !== null && !parsed.ok) return parsed;
    const next = parsed?.value ?? null;
    const current = this.engine.listen;
    if (this.engine.transferBackend === 'hixl' && (next === null || next.key !== current?.key)) {
      return invalid('with TransferBackend "hixl" SetRole cannot change the listen address');
    }
    let listen = current;
    if (next === null) {
      if (this.listenKey !== null) this.network.unlisten(this.listenKey, this);
      this.listenKey = null;
      listen = null;
    } else if (current === null || next.port !== current.port) {
      if (!this.network.listen(next.key, this)) return fail(StatusCode.LLM_FAILED, `cannot listen on ${next.key}: address already in use`);
      if (this.listenKey !== null) this.network.unlisten(this.listenKey, this);
      this.listenKey = next.key;
      listen = next;
    } // the same port: V2 keeps the daemon it has
    this.engine = { ...this.engine, listen };
    this.role = role;
    return ok(undefined);
  }

  /** The up-front checks of link and unlink; any failure rejects the whole call before any cluster. */
  private checkClusters(clusters: readonly ClusterInfo[], timeout: number, call: 'link' | 'unlink' | 'force-unlink'): string | null {
    if (timeout <= 0) return `timeout_in_millis ${timeout} must be > 0`;
    if (clusters.length === 0) return 'clusters is empty';
    for (const [index, cluster] of clusters.entries()) {
      if (call === 'force-unlink') continue;
      if (cluster.remote_ip_infos.length !== 1) return `clusters[${index}] needs exactly one remote_ip_infos entry, has ${cluster.remote_ip_infos.length}`;
      if (call === 'unlink') continue;
      if (!(this.engine?.hasLocalCommRes ?? false) && cluster.local_ip_infos.length !== 1) {
        return `clusters[${index}] needs exactly one local_ip_infos entry without llm.LocalCommRes, has ${cluster.local_ip_infos.length}`;
      }
      for (const info of [...cluster.local_ip_infos, ...cluster.remote_ip_infos]) {
        if (!isIPv4(info.ip)) return `clusters[${index}]: "${info.ip}" is not an IPv4 address`;
      }
    }
    return null;
  }

  link(clusters: readonly ClusterInfo[], timeout: number): LinkCallResult {
    if (this.engine === null) return { status: StatusCode.LLM_FAILED, rets: new Uint32Array(0), detail: 'LinkLlmClusters before Initialize', delayMs: 0 };
    const problem = this.checkClusters(clusters, timeout, 'link');
    if (problem !== null) return { status: StatusCode.LLM_PARAM_INVALID, rets: new Uint32Array(0), detail: problem, delayMs: 0 };
    const rets: Status[] = [];
    const details: string[] = [];
    let delayMs = 0;
    for (const cluster of clusters) {
      const remote = cluster.remote_ip_infos[0] as ClusterInfo['remote_ip_infos'][number];
      const address = addressKey(remote.ip, remote.port);
      const result = this.linkOne(cluster.remote_cluster_id, remote.ip, remote.port, timeout);
      delayMs = Math.max(delayMs, Math.min(result.delayMs, timeout));
      rets.push(result.status);
      if (result.status !== StatusCode.LLM_SUCCESS) details.push(`cluster ${cluster.remote_cluster_id} at ${address}: ${result.detail}`);
      this.network.recordLinkAttempt({ operation: 'link', from: this.clusterId, remoteClusterId: cluster.remote_cluster_id, address, force: false, status: result.status });
    }
    return { status: lastFailure(rets), rets: Uint32Array.from(rets), detail: details.join('; '), delayMs };
  }

  private linkOne(remoteClusterId: bigint, ip: string, port: number, timeout: number): { status: Status; detail: string; delayMs: number } {
    const engine = this.engine as EngineOptions;
    const address = addressKey(ip, port);
    if (this.links.has(remoteClusterId)) return { status: StatusCode.LLM_ALREADY_LINK, detail: 'already linked', delayMs: 0 };
    const fault = this.network.faults.decideLink(address);
    if (fault.refuseWith !== null) return { status: fault.refuseWith, detail: 'connection refused (injected fault)', delayMs: 0 };
    const server = this.network.listenerAt(ip, port);
    if (server === undefined || server === this) return { status: StatusCode.LLM_LINK_FAILED, detail: 'nothing listens there', delayMs: 0 };
    if (fault.delayMs >= timeout) {
      return { status: StatusCode.LLM_TIMEOUT, detail: `handshake took ${fault.delayMs} ms, timeout ${timeout} ms (injected fault)`, delayMs: fault.delayMs };
    }
    if (this.links.size >= engine.linkLimit) {
      return { status: StatusCode.LLM_CLUSTER_NUM_EXCEED_LIMIT, detail: `${this.links.size} links already (limit ${engine.linkLimit})`, delayMs: 0 };
    }
    const stale = server.links.get(this.clusterId);
    const serverLimit = server.options?.linkLimit ?? 0;
    if (server.links.size - (stale === undefined ? 0 : 1) >= serverLimit) {
      return { status: StatusCode.LLM_LINK_FAILED, detail: `the server has ${server.links.size} links (limit ${serverLimit})`, delayMs: 0 };
    }
    // Only the server kept state (the client force-unlinked or restarted): force_link rebuilds it.
    if (stale !== undefined) {
      const staleClientEnd = stale.peer.links.get(server.clusterId);
      if (stale.peer !== this && staleClientEnd?.peer === server) staleClientEnd.broken = true;
      server.links.delete(this.clusterId);
    }
    const seq = this.network.nextSeq();
    this.links.set(remoteClusterId, { peer: server, side: 'client', address, seq, broken: false, remoteTable: null, queue: Promise.resolve() });
    server.links.set(this.clusterId, { peer: this, side: 'server', address, seq, broken: false, remoteTable: null, queue: Promise.resolve() });
    return { status: StatusCode.LLM_SUCCESS, detail: '', delayMs: fault.delayMs };
  }

  unlink(clusters: readonly ClusterInfo[], timeout: number, force: boolean): LinkCallResult {
    if (this.engine === null) return { status: StatusCode.LLM_FAILED, rets: new Uint32Array(0), detail: 'UnlinkLlmClusters before Initialize', delayMs: 0 };
    const problem = this.checkClusters(clusters, timeout, force ? 'force-unlink' : 'unlink');
    if (problem !== null) return { status: StatusCode.LLM_PARAM_INVALID, rets: new Uint32Array(0), detail: problem, delayMs: 0 };
    const rets: Status[] = [];
    const details: string[] = [];
    let delayMs = 0;
    for (const cluster of clusters) {
      const remote = cluster.remote_ip_infos[0];
      const address = remote === undefined ? '' : addressKey(remote.ip, remote.port);
      const result = this.unlinkOne(cluster.remote_cluster_id, remote, timeout, force);
      delayMs = Math.max(delayMs, Math.min(result.delayMs, timeout));
      rets.push(result.status);
      if (result.status !== StatusCode.LLM_SUCCESS) details.push(`cluster ${cluster.remote_cluster_id} at ${address}: ${result.detail}`);
      this.network.recordLinkAttempt({ operation: 'unlink', from: this.clusterId, remoteClusterId: cluster.remote_cluster_id, address, force, status: result.status });
    }
    return { status: lastFailure(rets), rets: Uint32Array.from(rets), detail: details.join('; '), delayMs };
  }

  private unlinkOne(
    remoteClusterId: bigint,
    remote: ClusterInfo['remote_ip_infos'][number] | undefined,
    timeout: number,
    force: boolean,
  ): { status: Status; detail: string; delayMs: number } {
    const end = this.links.get(remoteClusterId);
    if (end === undefined) return { status: StatusCode.LLM_SUCCESS, detail: '', delayMs: 0 };
    if (force) {
      this.links.delete(remoteClusterId); // only this side; the peer calls it too
      return { status: StatusCode.LLM_SUCCESS, detail: '', delayMs: 0 };
    }
    const { ip, port } = remote as ClusterInfo['remote_ip_infos'][number];
    const fault = this.network.faults.decideLink(addressKey(ip, port));
    if (fault.refuseWith !== null) return { status: StatusCode.LLM_UNLINK_FAILED, detail: 'connection refused (injected fault)', delayMs: 0 };
    const target = this.network.listenerAt(ip, port);
    if (end.broken || target !== end.peer) {
      return { status: StatusCode.LLM_UNLINK_FAILED, detail: 'the peer is not reachable at that address; unlink with force_flag on both sides', delayMs: 0 };
    }
    if (fault.delayMs >= timeout) return { status: StatusCode.LLM_TIMEOUT, detail: `unlink took ${fault.delayMs} ms, timeout ${timeout} ms (injected fault)`, delayMs: fault.delayMs };
    this.links.delete(remoteClusterId);
    const peerEnd = end.peer.links.get(this.clusterId);
    if (peerEnd?.peer === this) end.peer.links.delete(this.clusterId);
    return { status: StatusCode.LLM_SUCCESS, detail: '', delayMs: fault.delayMs };
  }

  register(desc: CacheDesc, addrs: BigUint64Array): Outcome<bigint> {
    if (this.engine === null) return fail(StatusCode.LLM_FAILED, 'RegisterKvCache before Initialize');
    if (addrs.length === 0) return invalid('addrs is empty');
    if (addrs.length !== desc.num_tensors) return invalid(`${addrs.length} addrs for num_tensors ${desc.num_tensors}`);
    if (addrs.includes(0n)) return invalid('an address is 0');
    const geometry = cacheGeometry(desc);
    if (!geometry.ok) return geometry;
    const { tensorBytes, rows, stride } = geometry.value;
    const pinned: Memory[] = [];
    for (const addr of addrs) {
      const range = tensorBytes <= BigInt(Number.MAX_SAFE_INTEGER) ? this.network.memory.resolve(addr, Number(tensorBytes)) : null;
      if (range === null) {
        return invalid(`tensor at 0x${addr.toString(16)} (${tensorBytes} bytes) is not inside memory from this network's addressOf()`);
      }
      pinned.push(range.memory);
    }
    const id = this.nextCacheId;
    this.nextCacheId += 1n;
    const copy: CacheDesc = { ...desc, shape: desc.shape.slice() };
    this.caches.set(id, { id, desc: copy, addrs: [...addrs], rows, tensorBytes: Number(tensorBytes), stride, seq: this.network.nextSeq(), pinned });
    return ok(id);
  }

  unregister(cacheId: bigint): Outcome<void> {
    if (this.engine === null) return fail(StatusCode.LLM_FAILED, 'UnregisterKvCache before Initialize');
    this.caches.delete(cacheId); // an unknown id is SUCCESS
    return ok(undefined);
  }
}
