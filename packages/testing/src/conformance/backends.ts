import type { Bindings } from '@dd/sys';
import { createServer } from 'node:net';
import { FakeNetwork } from '../fake-network.js';
import type { ConformanceBackend } from './backend.js';

/** A fresh fake network per test; fake ports are counted, nothing is bound. */
export function fakeBackend(): ConformanceBackend {
  const network = new FakeNetwork();
  let port = 26000;
  return {
    bindings: network.bindings,
    listenAddress: () => `127.0.0.1:${port++}`,
    close: () => undefined,
  };
}

/** A `127.0.0.1:port` the kernel just handed out and nobody listens on now. */
export function freeLoopbackAddress(): Promise<string> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address === null || typeof address === 'string') reject(new Error('no TCP port was assigned'));
        else resolve(`127.0.0.1:${address.port}`);
      });
    });
  });
}

/** A backend whose instances really listen (host, CANN): addresses are free loopback ports. */
export function loopbackBackend(bindings: Bindings): ConformanceBackend {
  return { bindings, listenAddress: freeLoopbackAddress, close: () => undefined };
}
