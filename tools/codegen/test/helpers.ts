import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const codegenRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const repoRoot = resolve(codegenRoot, '../..');
export const headersDir = join(repoRoot, 'headers');
export const sysGenerated = join(repoRoot, 'packages/sys/src/generated');
export const shimDir = join(repoRoot, 'packages/sys/native/generated');
/** The completion queue the generated shim hands queued calls to (hand-written, compiled with it). */
export const completionsDir = join(repoRoot, 'packages/sys/native/completions');

/** The koffi that @dd/sys depends on: the generated native.ts is @dd/sys code. */
export function sysKoffi(): typeof import('koffi') {
  return createRequire(join(repoRoot, 'packages/sys/package.json'))('koffi') as typeof import('koffi');
}

export function tempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `dd-codegen-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion (bounded by `timeoutMs`). */
export function run(command: string, args: readonly string[], options: { cwd?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Run {
  const r = spawnSync(command, args, { cwd: options.cwd ?? repoRoot, encoding: 'utf8', timeout: options.timeoutMs ?? 120_000, env: options.env ?? process.env });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** The real command line: bin/dd-codegen.mjs, as `pnpm codegen` runs it. */
export function runCli(args: readonly string[], cwd = repoRoot): Run {
  const env = { ...process.env };
  delete env.INIT_CWD;
  return run(process.execPath, [join(codegenRoot, 'bin/dd-codegen.mjs'), ...args], { cwd, env });
}

/** g++ with the warnings CI uses; returns the compiler output on failure. */
export function compileCxx(args: readonly string[]): Run {
  return run('g++', ['-std=c++17', '-Wall', '-Wextra', '-Werror', ...args]);
}

/** tsc from the repository's pinned TypeScript. */
export function tsc(args: readonly string[]): Run {
  return run(process.execPath, [join(repoRoot, 'node_modules/typescript/bin/tsc'), ...args]);
}
