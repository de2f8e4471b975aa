import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PromptProcess, PromptProcessError } from '../src/prompt-process.js';

const dir = mkdtempSync(join(tmpdir(), 'dd-prompt-process-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A stand-in prompt process made of `body` (plain ESM). */
function script(name: string, body: string): string {
  const path = join(dir, `${name}.mjs`);
  writeFileSync(path, body);
  return path;
}

const READY = `process.stdout.write(JSON.stringify({ event: 'ready', port: 1, clusterId: '1', caches: [{ placement: 'device', cacheId: '1' }], cacheBytes: 8, fillMs: 1 }) + '\\n');`;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('PromptProcess', () => {
  it('rejects with the exit code and stderr of a child that dies before it is ready', async () => {
    const dies = script('dies', `process.stderr.write('native library not found: boom\\n'); process.exit(3);`);
    const start = PromptProcess.start(dies, [], 10_000);
    await expect(start).rejects.toThrow(PromptProcessError);
    await expect(start).rejects.toThrow(/exited \(code 3\); its stderr:\nnative library not found: boom/);
  });

  it('gives up on a child that never gets ready, and ends it', async () => {
    const silent = script('silent', `process.stderr.write('still loading\\n'); setInterval(() => {}, 1000);`);
    const started = Date.now();
    const error = await PromptProcess.start(silent, [], 500).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PromptProcessError);
    expect(String(error)).toMatch(/sent no 'ready' within 500 ms; its stderr:\nstill loading/);
    expect(Date.now() - started).toBeLessThan(8000);
    const pid = Number(/prompt process (\d+)/.exec(String(error))?.[1]);
    expect(alive(pid)).toBe(false);
  });

  it('fails a pending request at once when the child dies mid-run', async () => {
    const crashes = script(
      'crashes',
      `${READY}
       process.stdin.once('data', () => { process.stderr.write('segfault in serve loop\\n'); process.exit(139); });`,
    );
    const { process: child, ready } = await PromptProcess.start(crashes, [], 10_000);
    expect(ready.port).toBe(1);
    const started = Date.now();
    await expect(child.request({ command: 'verify', placement: 'device', pushed: false }, 'verified', 20_000)).rejects.toThrow(/code 139.*\nsegfault in serve loop/s);
    expect(Date.now() - started).toBeLessThan(5000);
    await expect(child.request({ command: 'finish' }, 'closed', 1000)).rejects.toThrow(/already exited/);
  });

  it('turns a failed event into an error, and checks the exit code', async () => {
    const refuses = script(
      'refuses',
      `${READY}
       process.stdin.once('data', () => {
         process.stdout.write(JSON.stringify({ event: 'failed', message: 'prompt cache block 3: mismatch' }) + '\\n');
         process.exit(5);
       });`,
    );
    const { process: child } = await PromptProcess.start(refuses, [], 10_000);
    await expect(child.request({ command: 'verify', placement: 'device', pushed: true }, 'verified', 10_000)).rejects.toThrow('prompt process: prompt cache block 3: mismatch');
    await expect(child.exited(5000)).rejects.toThrow(/code 5/);
  });
});
