// The real command line (bin/dd-codegen.mjs): --check against the committed files, --out into a
// folder of the user's choice, and bad input ending in one line (file, line, fix), never a stack.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { headersDir, repoRoot, runCli, tempDir } from './helpers.js';

const work = tempDir('cli');
afterAll(() => work.remove());

function expectOneLineError(r: { status: number | null; stdout: string; stderr: string }, pattern: RegExp): void {
  expect(r.status).toBe(1);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(lines[0]).toContain(' Fix: ');
  expect(r.stderr).not.toMatch(/^\s+at /m);
}

describe('dd-codegen', () => {
  it('--check passes on the committed files and writes nothing', () => {
    const watched = [join(repoRoot, 'packages/sys/src/generated'), join(repoRoot, 'packages/sys/native/generated'), join(repoRoot, 'tools/codegen/ir')];
    const before = watched.flatMap((d) => readdirSync(d).map((f) => [f, readFileSync(join(d, f), 'utf8')]));
    const r = runCli(['--check']);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toMatch(/^dd-codegen: up to date \(10 headers, 15 methods bound, 13 functions bound, 7 structs, 5 enums, 79 constants, 3 skipped with a reason, 0 unclassified; \d+ ms\)$/);
    expect(r.status).toBe(0);
    expect(watched.flatMap((d) => readdirSync(d).map((f) => [f, readFileSync(join(d, f), 'utf8')]))).toEqual(before);
  });

  it('--check reports drift with the command to run, and still writes nothing', () => {
    const out = join(work.path, 'drift');
    const r = runCli(['--check', '--out', out]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toMatch(/^dd-codegen: generated files are out of date: .*ir\.json.*\. Run `pnpm codegen --out .*drift` to regenerate\.$/);
    expect(existsSync(out)).toBe(false);
  });

  it('--headers/--out generate the IR, shim and TS of any header tree into a chosen folder', () => {
    const headers = join(work.path, 'vendor-include');
    cpSync(headersDir, headers, { recursive: true });
    const out = join(work.path, 'generated');
    const r = runCli(['--headers', headers, '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toMatch(/^dd-codegen: 10 headers, 15 methods bound, 13 functions bound, .*; 7 of 7 files changed \(input hash [0-9a-f]{12}\) in \d+ ms$/);
    expect(readdirSync(out).sort()).toEqual(['ir.json', 'native', 'ts']);
    expect(readdirSync(join(out, 'native')).sort()).toEqual(['dd_shim.cc', 'dd_shim.h']);
    expect(readdirSync(join(out, 'ts')).sort()).toEqual(['abi.ts', 'api.ts', 'index.ts', 'native.ts']);
    expect(readFileSync(join(out, 'native/dd_shim.h'), 'utf8')).toContain(`from ${headers}/{llm_datadist/llm_datadist.h,`);
    const again = runCli(['--headers', headers, '--out', out, '--check']);
    expect(again.status).toBe(0);
  });

  it('prints usage for --help', () => {
    const r = runCli(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('--headers <dir>');
  });
});

describe('bad input ends in one line naming the file, the line and the fix', () => {
  it('a missing header folder', () => {
    expectOneLineError(runCli(['--headers', join(work.path, 'nope')]), /^dd-codegen: error: .*nope: header folder not found\. Fix: pass an existing folder to --headers/);
  });

  it('a folder without the entry headers', () => {
    const empty = join(work.path, 'empty');
    mkdirSync(empty, { recursive: true });
    expectOneLineError(runCli(['--headers', empty]), /empty\/llm_datadist\/llm_datadist\.h: entry header llm_datadist\/llm_datadist\.h not found/);
  });

  it('an unparsable header', () => {
    const headers = join(work.path, 'unparsable');
    cpSync(headersDir, headers, { recursive: true });
    const file = join(headers, 'llm_datadist/llm_engine_types.h');
    writeFileSync(file, readFileSync(file, 'utf8').replace('namespace llm {', 'namespace llm {\nconstexpr const char X[] = ;;; }} {'));
    expectOneLineError(runCli(['--headers', headers]), /^dd-codegen: error: llm_datadist\/llm_engine_types\.h:10: cannot parse the header: syntax error/);
  });

  it('an unknown type', () => {
    const headers = join(work.path, 'unknown-type');
    cpSync(headersDir, headers, { recursive: true });
    const file = join(headers, 'llm_datadist/llm_datadist.h');
    writeFileSync(file, readFileSync(file, 'utf8').replace('  Status UnregisterKvCache(int64_t cache_id);', '  Status UnregisterKvCache(int64_t cache_id);\n  Status Watch(WatchToken token);'));
    expectOneLineError(
      runCli(['--headers', headers]),
      /^dd-codegen: error: llm_datadist\/llm_datadist\.h:261: parameter token of llm_datadist::LlmDataDist::Watch has type WatchToken, which no header the codegen read declares\. Fix: .*"typeMap".*"skip": \{ "llm_datadist::LlmDataDist::Watch": "<reason>" \}/,
    );
  });

  it('an unknown option and a broken config', () => {
    expectOneLineError(runCli(['--frobnicate']), /^dd-codegen: error: dd-codegen: unknown option --frobnicate\. Fix: see `pnpm codegen --help`/);
    const config = join(work.path, 'broken.json');
    writeFileSync(config, '{ "typeMap": { "X": "int33" } }');
    expectOneLineError(runCli(['--config', config]), /broken\.json:1: typeMap entry "X" is not a type the bindings know\. Fix: use "string", one of bool\/int8/);
  });
});
