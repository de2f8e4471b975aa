// The JavaScript side of the completion queue (src/completion-queue.ts, docs/design/completions.md)
// in processes of their own: calls complete whether the event loop polls (two CPUs or more) or
// sleeps on the wake-up pipe (one CPU), and a process whose calls have all ended exits by itself.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
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
