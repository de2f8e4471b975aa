export { FakeNetwork, type FakeNetworkOptions } from './fake-network.js';
export type { FaultHandle, FaultScript, TransferFaultEffect, TransferMatch } from './faults.js';
export type {
  InstanceRecord,
  LinkAttemptRecord,
  LinkRecord,
  NetworkSnapshot,
  RegistrationRecord,
  TransferKind,
  TransferRecord,
} from './inspection.js';
export { freeLoopbackPort } from './loopback-port.js';
