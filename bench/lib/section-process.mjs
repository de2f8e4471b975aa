// Runs one benchmark section in its own Node process (a fresh JIT and heap for each, and native
// libraries loaded only where they are measured) and reads back the results it wrote.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkResults } from './report.mjs';

/**
 * Runs `command args… <outFlag> <file>` and returns the results it wrote to <file>. Its stderr
 * streams through (progress); stdout is kept and quoted if it fails. Killed after `timeoutMs`.
 */
export function runSection(command, args, { timeoutMs, cwd, env, outFlag = '--out' }) {
  const dir = mkdtempSync(join(tmpdir(), 'dd-bench-'));
  const out = join(dir, 'results.json');
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args, outFlag, out], { cwd, env, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      stdout = (stdout + chunk).slice(-4000);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
      reject(new Error(`${command} could not start: ${error.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      try {
        if (code !== 0) {
          const why = signal === 'SIGKILL' ? `was killed after ${timeoutMs} ms` : `exited with ${signal ?? code}`;
          throw new Error(`${[command, ...args].join(' ')} ${why}${stdout.trim() ? `; its output:\n${stdout.trim()}` : ''}`);
        }
        resolve(checkResults(out, JSON.parse(readFileSync(out, 'utf8'))));
      } catch (error) {
        reject(error);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
