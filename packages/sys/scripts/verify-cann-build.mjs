#!/usr/bin/env node
// Exercises the CANN build path without Ascend hardware: a stand-in toolkit tree whose include/
// is the vendor-shaped fixture tree of @dd/codegen (status codes through a macro, CANN's ge/graph
// headers under include/ and include/external) and whose lib64/libllm_datadist.so is our host
// backend built as a plain shared library. `build-native.mjs --backend cann` must regenerate the
// shim from that tree (strictly, with include/external and any --include), compile it with the
// same folders, link it against that library, and the loader must then run it as the 'cann'
// backend. It also checks --help and the one-line messages for a missing, incomplete or
// half-configured toolkit.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const buildScript = join(root, 'scripts', 'build-native.mjs');
const toolkit = mkdtempSync(join(tmpdir(), 'dd-fake-ascend-'));
const say = (text) => console.log(`[verify-cann] ${text}`);
let passed = 0;

function expectFailure(env, pattern, what, extraArgs = []) {
  const r = spawnSync(process.execPath, [buildScript, '--backend', 'cann', ...extraArgs], { encoding: 'utf8', env: { ...process.env, ...env } });
  const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('dd-codegen: dist/'));
  if (r.status === 0 || lines.length !== 1 || !pattern.test(lines[0]) || !lines[0].includes(' Fix: ')) {
    throw new Error(`${what}: expected one line matching ${pattern} with a fix, got exit ${r.status}: ${r.stderr}`);
  }
  say(`${what} → ${lines[0]}`);
  passed += 1;
}

try {
  const env = { ...process.env };
  delete env.ASCEND_HOME_PATH;
  const usage = spawnSync(process.execPath, [buildScript, '--help'], { encoding: 'utf8' });
  if (usage.status !== 0 || !usage.stdout.includes('--include <dir>') || !usage.stdout.includes('--config <file>')) throw new Error(`--help: ${usage.stdout}${usage.stderr}`);
  say('--help lists --backend, --include and --config');
  passed += 1;
  expectFailure({ ASCEND_HOME_PATH: '' }, /needs ASCEND_HOME_PATH/, 'no toolkit');
  expectFailure({ ASCEND_HOME_PATH: toolkit }, /is incomplete; missing:.*llm_datadist\.h.*libllm_datadist\.so/, 'empty toolkit');

  say('building the stand-in libllm_datadist.so from the host backend');
  const hostArchive = join(root, 'native', 'build', 'host', 'libdd_host_backend.a');
  if (!existsSync(hostArchive)) execFileSync(process.execPath, [buildScript, '--backend', 'host'], { stdio: 'inherit' });
  mkdirSync(join(toolkit, 'lib64'), { recursive: true });
  cpSync(resolve(root, '..', '..', 'tools', 'codegen', 'test', 'fixtures', 'vendor-toolkit', 'include'), join(toolkit, 'include'), { recursive: true });
  execFileSync('g++', ['-shared', '-o', join(toolkit, 'lib64', 'libllm_datadist.so'), '-Wl,--whole-archive', hostArchive, '-Wl,--no-whole-archive', '-pthread']);
  // One header of the tree lives in a folder only --include names, as in a toolkit with extra packages.
  const extra = join(toolkit, 'extra-include');
  mkdirSync(join(extra, 'graph'), { recursive: true });
  renameSync(join(toolkit, 'include', 'external', 'graph', 'ascend_string.h'), join(extra, 'graph', 'ascend_string.h'));
  const withToolkit = { ASCEND_HOME_PATH: toolkit };
  expectFailure(withToolkit, /^dd-codegen: error: .*"#include "graph\/ascend_string\.h"" is not classified: an include that no include folder has/, 'a header only --include has, without it');
  writeFileSync(join(toolkit, 'codegen.json'), '{ "entryHeaderz": [] }\n');
  expectFailure(withToolkit, /^dd-codegen: error: .*codegen\.json:1: unknown config key "entryHeaderz"\./, 'a --config, passed through to the codegen', ['--config', join(toolkit, 'codegen.json')]);

  say('build-native --backend cann --include <extra> against the stand-in toolkit');
  execFileSync(process.execPath, [buildScript, '--backend', 'cann', '--include', extra], { stdio: 'inherit', env: { ...process.env, ...withToolkit } });
  const shim = join(root, 'native', 'build', 'cann', 'generated', 'native', 'dd_shim.cc');
  if (!existsSync(shim)) throw new Error(`the shim was not regenerated from the toolkit headers (${shim})`);
  passed += 1;

  const probe = `
    import { LlmRole, loadNativeBindings } from '@dd/sys';
    const b = loadNativeBindings({ backend: 'cann' });
    const { handle } = b.LlmDataDist_create(3n, LlmRole.kDecoder);
    const before = b.LlmDataDist_RegisterKvCache(handle, { placement: 0, num_tensors: 1, data_type: 4, shape: BigInt64Array.from([1n]) }, BigUint64Array.from([b.addressOf(new ArrayBuffer(8))]));
    const init = b.LlmDataDist_Initialize(handle, { 'llm.DeviceId': '0' });
    const linkHealth = b.ddLinkStates(handle, 0n, 0n, 0n);
    b.LlmDataDist_Finalize(handle);
    b.LlmDataDist_destroy(handle);
    console.log(JSON.stringify({ backend: b.backend.name, library: b.backend.library, before: before.status, init, linkHealth }));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', probe], { cwd: root, encoding: 'utf8' });
  const seen = JSON.parse(out.trim().split('\n').pop());
  if (seen.backend !== 'cann' || !seen.library.endsWith('native/build/cann/libdd_llm_datadist.so') || seen.before !== 0xffffffff || seen.init !== 0 || seen.linkHealth !== 0x5010b019) {
    throw new Error(`the cann build did not behave: ${out}`);
  }
  say(`loaded ${seen.library} as backend '${seen.backend}'; a call before Initialize gave LLM_FAILED, Initialize gave 0, ddLinkStates gave LLM_FEATURE_NOT_ENABLED (the shim's own answer, not the stand-in's)`);
  passed += 1;
  console.log(`verify-cann: ${passed} passed, 0 failed`);
} finally {
  rmSync(toolkit, { recursive: true, force: true });
  // The library just built links to the stand-in toolkit, which is gone now: leave no unloadable build behind.
  rmSync(join(root, 'native', 'build', 'cann'), { recursive: true, force: true });
}
