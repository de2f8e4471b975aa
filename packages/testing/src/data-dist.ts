import { LlmRole, StatusCode, type CacheDesc } from '@dd/sys';
import type { FakeAclRuntime } from './acl-runtime.js';
import type { AddressSpace } from './address-space.js';
import { CacheRegistry, type RegisteredCache } from './cache-registry.js';
import { checkEngineLimits, checkEngineSetup, type EngineOptions, type TransferBackend } from './engine-options.js';
import type { FaultScript } from './faults.js';
import type { LinkAttemptRecord, TransferRecord } from './inspection.js';
import { parseListenIpInfo, type ListenAddress } from './ip-address.js';
import { isIntact, type LinkEnd } from './link-end.js';
import { fail, invalid, ok, type Outcome } from './outcome.js';

/** What an instance needs from the network it lives on. */
export interface NetworkContext {
  readonly memory: AddressSpace;
  /** The process's ACL runtime: what is device memory (A22). */
  readonly acl: FakeAclRuntime;
  readonly faults: FaultScript;
  readonly enforceRegisterBeforeLink: boolean;
  /** Monotonic event counter: orders registrations against link creation without a clock. */
  nextSeq(): number;
  /** The instance accepting connections on `ip:port` (an exact listener, else one on 0.0.0.0). */
  listenerAt(ip: string, port: number): FakeDataDist | undefined;
  /** Binds a listener: the key it is known by, or an error (address in use, not an address). */
  listen(address: ListenAddress, instance: FakeDataDist): Outcome<string>;
  unlisten(key: string, instance: FakeDataDist): void;
  recordLinkAttempt(record: Omit<LinkAttemptRecord, 'seq'>): void;
  recordTransfer(record: Omit<TransferRecord, 'seq'>): void;
}

const VALID_ROLES: readonly number[] = [LlmRole.kPrompt, LlmRole.kDecoder, LlmRole.kMix];
const NO_CACHES: ReadonlyMap<bigint, RegisteredCache> = new Map();

/** One LlmDataDist on a fake network: lifecycle, SetRole and registration; links live in their own modules. */
export class FakeDataDist {
  private engine: EngineOptions | null = null;
  private registry: CacheRegistry | null = null;
  private listenKey: string | null = null;
  private listening: ListenAddress | null = null;
  /** Its process died (vanish): the handle outlives it only in the test that holds it. */
  private vanished = false;
  /** Bumped by every Initialize and Finalize: links made to an earlier incarnation dangle. */
  generation = 0;
  /** Default backend: `llm.LocalCommRes` as stored, generated at Initialize or at the first link (A7). */
  commRes: string | null = null;
  /** Link objects by the cluster id they are stored under (A1). */
  readonly links = new Map<bigint, LinkEnd>();
  /** hixl: connections by server address; an id linked again elsewhere leaves its old one here (A21). */
  readonly connections = new Map<string, LinkEnd>();
  /** Pushes of the whole instance run one after another (one instance-wide push lock, A24). */
  pushQueue: Promise<void> = Promise.resolve();

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

  get backend(): TransferBackend | null {
    return this.engine?.transferBackend ?? null;
  }

  get listenAddress(): string | null {
    return this.listenKey;
  }

  get caches(): ReadonlyMap<bigint, RegisteredCache> {
    return this.registry?.caches ?? NO_CACHES;
  }

  /**
   * Links that count against dd.MaxLinks: hixl connections (orphaned ones included), else link
   * objects, less accepted links whose peer is gone (D17: they stay filed but give their slot back).
   */
  get linkCount(): number {
    if (this.backend === 'hixl') return this.connections.size;
    let count = 0;
    for (const end of this.links.values()) if (end.side === 'client' || isIntact(this, end)) count += 1;
    return count;
  }

  /** D17: at most dd.MaxLinks accepted links whose peer is gone stay filed; the oldest go first. */
  forgetDeadAcceptedLinks(): void {
    const max = (this.options as EngineOptions).maxLinks;
    const dead = [...this.links].filter(([, end]) => end.side === 'server' && !isIntact(this, end)).sort(([, a], [, b]) => a.seq - b.seq);
    for (const [id] of dead.slice(0, Math.max(0, dead.length - max))) this.links.delete(id);
  }

  /** Initialize in V2's order (A10); whatever fails leaves nothing listening (D10). */
  initialize(options: Readonly<Record<string, string>>): Outcome<void> {
    if (this.engine !== null) return ok(undefined); // a repeat Initialize does nothing, new options ignored
    this.vanished = false;
    if (!VALID_ROLES.includes(this.role)) return invalid(`role ${this.role} is not kPrompt, kDecoder or kMix`);
    const setup = checkEngineSetup(options);
    if (!setup.ok) return setup;
    if (setup.value.listen !== null) {
      const bound = this.startListening(setup.value.listen);
      if (!bound.ok) return bound;
    }
    const limits = checkEngineLimits(options);
    if (!limits.ok) {
      this.stopListening();
      return limits;
    }
    this.engine = { ...setup.value, ...limits.value };
    this.generation += 1;
    this.commRes = setup.value.commRes;
    this.registry = new CacheRegistry(this.network, setup.value.transferBackend === 'hixl');
    return ok(undefined);
  }

  /**
   * Finalize tears every link down on this side only: no peer is told (A16), so a peer's end
   * dangles until it unlinks or this node links to it again. Then registrations and the listener go.
   */
  finalize(): void {
    if (this.engine === null) return;
    this.links.clear();
    this.connections.clear();
    this.stopListening();
    this.registry = null;
    this.engine = null;
    this.commRes = null;
    this.generation += 1;
  }

  /**
   * The process died: its peers see exactly what they see after a Finalize. The test that still
   * holds its handle can release what it held (UnregisterKvCache succeeds: the memory went with
   * the process) until it initializes the handle again; any other call fails as after Finalize.
   */
  vanish(): void {
    this.finalize();
    this.vanished = true;
  }

  /** SetRole (A17): FAILED, role, ListenIpInfo, then the backend's own step. */
  setRole(role: LlmRole, options: Readonly<Record<string, string>>): Outcome<void> {
    const engine = this.engine;
    if (engine === null) return fail(StatusCode.LLM_FAILED, 'SetRole before Initialize');
    if (!VALID_ROLES.includes(role)) return invalid(`role ${role} is not kPrompt, kDecoder or kMix`);
    const listenText = options['llm.ListenIpInfo'];
    const parsed = listenText === undefined ? null : parseListenIpInfo(listenText);
    if (parsed !== null && !parsed.ok) return parsed;
    const next = parsed?.value ?? null;
    if (engine.transferBackend === 'hixl') {
      const current = engine.listen as ListenAddress;
      if (next !== null && (next.ip !== current.ip || next.port !== current.port)) {
        return fail(StatusCode.LLM_FEATURE_NOT_ENABLED, `with TransferBackend "hixl" the listen address stays ${current.ip}:${current.port}`);
      }
      this.role = role;
      return ok(undefined);
    }
    if (this.links.size > 0) return fail(StatusCode.LLM_EXIST_LINK, `${this.links.size} link(s) exist (accepted and dangling ones count); unlink them first`);
    if (next === null) {
      this.stopListening();
    } else if (this.listening === null || next.port !== this.listening.port) {
      this.stopListening(); // the old daemon stops first, so a failed start leaves nothing listening
      const bound = this.startListening(next);
      if (!bound.ok) return bound;
    } // the same port number: V2 keeps the daemon it has, even for another IP
    this.role = role;
    return ok(undefined);
  }

  register(desc: CacheDesc, addrs: BigUint64Array): Outcome<bigint> {
    if (this.registry === null) return fail(StatusCode.LLM_FAILED, 'RegisterKvCache before Initialize');
    return this.registry.register(desc, addrs);
  }

  unregister(cacheId: bigint): Outcome<void> {
    if (this.registry === null && this.vanished) return ok(undefined);
    if (this.registry === null) return fail(StatusCode.LLM_FAILED, 'UnregisterKvCache before Initialize');
    this.registry.unregister(cacheId);
    return ok(undefined);
  }

  private startListening(address: ListenAddress): Outcome<void> {
    const key = this.network.listen(address, this);
    if (!key.ok) return key;
    this.listenKey = key.value;
    this.listening = address;
    return ok(undefined);
  }

  private stopListening(): void {
    if (this.listenKey !== null) this.network.unlisten(this.listenKey, this);
    this.listenKey = null;
    this.listening = null;
  }
}
