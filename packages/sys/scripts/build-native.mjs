#!/usr/bin/env node
// Builds libdd_llm_datadist.so: the generated C ABI shim compiled with a backend.
//   --backend host   (default) our host backend, from the sources shipped in native/
//   --backend cann   CANN's libllm_datadist.so under $ASCEND_HOME_PATH; the shim is regenerated
//                    from CANN's own headers first (needs @dd/codegen)
//   --prebuild       also copy the result to prebuilds/<platform>-<arch>-<backend>/ (used by prepack)
//   --verbose        show CMake's and the compiler's output (also DD_VERBOSE=1); by default it is
//                    shown only when a command fails
// Output: native/build/<backend>/libdd_llm_datadist.so, which the loader finds on its own.
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const value = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
};
const backend = value('--backend', process.env.DD_BACKEND ?? 'host');
const jobs = value('--jobs', '2');
const verbose = flag('--verbose') || process.env.DD_VERBOSE === '1';

function fail(message) {
  console.error(`build-native: ${message}`);
  process.exit(1);
}

function have(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

function run(command, commandArgs) {
  const r = spawnSync(command, commandArgs, verbose ? { stdio: 'inherit' } : { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024 });
  if (r.error) fail(`${command} could not start: ${r.error.message}`);
  if (r.status !== 0) {
    if (!verbose) process.stderr.write(Buffer.concat([r.stdout, r.stderr]));
    fail(`${command} ${commandArgs.join(' ')} exited with ${r.status ?? r.signal}`);
  }
}

if (backend !== 'host' && backend !== 'cann') fail(`unknown backend '${backend}'; use --backend host or --backend cann`);
if (!have('cmake')) fail('cmake was not found. Install a C++17 toolchain first: apt-get install -y cmake g++ make');
if (!have('c++') && !have('g++')) fail('no C++ compiler was found. Install one first: apt-get install -y g++ cmake make');

const source = join(root, 'native');
const build = join(source, 'build', backend);
const cmakeArgs = ['-S', source, '-B', build, '-DCMAKE_BUILD_TYPE=Release', `-DDD_BACKEND=${backend}`];

// In the repository the headers live at ../../headers; the packed package carries a copy in native/headers.
const repoHeaders = resolve(root, '..', '..', 'headers');
if (existsSync(repoHeaders)) cmakeArgs.push(`-DDD_HEADERS_DIR=${repoHeaders}`);

if (backend === 'cann') {
  const ascend = process.env.ASCEND_HOME_PATH;
  if (!ascend) fail('--backend cann needs ASCEND_HOME_PATH (e.g. /usr/local/Ascend/ascend-toolkit/latest); source set_env.sh first');
  const needed = [
    join(ascend, 'include', 'llm_datadist', 'llm_datadist.h'),
    join(ascend, 'lib64', 'libllm_datadist.so'),
  ];
  const missing = needed.filter((p) => !existsSync(p));
  if (missing.length > 0) fail(`the CANN tree at ${ascend} is incomplete; missing:\n  ${missing.join('\n  ')}`);
  // An installed @dd/codegen, else the one of the dd repository this package sits in.
  let codegen = resolve(root, '..', '..', 'tools', 'codegen', 'bin', 'dd-codegen.mjs');
  try {
    codegen = join(dirname(fileURLToPath(import.meta.resolve('@dd/codegen/package.json'))), 'bin', 'dd-codegen.mjs');
  } catch {
    if (!existsSync(codegen)) fail('--backend cann regenerates the shim from CANN headers and needs @dd/codegen: npm install @dd/codegen');
  }
  const shimDir = join(build, 'generated');
  rmSync(shimDir, { recursive: true, force: true });
  run(process.execPath, [codegen, '--headers', join(ascend, 'include'), '--out', shimDir]);
  cmakeArgs.push(`-DDD_SHIM_DIR=${join(shimDir, 'native')}`, `-DDD_HEADERS_DIR=${join(ascend, 'include')}`, `-DASCEND_HOME_PATH=${ascend}`);
}

mkdirSync(build, { recursive: true });
console.log(`build-native: ${backend} backend → ${build}`);
run('cmake', cmakeArgs);
run('cmake', ['--build', build, '--target', 'dd_llm_datadist', '-j', jobs]);
const library = join(build, 'libdd_llm_datadist.so');
if (!existsSync(library)) fail(`the build finished but ${library} is missing`);

if (flag('--prebuild')) {
  const target = join(root, 'prebuilds', `${process.platform}-${process.arch}-${backend}`);
  mkdirSync(target, { recursive: true });
  copyFileSync(library, join(target, 'libdd_llm_datadist.so'));
  if (existsSync(repoHeaders)) cpSync(repoHeaders, join(source, 'headers'), { recursive: true });
  console.log(`build-native: prebuild in ${target}`);
}
console.log(`build-native: ${library}`);
