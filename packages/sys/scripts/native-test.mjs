#!/usr/bin/env node
// Builds the native code twice — plain and with AddressSanitizer/UBSan — and runs the C++ suites
// (unit, multi-instance, two-process and fault tests) of each build with ctest. `--only arm64`
// instead cross-builds them for linux-arm64 (g++-aarch64-linux-gnu) and runs them under qemu-user.
// Usage: node packages/sys/scripts/native-test.mjs [--only test|asan|arm64] [--verbose]
// CMake's and the compiler's output is shown only when that command fails (or with --verbose /
// DD_VERBOSE=1); ctest's is always shown: one line per test, and the output of each failing test.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const native = join(dirname(fileURLToPath(import.meta.url)), '..', 'native');
// The repository's headers, named explicitly: CMake would otherwise prefer the copy that packing
// leaves in native/headers, and every `pnpm pack` (fresh file times) would rebuild both builds.
const headers = join(native, '..', '..', '..', 'headers');
const onlyIndex = process.argv.indexOf('--only');
const only = onlyIndex > 0 ? process.argv[onlyIndex + 1] : undefined;
const verbose = process.argv.includes('--verbose') || process.env.DD_VERBOSE === '1';

const builds = [
  { name: 'test', dir: join(native, 'build', 'test'), defines: ['-DCMAKE_BUILD_TYPE=RelWithDebInfo', '-DDD_SANITIZE=', `-DDD_HEADERS_DIR=${headers}`] },
  {
    name: 'asan',
    dir: join(native, 'build', 'asan'),
    // -O1, as the sanitizers' own docs advise: full stack traces, and about 30 s less compiling in CI.
    defines: ['-DCMAKE_BUILD_TYPE=RelWithDebInfo', '-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g -DNDEBUG', '-DDD_SANITIZE=address,undefined', `-DDD_HEADERS_DIR=${headers}`],
    env: {
      ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0:halt_on_error=1',
      UBSAN_OPTIONS: 'halt_on_error=1:print_stacktrace=1',
    },
  },
  {
    name: 'arm64',
    dir: join(native, 'build', 'test-arm64'),
    defines: ['-DCMAKE_BUILD_TYPE=RelWithDebInfo', `-DDD_HEADERS_DIR=${headers}`, `-DCMAKE_TOOLCHAIN_FILE=${join(native, 'cmake', 'aarch64-linux-gnu.cmake')}`],
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
  const missing = Object.keys(build.needs ?? {}).filter((command) => spawnSync('sh', ['-c', `command -v ${command}`]).status !== 0);
  if (missing.length > 0) {
    console.error(`[native] the ${build.name} build needs ${missing.join(' and ')}: apt-get install -y ${missing.map((c) => build.needs[c]).join(' ')}`);
    process.exit(1);
  }
}

const started = Date.now();
const results = [];

function run(label, cmd, args, options = {}) {
  const t0 = Date.now();
  const { quiet = false, ...spawnOptions } = options;
  const captured = quiet && !verbose;
  if (!captured) console.log(`[native] ${label}: ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, {
    stdio: captured ? ['ignore', 'pipe', 'pipe'] : 'inherit',
    maxBuffer: 256 * 1024 * 1024,
    ...spawnOptions,
    env: { ...process.env, ...(spawnOptions.env ?? {}) },
  });
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  const ok = r.status === 0;
  if (!ok && captured) {
    console.log(`[native] ${label}: ${cmd} ${args.join(' ')}`);
    process.stdout.write(Buffer.concat([r.stdout ?? Buffer.alloc(0), r.stderr ?? Buffer.alloc(0)]));
  }
  console.log(`[native] ${label}: ${ok ? 'ok' : `failed (exit ${r.status ?? r.signal})`} in ${secs}s`);
  return ok;
}

/** The test cases behind ctest's executables: each prints "N passed, M failed, K skipped", which ctest logs. */
function caseCounts(buildDir) {
  const log = join(buildDir, 'Testing', 'Temporary', 'LastTest.log');
  if (!existsSync(log)) return undefined;
  const counts = [...readFileSync(log, 'utf8').matchAll(/^(\d+) passed, (\d+) failed(?:, (\d+) skipped)?$/gm)];
  if (counts.length === 0) return undefined;
  return counts.reduce(
    (sum, m) => ({ passed: sum.passed + Number(m[1]), failed: sum.failed + Number(m[2]), skipped: sum.skipped + Number(m[3] ?? 0), executables: sum.executables + 1 }),
    { passed: 0, failed: 0, skipped: 0, executables: 0 },
  );
}

let failed = false;
for (const build of builds) {
  const built =
    run(`${build.name} configure`, 'cmake', ['-S', native, '-B', build.dir, ...build.defines], { quiet: true }) &&
    run(`${build.name} build`, 'cmake', ['--build', build.dir, '-j2'], { quiet: true });
  // Each test executable is bounded; a hang fails the run instead of stalling CI.
  const ok = built && run(`${build.name} ctest`, 'ctest', ['--output-on-failure', '--timeout', '240'], { cwd: build.dir, env: build.env });
  // Only this run's ctest log counts: after a failed build the one on disk is an earlier run's.
  const cases = built ? caseCounts(build.dir) : undefined;
  if (cases) console.log(`[native] ${build.name}: C++ test cases of ${cases.executables} executables: ${cases.passed} passed, ${cases.failed} failed, ${cases.skipped} skipped`);
  results.push(`${build.name}: ${ok ? 'passed' : 'FAILED'}`);
  failed ||= !ok;
}
console.log(`[native] summary (${((Date.now() - started) / 1000).toFixed(1)}s): ${results.join(', ')}`);
process.exit(failed ? 1 : 0);
