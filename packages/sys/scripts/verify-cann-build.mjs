#!/usr/bin/env node
// Exercises the CANN build path without Ascend hardware: a stand-in toolkit tree whose
// include/ holds the API headers and whose lib64/libllm_datadist.so is our host backend built as
// a plain shared library. `build-native.mjs --backend cann` must regenerate the shim from that
// tree, link it against that library, and the loader must then run it as the 'cann' backend.
// It also checks the messages for a missing or incomplete toolkit tree.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const buildScript = join(root, 'scripts', 'build-native.mjs');
const toolkit = mkdtempSync(join(tmpdir(), 'dd-fake-ascend-'));
const say = (text) => console.log(`[verify-cann] ${text}`);
let passed = 0;

function expectFailure(env, pattern, what) {
  const r = spawnSync(process.execPath, [buildScript, '--backend', 'cann'], { encoding: 'utf8', env: { ...process.env, ...env } });
  if (r.status === 0 || !pattern.test(r.stderr)) throw new Error(`${what}: expected ${pattern}, got exit ${r.status}: ${r.stderr}`);
  say(`${what} → ${r.stderr.trim().split('\n')[0]}`);
  passed += 1;
}

try {
  const env = { ...process.env };
  delete env.ASCEND_HOME_PATH;
  expectFailure({ ASCEND_HOME_PATH: '' }, /needs ASCEND_HOME_PATH/, 'no toolkit');
  expectFailure({ ASCEND_HOME_PATH: toolkit }, /is incomplete; missing:[\s\S]*llm_datadist\.h[\s\S]*libllm_datadist\.so/, 'empty toolkit');

  say('building the stand-in libllm_datadist.so from the host backend');
  const hostArchive = join(root, 'native', 'build', 'host', 'libdd_host_backend.a');
  if (!existsSync(hostArchive)) execFileSync(process.execPath, [buildScript, '--backend', 'host'], { stdio: 'inherit' });
  mkdirSync(join(toolkit, 'lib64'), { recursive: true });
  cpSync(resolve(root, '..', '..', 'headers'), join(toolkit, 'include'), { recursive: true });
  execFileSync('g++', ['-shared', '-o', join(toolkit, 'lib64', 'libllm_datadist.so'), '-Wl,--whole-archive', hostArchive, '-Wl,--no-whole-archive', '-pthread']);

  say('build-native --backend cann against the stand-in toolkit');
  execFileSync(process.execPath, [buildScript, '--backend', 'cann'], { stdio: 'inherit', env: { ...process.env, ASCEND_HOME_PATH: toolkit } });
  const shim = join(root, 'native', 'build', 'cann', 'generated', 'native', 'dd_shim.cc');
  if (!existsSync(shim)) throw new Error(`the shim was not regenerated from the toolkit headers (${shim})`);
  passed += 1;

  const probe = `
    import { LlmRole, loadNativeBindings } from '@dd/sys';
    const b = loadNativeBindings({ backend: 'cann' });
    const { handle } = b.LlmDataDist_create(3n, LlmRole.kDecoder);
    const before = b.LlmDataDist_RegisterKvCache(handle, { placement: 0, num_tensors: 1, data_type: 4, shape: BigInt64Array.from([1n]) }, BigUint64Array.from([b.addressOf(new ArrayBuffer(8))]));
    const init = b.LlmDataDist_Initialize(handle, { 'llm.DeviceId': '0' });
    b.LlmDataDist_Finalize(handle);
    b.LlmDataDist_destroy(handle);
    console.log(JSON.stringify({ backend: b.backend.name, library: b.backend.library, before: before.status, init }));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', probe], { cwd: root, encoding: 'utf8' });
  const seen = JSON.parse(out.trim().split('\n').pop());
  if (seen.backend !== 'cann' || !seen.library.endsWith('native/build/cann/libdd_llm_datadist.so') || seen.before !== 0xffffffff || seen.init !== 0) {
    throw new Error(`the cann build did not behave: ${out}`);
  }
  say(`loaded ${seen.library} as backend '${seen.backend}'; a call before Initialize gave LLM_FAILED, Initialize gave 0`);
  passed += 1;
  console.log(`verify-cann: ${passed} passed, 0 failed`);
} finally {
  rmSync(toolkit, { recursive: true, force: true });
  // The library just built links to the stand-in toolkit, which is gone now: leave no unloadable build behind.
  rmSync(join(root, 'native', 'build', 'cann'), { recursive: true, force: true });
}
