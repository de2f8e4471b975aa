import type { Bindings } from '@dd/sys';
import { DataType, LlmDataDist, type EngineOptions, type KvCache } from '../src/index.js';
import { freePort, type BackendCase } from './backends.js';

/** One call that went through recording bindings. */
export interface RecordedCall {
  readonly name: string;
  readonly args: readonly unknown[];
}

/**
 * Bindings that record every LlmDataDist_* call made through them, and can hold back the results
 * of the async ones (`delayMs`) to make a transfer outlast a caller's deadline.
 */
export function recordingBindings(inner: Bindings): { readonly bindings: Bindings; readonly calls: RecordedCall[]; delayMs: number } {
  const calls: RecordedCall[] = [];
  const control = { delayMs: 0 };
  const bindings = new Proxy(inner, {
    get(target, key, receiver) {
      const value: unknown = Reflect.get(target, key, receiver);
      if (typeof key === 'string' && key.startsWith('LlmDataDist_') && typeof value === 'function') {
        return (...args: unknown[]) => {
          calls.push({ name: key, args });
          const result = (value as (...a: unknown[]) => unknown).apply(target, args);
          if (!(result instanceof Promise) || control.delayMs === 0) return result;
          const delay = control.delayMs;
          return result.then((r: unknown) => new Promise((resolve) => setTimeout(() => resolve(r), delay)));
        };
      }
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return {
    bindings,
    calls,
    get delayMs() {
      return control.delayMs;
    },
    set delayMs(ms: number) {
      control.delayMs = ms;
    },
  };
}

/** A prompt engine listening on 127.0.0.1 and a decoder engine, on the same backend. */
export interface EnginePair {
  readonly bindings: Bindings;
  readonly prompt: LlmDataDist;
  readonly decoder: LlmDataDist;
  readonly promptPort: number;
  readonly decoderPort: number;
  /** Closes both engines (force), waiting for running calls first. */
  dispose(): Promise<void>;
}

export async function createPair(backend: BackendCase, extra: Partial<EngineOptions> = {}): Promise<EnginePair> {
  const bindings = extra.bindings ?? backend.newBindings();
  const promptPort = await freePort();
  const decoderPort = await freePort();
  const prompt = LlmDataDist.create({ clusterId: 1n, role: 'prompt', listen: { ip: '127.0.0.1', port: promptPort }, syncTimeoutMs: 2000, ...extra, bindings });
  const decoder = LlmDataDist.create({ clusterId: 2n, role: 'decoder', listen: { ip: '127.0.0.1', port: decoderPort }, syncTimeoutMs: 2000, ...extra, bindings });
  return {
    bindings,
    prompt,
    decoder,
    promptPort,
    decoderPort,
    async dispose() {
      for (const engine of [decoder, prompt]) {
        await engine.settled();
        engine.close({ force: true });
      }
    },
  };
}

/** A small host cache: `numTensors` tensors of `numBlocks` blocks of 16 int32. */
export function smallCache(engine: LlmDataDist, numTensors = 4, numBlocks = 8, placement: 'host' | 'device' = 'host'): KvCache {
  return engine.registerHostCache({ placement, dataType: DataType.DT_INT32, shape: [numBlocks, 16], numTensors });
}

/** Fills every block of every tensor with a byte pattern that names (tensor, block); host or device memory. */
export function fillPattern(cache: KvCache, salt: number): void {
  for (let t = 0; t < cache.numTensors; t += 1) {
    for (let b = 0; b < cache.numBlocks; b += 1) cache.writeBlock(t, b, patternBlock(cache.bytesPerBlock, salt, t, b));
  }
}

/** Expected byte i of block (t, b) of a cache filled by fillPattern(salt). */
export function patternBlock(length: number, salt: number, t: number, b: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i += 1) out[i] = (salt * 31 + t * 17 + b * 7 + i) & 0xff;
  return out;
}

/** How long a test waits for an event before it fails instead of hanging. */
export const WAIT_BOUND_MS = 5000;

/**
 * `promise`, or a rejection naming `what` after `ms`: bounds a wait so that a broken implementation
 * fails instead of hanging. (A dead peer's hang-up reaches the survivor through the kernel at once
 * and engines poll every 100 ms; the bound is far above either.)
 */
export function within<T>(what: string, promise: Promise<T>, ms = WAIT_BOUND_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const bound = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  return Promise.race([promise, bound]).finally(() => clearTimeout(timer));
}
