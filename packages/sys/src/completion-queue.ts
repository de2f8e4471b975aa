// The JavaScript side of the shim's completion queue (docs/design/completions.md): queued async
// calls are submitted with one sync koffi call each, and their completions are drained in batches
// on the event loop, which is woken by a pipe only when it had nothing left to poll for.
import { closeSync } from 'node:fs';
import { Socket } from 'node:net';
import { availableParallelism } from 'node:os';
import { isMainThread } from 'node:worker_threads';
import type { Completed, CompletionRunner, NativeCompletionQueue, OpenCompletions } from './generated/native.js';

/**
 * How long the event loop keeps polling for completions (one `setImmediate` turn at a time, so I/O
 * and timers still run between polls) after a call was submitted or finished, before it sleeps on
 * the pipe. A thread that slept for long wakes 20-150 µs late on the virtual machines this runs
 * on, which a 64-block pull (about 0.7 ms) would pay on every call; a poll turn only reads the
 * queue's count of finished calls (see YIELD_EVERY_MS for the CPU it gives away). Past this window
 * (a transfer longer than 1 ms), the wake-up's delay is a small part of the transfer. Only where the
 * process may use 2 CPUs or more: on one CPU the queue's thread needs the CPU to run the call.
 */
const POLL_MS = 1;
/**
 * While polling finds nothing finished, it gives the CPU away (an empty `take` calls sched_yield)
 * this often, not on every turn: a system call costs about 1 µs on these virtual machines, a poll
 * turn about 3 µs, and the thread running the call may be waiting for this CPU.
 */
const YIELD_EVERY_MS = 0.02;
/** Completions moved per native call. */
const BATCH = 256;

interface Waiting {
  resolve(done: Completed): void;
}

class CompletionQueue implements CompletionRunner {
  readonly #native: NativeCompletionQueue;
  readonly #status: Parameters<OpenCompletions>[1];
  readonly #handle: unknown;
  /** The shim's count of finished calls: a poll turn reads it instead of calling into the shim. */
  readonly #finished: Uint32Array;
  #seen = 0;
  #yieldedAt = 0;
  readonly #wake: Socket;
  readonly #waiting = new Map<number, Waiting>();
  readonly #records = new Uint32Array(2 * BATCH);
  readonly #errorText = Buffer.alloc(4096);
  readonly #mayPoll = availableParallelism() >= 2;
  #nextToken = 0;
  #polling = false;
  #pollUntil = 0;

  constructor(native: NativeCompletionQueue, status: Parameters<OpenCompletions>[1]) {
    this.#native = native;
    this.#status = status;
    const out: unknown[] = [null];
    const wakeFd = new Int32Array(1);
    const error = Number(native.open(out, wakeFd));
    if (error !== 0) throw new Error(`the native completion queue could not be opened (errno ${error})`);
    this.#handle = out[0];
    try {
      this.#finished = native.finished(this.#handle);
      this.#wake = new Socket({ fd: wakeFd[0]!, readable: true, writable: false });
    } catch (cause) {
      closeSync(wakeFd[0]!);
      native.close(this.#handle);
      throw cause;
    }
    this.#wake.on('data', () => this.#woken());
    // The pipe keeps the process alive only while calls are in flight (ref'd in run()).
    this.#wake.unref();
    // A worker thread's queue would outlive the worker (its pipe and threads); the main thread's
    // ends with the process. Closing waits for calls still running natively.
    if (!isMainThread) process.once('exit', () => this.#close());
  }

  #close(): void {
    this.#wake.destroy();
    this.#native.close(this.#handle);
  }

  run(submit: (queue: unknown, token: number) => unknown): Promise<Completed> {
    const token = this.#token();
    const status = Number(submit(this.#handle, token));
    if (status !== this.#status.success) return Promise.resolve({ status, error: this.#status.syncError() });
    const done = new Promise<Completed>((resolve) => this.#waiting.set(token, { resolve }));
    if (this.#waiting.size === 1) this.#wake.ref();
    this.#pollUntil = performance.now() + POLL_MS;
    if (!this.#polling) {
      this.#polling = true;
      setImmediate(this.#poll);
    }
    return done;
  }

  /** A token no call in flight holds (32 bits; the shim reports completions under it). */
  #token(): number {
    do this.#nextToken = (this.#nextToken + 1) >>> 0;
    while (this.#waiting.has(this.#nextToken));
    return this.#nextToken;
  }

  readonly #poll = (): void => {
    // Read before taking: a call finishing meanwhile moves the count past it, seen next turn.
    const finished = Atomics.load(this.#finished, 0);
    const now = performance.now();
    const moved = finished !== this.#seen;
    if (moved || now - this.#yieldedAt >= YIELD_EVERY_MS) {
      // Taking when the count did not move yields the CPU (or settles calls finished since the read).
      if (!moved) this.#yieldedAt = now;
      this.#seen = finished;
      if (this.#drain() > 0) this.#pollUntil = now + POLL_MS;
    }
    if (this.#waiting.size === 0) {
      this.#polling = false;
      return;
    }
    if (this.#mayPoll && now < this.#pollUntil) {
      setImmediate(this.#poll);
      return;
    }
    // Nothing finished for a while: ask for a byte on the pipe at the next completion, unless one
    // finished meanwhile.
    if (Number(this.#native.arm(this.#handle)) > 0) {
      setImmediate(this.#poll);
      return;
    }
    this.#polling = false;
  };

  #woken(): void {
    if (this.#polling) return;
    this.#polling = true;
    this.#pollUntil = performance.now() + POLL_MS;
    this.#poll();
  }

  /** Settles every finished call; returns how many. */
  #drain(): number {
    let total = 0;
    for (;;) {
      const n = Number(this.#native.take(this.#handle, this.#records, BATCH));
      for (let i = 0; i < n; i += 1) {
        const token = this.#records[2 * i]!;
        const status = this.#records[2 * i + 1]!;
        const waiting = this.#waiting.get(token);
        if (waiting === undefined) continue;
        this.#waiting.delete(token);
        waiting.resolve({ status, error: status === this.#status.success ? '' : this.#errorOf(token) });
      }
      total += n;
      if (n < BATCH) break;
    }
    if (total > 0 && this.#waiting.size === 0) this.#wake.unref();
    return total;
  }

  #errorOf(token: number): string {
    const length = Number(this.#native.error(this.#handle, token, this.#errorText, this.#errorText.length));
    return this.#errorText.toString('utf8', 0, Math.min(length, this.#errorText.length - 1));
  }
}

/** The runner the loader passes to the generated bindings: one queue, with its threads, per bindings. */
export const openCompletionQueue: OpenCompletions = (native, status) => new CompletionQueue(native, status);
