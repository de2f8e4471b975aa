import { loadNativeBindings, type Bindings } from '@dd/sys';
import { FakeNetwork, freeLoopbackPort } from '@dd/testing';

/** A backend every API-area test file runs over. */
export interface BackendCase {
  readonly name: 'fake' | 'native';
  /** Bindings for one test: engines created from the same call can link to each other. */
  newBindings(): Bindings;
}

/** A TCP port on 127.0.0.1 that nobody listens on now, from below the ephemeral range. */
export const freePort = freeLoopbackPort;

/** The fake (a fresh network per call) and the native host backend (one library per process). */
export const backends: readonly BackendCase[] = [
  { name: 'fake', newBindings: () => new FakeNetwork().bindings },
  { name: 'native', newBindings: () => loadNativeBindings() },
];
