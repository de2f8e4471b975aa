#!/usr/bin/env node
// Proves @dd/sys installs on its own: takes its tarball from `pnpm pack:all` (prepack builds the
// linux-x64 and linux-arm64 prebuilds), installs it with npm into a clean folder outside the workspace, and there
//   1. moves bytes between two engines through the installed package (prebuild, no compiler used),
//   2. rebuilds the library from the shipped sources with the shipped build script,
//   3. checks the build script's message when CMake is missing.
// Usage: node packages/sys/scripts/verify-packed.mjs [--packs <dir>] [--keep]
// Without --packs it runs scripts/pack-all.mjs into a temporary folder first.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packsFolder, tarballOf } from '../../../scripts/lib/packs.mjs';

const work = mkdtempSync(join(tmpdir(), 'dd-sys-packed-'));
const step = (text) => console.log(`[verify-packed] ${text}`);
const keep = process.argv.includes('--keep');

function run(command, args, options = {}) {
  const r = spawnSync(command, args, { encoding: 'utf8', ...options });
  if (r.status !== 0) {
    console.error(r.stdout, r.stderr);
    throw new Error(`${command} ${args.join(' ')} exited with ${r.status ?? r.signal}`);
  }
  return r;
}

try {
  const tarball = tarballOf(packsFolder(process.argv.slice(2)), '@dd/sys');
  step(`checking ${tarball}`);
  const listing = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' });
  for (const needed of ['package/prebuilds/linux-x64-host/libdd_llm_datadist.so', 'package/prebuilds/linux-arm64-host/libdd_llm_datadist.so', 'package/native/cmake/aarch64-linux-gnu.cmake', 'package/native/host/', 'package/native/completions/completion_queue.cc', 'package/native/generated/dd_shim.cc', 'package/native/headers/llm_datadist/llm_datadist.h', 'package/scripts/build-native.mjs']) {
    if (!listing.includes(needed)) throw new Error(`the tarball lacks ${needed}`);
  }

  const app = join(work, 'app');
  run('mkdir', ['-p', app]);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'dd-sys-consumer', private: true, type: 'module' }));
  step('npm install of the tarball into a clean folder');
  run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', tarball], { cwd: app, stdio: 'inherit' });

  writeFileSync(
    join(app, 'smoke.mjs'),
    `import { CachePlacement, DataType, LlmRole, loadNativeBindings } from '@dd/sys';
import { createServer } from 'node:net';
const port = await new Promise((r) => { const s = createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => r(p)); }); });
const b = loadNativeBindings();
const desc = { placement: CachePlacement.kHost, num_tensors: 2, data_type: DataType.DT_UINT8, shape: BigInt64Array.from([4n, 256n]) };
const engine = (id, role, options) => { const h = b.LlmDataDist_create(id, role).handle; if (b.LlmDataDist_Initialize(h, options) !== 0) throw new Error(b.lastError()); return h; };
const p = engine(0n, LlmRole.kPrompt, { 'llm.DeviceId': '0', 'llm.ListenIpInfo': '127.0.0.1:' + port });
const d = engine(1n, LlmRole.kDecoder, { 'llm.DeviceId': '0' });
const src = [new ArrayBuffer(1024), new ArrayBuffer(1024)]; src.forEach((m, t) => new Uint8Array(m).forEach((_, i, a) => { a[i] = (i * 7 + t) & 255; }));
const dst = [new ArrayBuffer(1024), new ArrayBuffer(1024)];
const reg = (h, mem) => b.LlmDataDist_RegisterKvCache(h, desc, BigUint64Array.from(mem.map((m) => b.addressOf(m)))).cache_id;
const pid = reg(p, src), did = reg(d, dst);
const link = await b.LlmDataDist_LinkLlmClustersAsync(d, [{ remote_cluster_id: 0n, remote_role_type: 0, local_ip_infos: [{ ip: '127.0.0.1', port: 0 }], remote_ip_infos: [{ ip: '127.0.0.1', port }] }], 2000);
if (link.status !== 0) throw new Error('link: ' + b.lastError());
const st = await b.LlmDataDist_PullKvBlocksAsync(d, { cluster_id: 0n, cache_id: pid, batch_index: 0 }, { cache_id: did, tensor_addrs: new BigUint64Array(0), cache_desc: desc }, BigUint64Array.from([0n, 1n, 2n, 3n]), BigUint64Array.from([3n, 2n, 1n, 0n]));
if (st !== 0) throw new Error('pull: ' + b.lastError());
for (let t = 0; t < 2; t++) for (let blk = 0; blk < 4; blk++) {
  const a = new Uint8Array(dst[t], blk * 256, 256), e = new Uint8Array(src[t], (3 - blk) * 256, 256);
  if (!a.every((v, i) => v === e[i])) throw new Error('bytes differ in tensor ' + t + ' block ' + blk);
}
b.LlmDataDist_Finalize(d); b.LlmDataDist_Finalize(p);
console.log('smoke: ' + b.backend.name + ' backend from ' + b.backend.library + ': 8 blocks pulled, bytes equal');
`,
  );
  step('pulling blocks between two engines through the installed package');
  const smoke = run(process.execPath, ['smoke.mjs'], { cwd: app });
  process.stdout.write(smoke.stdout);
  if (!/prebuilds\/linux-x64-host\/libdd_llm_datadist\.so/.test(smoke.stdout)) throw new Error('the installed package did not load its prebuild');

  const installed = join(app, 'node_modules', '@dd', 'sys');
  step('rebuilding from the shipped sources');
  run(process.execPath, [join(installed, 'scripts', 'build-native.mjs')], { cwd: app, stdio: 'inherit' });
  const rebuilt = run(process.execPath, ['smoke.mjs'], { cwd: app });
  process.stdout.write(rebuilt.stdout);
  if (!/native\/build\/host\/libdd_llm_datadist\.so/.test(rebuilt.stdout)) throw new Error('the source build was not preferred over the prebuild');

  step('the build script without CMake on PATH');
  const bin = join(work, 'bin-without-cmake');
  run('mkdir', ['-p', bin]);
  run('ln', ['-s', process.execPath, join(bin, 'node')]);
  const noCmake = spawnSync(process.execPath, [join(installed, 'scripts', 'build-native.mjs')], { encoding: 'utf8', env: { ...process.env, PATH: bin } });
  if (noCmake.status === 0 || !/cmake was not found\. Install a C\+\+17 toolchain first: apt-get install -y cmake g\+\+ make/.test(noCmake.stderr)) {
    throw new Error(`expected the missing-CMake message, got exit ${noCmake.status}: ${noCmake.stderr}`);
  }
  step(`missing CMake → ${noCmake.stderr.trim()}`);
  console.log('verify-packed: 3 passed, 0 failed');
} finally {
  if (!keep) rmSync(work, { recursive: true, force: true });
}
