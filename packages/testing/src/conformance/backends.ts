import type { Bindings } from '@dd/sys';
import { FakeNetwork } from '../fake-network.js';
import { freeLoopbackPort } from '../loopback-port.js';
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

/** A `127.0.0.1:port` nobody listens on now, from outside the ephemeral range (see freeLoopbackPort). */
export async function freeLoopbackAddress(): Promise<string> {
  return `127.0.0.1:${await freeLoopbackPort()}`;
}

/** A backend whose instances really listen (host, CANN): addresses are free loopback ports. */
export function loopbackBackend(bindings: Bindings): ConformanceBackend {
  return { bindings, listenAddress: freeLoopbackAddress, close: () => undefined };
}
