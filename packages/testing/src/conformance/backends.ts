import { StatusCode, type Bindings } from '@dd/sys';
import { FakeNetwork } from '../fake-network.js';
import { freeLoopbackPort } from '../loopback-port.js';
import type { ConformanceBackend } from './backend.js';
import { loopbackScenarios } from './loopback-scenarios.js';

/**
 * A fresh fake network per test; fake ports are counted, nothing is bound. Its scenarios are
 * scripted faults: an address whose handshakes never finish, one that answers with a foreign
 * protocol (LLM_FAILED, as a framing error), and `vanishInstance` for a dying engine.
 */
export function fakeBackend(): ConformanceBackend {
  const network = new FakeNetwork();
  let port = 26000;
  const address = (): string => `127.0.0.1:${port++}`;
  const neverAnswers = async (): Promise<string> => {
    const unanswered = address();
    network.faults.delayLinks(unanswered, Number.POSITIVE_INFINITY);
    return unanswered;
  };
  return {
    bindings: network.bindings,
    listenAddress: address,
    scenarios: {
      unansweredAddress: neverAnswers,
      silentAddress: neverAnswers,
      async foreignAddress() {
        const foreign = address();
        network.faults.refuseLinks(foreign, { status: StatusCode.LLM_FAILED });
        return foreign;
      },
      async kill(handle) {
        network.faults.vanishInstance(handle);
        return 'live';
      },
    },
    close: () => undefined,
  };
}

/** A `127.0.0.1:port` nobody listens on now, from outside the ephemeral range (see freeLoopbackPort). */
export async function freeLoopbackAddress(): Promise<string> {
  return `127.0.0.1:${await freeLoopbackPort()}`;
}

/** A backend whose instances really listen (host, CANN): addresses are free loopback ports. */
export function loopbackBackend(bindings: Bindings): ConformanceBackend {
  const scenarios = loopbackScenarios(bindings);
  return { bindings, listenAddress: freeLoopbackAddress, scenarios, close: () => scenarios.close() };
}
