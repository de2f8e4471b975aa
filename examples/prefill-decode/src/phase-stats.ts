import type { Placement } from '@dd/core';

/** What one phase of the run measured: every call's latency and the bytes it moved. */
export interface PhaseStats {
  readonly name: string;
  /** Where both sides' caches of this phase live. */
  readonly placement: Placement;
  readonly calls: number;
  readonly bytes: number;
  /** Sum of the call latencies. */
  readonly busyMs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Bytes whose content was checked after this phase. */
  readonly verifiedBytes: number;
}

/** The value below which `fraction` of the samples fall (nearest rank). */
export function percentile(samples: readonly number[], fraction: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(fraction * sorted.length)));
  return sorted[rank - 1] as number;
}

/** Collects the calls of one phase. */
export class PhaseRecorder {
  readonly name: string;
  readonly placement: Placement;
  readonly #latencies: number[] = [];
  #bytes = 0;
  #verified = 0;

  constructor(name: string, placement: Placement) {
    this.name = name;
    this.placement = placement;
  }

  /** `pullBlocks, all layers (device)`. */
  get label(): string {
    return `${this.name} (${this.placement})`;
  }

  get calls(): number {
    return this.#latencies.length;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Times one call. */
  async time<T extends { readonly bytes: number }>(call: () => Promise<T>): Promise<T> {
    const started = performance.now();
    const result = await call();
    this.#latencies.push(performance.now() - started);
    this.#bytes += result.bytes;
    return result;
  }

  verified(bytes: number): void {
    this.#verified += bytes;
  }

  stats(): PhaseStats {
    return {
      name: this.name,
      placement: this.placement,
      calls: this.calls,
      bytes: this.#bytes,
      busyMs: this.#latencies.reduce((a, b) => a + b, 0),
      p50Ms: percentile(this.#latencies, 0.5),
      p99Ms: percentile(this.#latencies, 0.99),
      verifiedBytes: this.#verified,
    };
  }
}

/** GB/s (10^9 bytes per second) of `bytes` moved in `ms`. */
export function gigabytesPerSecond(bytes: number, ms: number): number {
  return ms > 0 ? bytes / ms / 1e6 : Number.NaN;
}
