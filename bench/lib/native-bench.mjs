// dd_bench, the C++ benchmark of the host backend (packages/sys/native/bench): where it is, how it
// is (re)built, and the direct C++ pulls the FFI section compares against.
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
 * The dd_bench binary of the host build, brought up to date first (an incremental CMake build:
 * nothing to do when the sources did not change; configured here if `pnpm build` has not run).
 */
export function findNativeBench({ env, log }) {
  if (!existsSync(join(buildDir, 'CMakeCache.txt'))) {
    log(`configuring ${buildDir}`);
    run('cmake', ['-S', nativeDir, '-B', buildDir, '-DCMAKE_BUILD_TYPE=Release', '-DDD_BACKEND=host', `-DDD_HEADERS_DIR=${join(repoRoot, 'headers')}`], env);
  }
  log('cmake --build … --target dd_bench (-j 2)');
  run('cmake', ['--build', buildDir, '--target', 'dd_bench', '-j', '2'], env);
  const binary = [join(buildDir, 'bench', 'dd_bench'), join(buildDir, 'dd_bench')].find((p) => existsSync(p));
  if (binary === undefined) throw new Error(`the dd_bench target built, but no dd_bench binary is in ${buildDir} or ${join(buildDir, 'bench')}`);
  return binary;
}

/**
 * The C++ backend's own pull latency for the FFI section's two shapes, from dd_bench's results of
 * the same run (its direct-call mode: PullKvBlocks called from C++, same host, 64 KiB blocks).
 */
export function directPullBaseline(results) {
  const find = (pattern) => {
    const hit = results.find((r) => pattern.test(r.name) && (r.unit === 'µs' || r.unit === 'us'));
    if (hit === undefined) {
      throw new Error(`dd_bench reported no result matching ${pattern} (µs); it reported: ${results.map((r) => r.name).join('; ') || 'nothing'}`);
    }
    return hit.value;
  };
  return { oneBlockUs: find(DIRECT_ONE_BLOCK), manyBlocksUs: find(DIRECT_64_BLOCKS) };
}

const DIRECT_ONE_BLOCK = /direct.*\b1\s*[×x]\s*64\s*KiB/i;
const DIRECT_64_BLOCKS = /direct.*\b64\s*[×x]\s*64\s*KiB/i;
