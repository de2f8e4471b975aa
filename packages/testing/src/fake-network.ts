import type { Bindings } from '@dd/sys';
import { createFakeBindings } from './fake-bindings.js';
import type { FaultScript } from './faults.js';
import type { NetworkSnapshot } from './inspection.js';
import { NetworkState } from './network-state.js';

export interface FakeNetworkOptions {
  /**
   * V2 binds registered memory when a link is made and fetches the peer's cache table at the
   * link's first transfer, so caches registered later cannot be used over that link. The fake
   * enforces it (default true) so that ordering bugs show up in tests, not on Ascend.
   */
  readonly enforceRegisterBeforeLink?: boolean;
  /** How many devices the fake ACL runtime has (aclrtGetDeviceCount; ids are checked against it), 1..64; default 8 as the host backend's DD_HOST_DEVICE_COUNT. */
  readonly deviceCount?: number;
}

/**
 * A virtual network of LLM-DataDist instances in this process, keyed by `ip:port`. Every
 * instance created through `bindings` lives on it; memory is real bytes in ArrayBuffers, and the
 * ACL functions of `bindings` allocate device and page-locked memory in it, as one process would.
 */
export class FakeNetwork {
  readonly bindings: Bindings;
  readonly faults: FaultScript;
  private readonly state: NetworkState;

  constructor(options: FakeNetworkOptions = {}) {
    this.state = new NetworkState(options.enforceRegisterBeforeLink ?? true, options.deviceCount);
    this.faults = this.state.faults;
    this.bindings = createFakeBindings(this.state);
  }

  /** What is linked and registered now, and every link attempt and transfer so far. */
  inspect(): NetworkSnapshot {
    return this.state.snapshot();
  }
}
