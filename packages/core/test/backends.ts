import { createServer } from 'node:net';
import * as sys from '@dd/sys';
import type { Bindings } from '@dd/sys';
import { FakeNetwork } from '@dd/testing';

/** A backend every API-area test file runs over. */
export interface BackendCase {
  readonly name: 'fake' | 'native';
  /** Set when this backend cannot run here; the suite is skipped with this reason printed. */
  readonly skipReason: string | undefined;
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

type NativeLoader = () => Bindings;
const loadNative = (sys as { readonly loadNativeBindings?: NativeLoader }).loadNativeBindings;

export const backends: readonly BackendCase[] = [
  { name: 'fake', skipReason: undefined, newBindings: () => new FakeNetwork().bindings },
  {
    name: 'native',
    skipReason: loadNative === undefined ? '@dd/sys does not export loadNativeBindings yet' : undefined,
    newBindings: () => {
      if (loadNative === undefined) throw new Error('unreachable: native suite runs only with a loader');
      return loadNative();
    },
  },
];

for (const backend of backends) {
  if (backend.skipReason !== undefined) console.warn(`[@dd/core tests] skipping the ${backend.name} backend: ${backend.skipReason}`);
}
