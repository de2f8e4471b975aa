import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { PromptCommand, PromptEvent, ReadyEvent } from './prompt-channel.js';
import { parseEvent } from './prompt-channel.js';

/** The prompt process died, refused, or did not answer in time; the message carries its stderr. */
export class PromptProcessError extends Error {
  override readonly name = 'PromptProcessError';
}

/** How much of the child's stderr an error quotes. */
const STDERR_TAIL = 4000;

interface Waiter {
  readonly accept: (event: PromptEvent) => boolean;
  readonly resolve: (event: PromptEvent) => void;
  readonly reject: (error: Error) => void;
}

/**
 * A prompt process this process spawned and talks to over stdio (see prompt-channel.ts). Every
 * wait has a deadline; if the child exits early, every wait rejects at once with its stderr.
 */
export class PromptProcess {
  readonly pid: number;
  #child: ChildProcessWithoutNullStreams;
  #stderr = '';
  #exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  readonly #exited: Promise<void>;
  readonly #waiters = new Set<Waiter>();
  readonly #events: PromptEvent[] = [];

  private constructor(child: ChildProcessWithoutNullStreams) {
    this.#child = child;
    this.pid = child.pid ?? -1;
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      this.#stderr = (this.#stderr + chunk).slice(-STDERR_TAIL);
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      const event = parseEvent(line);
      if (event !== undefined) this.#deliver(event);
    });
    this.#exited = new Promise((resolve) => {
      child.once('close', (code, signal) => {
        this.#exit = { code, signal };
        const error = this.#failure(`exited (${signal ?? `code ${code}`})`);
        for (const waiter of this.#waiters) waiter.reject(error);
        this.#waiters.clear();
        resolve();
      });
    });
  }

  /**
   * Spawns `node <script> <args>` and waits for its ready event.
   * @throws PromptProcessError when it dies, fails, or is not ready within `readyWithinMs`.
   */
  static async start(script: string, args: readonly string[], readyWithinMs: number): Promise<{ process: PromptProcess; ready: ReadyEvent }> {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const prompt = new PromptProcess(child);
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (error) => reject(new PromptProcessError(`could not start the prompt process: ${error.message}`)));
    });
    try {
      const ready = await prompt.#next('ready', readyWithinMs);
      return { process: prompt, ready: ready as ReadyEvent };
    } catch (error) {
      await prompt.kill();
      throw error;
    }
  }

  /** Sends a command and waits for the event that answers it. */
  async request(command: PromptCommand, answer: PromptEvent['event'], withinMs: number): Promise<PromptEvent> {
    if (this.#exit !== undefined) throw this.#failure('had already exited');
    const next = this.#next(answer, withinMs);
    this.#child.stdin.write(`${JSON.stringify(command)}\n`);
    return next;
  }

  /** Waits for the child to exit on its own; kills it and throws if it does not, or exits non-zero. */
  async exited(withinMs: number): Promise<void> {
    this.#child.stdin.end();
    const timer = new Promise<'late'>((resolve) => setTimeout(resolve, withinMs, 'late').unref());
    if ((await Promise.race([this.#exited.then(() => 'done' as const), timer])) === 'late') {
      await this.kill();
      throw this.#failure(`did not exit within ${withinMs} ms`);
    }
    if (this.#exit?.code !== 0) throw this.#failure(`exited (${this.#exit?.signal ?? `code ${this.#exit?.code}`})`);
  }

  /** Ends the child: closes its stdin (it cleans up and exits), then SIGKILL after a grace period. */
  async kill(graceMs = 2000): Promise<void> {
    if (this.#exit !== undefined) return;
    this.#child.stdin.end();
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), graceMs);
    await this.#exited;
    clearTimeout(timer);
  }

  #deliver(event: PromptEvent): void {
    for (const waiter of this.#waiters) {
      if (waiter.accept(event)) {
        this.#waiters.delete(waiter);
        waiter.resolve(event);
        return;
      }
    }
    this.#events.push(event);
  }

  #next(kind: PromptEvent['event'], withinMs: number): Promise<PromptEvent> {
    const accept = (event: PromptEvent): boolean => event.event === kind || event.event === 'failed';
    const queued = this.#events.findIndex(accept);
    const found = queued >= 0 ? this.#events.splice(queued, 1)[0] : undefined;
    const settle = (event: PromptEvent): PromptEvent => {
      if (event.event === 'failed') throw new PromptProcessError(`prompt process: ${event.message}`);
      return event;
    };
    if (found !== undefined) return Promise.resolve(found).then(settle);
    if (this.#exit !== undefined) return Promise.reject(this.#failure('had already exited'));
    return new Promise<PromptEvent>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(this.#failure(`sent no '${kind}' within ${withinMs} ms`));
      }, withinMs);
      const waiter: Waiter = {
        accept,
        resolve: (event) => {
          clearTimeout(timer);
          resolve(event);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.#waiters.add(waiter);
    }).then(settle);
  }

  #failure(what: string): PromptProcessError {
    const stderr = this.#stderr.trim();
    return new PromptProcessError(`prompt process ${this.pid} ${what}${stderr === '' ? ' (no stderr)' : `; its stderr:\n${stderr}`}`);
  }
}
