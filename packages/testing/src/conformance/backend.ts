import type { Bindings } from '@dd/sys';

/**
 * One isolated backend for one conformance test. `listenAddress()` names a `127.0.0.1:port` that
 * nothing listens on yet; the suite makes servers there and expects links to absent ones to fail.
 */
export interface ConformanceBackend {
  readonly bindings: Bindings;
  listenAddress(): string | Promise<string>;
  /** Called after the suite has finalized and destroyed every instance it created. */
  close(): void | Promise<void>;
}

export type ConformanceBackendFactory = () => ConformanceBackend | Promise<ConformanceBackend>;
