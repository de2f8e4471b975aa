#!/usr/bin/env node
// The whole test suite, in dependency order: headers → codegen → build → native → packages → lint.
// Each step prints its command and duration; the first failure stops the run with its exit code.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const env = { ...process.env, TURBO_TELEMETRY_DISABLED: '1', npm_config_nodedir: process.env.npm_config_nodedir ?? '/usr' };
const pnpm = ['npx', '-y', 'pnpm@12.4.2'];

const steps = [
  { name: 'headers: layouts equal the documented ones', run: ['bash', 'headers/test/run.sh'] },
  { name: 'codegen: generated files are up to date', when: 'tools/codegen/bin/dd-codegen.mjs', run: [...pnpm, '--silent', 'codegen', '--check'] },
  { name: 'build: every package', run: [...pnpm, 'exec', 'turbo', 'run', 'build', '--output-logs=errors-only'] },
  { name: 'native: C++ unit, multi-process and fault tests (+ASan/UBSan)', when: 'packages/sys/native/CMakeLists.txt', run: ['node', 'packages/sys/scripts/native-test.mjs'] },
  { name: 'cross-host tier: the host backend between network namespaces (rate, delay, loss, cable pull, stalled peer)', when: 'packages/sys/scripts/hosts-test.mjs', run: ['node', 'packages/sys/scripts/hosts-test.mjs'] },
  { name: 'packages: vitest suites', run: [...pnpm, 'exec', 'turbo', 'run', 'test', '--concurrency=1', '--output-logs=full'] },
  { name: 'example: router tests on the packed packages, installed like an outside project', when: 'examples/router/scripts/test-packed.mjs', run: ['node', 'examples/router/scripts/test-packed.mjs'] },
  { name: '@dd/sys: the packed tarball installs and runs on its own', run: ['node', 'packages/sys/scripts/verify-packed.mjs'] },
  { name: '@dd/sys: the CANN build path against a stand-in toolkit tree', run: ['node', 'packages/sys/scripts/verify-cann-build.mjs'] },
  { name: 'lint: publint + attw on every package', run: [...pnpm, 'exec', 'turbo', 'run', 'lint', '--output-logs=errors-only'] },
];

const started = Date.now();
let index = 0;
let skipped = 0;
for (const step of steps) {
  index += 1;
  if (step.when && !existsSync(join(root, step.when))) {
    console.log(`\n[${index}/${steps.length}] ${step.name}: not present yet, skipped`);
    skipped += 1;
    continue;
  }
  console.log(`\n[${index}/${steps.length}] ${step.name}\n$ ${step.run.join(' ')}`);
  const t0 = Date.now();
  const r = spawnSync(step.run[0], step.run.slice(1), { cwd: root, env, stdio: 'inherit' });
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  if (r.status !== 0) {
    console.error(`\n✗ ${step.name} failed after ${secs}s (exit ${r.status ?? r.signal})`);
    console.error(`steps: ${index - 1 - skipped} passed, 1 failed, ${skipped} skipped`);
    process.exit(r.status || 1);
  }
  console.log(`✓ ${step.name} (${secs}s)`);
}
console.log(`\nAll test steps passed in ${((Date.now() - started) / 1000).toFixed(1)}s`);
console.log(`steps: ${steps.length - skipped} passed, 0 failed, ${skipped} skipped`);
