#!/usr/bin/env node
// What docs/getting-started.md tells a stranger, done in an empty folder outside the repository:
//   1. `npm init -y`, then `npm install` of the @dd/sys, @dd/core and @dd/testing tarballs in one
//      command; every @dd package must come from a tarball, none from a registry;
//   2. the doc's plain-JS program runs on the installed packages (native host backend, from the
//      prebuild) and prints the output the doc shows;
//   3. the example of each installed package's README prints what that README shows, and the
//      packages load with require() from CommonJS too;
//   4. the plain-JavaScript form of docs/core.md's hand-over runs over the native host backend and
//      over the fake of the installed @dd/testing;
//   5. the doc's TypeScript program (`await using`) compiles with the doc's tsconfig and prints the
//      same on this Node.js;
//   6. the installed @dd/codegen regenerates, from the headers @dd/sys ships, the very shim @dd/sys
//      ships (what a CANN build does with CANN's headers).
// Usage: node scripts/test-outside-project.mjs [--packs <dir>] [--keep]
// Without --packs it runs pack-all into a temporary folder first.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { markedBlock } from './lib/doc-blocks.mjs';
import { packsFolder, repoRoot, tarballOf } from './lib/packs.mjs';

const argv = process.argv.slice(2);
const keep = argv.includes('--keep');
const guide = join(repoRoot, 'docs', 'getting-started.md');
const work = mkdtempSync(join(tmpdir(), 'dd-outside-'));
const app = join(work, 'my-app');
let passed = 0;
const pass = (what) => {
  passed += 1;
  console.log(`  ✓ ${what}`);
};

// A stranger's shell, not pnpm's: INIT_CWD (set by `pnpm test`) would make npm scripts and
// dd-codegen resolve relative paths against the repository instead of the project.
const env = { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };
delete env.INIT_CWD;

/** Runs a command in the project; its output is shown only when it fails. */
function run(command, args, options = {}) {
  const r = spawnSync(command, args, { cwd: app, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env, ...options });
  if (r.status !== 0) {
    process.stderr.write(`${r.stdout ?? ''}${r.stderr ?? ''}`);
    throw new Error(`${command} ${args.join(' ')} (in ${app}) exited with ${r.status ?? r.signal}`);
  }
  return r.stdout;
}

/**
 * A program of the docs that listens on 127.0.0.1:26000 and :26001, with two free loopback ports
 * in their place (from the installed @dd/testing), so that a busy port cannot fail the test.
 */
async function withFreePorts(program) {
  if (!program.includes("ip: '127.0.0.1', port: 26000")) return program;
  const { freeLoopbackPort } = await import(pathToFileURL(join(app, 'node_modules', '@dd', 'testing', 'dist', 'index.js')).href);
  const prompt = await freeLoopbackPort();
  let decoder = await freeLoopbackPort();
  while (decoder === prompt) decoder = await freeLoopbackPort();
  return program.replaceAll('26000', String(prompt)).replaceAll('26001', String(decoder));
}

try {
  const packs = packsFolder(argv);
  const expected = markedBlock(guide, 'output', 'outside-project');
  mkdirSync(app);
  console.log(`outside-project: an empty project in ${app}`);

  run('npm', ['init', '-y']);
  run('npm', ['pkg', 'set', 'type=module']);
  const tarballs = ['@dd/sys', '@dd/core', '@dd/testing'].map((name) => tarballOf(packs, name));
  run('npm', ['install', '--loglevel=error', ...tarballs]);
  const lock = JSON.parse(readFileSync(join(app, 'package-lock.json'), 'utf8'));
  const ours = Object.entries(lock.packages).filter(([path]) => /(^|\/)node_modules\/@dd\//.test(path));
  const fromRegistry = ours.filter(([, entry]) => !String(entry.resolved).startsWith('file:'));
  if (ours.length !== 3 || fromRegistry.length > 0) {
    throw new Error(`expected @dd/sys, @dd/core and @dd/testing from tarballs only; package-lock.json has ${JSON.stringify(ours)}`);
  }
  pass(`npm install of ${tarballs.length} tarballs in one command: ${ours.map(([path, e]) => `${path.replace(/^node_modules\//, '')} ← ${e.resolved}`).join(', ')}`);

  writeFileSync(join(app, 'hello.mjs'), `${await withFreePorts(markedBlock(guide, 'example', 'outside-project-js'))}\n`);
  const js = run(process.execPath, ['hello.mjs']).trim();
  if (js !== expected) throw new Error(`hello.mjs printed ${JSON.stringify(js)}; docs/getting-started.md shows ${JSON.stringify(expected)}`);
  pass(`node hello.mjs (the doc's plain-JS program) → ${js}`);

  for (const name of ['core', 'testing', 'sys']) {
    const readme = join(app, 'node_modules', '@dd', name, 'README.md');
    writeFileSync(join(app, `readme-${name}.mjs`), `${await withFreePorts(markedBlock(readme, 'example', 'readme'))}\n`);
    const printed = run(process.execPath, [`readme-${name}.mjs`]).trim();
    const shown = markedBlock(readme, 'output', 'readme');
    if (printed !== shown) throw new Error(`the example of @dd/${name}'s README printed ${JSON.stringify(printed)}; the README shows ${JSON.stringify(shown)}`);
    pass(`the example in the README of the installed @dd/${name} → ${printed.replaceAll('\n', ' / ')}`);
  }

  const cjs = run(process.execPath, [
    '-e',
    "const core = require('@dd/core'); const testing = require('@dd/testing'); const sys = require('@dd/sys');" +
      "if (typeof core.LlmDataDist.create !== 'function' || typeof testing.FakeNetwork !== 'function' || typeof sys.loadNativeBindings !== 'function') process.exit(1);" +
      "console.log(Object.keys(core).length + ' exports')",
  ]).trim();
  pass(`require() of @dd/core (${cjs}), @dd/testing and @dd/sys from CommonJS`);

  writeFileSync(join(app, 'hand-over.mjs'), `${markedBlock(join(repoRoot, 'docs', 'core.md'), 'example', 'prefill-decode-js')}\n`);
  const { handOver } = await import(pathToFileURL(join(app, 'hand-over.mjs')).href);
  const { FakeNetwork, freeLoopbackPort } = await import(pathToFileURL(join(app, 'node_modules', '@dd', 'testing', 'dist', 'index.js')).href);
  for (const [backend, bindings] of [['host', undefined], ['fake', new FakeNetwork().bindings]]) {
    const promptPort = await freeLoopbackPort();
    let decoderPort = await freeLoopbackPort();
    while (decoderPort === promptPort) decoderPort = await freeLoopbackPort();
    const { bytes, firstBlock } = await handOver({ promptPort, decoderPort, bindings });
    // 8 tensors × 3 blocks × (32 tokens × 4 heads × 64 dims × 2 bytes); decoder block 0 of tensor 0 is prompt block 4: 0 * 16 + 4.
    const blockBytes = 32 * 4 * 64 * 2;
    if (bytes !== 8 * 3 * blockBytes || firstBlock.length !== blockBytes || !firstBlock.every((b) => b === 4)) {
      throw new Error(`docs/core.md's plain-JS hand-over on ${backend}: ${bytes} bytes, first block ${firstBlock.length} bytes starting ${firstBlock.slice(0, 4)}`);
    }
    pass(`docs/core.md's plain-JS hand-over (try/finally) on the ${backend} backend: ${bytes} bytes, decoder block 0 = prompt block 4`);
  }

  run('npm', ['install', '--loglevel=error', '--prefer-offline', '--save-dev', 'typescript@5.9.3', '@types/node@20']);
  writeFileSync(join(app, 'tsconfig.json'), `${markedBlock(guide, 'example', 'outside-project-tsconfig')}\n`);
  writeFileSync(join(app, 'hello.ts'), `${await withFreePorts(markedBlock(guide, 'example', 'outside-project-ts'))}\n`);
  run(join(app, 'node_modules', '.bin', 'tsc'), []);
  const ts = run(process.execPath, ['hello.js']).trim();
  if (ts !== expected) throw new Error(`hello.js (from hello.ts) printed ${JSON.stringify(ts)}; the doc shows ${JSON.stringify(expected)}`);
  pass(`npx tsc && node hello.js (the doc's await-using program on Node ${process.version}) → ${ts}`);

  run('npm', ['install', '--loglevel=error', tarballOf(packs, '@dd/codegen')]);
  const shipped = join(app, 'node_modules', '@dd', 'sys', 'native');
  const summary = run(join(app, 'node_modules', '.bin', 'dd-codegen'), ['--headers', join(shipped, 'headers'), '--include', join(shipped, 'headers', 'extensions'), '--out', 'regenerated']).trim();
  // The banner names the header folder it read (headers/ in the repository, node_modules/… here);
  // the input hash in it and every other line must be the same.
  const banner = /^\/\/ @generated by @dd\/codegen from .*?\{(.*)\} \(input hash (\w+)\)/;
  for (const file of ['dd_shim.h', 'dd_shim.cc']) {
    const [ourBanner, ...ours] = readFileSync(join(app, 'regenerated', 'native', file), 'utf8').split('\n');
    const [theirBanner, ...theirs] = readFileSync(join(shipped, 'generated', file), 'utf8').split('\n');
    const same = banner.exec(ourBanner)?.slice(1).join() === banner.exec(theirBanner)?.slice(1).join() && ours.join('\n') === theirs.join('\n');
    if (!same) throw new Error(`the installed dd-codegen wrote a ${file} that differs from the one @dd/sys ships`);
  }
  pass(`the installed dd-codegen regenerates the shim @dd/sys ships: same input hash, same code (${summary.split('\n').at(-1)})`);

  console.log(`outside-project: ${passed} passed, 0 failed`);
} catch (error) {
  console.error(`outside-project: ${error instanceof Error ? error.message : String(error)}`);
  console.log(`outside-project: ${passed} passed, 1 failed`);
  process.exitCode = 1;
} finally {
  if (keep) console.log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
