import { dirname } from 'node:path';
import { CodegenError } from '../errors.js';
import { buildDefines } from './build-defines.js';
import type { HeaderFile, HeaderLocator, LocatedHeader } from './header-set.js';
import { ATTRIBUTE_WORDS, MacroArgumentError, MacroTable, parseDefinition, type MacroDefinition, type MacroUse } from './macros.js';
import { ConditionError, evaluateCondition } from './pp-expression.js';
import { isBlank, tokenize, type Token } from './pp-tokens.js';

export interface PreprocessedHeader extends HeaderFile {
  /**
   * What the parser reads: directives and lines of branches that are not compiled are empty,
   * macros are expanded, attributes are gone. It has the lines of `text`, one for one, so every
   * line number the parser gives is a line of the header; comments are kept (doc comments).
   */
  readonly code: string;
  /** Macros named in this header's own text, with 1-based lines (the IR notes them on declarations). */
  readonly uses: readonly MacroUse[];
}

export interface PreprocessedHeaders {
  /** Dependencies first (the order a compiler finishes reading them), so a name is read before it is used. */
  readonly files: readonly PreprocessedHeader[];
  readonly unresolvedIncludes: readonly { readonly file: string; readonly line: number; readonly include: string }[];
  /** Every `#define` the headers made in compiled branches, in reading order. */
  readonly macros: readonly MacroDefinition[];
}

export interface PreprocessOptions {
  /** The config's `defines`, merged over the build's (build-defines.ts). */
  readonly defines?: Readonly<Record<string, string | null>>;
  /** Macros that expand to nothing whatever their definition (the config's `visibilityMacros`). */
  readonly erased: readonly string[];
  /** How messages name the config. */
  readonly configName: string;
}

const DEFINES_FIX = 'set "defines" in the config (--config) to the macros your build defines; docs/codegen.md, "Preprocessor", lists the default set.';
const IGNORED_DIRECTIVES = new Set(['', 'pragma', 'warning', 'line', 'ident', 'sccs', 'assert', 'unassert']);
const FEATURE_TESTS = new Set(['__has_cpp_attribute', '__has_attribute', '__has_c_attribute', '__has_builtin', '__has_feature', '__has_extension']);

interface Condition {
  /** Lines under it are compiled. */
  active: boolean;
  /** Some branch of this #if chain was taken (later #elif/#else are not). */
  taken: boolean;
  readonly parentActive: boolean;
  sawElse: boolean;
  readonly line: number;
}

/** After reading `line`, is a block comment still open? Strings and `//` comments are skipped. */
function inCommentAfter(line: string, open: boolean): boolean {
  let inComment = open;
  for (let i = 0; i < line.length; ) {
    if (inComment) {
      const end = line.indexOf('*/', i);
      if (end < 0) return true;
      inComment = false;
      i = end + 2;
      continue;
    }
    const c = line[i]!;
    if (c === '/' && line[i + 1] === '/') return false;
    if (c === '/' && line[i + 1] === '*') {
      inComment = true;
      i += 2;
      continue;
    }
    if (c === '"' || (c === "'" && !/[0-9A-Za-z_]/.test(line[i - 1] ?? ''))) {
      i++;
      while (i < line.length && line[i] !== c) i += line[i] === '\\' ? 2 : 1;
    }
    i++;
  }
  return inComment;
}

const number = (value: boolean): Token => ({ kind: 'number', text: value ? '1' : '0' });

/**
 * The preprocessor stage: reads the entry headers and what they include, the way a compiler with
 * the configured define set would. No compiler runs; it is C++ [cpp] minus what API headers do
 * not use (`__LINE__`-style predefined macros, `#include` of computed names other than a string).
 */
class Preprocessor {
  readonly files: PreprocessedHeader[] = [];
  readonly unresolvedIncludes: { file: string; line: number; include: string }[] = [];
  readonly macros: MacroDefinition[] = [];
  private readonly table: MacroTable;
  private readonly seen = new Set<string>();

  constructor(
    private readonly locator: HeaderLocator,
    private readonly entries: ReadonlySet<string>,
    options: PreprocessOptions,
  ) {
    this.table = new MacroTable([...ATTRIBUTE_WORDS, ...options.erased]);
    for (const [name, value] of buildDefines(options.defines)) {
      const definition = parseDefinition(tokenize(`${name} ${value}`), '(defines)', 0);
      if (typeof definition === 'string') throw new CodegenError(`"defines" entry "${name}": ${definition}.`, options.configName, 0, 'write "NAME": "value" or "NAME(a, b)": "replacement".');
      this.table.define(definition);
    }
  }

  visit(header: LocatedHeader): void {
    if (this.seen.has(header.absolutePath)) return;
    this.seen.add(header.absolutePath);
    const file = this.locator.read(header, this.entries.has(header.path) ? 'entry' : 'dependency');
    const lines = file.text.split('\n');
    const out: string[] = [];
    const uses: MacroUse[] = [];
    const conditions: Condition[] = [];
    const active = (): boolean => conditions.length === 0 || conditions[conditions.length - 1]!.active;
    let pending: { first: number; lines: string[] } | undefined;

    const flush = (): void => {
      if (!pending) return;
      const expanded = this.expand(tokenize(pending.lines.join('\n'), pending.first), file, pending.first + 1, (use) => uses.push({ ...use, line: use.line + 1 }));
      const text = expanded.map((t) => t.text).join('').split('\n');
      if (text.length !== pending.lines.length) throw new Error(`preprocessing ${file.path} from line ${pending.first + 1} changed its line count`);
      out.push(...text);
      pending = undefined;
    };

    let inComment = false;
    for (let i = 0; i < lines.length; ) {
      if (!inComment && /^\s*#/.test(lines[i]!)) {
        flush();
        let last = i;
        let logical = lines[i]!;
        while (/\\\r?$/.test(logical) && last + 1 < lines.length) logical = logical.replace(/\\\r?$/, '') + lines[++last]!;
        while (inCommentAfter(logical, false) && last + 1 < lines.length) logical += `\n${lines[++last]!}`;
        this.directive(logical, file, i + 1, conditions, active());
        for (let k = i; k <= last; k++) out.push('');
        i = last + 1;
        continue;
      }
      if (active()) {
        pending ??= { first: i, lines: [] };
        pending.lines.push(lines[i]!);
      } else out.push('');
      inComment = inCommentAfter(lines[i]!, inComment);
      i++;
    }
    flush();
    const open = conditions[conditions.length - 1];
    if (open) throw new CodegenError(`#if at line ${open.line} has no #endif.`, file.path, open.line, 'make sure the header compiles (every #if, #ifdef and #ifndef needs its #endif).');
    this.files.push({ ...file, code: out.join('\n'), uses });
  }

  /** Expands macros in tokens of `file`; `line` (1-based) names a call whose own line is unknown. */
  private expand(tokens: readonly Token[], file: HeaderFile, line: number, onUse?: (use: MacroUse) => void): Token[] {
    try {
      return this.table.expand(tokens, onUse);
    } catch (error) {
      if (!(error instanceof MacroArgumentError)) throw error;
      throw new CodegenError(`${error.message}.`, file.path, error.line === undefined ? line : error.line + 1, 'make sure the header compiles with the configured "defines".');
    }
  }

  private directive(logical: string, file: HeaderFile, line: number, conditions: Condition[], active: boolean): void {
    const tokens = tokenize(logical, line - 1).map((t): Token => (t.kind === 'comment' ? { kind: 'space', text: ' ' } : t));
    let k = tokens.findIndex((t) => t.text === '#' || t.text === '%:') + 1;
    while (tokens[k] && isBlank(tokens[k]!)) k++;
    const name = tokens[k]?.kind === 'identifier' ? tokens[k]!.text : '';
    const rest = tokens.slice(name ? k + 1 : k);
    const restWords = rest.filter((t) => !isBlank(t));
    const top = conditions[conditions.length - 1];
    const chainError = (what: string): CodegenError => new CodegenError(`#${name} ${what}.`, file.path, line, 'make sure the header compiles (#elif, #else and #endif follow an #if, #ifdef or #ifndef).');
    const isDefined = (): boolean => {
      const macro = restWords[0];
      if (!macro || macro.kind !== 'identifier') throw new CodegenError(`#${name} needs a macro name.`, file.path, line, 'make sure the header compiles.');
      return this.table.isDefined(macro.text) === (name === 'ifdef' || name === 'elifdef');
    };
    switch (name) {
      case 'if':
      case 'ifdef':
      case 'ifndef': {
        const value = active && (name === 'if' ? this.condition(rest, file, line) : isDefined());
        conditions.push({ active: value, taken: value, parentActive: active, sawElse: false, line });
        return;
      }
      case 'elif':
      case 'elifdef':
      case 'elifndef': {
        if (!top || top.sawElse) throw chainError(top ? 'after #else' : 'without #if');
        const value = top.parentActive && !top.taken && (name === 'elif' ? this.condition(rest, file, line) : isDefined());
        top.active = value;
        top.taken ||= value;
        return;
      }
      case 'else':
        if (!top || top.sawElse) throw chainError(top ? 'after #else' : 'without #if');
        top.active = top.parentActive && !top.taken;
        top.taken = true;
        top.sawElse = true;
        return;
      case 'endif':
        if (!top) throw chainError('without #if');
        conditions.pop();
        return;
      default:
        break;
    }
    if (!active || IGNORED_DIRECTIVES.has(name)) return;
    switch (name) {
      case 'define': {
        const definition = parseDefinition(rest, file.path, line);
        if (typeof definition === 'string') throw new CodegenError(`${definition}.`, file.path, line, 'make sure the header compiles.');
        this.table.define(definition);
        this.macros.push(definition);
        return;
      }
      case 'undef':
        if (restWords[0]) this.table.undefine(restWords[0].text);
        return;
      case 'include':
      case 'include_next':
        this.include(rest, file, line);
        return;
      case 'error':
        throw new CodegenError(`the header stops the build: #error${logical.slice(logical.indexOf('error') + 5).replace(/\s+/g, ' ').trimEnd()}.`, file.path, line, DEFINES_FIX);
      default:
        throw new CodegenError(`#${name} is not a preprocessing directive.`, file.path, line, 'make sure the header compiles.');
    }
  }

  private include(rest: readonly Token[], file: HeaderFile, line: number): void {
    let words = rest.filter((t) => !isBlank(t));
    if (words[0] && words[0].kind !== 'string' && words[0].text !== '<') words = this.expand(rest, file, line).filter((t) => !isBlank(t));
    const first = words[0];
    // <…> names a system header, which the codegen does not read.
    if (!first || first.kind !== 'string' || !first.text.startsWith('"')) return;
    const include = first.text.slice(1, -1);
    const found = this.locator.locate(include, dirname(file.absolutePath));
    if (found) this.visit(found);
    else this.unresolvedIncludes.push({ file: file.path, line, include });
  }

  /** The value of a `#if`/`#elif` expression: `defined` and `__has_include` first, then macros. */
  private condition(rest: readonly Token[], file: HeaderFile, line: number): boolean {
    const words = rest.filter((t) => !isBlank(t));
    const prepared: Token[] = [];
    const fail = (reason: string): CodegenError => new CodegenError(`cannot evaluate #if ${words.map((t) => t.text).join(' ')}: ${reason}.`, file.path, line, DEFINES_FIX);
    for (let k = 0; k < words.length; k++) {
      const t = words[k]!;
      if (t.text === 'defined') {
        const parenthesized = words[k + 1]?.text === '(';
        const macro = words[k + (parenthesized ? 2 : 1)];
        if (!macro || macro.kind !== 'identifier' || (parenthesized && words[k + 3]?.text !== ')')) throw fail('"defined" needs a macro name');
        prepared.push(number(this.table.isDefined(macro.text)));
        k += parenthesized ? 3 : 1;
        continue;
      }
      if ((t.text === '__has_include' || t.text === '__has_include_next' || FEATURE_TESTS.has(t.text)) && words[k + 1]?.text === '(') {
        const close = words.findIndex((w, j) => j > k && w.text === ')');
        if (close < 0) throw fail(`${t.text} is not closed`);
        const argument = words.slice(k + 2, close);
        if (FEATURE_TESTS.has(t.text)) prepared.push(number(false));
        else if (argument[0]?.kind === 'string') prepared.push(number(this.locator.locate(argument[0].text.slice(1, -1), dirname(file.absolutePath)) !== undefined));
        // A system header (<…>) is taken to be there, as it is for the compiler the shim is built with.
        else prepared.push(number(true));
        k = close;
        continue;
      }
      prepared.push(t);
    }
    try {
      return evaluateCondition(this.expand(prepared, file, line)) !== 0n;
    } catch (error) {
      if (error instanceof ConditionError) throw fail(error.message);
      throw error;
    }
  }
}

/** Preprocesses the entry headers and every header they include, in the order a compiler reads them. */
export function preprocessHeaders(locator: HeaderLocator, entryHeaders: readonly string[], options: PreprocessOptions): PreprocessedHeaders {
  const preprocessor = new Preprocessor(locator, new Set(entryHeaders), options);
  for (const entry of entryHeaders) preprocessor.visit(locator.entry(entry));
  return { files: preprocessor.files, unresolvedIncludes: preprocessor.unresolvedIncludes, macros: preprocessor.macros };
}
