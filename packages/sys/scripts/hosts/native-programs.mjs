// The tier's two programs, built in the Release build folder `pnpm build` configures
// (native/build/host): dd_host_node and dd_delay_stage (which needs libnetfilter-queue-dev).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const nativeDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'native');
const repoHeaders = resolve(nativeDir, '..', '..', '..', 'headers');
const buildDir = join(nativeDir, 'build', 'host');

function run(args) {
  const r = spawnSync('cmake', args, { encoding: 'utf8' });
  if (r.error) throw new Error(`cmake could not start: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`cmake ${args.join(' ')} failed:\n${(r.stdout + r.stderr).trim().slice(-3000)}`);
}

/** Builds both programs (incrementally) and returns their paths. */
export function buildPrograms() {
  const configure = ['-S', nativeDir, '-B', buildDir, '-DCMAKE_BUILD_TYPE=Release', '-DDD_BACKEND=host'];
  if (existsSync(repoHeaders)) configure.push(`-DDD_HEADERS_DIR=${repoHeaders}`);
  run(configure);
  const cache = readFileSync(join(buildDir, 'CMakeCache.txt'), 'utf8');
  if (/^DD_NFQUEUE_(LIB|INCLUDE):[A-Z]+=.*NOTFOUND$/m.test(cache)) {
    throw new Error('libnetfilter_queue was not found, so dd_delay_stage cannot be built: apt-get install -y libnetfilter-queue-dev');
  }
  run(['--build', buildDir, '--target', 'dd_host_node', 'dd_delay_stage', '-j', '2']);
  return { hostNode: join(buildDir, 'hosts', 'dd_host_node'), stage: join(buildDir, 'hosts', 'dd_delay_stage') };
}
