// The JavaScript side of the completion queue (src/completion-queue.ts, docs/design/completions.md)
// in processes of their own: calls complete whether the event loop polls (two CPUs or more) or
// sleeps on the wake-up pipe (one CPU), and a process whose calls have all ended exits by itself.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { StatusCode } from '../src/index.js';
import { freePort } from './free-port.js';

const script = fileURLToPath(new URL('./fixtures/queued-calls.mjs', import.meta.url));
const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0;

async function run(command: string[], count: number): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const r = spawnSync(command[0]!, [...command.slice(1), script, String(count), String(await freePort())], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const expected = (count: number): string => `DONE ${count} ${StatusCode.LLM_NOT_YET_LINK} PullKvBlocks: LLM_NOT_YET_LINK: no link to cluster 9\n`;

describe('queued async calls in a process of their own', () => {
  it('pulls one after another and many at once end with their bytes, a failure with its last error, and then the process exits by itself', async () => {
    const r = await run([process.execPath], 200);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(expected(200));
    expect(r.status).toBe(0);
  }, 70_000);

  it.skipIf(!hasTaskset)('on one CPU, where the event loop sleeps on the wake-up pipe instead of polling, they end the same', async () => {
    const r = await run(['taskset', '-c', '0', process.execPath], 100);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(expected(100));
    expect(r.status).toBe(0);
  }, 70_000);
});

/** Open descriptors and threads of this process. */
function processResources(): { fds: number; threads: number } {
  return { fds: readdirSync('/proc/self/fd').length, threads: readdirSync('/proc/self/task').length };
}

/** Runs fixtures/worker-queued-call.mjs in a worker thread; resolves with its message once it has exited. */
async function queuedCallInWorker(): Promise<{ status: number; error: string }> {
  const worker = new Worker(new URL('./fixtures/worker-queued-call.mjs', import.meta.url));
  const message = new Promise<{ status: number; error: string }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  const exited = new Promise((resolve) => worker.once('exit', resolve));
  const result = await message;
  await exited;
  return result;
}

describe.runIf(process.platform === 'linux')('queued calls in worker threads', () => {
  it("a worker's queue is closed when the worker exits: no descriptor or thread of it stays behind", async () => {
    // The first worker loads the library and koffi for the process; count from after it.
    expect((await queuedCallInWorker()).status).toBe(StatusCode.LLM_KV_CACHE_NOT_EXIST);
    const before = processResources();
    for (let i = 0; i < 3; i += 1) {
      const { status, error } = await queuedCallInWorker();
      expect(status).toBe(StatusCode.LLM_KV_CACHE_NOT_EXIST);
      expect(error).toMatch(/^PullKvBlocks: LLM_KV_CACHE_NOT_EXIST/);
    }
    expect(processResources()).toEqual(before);
  }, 60_000);
});
