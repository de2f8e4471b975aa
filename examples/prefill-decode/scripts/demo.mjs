#!/usr/bin/env node
// `pnpm demo`: builds what the demo needs (the packages it depends on and the native host
// backend; cached by turbo after the first time), then runs it with the flags given.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');
const env = { ...process.env, TURBO_TELEMETRY_DISABLED: '1', npm_config_nodedir: process.env.npm_config_nodedir ?? '/usr' };
const args = process.argv.slice(2).filter((arg) => arg !== '--');

if (!args.includes('--help')) {
  console.error('[1/2] building @dd/sys (with the native host backend), @dd/core and the demo — cached after the first run');
  const t0 = Date.now();
  const build = spawnSync(
    'npx',
    ['-y', 'pnpm@12.4.2', 'exec', 'turbo', 'run', 'build', '--filter=@dd/example-prefill-decode...', '--output-logs=new-only', '--log-prefix=task'],
    { cwd: root, env, stdio: ['ignore', 'inherit', 'inherit'] },
  );
  if (build.status !== 0) {
    console.error(`✗ build failed (exit ${build.status ?? build.signal}); see the output above`);
    process.exit(build.status || 1);
  }
  console.error(`✓ built in ${((Date.now() - t0) / 1000).toFixed(1)}s\n[2/2] running the demo`);
}
const run = spawnSync(process.execPath, [join(here, '..', 'dist', 'main.js'), ...args], { cwd: root, stdio: 'inherit' });
process.exit(run.status ?? 1);
