import { StatusCode, type LlmDataDistHandle, type LlmRole } from '@dd/sys';
import { FakeAclRuntime } from './acl-runtime.js';
import { AddressSpace } from './address-space.js';
import { FakeDataDist, type NetworkContext } from './data-dist.js';
import { FaultScript } from './faults.js';
import type { LinkAttemptRecord, NetworkSnapshot, TransferRecord } from './inspection.js';
import { addressKey, boundPort, isIpAddress, type ListenAddress } from './ip-address.js';
import { isIntact } from './link-end.js';
import { fail, ok, type Outcome } from './outcome.js';

// Handles look like pointers: non-zero, aligned, and never reused within a network.
const FIRST_HANDLE = 0x5500_0000_1000n;
const HANDLE_STEP = 0x40n;
// Where a listener on port 0 gets its port from, as the kernel's ephemeral range.
const FIRST_EPHEMERAL_PORT = 49152;

/** Everything on one fake network: instances by handle, listeners by address, memory, faults, history. */
export class NetworkState implements NetworkContext {
  readonly memory = new AddressSpace();
  /** The process's ACL runtime: device memory and page-locked host memory in `memory`. */
  readonly acl: FakeAclRuntime;
  readonly faults: FaultScript;
  private readonly instances = new Map<bigint, FakeDataDist>();
  private readonly listeners = new Map<string, FakeDataDist>();
  private readonly linkAttempts: LinkAttemptRecord[] = [];
  private readonly transfers: TransferRecord[] = [];
  private nextHandle = FIRST_HANDLE;
  private seq = 0;

  constructor(
    readonly enforceRegisterBeforeLink: boolean,
    deviceCount?: number,
  ) {
    this.acl = new FakeAclRuntime(this.memory, deviceCount);
    this.faults = new FaultScript((peer) => this.vanish(peer), (handle) => this.instance(handle).vanish());
  }

  nextSeq(): number {
    this.seq += 1;
    return this.seq;
  }

  create(clusterId: bigint, role: LlmRole): LlmDataDistHandle {
    const handle = this.nextHandle as LlmDataDistHandle;
    this.nextHandle += HANDLE_STEP;
    this.instances.set(handle, new FakeDataDist(this, clusterId, role));
    return handle;
  }

  /** The instance behind a handle; a forged or destroyed handle would crash native code, so it throws. */
  instance(handle: LlmDataDistHandle): FakeDataDist {
    if (typeof handle !== 'bigint') throw new TypeError('the LlmDataDist handle must be a bigint');
    const instance = this.instances.get(handle);
    if (instance === undefined) {
      throw new TypeError(`LlmDataDist handle 0x${handle.toString(16)} is not live on this fake network (destroyed, or from other bindings)`);
    }
    return instance;
  }

  /** The instance behind a live handle of this network, or undefined (an extension call answers LLM_PARAM_INVALID, as the host backend does). */
  liveInstance(handle: bigint): FakeDataDist | undefined {
    return this.instances.get(handle);
  }

  destroy(handle: LlmDataDistHandle): void {
    this.instance(handle).finalize();
    this.instances.delete(handle);
  }

  listenerAt(ip: string, port: number): FakeDataDist | undefined {
    return this.listeners.get(addressKey(ip, port)) ?? this.listeners.get(addressKey('0.0.0.0', port));
  }

  /** Binds `ip:(port mod 65536)`; port 0 takes a free one. Bind failures are LLM_FAILED (A11). */
  listen(address: ListenAddress, instance: FakeDataDist): Outcome<string> {
    const { ip } = address;
    if (!isIpAddress(ip)) return fail(StatusCode.LLM_FAILED, `bind ${ip}: not an IP address`);
    let port = boundPort(address.port);
    if (port === 0) {
      port = FIRST_EPHEMERAL_PORT;
      while (this.listeners.has(addressKey(ip, port))) port += 1;
    }
    const key = addressKey(ip, port);
    if (this.listeners.has(key)) return fail(StatusCode.LLM_FAILED, `bind ${key}: address already in use`);
    this.listeners.set(key, instance);
    return ok(key);
  }

  unlisten(key: string, instance: FakeDataDist): void {
    if (this.listeners.get(key) === instance) this.listeners.delete(key);
  }

  vanish(peer: string | bigint): void {
    const instance =
      typeof peer === 'string' ? this.listeners.get(peer) : [...this.instances.values()].find((candidate) => candidate.clusterId === peer && candidate.initialized);
    if (instance === undefined) throw new RangeError(`vanish: no live instance ${typeof peer === 'string' ? `listens on ${peer}` : `has cluster id ${peer}`}`);
    instance.vanish();
  }

  recordLinkAttempt(record: Omit<LinkAttemptRecord, 'seq'>): void {
    this.linkAttempts.push({ seq: this.nextSeq(), ...record });
  }

  recordTransfer(record: Omit<TransferRecord, 'seq'>): void {
    this.transfers.push({ seq: this.nextSeq(), ...record });
  }

  snapshot(): NetworkSnapshot {
    const instances = [...this.instances.values()];
    return {
      instances: instances.map((instance) => ({
        clusterId: instance.clusterId,
        role: instance.role,
        initialized: instance.initialized,
        listenAddress: instance.listenAddress,
        deviceId: instance.options?.deviceId ?? null,
      })),
      links: instances.flatMap((instance) =>
        [...instance.links].map(([peerClusterId, end]) => ({
          clusterId: instance.clusterId,
          peerClusterId,
          side: end.side,
          address: end.address,
          broken: !isIntact(instance, end),
        })),
      ),
      registrations: instances.flatMap((instance) =>
        [...instance.caches.values()].map((cache) => ({
          clusterId: instance.clusterId,
          cacheId: cache.id,
          placement: cache.desc.placement,
          dataType: cache.desc.data_type,
          shape: [...cache.desc.shape],
          tensorAddresses: cache.addrs,
          tensorBytes: cache.tensorBytes,
        })),
      ),
      linkAttempts: [...this.linkAttempts],
      transfers: [...this.transfers],
    };
  }
}
