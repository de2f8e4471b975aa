import type { LlmDataDistHandle, LlmRole } from '@dd/sys';
import { AddressSpace } from './address-space.js';
import { FakeDataDist, type NetworkContext } from './data-dist.js';
import { FaultScript } from './faults.js';
import type { LinkAttemptRecord, NetworkSnapshot, TransferRecord } from './inspection.js';
import { addressKey } from './ip-address.js';

// Handles look like pointers: non-zero, aligned, and never reused within a network.
const FIRST_HANDLE = 0x5500_0000_1000n;
const HANDLE_STEP = 0x40n;

/** Everything on one fake network: instances by handle, listeners by address, memory, faults, history. */
export class NetworkState implements NetworkContext {
  readonly memory = new AddressSpace();
  readonly faults: FaultScript;
  private readonly instances = new Map<bigint, FakeDataDist>();
  private readonly listeners = new Map<string, FakeDataDist>();
  private readonly linkAttempts: LinkAttemptRecord[] = [];
  private readonly transfers: TransferRecord[] = [];
  private nextHandle = FIRST_HANDLE;
  private seq = 0;

  constructor(readonly enforceRegisterBeforeLink: boolean) {
    this.faults = new FaultScript((peer) => this.vanish(peer));
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

  destroy(handle: LlmDataDistHandle): void {
    this.instance(handle).finalize();
    this.instances.delete(handle);
  }

  listenerAt(ip: string, port: number): FakeDataDist | undefined {
    return this.listeners.get(addressKey(ip, port)) ?? this.listeners.get(addressKey('0.0.0.0', port));
  }

  listen(key: string, instance: FakeDataDist): boolean {
    if (this.listeners.has(key)) return false;
    this.listeners.set(key, instance);
    return true;
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
          broken: end.broken,
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
