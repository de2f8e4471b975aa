#!/usr/bin/env node
// Builds the native code twice — plain and with AddressSanitizer/UBSan — and runs the C++ suites
// (unit, multi-instance, two-process and fault tests) of each build with ctest. `--only arm64`
// instead cross-builds them for linux-arm64 (g++-aarch64-linux-gnu) and runs them under qemu-user.
// Usage: node packages/sys/scripts/native-test.mjs [--only test|asan|arm64]
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const native = join(dirname(fileURLToPath(import.meta.url)), '..', 'native');
const onlyIndex = process.argv.indexOf('--only');
const only = onlyIndex > 0 ? process.argv[onlyIndex + 1] : undefined;

const builds = [
  { name: 'test', dir: join(native, 'build', 'test'), defines: ['-DCMAKE_BUILD_TYPE=RelWithDebInfo', '-DDD_SANITIZE='] },
  {
    name: 'asan',
    dir: join(native, 'build', 'asan'),
    defines: ['-DCMAKE_BUILD_TYPE=RelWithDebInfo', '-DDD_SANITIZE=address,undefined'],
    env: {
      ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0:halt_on_error=1',
      UBSAN_OPTIONS: 'halt_on_error=1:print_stacktrace=1',
    },
  },
  {
    name: 'arm64',
    dir: join(native, 'build', 'test-arm64'),
    defines: ['-DCMAKE_BUILD_TYPE=RelWithDebInfo', `-DCMAKE_TOOLCHAIN_FILE=${join(native, 'cmake', 'aarch64-linux-gnu.cmake')}`],
    // ctest runs every test executable under the toolchain's CMAKE_CROSSCOMPILING_EMULATOR.
    needs: { 'aarch64-linux-gnu-g++': 'g++-aarch64-linux-gnu', 'qemu-aarch64': 'qemu-user' },
    onlyWhenAsked: true,
  },
].filter((b) => (only ? b.name === only : !b.onlyWhenAsked));
if (builds.length === 0) {
  console.error(`[native] unknown build '${only}'; use --only test, asan or arm64`);
  process.exit(2);
}
for (const build of builds) {
  const missing = Object.entries(build.needs ?? {}).filter(([command]) => spawnSync('sh', ['-c', `command -v ${command}`]).status !== 0);
  if (missing.length > 0 || (build.name === 'arm64' && !existsSync('/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1'))) {
    const packages = Object.values(build.needs).join(' ');
    console.error(`[native] the ${build.name} build needs ${Object.keys(build.needs).join(' and ')}: apt-get install -y ${packages}`);
    process.exit(1);
  }
}

const started = Date.now();
const results = [];

function run(label, cmd, args, options = {}) {
  const t0 = Date.now();
  console.log(`[native] ${label}: ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...options, env: { ...process.env, ...(options.env ?? {}) } });
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  const ok = r.status === 0;
  console.log(`[native] ${label}: ${ok ? 'ok' : `failed (exit ${r.status ?? r.signal})`} in ${secs}s`);
  return ok;
}

let failed = false;
for (const build of builds) {
  const ok =
    run(`${build.name} configure`, 'cmake', ['-S', native, '-B', build.dir, ...build.defines]) &&
    run(`${build.name} build`, 'cmake', ['--build', build.dir, '-j2']) &&
    // Each test executable is bounded; a hang fails the run instead of stalling CI.
    run(`${build.name} ctest`, 'ctest', ['--output-on-failure', '--timeout', '240'], { cwd: build.dir, env: build.env });
  results.push(`${build.name}: ${ok ? 'passed' : 'FAILED'}`);
  failed ||= !ok;
}
console.log(`[native] summary (${((Date.now() - started) / 1000).toFixed(1)}s): ${results.join(', ')}`);
process.exit(failed ? 1 : 0);
