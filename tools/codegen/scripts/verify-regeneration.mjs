#!/usr/bin/env node
// Regenerating for a CANN release, end to end, as docs/regenerating.md tells a user to do it:
//   1. "required" in codegen.config.json lists every status code, option key and enum member that
//      @dd/core and @dd/testing name, so a release without one fails in the codegen;
//   2. in a temporary copy of the workspace, the two codegen commands of docs/regenerating.md
//      (taken from the page itself) run against the vendor-shaped stand-in toolkit
//      (tools/codegen/test/fixtures/vendor-toolkit): into build/cann-bindings, then over the
//      committed bindings of packages/sys;
//   3. @dd/sys, @dd/testing and @dd/core are built from those bindings (tsup, which type-checks)
//      and @dd/core's tests run on them, over the fake and over the host library of this checkout
//      (same SHIM_VERSION, so the loader accepts it);
//   4. a toolkit without LLM_NO_FREE_BLOCK stops the same command with one line naming the code.
// Each phase prints its duration; the first failure ends the run with exit code 1.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const toolkitInRepo = 'tools/codegen/test/fixtures/vendor-toolkit';
const started = Date.now();
const say = (text) => console.log(`[verify-regeneration] ${text}`);

function fail(message) {
  console.error(`[verify-regeneration] FAILED: ${message}`);
  process.exit(1);
}

async function phase(name, body) {
  const t0 = Date.now();
  await body();
  say(`${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}

/** Runs a command to completion; its output is shown only when it fails (or `show`). */
function run(command, args, { cwd, env = {}, show = false, expectFailure = false } = {}) {
  const r = spawnSync(command, args, { cwd, env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1', ...env }, encoding: 'utf8', timeout: 180_000, maxBuffer: 64 * 1024 * 1024 });
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (!expectFailure && r.status !== 0) fail(`${command} ${args.join(' ')} (in ${cwd}) exited with ${r.status ?? r.signal}:\n${output}`);
  if (show) process.stdout.write(output);
  return { ...r, output };
}

// 1. The names @dd/core and @dd/testing use are all required.
const config = JSON.parse(readFileSync(join(repo, 'tools/codegen/codegen.config.json'), 'utf8'));
await phase('"required" covers every generated name @dd/core and @dd/testing use', () => {
  const sources = ['packages/core/src', 'packages/testing/src'].flatMap(function walk(dir) {
    return readdirSync(join(repo, dir), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
  });
  const owners = Object.keys(config.required);
  const missing = new Set();
  for (const file of sources) {
    const text = readFileSync(join(repo, file), 'utf8');
    for (const m of text.matchAll(new RegExp(`\\b(${owners.join('|')})\\.([A-Za-z_][A-Za-z0-9_]*)`, 'g'))) {
      if (!config.required[m[1]].includes(m[2])) missing.add(`${m[1]}.${m[2]} (${file})`);
    }
    // Status names written as strings (typed StatusName) need the code as much.
    for (const m of text.matchAll(/'(LLM_[A-Z_]+)'/g)) if (!config.required.StatusCode.includes(m[1])) missing.add(`StatusCode.${m[1]} (${file})`);
    for (const m of text.matchAll(/'(ACL_(?:SUCCESS|ERROR_[A-Z_]+))'/g)) if (!config.required.AclStatusCode.includes(m[1])) missing.add(`AclStatusCode.${m[1]} (${file})`);
  }
  if (missing.size > 0) fail(`add to "required" in tools/codegen/codegen.config.json: ${[...missing].join(', ')}`);
});

// 2. A temporary copy of the workspace: sources copied, dependencies linked (pnpm's relative
// links inside each package's node_modules then resolve into the copy for workspace packages and
// into this checkout's store for everything else).
const work = mkdtempSync(join(tmpdir(), 'dd-regeneration-'));
const copy = join(work, 'workspace');
const SKIPPED = new Set(['.git', 'node_modules', 'dist', '.turbo', 'coverage', 'build', 'prebuilds']);
try {
  await phase('temporary copy of the workspace', () => {
    cpSync(repo, copy, {
      recursive: true,
      preserveTimestamps: true,
      filter: (source) => {
        const rel = relative(repo, source);
        const name = rel.split('/').pop();
        // The codegen's own build is kept: the copy then runs it without rebuilding.
        if (rel === 'tools/codegen/dist') return true;
        return rel === '' || !SKIPPED.has(name);
      },
    });
    symlinkSync(join(repo, 'node_modules'), join(copy, 'node_modules'));
    for (const dir of ['packages', 'tools', 'examples'].flatMap((top) => (existsSync(join(repo, top)) ? readdirSync(join(repo, top)).map((d) => join(top, d)) : []))) {
      const modules = join(repo, dir, 'node_modules');
      if (existsSync(modules)) cpSync(modules, join(copy, dir, 'node_modules'), { recursive: true, verbatimSymlinks: true });
    }
    // The host library of this checkout, built from our headers (CI's build step made it).
    const library = 'packages/sys/native/build/host/libdd_llm_datadist.so';
    if (!existsSync(join(repo, library))) run(process.execPath, ['packages/sys/scripts/build-native.mjs', '--backend', 'host'], { cwd: repo });
    mkdirSync(dirname(join(copy, library)), { recursive: true });
    cpSync(join(repo, library), join(copy, library));
  });

  const page = readFileSync(join(repo, 'docs/regenerating.md'), 'utf8');
  const documented = (what, pattern) => {
    const line = page.split('\n').find((l) => pattern.test(l));
    if (!line) fail(`docs/regenerating.md has no ${what} command matching ${pattern}`);
    return line.trim();
  };
  const inspect = documented('"generate into a folder"', /^npx -y pnpm@12\.4\.2 codegen --headers "\$ASCEND_HOME_PATH\/include" .*--strict --out build\/cann-bindings$/);
  const replace = documented('"replace the committed bindings"', /^npx -y pnpm@12\.4\.2 codegen --headers "\$ASCEND_HOME_PATH\/include" .*--strict$/);
  const toolkit = join(copy, toolkitInRepo);
  const committedVersion = /export const SHIM_VERSION = '([^']*)';/.exec(readFileSync(join(repo, 'packages/sys/src/generated/native.ts'), 'utf8'))[1];

  await phase(`codegen into build/cann-bindings, as documented: ${inspect}`, () => {
    const r = run('bash', ['-c', inspect], { cwd: copy, env: { ASCEND_HOME_PATH: toolkit } });
    const summary = r.stdout.trim().split('\n').pop();
    say(summary);
    if (!/, 0 unclassified;/.test(summary)) fail(`the stand-in toolkit left lines unclassified: ${summary}`);
    if (!existsSync(join(copy, 'build/cann-bindings/ts/api.ts'))) fail('build/cann-bindings/ts/api.ts was not written');
  });

  await phase(`codegen over packages/sys, as documented: ${replace}`, () => {
    const r = run('bash', ['-c', replace], { cwd: copy, env: { ASCEND_HOME_PATH: toolkit } });
    say(r.stdout.trim().split('\n').pop());
    const api = readFileSync(join(copy, 'packages/sys/src/generated/api.ts'), 'utf8');
    const codes = /export const StatusCode = \{([^}]*)\}/.exec(api)?.[1].match(/LLM_[A-Z_]+:/g) ?? [];
    if (codes.length !== 30) fail(`StatusCode has ${codes.length} entries, not 30`);
    if (!api.includes(`from ${toolkit}/include/`)) fail('packages/sys/src/generated/api.ts does not come from the toolkit');
    const version = /export const SHIM_VERSION = '([^']*)';/.exec(readFileSync(join(copy, 'packages/sys/src/generated/native.ts'), 'utf8'))?.[1];
    if (version !== committedVersion) fail(`SHIM_VERSION ${version} differs from the committed ${committedVersion}`);
    say(`StatusCode has 30 codes; SHIM_VERSION ${version}, as committed`);
  });

  const tsup = join(repo, 'node_modules/tsup/dist/cli-default.js');
  for (const pkg of ['sys', 'testing', 'core']) {
    await phase(`build @dd/${pkg} (tsup, types included)`, () => run(process.execPath, [tsup], { cwd: join(copy, 'packages', pkg) }));
  }

  await phase("@dd/core's tests on the regenerated bindings (fake and host backends)", () => {
    const vitest = join(repo, 'node_modules/vitest/vitest.mjs');
    const r = run(process.execPath, [vitest, 'run'], { cwd: join(copy, 'packages/core') });
    const tests = /Tests\s+(\d+ passed[^\n]*)/.exec(r.output.replace(/\x1b\[[0-9;]*m/g, ''))?.[1];
    say(`@dd/core: ${tests ?? 'passed'}`);
  });

  await phase('a toolkit without LLM_NO_FREE_BLOCK fails in the codegen, naming it', () => {
    const lacking = join(work, 'toolkit-without-code');
    cpSync(join(repo, toolkitInRepo), lacking, { recursive: true });
    const codes = join(lacking, 'include/llm_datadist/llm_error_codes.h');
    const text = readFileSync(codes, 'utf8');
    const line = /^GE_ERRORNO_DEFINE\(1, 1, 0, 8, 11, LLM_NO_FREE_BLOCK, 18\);\n/m;
    if (!line.test(text)) fail(`${toolkitInRepo}/include/llm_datadist/llm_error_codes.h no longer declares LLM_NO_FREE_BLOCK on one line`);
    writeFileSync(codes, text.replace(line, ''));
    // The same arguments as the documented command, through the bin pnpm runs (without pnpm's start-up).
    const args = inspect.replace(/^npx -y pnpm@12\.4\.2 codegen /, '').replaceAll('$ASCEND_HOME_PATH', lacking).replace(/"/g, '').split(' ');
    const r = run(process.execPath, ['tools/codegen/bin/dd-codegen.mjs', ...args], { cwd: copy, expectFailure: true });
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('dd-codegen: '));
    if (r.status !== 1 || lines.length !== 1 || !/^dd-codegen: error: .*StatusCode\.LLM_NO_FREE_BLOCK is required .* Fix: /.test(lines[0])) {
      fail(`expected one codegen error naming StatusCode.LLM_NO_FREE_BLOCK, got exit ${r.status}:\n${r.output}`);
    }
    say(lines[0].slice(0, 160) + '…');
  });
} finally {
  if (statSync(work, { throwIfNoEntry: false })) rmSync(work, { recursive: true, force: true });
}
say(`passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
