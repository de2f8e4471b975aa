import { gigabytesPerSecond } from './phase-stats.js';
import { formatBytes } from './units.js';

/** Where progress goes: a terminal gets one line rewritten in place, anything else a line per step. */
export interface ProgressSink {
  readonly isTTY?: boolean;
  write(text: string): boolean;
}

/** Live progress of the run, on stderr-like sinks, so stdout keeps only the summary. */
export class Progress {
  readonly #sink: ProgressSink;
  readonly #live: boolean;
  #lastDraw = 0;
  #open = false;

  constructor(sink: ProgressSink) {
    this.#sink = sink;
    this.#live = sink.isTTY === true;
  }

  /** A finished step, on its own line. */
  step(text: string): void {
    this.#clear();
    this.#sink.write(`  ${text}\n`);
  }

  /** The current position inside a phase (drawn at most every 100 ms, on terminals only). */
  tick(phase: string, done: number, total: number, bytes: number, busyMs: number): void {
    if (!this.#live) return;
    const now = performance.now();
    if (done < total && now - this.#lastDraw < 100) return;
    this.#lastDraw = now;
    const rate = gigabytesPerSecond(bytes, busyMs);
    this.#sink.write(`\r\x1b[K  ${phase}: ${done}/${total} calls, ${formatBytes(bytes)}, ${Number.isNaN(rate) ? '–' : rate.toFixed(2)} GB/s`);
    this.#open = true;
  }

  #clear(): void {
    if (this.#open) this.#sink.write('\r\x1b[K');
    this.#open = false;
  }
}
