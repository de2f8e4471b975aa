#!/usr/bin/env node
// Builds libdd_llm_datadist.so: the generated C ABI shim compiled with a backend.
//   --backend host   (default) our host backend, from the sources shipped in native/
//   --backend cann   CANN's libllm_datadist.so and libascendcl.so under $ASCEND_HOME_PATH; the shim is regenerated
//                    from CANN's own headers first (needs @dd/codegen, run with --strict)
//   --include <dir>  (cann) one more include folder for the codegen and the compiler (repeatable)
//   --config <file>  (cann) a codegen config merged over tools/codegen/codegen.config.json
//   --arch arm64     cross-compile for linux-arm64 with Debian's g++-aarch64-linux-gnu (from x64);
//                    default: the arch of this Node (a build from source works on either)
//   --prebuild       also copy the result to prebuilds/linux-<arch>-<backend>/ (used by prepack)
//   --verbose        show CMake's and the compiler's output (also DD_VERBOSE=1); by default it is
//                    shown only when a command fails
// Output: native/build/<backend>/libdd_llm_datadist.so (native/build/<backend>-<arch>/ when
// cross-compiling), which the loader finds on its own.
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
const values = (name) => args.flatMap((a, i) => (a === name && args[i + 1] ? [resolve(args[i + 1])] : []));
const backend = value('--backend', process.env.DD_BACKEND ?? 'host');
const jobs = value('--jobs', '2');
const arch = value('--arch', process.arch);
// Cross toolchains by target arch: the CMake toolchain file and the compiler it names.
const crossToolchains = { arm64: { file: 'aarch64-linux-gnu.cmake', compiler: 'aarch64-linux-gnu-g++', apt: 'g++-aarch64-linux-gnu' } };
const cross = arch === process.arch ? undefined : crossToolchains[arch];
const verbose = flag('--verbose') || process.env.DD_VERBOSE === '1';

const USAGE = `Usage: node packages/sys/scripts/build-native.mjs [--backend host|cann] [--include <dir>]… [--config <file>] [--jobs <n>] [--arch arm64] [--prebuild] [--verbose]

Builds native/build/<backend>/libdd_llm_datadist.so: the generated C ABI shim with a backend.
  --backend host    our host backend (default; also DD_BACKEND)
  --backend cann    CANN's $ASCEND_HOME_PATH/lib64/libllm_datadist.so and libascendcl.so; the shim is regenerated first,
                    strictly, from $ASCEND_HOME_PATH/include with include/external (and
                    $ASCEND_HOME_PATH/pkg_inc when present) as include folders
  --include <dir>   (cann) one more include folder for the codegen and the compiler (repeatable)
  --config <file>   (cann) codegen config merged over tools/codegen/codegen.config.json
  --jobs <n>        parallel compile jobs (default 2)
  --arch arm64      cross-compile for linux-arm64 (g++-aarch64-linux-gnu) into native/build/<backend>-arm64/
  --prebuild        also copy the library to prebuilds/linux-<arch>-<backend>/
  --verbose         show CMake's and the compiler's output as it runs (also DD_VERBOSE=1); by default
                    it is shown only when a command fails
  --help            this text
docs/cann-backend.md and docs/regenerating.md describe the CANN path.`;

/** One line: what went wrong and what to do about it. */
function fail(message, fix) {
  console.error(`build-native: error: ${message}${fix ? ` Fix: ${fix}` : ''}`);
  process.exit(1);
}

if (flag('--help') || flag('-h')) {
  console.log(USAGE);
  process.exit(0);
}
const known = new Set(['--backend', '--jobs', '--include', '--config', '--arch', '--prebuild', '--verbose']);
for (let i = 0; i < args.length; i++) {
  if (!known.has(args[i])) fail(`unknown option ${args[i]}.`, 'see `node packages/sys/scripts/build-native.mjs --help`.');
  if (args[i] !== '--prebuild' && args[i] !== '--verbose') i++;
}

function have(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

function run(command, commandArgs) {
  const r = spawnSync(command, commandArgs, verbose ? { stdio: 'inherit' } : { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024 });
  if (r.error) fail(`${command} could not start: ${r.error.message}.`, `install ${command}: apt-get install -y cmake g++ make`);
  if (r.status !== 0) {
    if (!verbose) process.stderr.write(Buffer.concat([r.stdout, r.stderr]));
    fail(`${command} ${commandArgs.join(' ')} exited with ${r.status ?? r.signal}.`, 'the output above names the first problem.');
  }
}

if (backend !== 'host' && backend !== 'cann') fail(`unknown backend '${backend}'.`, 'use --backend host or --backend cann.');
if (backend !== 'cann' && (flag('--include') || flag('--config'))) fail('--include and --config apply to --backend cann only.', 'add --backend cann, or leave them out.');
if (!have('cmake')) fail('cmake was not found. Install a C++17 toolchain first: apt-get install -y cmake g++ make libssl-dev');
if (!have('c++') && !have('g++')) fail('no C++ compiler was found. Install one first: apt-get install -y g++ cmake make libssl-dev');
if (arch !== process.arch && cross === undefined) {
  fail(`cannot build for ${arch} on ${process.arch}.`, `cross builds go from x64 to ${Object.keys(crossToolchains).join(', ')}; build from source on a ${arch} machine instead.`);
}
if (cross !== undefined && !have(cross.compiler)) fail(`${cross.compiler} was not found.`, `apt-get install -y ${cross.apt}`);
if (cross !== undefined && backend === 'cann') fail('--backend cann cannot be cross-compiled.', 'run it on the Ascend host itself, against its CANN toolkit.');

const source = join(root, 'native');
const build = join(source, 'build', cross === undefined ? backend : `${backend}-${arch}`);
const cmakeArgs = ['-S', source, '-B', build, '-DCMAKE_BUILD_TYPE=Release', `-DDD_BACKEND=${backend}`];
if (cross !== undefined) cmakeArgs.push(`-DCMAKE_TOOLCHAIN_FILE=${join(source, 'cmake', cross.file)}`);

// In the repository the headers live at ../../headers; the packed package carries a copy in native/headers.
const repoHeaders = resolve(root, '..', '..', 'headers');
if (existsSync(repoHeaders)) cmakeArgs.push(`-DDD_HEADERS_DIR=${repoHeaders}`);

if (backend === 'cann') {
  const ascend = process.env.ASCEND_HOME_PATH;
  if (!ascend) fail('--backend cann needs ASCEND_HOME_PATH.', 'load the toolkit environment first: source /usr/local/Ascend/ascend-toolkit/set_env.sh');
  const needed = [
    join(ascend, 'include', 'llm_datadist', 'llm_datadist.h'),
    join(ascend, 'include', 'acl', 'acl_rt.h'),
    join(ascend, 'lib64', 'libllm_datadist.so'),
    join(ascend, 'lib64', 'libascendcl.so'),
  ];
  const missing = needed.filter((p) => !existsSync(p));
  if (missing.length > 0) fail(`the CANN tree at ${ascend} is incomplete; missing: ${missing.join(', ')}.`, 'point ASCEND_HOME_PATH at a toolkit with the LLM-DataDist package installed (its set_env.sh sets it).');
  const config = value('--config', undefined);
  if (config !== undefined && !existsSync(config)) fail(`the codegen config ${resolve(config)} does not exist.`, 'pass an existing JSON file to --config.');
  // A toolkit keeps CANN's own ge/graph headers under include/external (and pkg_inc): the codegen
  // and the compiler both need them, in the same order.
  const includeDirs = [join(ascend, 'include', 'external'), join(ascend, 'pkg_inc')].filter((d) => existsSync(d)).concat(values('--include'));
  // dd's own ABI additions (dd/link_health.h) are in no toolkit: their folder holds only them and is
  // searched last, so no CANN header is ever taken from dd's copies.
  includeDirs.push(join(existsSync(repoHeaders) ? repoHeaders : join(source, 'headers'), 'extensions'));
  // An installed @dd/codegen, else the one of the dd repository this package sits in.
  let codegen = resolve(root, '..', '..', 'tools', 'codegen', 'bin', 'dd-codegen.mjs');
  try {
    codegen = join(dirname(fileURLToPath(import.meta.resolve('@dd/codegen/package.json'))), 'bin', 'dd-codegen.mjs');
  } catch {
    if (!existsSync(codegen)) fail('--backend cann regenerates the shim from CANN headers and needs @dd/codegen.', 'npm install @dd/codegen');
  }
  const shimDir = join(build, 'generated');
  rmSync(shimDir, { recursive: true, force: true });
  const codegenArgs = ['--headers', join(ascend, 'include'), '--out', shimDir, '--strict', ...includeDirs.flatMap((d) => ['--include', d])];
  if (config !== undefined) codegenArgs.push('--config', resolve(config));
  // The codegen's own last line says what failed and how to fix it; nothing is added to it.
  const generated = spawnSync(process.execPath, [codegen, ...codegenArgs], { stdio: 'inherit' });
  if (generated.status !== 0) process.exit(1);
  cmakeArgs.push(
    `-DDD_SHIM_DIR=${join(shimDir, 'native')}`,
    `-DDD_HEADERS_DIR=${join(ascend, 'include')}`,
    `-DDD_EXTRA_INCLUDE_DIRS=${includeDirs.join(';')}`,
    `-DASCEND_HOME_PATH=${ascend}`,
  );
}

mkdirSync(build, { recursive: true });
console.log(`build-native: ${backend} backend for linux-${arch} → ${build}`);
run('cmake', cmakeArgs);
run('cmake', ['--build', build, '--target', 'dd_llm_datadist', '-j', jobs]);
const library = join(build, 'libdd_llm_datadist.so');
if (!existsSync(library)) fail(`the build finished but ${library} is missing.`, 'remove packages/sys/native/build and build again.');

if (flag('--prebuild')) {
  const target = join(root, 'prebuilds', `linux-${arch}-${backend}`);
  mkdirSync(target, { recursive: true });
  copyFileSync(library, join(target, 'libdd_llm_datadist.so'));
  if (existsSync(repoHeaders)) cpSync(repoHeaders, join(source, 'headers'), { recursive: true });
  console.log(`build-native: prebuild in ${target}`);
}
console.log(`build-native: ${library}`);
