import { createServer } from 'node:net';
import { loadNativeBindings, type Bindings } from '@dd/sys';
import { FakeNetwork } from '@dd/testing';

/** A backend every API-area test file runs over. */
export interface BackendCase {
  readonly name: 'fake' | 'native';
  /** Bindings for one test: engines created from the same call can link to each other. */
  newBindings(): Bindings;
}

/** A TCP port that was free a moment ago (bind port 0 on 127.0.0.1, read it, release it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** The fake (a fresh network per call) and the native host backend (one library per process). */
export const backends: readonly BackendCase[] = [
  { name: 'fake', newBindings: () => new FakeNetwork().bindings },
  { name: 'native', newBindings: () => loadNativeBindings() },
];
