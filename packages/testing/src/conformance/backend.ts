import type { Bindings, LlmDataDistHandle } from '@dd/sys';

/**
 * Conditions a test cannot make through the bindings alone. Each backend makes them its own way:
 * the fake scripts them with its faults, a loopback backend with real sockets and by destroying
 * engines. None is optional, so no case is ever skipped for want of one.
 */
export interface ConformanceScenarios {
  /** A `127.0.0.1:port` where a TCP connect never completes (a full accept queue drops the SYN): links there time out (A14). */
  unansweredAddress(): Promise<string>;
  /** A `127.0.0.1:port` that accepts connections and never sends a byte (D8). */
  silentAddress(): Promise<string>;
  /** A `127.0.0.1:port` that answers with bytes that are no handshake of this backend (A14, A29). */
  foreignAddress(): Promise<string>;
  /**
   * The engine behind `handle` dies as its process would: nothing is unlinked and no peer is told
   * (A16). `'live'`: the handle stays valid and the suite still finalizes and destroys it;
   * `'destroyed'`: the backend destroyed it.
   */
  kill(handle: LlmDataDistHandle): Promise<'live' | 'destroyed'>;
}

/**
 * One isolated backend for one conformance test. `listenAddress()` names a `127.0.0.1:port` that
 * nothing listens on yet; the suite makes servers there and expects links to absent ones to fail.
 */
export interface ConformanceBackend {
  readonly bindings: Bindings;
  listenAddress(): string | Promise<string>;
  readonly scenarios: ConformanceScenarios;
  /** Called after the suite has finalized and destroyed every instance it created. */
  close(): void | Promise<void>;
}

export type ConformanceBackendFactory = () => ConformanceBackend | Promise<ConformanceBackend>;
