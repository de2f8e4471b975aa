// A CANN release as the codegen meets it: test/fixtures/vendor-toolkit is a toolkit's include/
// tree written by us from the facts (status codes through a function-like macro in namespace ge,
// static const constants, a visibility macro chosen behind #ifdef, deprecation pragmas and
// attributes, headers that only resolve through include/external). From it the codegen must give
// the bindings of our own headers: the same methods, structs, status codes and ABI hash.
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli.js';
import { defaultConfigPath, loadConfig } from '../src/config.js';
import { generate, type GenerateResult } from '../src/generate.js';
import type { IrDocument } from '../src/ir.js';
import { codegenRoot, compileCxx, completionsDir, headersDir, repoRoot, tempDir } from './helpers.js';

const toolkit = join(codegenRoot, 'test/fixtures/vendor-toolkit');
const include = join(toolkit, 'include');
const external = join(include, 'external');
const work = tempDir('vendor');
afterAll(() => work.remove());

async function generateFrom(headers: string, includes: readonly string[]): Promise<GenerateResult> {
  const config = loadConfig(defaultConfigPath(codegenRoot), undefined, includes);
  return generate({ headersDir: headers, headersDisplay: headers, config, configName: 'codegen.config.json' });
}

/** The CLI in this process, from `cwd`, as `pnpm codegen <args>` would run it there. */
async function cli(cwd: string, args: readonly string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const previous = process.env.INIT_CWD;
  process.env.INIT_CWD = cwd;
  try {
    const code = await main(args, (l) => out.push(l), (l) => err.push(l));
    return { code, out, err };
  } finally {
    if (previous === undefined) delete process.env.INIT_CWD;
    else process.env.INIT_CWD = previous;
  }
}

/** A copy of the toolkit tree with one edit, for the failure cases. */
function editedCopy(name: string, file: string, find: string, replace: string): string {
  const root = join(work.path, name);
  cpSync(toolkit, root, { recursive: true });
  const path = join(root, 'include', file);
  const text = readFileSync(path, 'utf8');
  expect(text.split(find)).toHaveLength(2);
  writeFileSync(path, text.replace(find, replace));
  return root;
}

let vendor: GenerateResult;
let ours: GenerateResult;

beforeAll(async () => {
  vendor = await generateFrom(include, [external]);
  ours = await generateFrom(headersDir, []);
}, 60_000);

describe('the vendor-shaped toolkit tree', () => {
  it('generates under --strict with nothing unclassified, and says so in the summary', async () => {
    const r = await cli(toolkit, ['--headers', 'include', '--include', 'include/external', '--out', join(work.path, 'strict'), '--strict']);
    expect(r.err).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.out).toHaveLength(1);
    expect(r.out[0]).toMatch(
      /^dd-codegen: 10 headers, 15 methods bound, 13 functions bound, 7 structs, 5 enums, 79 constants, 38 skipped with a reason, 0 unclassified; 7 of 7 files changed \(input hash [0-9a-f]{12}\) in \d+ ms$/,
    );
  });

  it('has all 30 status codes with the values of our headers, 28 of them declared through GE_ERRORNO_DEFINE', () => {
    const table = (r: GenerateResult): Record<string, bigint | string> => Object.fromEntries(r.api.statusGroup.members.map((m) => [m.name, m.value]));
    expect(Object.keys(table(vendor))).toHaveLength(30);
    expect(table(vendor)).toEqual(table(ours));
    const fromMacro = vendor.ir.constants.filter((c) => c.namespace === 'ge' && c.name.startsWith('LLM_'));
    expect(fromMacro).toHaveLength(28);
    for (const c of fromMacro) expect(c.macro).toMatch(new RegExp(`^GE_ERRORNO_DEFINE\\(1, 1, 0, 8, 11, ${c.name}, \\d+\\)$`));
    expect(vendor.ir.constants.find((c) => c.qualifiedName === 'ge::LLM_NO_FREE_BLOCK')?.value).toMatchObject({ kind: 'integer', value: String(0x5010b012) });
  });

  it('merges a code declared in llm_datadist and in ge into one entry, keeping the comment it has', () => {
    const paramInvalid = vendor.api.statusGroup.members.find((m) => m.name === 'LLM_PARAM_INVALID');
    expect(paramInvalid).toMatchObject({ qualifiedName: 'llm_datadist::LLM_PARAM_INVALID', doc: 'An argument or option failed validation.' });
    expect(vendor.ir.coverage.filter((c) => c.as === 'StatusCode.LLM_PARAM_INVALID').map((c) => c.name)).toEqual(['ge::LLM_PARAM_INVALID', 'llm_datadist::LLM_PARAM_INVALID']);
  });

  it('binds the same 15 methods and 7 structs, with the ABI hash of our headers', () => {
    const methods = (r: GenerateResult): string[] => r.api.classes.flatMap((c) => c.methods.map((m) => m.cName)).sort();
    expect(methods(vendor)).toHaveLength(15);
    expect(methods(vendor)).toEqual(methods(ours));
    expect(vendor.api.structs.map((s) => s.name)).toEqual(ours.api.structs.map((s) => s.name));
    expect(vendor.api.structs).toHaveLength(7);
    expect(vendor.shimVersion).toBe(ours.shimVersion);
    const committed = /export const SHIM_VERSION = '([^']*)';/.exec(readFileSync(join(repoRoot, 'packages/sys/src/generated/native.ts'), 'utf8'))?.[1];
    expect(vendor.shimVersion).toBe(committed);
  });

  it('binds the 11 ACL memory functions of its acl/ headers as ours, and skips the rest of the ACL by the rule', () => {
    const functions = (r: GenerateResult): string[] => r.api.functionGroups.flatMap((g) => g.functions.map((f) => `${g.name}.${f.cName}`));
    expect(functions(vendor).filter((f) => f.startsWith('Acl.'))).toHaveLength(11);
    // dd's link-health extension is in no toolkit: it comes from the repository's headers/extensions.
    expect(functions(vendor).filter((f) => !f.startsWith('Acl.'))).toEqual(['LinkHealth.dd_ddLinkStates', 'LinkHealth.dd_ddLinkBreakCause']);
    expect(functions(vendor)).toEqual(functions(ours));
    const skipped = vendor.ir.coverage.filter((c) => c.kind === 'function' && c.status === 'skipped');
    expect(skipped.map((c) => c.name)).toEqual(['aclrtGetDevice', 'aclrtGetSocName', 'aclrtCreateStream', 'aclrtSynchronizeStream', 'aclrtSynchronizeStreamLegacy']);
    for (const c of skipped) expect(c.reason).toMatch(/^an ACL function dd does not use/);
    const codes = (r: GenerateResult): [string, bigint | string][] => r.api.groups.find((g) => g.name === 'AclStatusCode')!.members.map((m) => [m.name, m.value] as [string, bigint | string]).sort();
    expect(codes(vendor)).toEqual(codes(ours));
  });

  it('reads integer #defines as constants: the status codes join the group, the other ACL constants are skipped by the rule', () => {
    const define = (name: string) => vendor.ir.constants.find((c) => c.name === name && c.define);
    expect(define('ACL_ERROR_RT_DEV_SETUP_ERROR')).toMatchObject({ file: 'acl/error_codes/rt_error_codes.h', type: { name: 'int' }, value: { value: '507033' } });
    expect(define('ACL_UNKNOWN_RANK')).toMatchObject({ type: { name: 'unsigned long' }, value: { value: String(0xfffffffffffffffen) } });
    expect(vendor.ir.coverage.filter((c) => c.kind === 'constant' && c.status === 'skipped').map((c) => c.name)).toEqual(['ACL_TENSOR_SHAPE_RANGE_NUM', 'ACL_UNKNOWN_RANK']);
    // Header guards, the visibility macro and empty ones are no constants.
    expect(vendor.ir.constants.filter((c) => c.define).map((c) => c.name)).not.toContain('ACL_FUNC_VISIBILITY');
  });

  it('reads static const constants and skips the registration objects the macro declares, with a reason', () => {
    expect(vendor.api.singles.map((s) => [s.qualifiedName, s.value])).toEqual([['llm_datadist::kDefaultTensorNumPerLayer', 2n]]);
    expect(vendor.api.groups.find((g) => g.name === 'EngineRoleName')?.members.map((m) => [m.name, m.value])).toEqual([
      ['kPrompt', 'Prompt'],
      ['kDecoder', 'Decoder'],
    ]);
    const registrars = vendor.ir.coverage.filter((c) => c.kind === 'variable');
    expect(registrars).toHaveLength(28);
    for (const r of registrars) expect(r).toMatchObject({ status: 'skipped', reason: 'object of class type ge::StatusNameRegistrar: objects do not cross the C ABI' });
  });

  it('gives a shim that compiles against the tree with -Wall -Wextra -Werror', () => {
    const out = join(work.path, 'compile');
    writeFileSync(join(work.path, 'dd_shim.h'), vendor.outputs.shimHeader);
    cpSync(join(work.path, 'dd_shim.h'), join(out, 'dd_shim.h'));
    writeFileSync(join(out, 'dd_shim.cc'), vendor.outputs.shimSource);
    // dd's extension headers come from the repository (the default config's includeDirs), not the toolkit.
    const built = compileCxx(['-fsyntax-only', `-I${include}`, `-I${external}`, `-I${join(headersDir, 'extensions')}`, `-I${out}`, `-I${completionsDir}`, join(out, 'dd_shim.cc')]);
    // The tree's #pragma message is a note, not a warning.
    expect(built.stderr).not.toMatch(/warning|error/);
    expect(built.status).toBe(0);
  });
});

describe('the mistakes a user makes with it', () => {
  it('without include/external: every include only that folder has is reported, and --strict fails on the first', async () => {
    const lenient = await cli(toolkit, ['--headers', 'include', '--out', join(work.path, 'no-external')]);
    expect(lenient.code).toBe(0);
    expect(lenient.out[0]).toMatch(/^dd-codegen: 9 headers, .*, 2 unclassified;/);
    expect(lenient.err).toHaveLength(2);
    for (const line of lenient.err) expect(line).toMatch(/^dd-codegen: warning: .*"#include "graph\/ascend_string\.h"" is not classified: an include that no include folder has/);
    const strict = await cli(toolkit, ['--headers', 'include', '--out', join(work.path, 'no-external-strict'), '--strict']);
    expect(strict.code).toBe(1);
    expect(strict.err).toEqual([
      'dd-codegen: error: external/ge_common/api_error_codes.h:14: "#include "graph/ascend_string.h"" is not classified: an include that no include folder has (the compiler that builds the shim will need it too) (1 more: llm_datadist/llm_datadist.h:16). Fix: add the folder that has graph/ascend_string.h to "includeDirs" (--include <dir>; for a CANN toolkit also "$ASCEND_HOME_PATH/include/external"); if the shim is built without it and "typeMap" describes what the bindings need from it, add "skip": { "graph/ascend_string.h": "<reason>" } to the config (--config).',
    ]);
  });

  it('a code declared with two different values fails naming both declarations', async () => {
    const root = editedCopy('conflict', 'llm_datadist/llm_datadist.h', 'LLM_TIMEOUT = 0x5010B01AU;', 'LLM_TIMEOUT = 0x5010B01DU;');
    const r = await cli(root, ['--headers', 'include', '--include', 'include/external', '--out', 'out']);
    expect(r.code).toBe(1);
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toBe(
      'dd-codegen: error: llm_datadist/llm_datadist.h:99: constant llm_datadist::LLM_TIMEOUT = 0x5010B01D (llm_datadist/llm_datadist.h:99) disagrees with ge::LLM_TIMEOUT = 0x5010B01A (llm_datadist/llm_error_codes.h:54, through GE_ERRORNO_DEFINE(1, 1, 0, 8, 11, LLM_TIMEOUT, 26)); both are StatusCode.LLM_TIMEOUT. Fix: make the two declarations agree, or leave one unbound with "skip": { "llm_datadist::LLM_TIMEOUT": "<reason>" } in the config (--config).',
    );
  });

  it('a release without a code @dd/core uses fails in the codegen, naming the code', async () => {
    const root = editedCopy('missing-code', 'llm_datadist/llm_error_codes.h', '/// No free block is left in the pool.\nGE_ERRORNO_DEFINE(1, 1, 0, 8, 11, LLM_NO_FREE_BLOCK, 18);\n', '');
    const r = await cli(root, ['--headers', 'include', '--include', 'include/external', '--out', 'out']);
    expect(r.code).toBe(1);
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toMatch(/^dd-codegen: error: tools\/codegen\/codegen\.config\.json: StatusCode\.LLM_NO_FREE_BLOCK is required \("required" in the config: @dd\/core or @dd\/testing uses it\), but no entry header declares it/);
  });

  it('the IR records the macro, the registration objects and no unclassified line', () => {
    const ir: IrDocument = JSON.parse(vendor.outputs.ir) as IrDocument;
    expect(ir.macros.find((m) => m.name === 'GE_ERRORNO_DEFINE')).toMatchObject({
      file: 'external/ge_common/api_error_codes.h',
      params: ['runtime', 'type', 'level', 'sysid', 'modid', 'name', 'value'],
    });
    expect(ir.variables).toHaveLength(28);
    expect(ir.unclassified).toEqual([]);
  });
});
