// dd_bench, the C++ benchmark of the host backend (packages/sys/native/bench): where it is and how
// it is brought up to date.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './packages.mjs';

const nativeDir = join(repoRoot, 'packages', 'sys', 'native');
const buildDir = join(nativeDir, 'build', 'host');

function run(command, args, env) {
  const r = spawnSync(command, args, { cwd: repoRoot, env, stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.error) throw new Error(`${command} could not start: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${r.status ?? r.signal}`);
}

/**
 * The dd_bench binary of the host build, built first: CMake configures the same build folder
 * `pnpm build` uses (a no-op when it is current), then builds the dd_bench target incrementally.
 */
export function findNativeBench({ env, log }) {
  log(`cmake --build ${buildDir} --target dd_bench -j 2`);
  run('cmake', ['-S', nativeDir, '-B', buildDir, '-DCMAKE_BUILD_TYPE=Release', '-DDD_BACKEND=host', `-DDD_HEADERS_DIR=${join(repoRoot, 'headers')}`], env);
  run('cmake', ['--build', buildDir, '--target', 'dd_bench', '-j', '2'], env);
  const binary = join(buildDir, 'bench', 'dd_bench');
  if (!existsSync(binary)) throw new Error(`the dd_bench target built, but ${binary} is missing`);
  return binary;
}

/** What dd_bench --direct-only adds to the report: its C++-direct pulls and their raw baselines. */
export function isDirectPullFigure(result) {
  return /^(direct C\+\+ pull same-host|raw process_vm_readv) 64KiB x\d+ ns\/op$/.test(result.name);
}

/**
 * dd_bench measures each transfer against the raw system call it is built on; the issue also asks
 * how far that is from a plain memcpy of the same blocks. These entries restate each same-host
 * GB/s figure against dd_bench's memcpy figure of the same block size and batch.
 */
export function versusMemcpy(results) {
  const names = new Set(results.map((r) => r.name));
  return results.flatMap((r) => {
    const match = /^(pull|push) same-host (\S+ x\d+) GB\/s$/.exec(r.name);
    const memcpy = match === null ? undefined : `memcpy ${match[2]} GB/s`;
    return memcpy !== undefined && names.has(memcpy) ? [{ name: `${r.name} vs memcpy`, value: r.value, unit: r.unit, baseline: memcpy }] : [];
  });
}
