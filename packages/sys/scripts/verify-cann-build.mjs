#!/usr/bin/env node
// Exercises the CANN build path without Ascend hardware: a stand-in toolkit tree whose include/
// is the vendor-shaped fixture tree of @dd/codegen (status codes through a macro, CANN's ge/graph
// headers under include/ and include/external, the ACL headers under include/acl) and whose lib64/
// holds our host backend built as plain shared libraries: libascendcl.so (the ACL memory functions)
// and libllm_datadist.so (the engine, which needs libascendcl.so as CANN's does).
// `build-native.mjs --backend cann` must regenerate the shim from that tree (strictly, with
// include/external and any --include), compile it with the same folders, link it against both
// libraries, and the loader must then run it as the 'cann' backend: device memory from the ACL
// library, written, registered as kDevice, read back. It also checks --help and the one-line
// messages for a missing, incomplete or half-configured toolkit.
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
  expectFailure({ ASCEND_HOME_PATH: toolkit }, /is incomplete; missing:.*llm_datadist\.h.*acl_rt\.h.*libllm_datadist\.so.*libascendcl\.so/, 'empty toolkit');

  say('building the stand-in libascendcl.so and libllm_datadist.so from the host backend');
  const hostArchive = join(root, 'native', 'build', 'host', 'libdd_host_backend.a');
  // Always rebuilt: an archive from older sources would make a stand-in of another ABI.
  execFileSync(process.execPath, [buildScript, '--backend', 'host'], { stdio: 'inherit' });
  const lib64 = join(toolkit, 'lib64');
  const objects = join(toolkit, 'objects');
  mkdirSync(lib64, { recursive: true });
  mkdirSync(objects, { recursive: true });
  cpSync(resolve(root, '..', '..', 'tools', 'codegen', 'test', 'fixtures', 'vendor-toolkit', 'include'), join(toolkit, 'include'), { recursive: true });
  execFileSync('ar', ['x', hostArchive], { cwd: objects });
  const members = execFileSync('ar', ['t', hostArchive], { encoding: 'utf8' }).trim().split('\n');
  // The ACL runtime alone; the engine without it, linked to it as CANN's engine is.
  const aclMembers = ['acl_runtime.cc.o', 'device_memory.cc.o', 'error_detail.cc.o'];
  execFileSync('g++', ['-shared', '-o', join(lib64, 'libascendcl.so'), ...aclMembers.map((m) => join(objects, m)), '-pthread']);
  const engineMembers = members.filter((m) => m !== 'acl_runtime.cc.o');
  execFileSync('g++', ['-shared', '-o', join(lib64, 'libllm_datadist.so'), ...engineMembers.map((m) => join(objects, m)), `-L${lib64}`, '-lascendcl', '-Wl,-rpath,$ORIGIN', '-pthread']);
  const exported = (lib) => execFileSync('nm', ['-D', '--defined-only', join(lib64, lib)], { encoding: 'utf8' });
  if (!/ T aclrtMalloc$/m.test(exported('libascendcl.so')) || / T aclrtMalloc$/m.test(exported('libllm_datadist.so'))) {
    throw new Error('the stand-in ACL functions must come from libascendcl.so only');
  }
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

  const needed = execFileSync('readelf', ['-d', join(root, 'native', 'build', 'cann', 'libdd_llm_datadist.so')], { encoding: 'utf8' });
  if (!/\[libllm_datadist\.so\]/.test(needed) || !/\[libascendcl\.so\]/.test(needed)) throw new Error(`the cann build must need libllm_datadist.so and libascendcl.so:\n${needed}`);
  say('the cann library needs libllm_datadist.so and libascendcl.so');
  passed += 1;

  const probe = `
    import { AclStatusCode, CachePlacement, LlmRole, aclrtMemcpyKind, aclrtMemMallocPolicy, loadNativeBindings } from '@dd/sys';
    const b = loadNativeBindings({ backend: 'cann' });
    const { handle } = b.LlmDataDist_create(3n, LlmRole.kDecoder);
    const desc = (placement) => ({ placement, num_tensors: 1, data_type: 4, shape: BigInt64Array.from([64n]) });
    const before = b.LlmDataDist_RegisterKvCache(handle, desc(CachePlacement.kHost), BigUint64Array.from([b.addressOf(new ArrayBuffer(64))]));
    const init = b.LlmDataDist_Initialize(handle, { 'llm.DeviceId': '0' });
    // The flow of docs/cann-backend.md: aclInit, aclrtSetDevice, aclrtMalloc, write, register kDevice, read back, free.
    const acl = [b.aclInit(null), b.aclrtSetDevice(0)];
    const { status: malloc, devPtr } = b.aclrtMalloc(64n, aclrtMemMallocPolicy.ACL_MEM_MALLOC_HUGE_ONLY);
    const bytes = Uint8Array.from({ length: 64 }, (_x, i) => i * 3);
    acl.push(malloc, b.aclrtMemcpy(devPtr, 64n, b.addressOf(bytes), 64n, aclrtMemcpyKind.ACL_MEMCPY_HOST_TO_DEVICE));
    const device = b.LlmDataDist_RegisterKvCache(handle, desc(CachePlacement.kDevice), BigUint64Array.of(devPtr));
    const host = b.LlmDataDist_RegisterKvCache(handle, desc(CachePlacement.kDevice), BigUint64Array.from([b.addressOf(bytes)]));
    const back = new Uint8Array(64);
    acl.push(b.aclrtMemcpy(b.addressOf(back), 64n, devPtr, 64n, aclrtMemcpyKind.ACL_MEMCPY_DEVICE_TO_HOST));
    acl.push(b.LlmDataDist_UnregisterKvCache(handle, device.cache_id), b.aclrtFree(devPtr), b.aclrtResetDevice(0));
    const refused = b.aclrtFree(devPtr);
    const lastError = b.lastError();
    const linkHealth = b.ddLinkStates(handle, 0n, 0n, 0n);
    b.LlmDataDist_Finalize(handle);
    b.LlmDataDist_destroy(handle);
    console.log(JSON.stringify({ backend: b.backend.name, library: b.backend.library, before: before.status, init, acl, device: device.status, host: host.status, same: back.every((x, i) => x === bytes[i]), refused, lastError, linkHealth }));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', probe], { cwd: root, encoding: 'utf8' });
  const seen = JSON.parse(out.trim().split('\n').pop());
  if (seen.backend !== 'cann' || !seen.library.endsWith('native/build/cann/libdd_llm_datadist.so') || seen.before !== 0xffffffff || seen.init !== 0 || seen.linkHealth !== 0x5010b019) {
    throw new Error(`the cann build did not behave: ${out}`);
  }
  say(`loaded ${seen.library} as backend '${seen.backend}'; a call before Initialize gave LLM_FAILED, Initialize gave 0, ddLinkStates gave LLM_FEATURE_NOT_ENABLED (the shim's own answer, not the stand-in's)`);
  passed += 1;
  // ACL from libascendcl.so: every call succeeded, kDevice took the aclrtMalloc memory and refused JS memory (A22), the bytes came back, a second free is refused.
  if (seen.acl.some((s) => s !== 0) || seen.device !== 0 || seen.host !== 0xffffffff || !seen.same || seen.refused !== 107000 || !seen.lastError.startsWith('aclrtFree: ACL_ERROR_RT_PARAM_INVALID')) {
    throw new Error(`the ACL path of the cann build did not behave: ${out}`);
  }
  say(`ACL through libascendcl.so: aclInit → aclrtSetDevice → aclrtMalloc → write → RegisterKvCache(kDevice) → read back → free; JS memory as kDevice is LLM_FAILED; a second aclrtFree is ${seen.lastError}`);
  passed += 1;
  console.log(`verify-cann: ${passed} passed, 0 failed`);
} finally {
  rmSync(toolkit, { recursive: true, force: true });
  // The library just built links to the stand-in toolkit, which is gone now: leave no unloadable build behind.
  rmSync(join(root, 'native', 'build', 'cann'), { recursive: true, force: true });
}
