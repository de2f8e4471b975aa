// Every vendor-header situation of the issue as a fixture (test/fixtures/<case>/fixture.json): the
// repository headers with edits, removals, copies and overlays applied, generated through the CLI
// entry point, and checked against the outcome the fixture states.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli.js';
import type { IrDocument } from '../src/ir.js';
import { codegenRoot, compileCxx, completionsDir, headersDir, repoRoot, tempDir, tsc } from './helpers.js';

interface Fixture {
  readonly description: string;
  readonly edits?: readonly { file: string; find: string; replace: string }[];
  readonly remove?: readonly string[];
  readonly copy?: readonly { from: string; to: string }[];
  readonly config?: Record<string, unknown>;
  readonly includes?: readonly string[];
  /** Run with --strict. */
  readonly strict?: boolean;
  readonly expect:
    | { outcome: 'error'; file: string; line: number; contains: readonly string[] }
    | {
        outcome: 'ok';
        /** One warning line per entry, each containing these strings; none when absent. */
        warnings?: readonly (readonly string[])[];
        sameBindingsAsBase?: boolean;
        compile?: boolean;
        tsContains?: readonly string[];
        tsLacks?: readonly string[];
        shimContains?: readonly string[];
        coverage?: readonly { name: string; status: string; as?: string; reason?: string }[];
        /** Whether SHIM_VERSION (the ABI hash) stays that of the unedited headers. */
        shimVersion?: 'same' | 'different';
        irMethod?: string;
      };
}

const fixturesDir = join(codegenRoot, 'test/fixtures');
const cases = readdirSync(fixturesDir).filter((name) => existsSync(join(fixturesDir, name, 'fixture.json')));
const work = tempDir('fixtures');
const generatedTs: string[] = [];

interface Outcome {
  readonly code: number;
  readonly out: string[];
  readonly err: string[];
  readonly root: string;
}

/** Runs the CLI as `pnpm codegen --headers headers --out out` from `root`, so banners name `headers`. */
async function runIn(root: string, args: readonly string[]): Promise<Outcome> {
  const out: string[] = [];
  const err: string[] = [];
  const previous = process.env.INIT_CWD;
  process.env.INIT_CWD = root;
  try {
    const code = await main(['--headers', 'headers', '--out', 'out', ...args], (l) => out.push(l), (l) => err.push(l));
    return { code, out, err, root };
  } finally {
    if (previous === undefined) delete process.env.INIT_CWD;
    else process.env.INIT_CWD = previous;
  }
}

function prepare(name: string, fixture: Fixture): { root: string; args: string[] } {
  const root = join(work.path, name);
  const headers = join(root, 'headers');
  cpSync(headersDir, headers, { recursive: true });
  rmSync(join(headers, 'test'), { recursive: true, force: true });
  for (const c of fixture.copy ?? []) {
    mkdirSync(dirname(join(root, c.to)), { recursive: true });
    cpSync(join(headersDir, c.from), join(root, c.to));
  }
  for (const file of fixture.remove ?? []) rmSync(join(headers, file));
  const overlay = join(fixturesDir, name, 'headers');
  if (existsSync(overlay)) cpSync(overlay, headers, { recursive: true });
  for (const edit of fixture.edits ?? []) {
    const path = join(headers, edit.file);
    const text = readFileSync(path, 'utf8');
    expect(text.split(edit.find).length - 1, `${name}: "${edit.find.slice(0, 40)}" must occur once in ${edit.file}`).toBe(1);
    writeFileSync(path, text.replace(edit.find, () => edit.replace));
  }
  const args: string[] = [];
  if (fixture.config) {
    writeFileSync(join(root, 'codegen.json'), JSON.stringify(fixture.config, null, 2));
    args.push('--config', 'codegen.json');
  }
  for (const dir of fixture.includes ?? []) args.push('--include', dir);
  if (fixture.strict) args.push('--strict');
  return { root, args };
}

const read = (root: string, file: string): string => readFileSync(join(root, 'out', file), 'utf8');
const BINDING_FILES = ['native/dd_shim.h', 'native/dd_shim.cc', 'ts/api.ts', 'ts/abi.ts', 'ts/native.ts', 'ts/index.ts'];
/** The input hash is the only thing a reflow may change; SHIM_VERSION hashes the ABI, so it stays. */
const withoutHash = (text: string): string => text.replace(/input hash [0-9a-f]{12}/g, 'input hash <hash>');

/** SHIM_VERSION of the TypeScript, after checking that the shim's dd_shim_version() says the same. */
function shimVersionOf(root: string): string {
  const ts = /export const SHIM_VERSION = '([^']*)';/.exec(read(root, 'ts/native.ts'))?.[1];
  const shim = /dd_shim_version\(void\) \{ return "([^"]*)"; \}/.exec(read(root, 'native/dd_shim.cc'))?.[1];
  expect(ts).toMatch(/^abi-[0-9a-f]{12}$/);
  expect(shim).toBe(ts);
  return ts!;
}

let base: Outcome;

beforeAll(async () => {
  const root = join(work.path, 'base');
  cpSync(headersDir, join(root, 'headers'), { recursive: true });
  base = await runIn(root, []);
  expect(base.err).toEqual([]);
  expect(base.code).toBe(0);
}, 60_000);

afterAll(() => work.remove());

describe('base', () => {
  it('generates from a copy of headers/ exactly what is committed', () => {
    expect(read(base.root, 'native/dd_shim.cc')).toBe(readFileSync(join(repoRoot, 'packages/sys/native/generated/dd_shim.cc'), 'utf8'));
    expect(read(base.root, 'ts/native.ts')).toBe(readFileSync(join(repoRoot, 'packages/sys/src/generated/native.ts'), 'utf8'));
  });
});

describe.each(cases)('fixture %s', (name) => {
  const fixture = JSON.parse(readFileSync(join(fixturesDir, name, 'fixture.json'), 'utf8')) as Fixture;

  it(fixture.description, async () => {
    const { root, args } = prepare(name, fixture);
    const result = await runIn(root, args);
    const expected = fixture.expect;
    if (expected.outcome === 'error') {
      expect(result.code).toBe(1);
      expect(result.err).toHaveLength(1);
      const line = result.err[0]!;
      expect(line).toMatch(new RegExp(`^dd-codegen: error: ${expected.file.replace(/[.]/g, '\\.')}${expected.line > 0 ? `:${expected.line}` : ''}: `));
      expect(line).toContain(' Fix: ');
      for (const part of expected.contains) expect(line).toContain(part);
      expect(existsSync(join(root, 'out'))).toBe(false);
      return;
    }
    expect(result.err).toHaveLength(expected.warnings?.length ?? 0);
    (expected.warnings ?? []).forEach((parts, i) => {
      expect(result.err[i]).toMatch(/^dd-codegen: warning: /);
      for (const part of parts) expect(result.err[i]).toContain(part);
    });
    expect(result.code).toBe(0);
    if (expected.shimVersion === 'same') expect(shimVersionOf(root)).toBe(shimVersionOf(base.root));
    if (expected.shimVersion === 'different') expect(shimVersionOf(root)).not.toBe(shimVersionOf(base.root));
    if (expected.sameBindingsAsBase) {
      for (const file of BINDING_FILES) expect(withoutHash(read(root, file)), file).toBe(withoutHash(read(base.root, file)));
    }
    const ts = ['ts/api.ts', 'ts/abi.ts', 'ts/native.ts'].map((f) => read(root, f)).join('\n');
    const shim = read(root, 'native/dd_shim.h') + read(root, 'native/dd_shim.cc');
    for (const part of expected.tsContains ?? []) expect(ts).toContain(part);
    for (const part of expected.tsLacks ?? []) expect(ts).not.toContain(part);
    for (const part of expected.shimContains ?? []) expect(shim).toContain(part);
    const ir = JSON.parse(read(root, 'ir.json')) as IrDocument;
    for (const entry of expected.coverage ?? []) expect(ir.coverage).toContainEqual(expect.objectContaining(entry));
    if (expected.irMethod) {
      const cls = ir.classes.find((c) => c.qualifiedName === 'llm_datadist::LlmDataDist');
      expect(cls?.methods.map((m) => m.name)).toContain(expected.irMethod);
      const baseIr = JSON.parse(read(base.root, 'ir.json')) as IrDocument;
      expect(baseIr.classes.find((c) => c.qualifiedName === 'llm_datadist::LlmDataDist')?.methods.map((m) => m.name)).not.toContain(expected.irMethod);
    }
    if (expected.compile) {
      // dd's extension headers come from the repository (the default config's includeDirs).
      const includes = [join(root, 'headers'), ...(fixture.includes ?? []).map((d) => join(root, d)), join(headersDir, 'extensions'), join(root, 'out/native')];
      const built = compileCxx(['-fsyntax-only', ...includes.map((d) => `-I${d}`), `-I${completionsDir}`, join(root, 'out/native/dd_shim.cc')]);
      expect(built.stderr).toBe('');
      expect(built.status).toBe(0);
    }
    generatedTs.push(join(root, 'out/ts'));
  });
});

describe('generated TypeScript of every fixture', () => {
  it('type-checks under strict with the repository tsconfig', () => {
    expect(generatedTs.length).toBeGreaterThan(5);
    const koffiTypes = join(repoRoot, 'packages/sys/node_modules/koffi/index.d.ts');
    const config = {
      extends: join(repoRoot, 'tsconfig.base.json'),
      compilerOptions: { noEmit: true, strict: true, paths: { koffi: [koffiTypes] }, typeRoots: [join(repoRoot, 'node_modules/@types')] },
      include: generatedTs.map((d) => join(d, '*.ts')),
    };
    const file = join(work.path, 'tsconfig.fixtures.json');
    writeFileSync(file, JSON.stringify(config));
    const checked = tsc(['-p', file]);
    expect(checked.stdout + checked.stderr).toBe('');
    expect(checked.status).toBe(0);
  }, 120_000);
});
