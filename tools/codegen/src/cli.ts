import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultConfigPath, loadConfig } from './config.js';
import { CodegenError } from './errors.js';
import { generate, type GenerateResult } from './generate.js';

const USAGE = `Usage: dd-codegen [--check] [--strict] [--headers <dir>] [--out <dir>] [--config <file>] [--include <dir>]…

Parses the LLM-DataDist C++ headers and writes the IR, the C ABI shim and the TypeScript bindings.

  (no options)      regenerate from headers/ into packages/sys and tools/codegen/ir
  --check           regenerate in memory and exit 1 if any committed file differs (writes nothing; implies --strict)
  --strict          fail on any line of the entry headers that is neither bound nor skipped (unclassified)
  --headers <dir>   read this header tree instead (e.g. "$ASCEND_HOME_PATH/include")
  --out <dir>       write ir.json, native/dd_shim.{h,cc} and ts/*.ts into <dir> instead
  --config <file>   JSON merged over tools/codegen/codegen.config.json (see docs/codegen.md)
  --include <dir>   extra folder searched for #include "…" (repeatable; adds to "includeDirs")
  --help            this text`;

interface CliOptions {
  check: boolean;
  strict: boolean;
  help: boolean;
  headers?: string;
  out?: string;
  config?: string;
  includes: string[];
}

function usageError(message: string): CodegenError {
  return new CodegenError(message, 'dd-codegen', 0, 'see `pnpm codegen --help`.');
}

function parseArgs(argv: readonly string[]): CliOptions {
  const options: CliOptions = { check: false, strict: false, help: false, includes: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw usageError(`${flag} needs a value.`);
      return v;
    };
    switch (flag) {
      case '--check':
        options.check = true;
        break;
      case '--strict':
        options.strict = true;
        break;
      case '--help':
      case '-h':
        options.help = true;
        break;
      case '--headers':
        options.headers = value();
        break;
      case '--out':
        options.out = value();
        break;
      case '--config':
        options.config = value();
        break;
      case '--include':
        options.includes.push(value());
        break;
      default:
        throw usageError(`unknown option ${arg}.`);
    }
  }
  return options;
}

/** tools/codegen, whether this runs from src/ (tests) or dist/. */
export function packageRoot(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..');
}

/** Where each output goes: the repository layout by default, or a folder of the user's choice. */
export function outputPaths(repoRoot: string, out: string | undefined): { ir: string; shimDir: string; tsDir: string; owned: boolean } {
  if (out === undefined) {
    return {
      ir: join(repoRoot, 'tools/codegen/ir/headers.ir.json'),
      shimDir: join(repoRoot, 'packages/sys/native/generated'),
      tsDir: join(repoRoot, 'packages/sys/src/generated'),
      owned: true,
    };
  }
  return { ir: join(out, 'ir.json'), shimDir: join(out, 'native'), tsDir: join(out, 'ts'), owned: false };
}

function plannedFiles(result: GenerateResult, paths: ReturnType<typeof outputPaths>): Map<string, string> {
  const files = new Map<string, string>([
    [paths.ir, result.outputs.ir],
    [join(paths.shimDir, 'dd_shim.h'), result.outputs.shimHeader],
    [join(paths.shimDir, 'dd_shim.cc'), result.outputs.shimSource],
  ]);
  for (const [name, text] of result.outputs.ts) files.set(join(paths.tsDir, name), text);
  return files;
}

/** Files in the generated folders that the codegen no longer produces (only in folders it owns). */
function staleFiles(paths: ReturnType<typeof outputPaths>, planned: ReadonlyMap<string, string>): string[] {
  if (!paths.owned) return [];
  return [paths.shimDir, paths.tsDir].flatMap((dir) =>
    existsSync(dir)
      ? readdirSync(dir)
          .map((name) => join(dir, name))
          .filter((file) => !planned.has(file))
      : [],
  );
}

function readOr(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function summary(result: GenerateResult): string {
  const { coverage, unclassified, inputs } = result.ir;
  const bound = coverage.filter((c) => c.kind === 'method' && c.status === 'bound').length;
  const skipped = coverage.filter((c) => c.status === 'skipped').length;
  const constants = coverage.filter((c) => c.kind === 'constant' && c.status === 'bound').length;
  const functions = coverage.filter((c) => c.kind === 'function' && c.status === 'bound').length;
  return `${inputs.length} headers, ${bound} methods bound, ${functions} functions bound, ${result.api.structs.length} structs, ${result.api.enums.length} enums, ${constants} constants, ${skipped} skipped with a reason, ${unclassified.length} unclassified`;
}

/** Strict mode: the first unclassified line is the error, and the others are named with it. */
function strictError(unclassified: GenerateResult['ir']['unclassified']): CodegenError {
  const [first, ...others] = unclassified;
  const more = others.length === 0 ? '' : ` (${others.length} more: ${others.map((u) => `${u.file}:${u.line}`).join(', ')})`;
  return new CodegenError(`"${first!.text}" is not classified: ${first!.what}${more}.`, first!.file, first!.line, first!.fix);
}

/** Runs the CLI; returns the exit code. Every user error is one line on stderr. */
export async function main(argv: readonly string[], log: (line: string) => void = console.log, fail: (line: string) => void = console.error): Promise<number> {
  const started = performance.now();
  try {
    const options = parseArgs(argv);
    if (options.help) {
      log(USAGE);
      return 0;
    }
    const root = packageRoot();
    const repoRoot = resolve(root, '../..');
    // pnpm runs scripts from the package folder; paths the user typed are relative to where they typed them.
    const base = process.env.INIT_CWD ?? process.cwd();
    const userPath = (p: string): string => (isAbsolute(p) ? p : resolve(base, p));
    const headersDir = options.headers === undefined ? join(repoRoot, 'headers') : userPath(options.headers);
    const headersDisplay = options.headers === undefined ? 'headers' : options.headers;
    const configFile = options.config === undefined ? undefined : userPath(options.config);
    const config = loadConfig(defaultConfigPath(root), configFile, options.includes.map(userPath));
    const result = await generate({ headersDir, headersDisplay, config, configName: options.config ?? relative(repoRoot, defaultConfigPath(root)) });
    if ((options.strict || options.check) && result.ir.unclassified.length > 0) throw strictError(result.ir.unclassified);
    for (const u of result.ir.unclassified) fail(`dd-codegen: warning: ${new CodegenError(`"${u.text}" is not classified: ${u.what}.`, u.file, u.line, u.fix).oneLine()}`);
    const paths = outputPaths(repoRoot, options.out === undefined ? undefined : userPath(options.out));
    const planned = plannedFiles(result, paths);
    const stale = staleFiles(paths, planned);
    const changed = [...planned].filter(([file, text]) => readOr(file) !== text).map(([file]) => file);
    const elapsed = Math.round(performance.now() - started);
    const show = (file: string): string => relative(base, file) || file;

    if (options.check) {
      if (changed.length === 0 && stale.length === 0) {
        log(`dd-codegen: up to date (${summary(result)}; ${elapsed} ms)`);
        return 0;
      }
      const rerun = ['pnpm codegen', ...argv.filter((a) => a !== '--check')].join(' ');
      const list = [...changed.map(show), ...stale.map((f) => `${show(f)} (no longer generated)`)].join(', ');
      fail(`dd-codegen: generated files are out of date: ${list}. Run \`${rerun}\` to regenerate.`);
      return 1;
    }
    for (const file of changed) {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, planned.get(file)!);
    }
    for (const file of stale) rmSync(file);
    log(`dd-codegen: ${summary(result)}; ${changed.length + stale.length} of ${planned.size} files changed (input hash ${result.inputHash}) in ${elapsed} ms`);
    return 0;
  } catch (error) {
    if (error instanceof CodegenError) {
      fail(`dd-codegen: error: ${error.oneLine()}`);
      return 1;
    }
    const message = error instanceof Error ? error.message : String(error);
    fail(`dd-codegen: internal error: ${message.split('\n')[0]} (a bug in @dd/codegen; set DD_CODEGEN_DEBUG=1 for the stack)`);
    if (process.env.DD_CODEGEN_DEBUG && error instanceof Error) fail(error.stack ?? '');
    return 2;
  }
}
