import { isBlank, lineBreaks, tokenize, type Token } from './pp-tokens.js';

/** One `#define`, as the preprocessor stage read it. */
export interface MacroDefinition {
  readonly name: string;
  /** Parameter names of a function-like macro, without the variadic one. */
  readonly params?: readonly string[];
  /** The name the variadic arguments go by (`__VA_ARGS__`, or `args` for GNU `args...`). */
  readonly variadic?: string;
  /** Replacement list: comments dropped, each run of whitespace one space, trimmed. */
  readonly body: readonly Token[];
  /** Header path (or `(defines)` for the config's), 1-based line. */
  readonly file: string;
  readonly line: number;
}

/** A macro named in header text (not inside another expansion): where, and the text as written. */
export interface MacroUse {
  readonly name: string;
  /** 0-based line of the macro name in its header. */
  readonly line: number;
  readonly text: string;
}

/** A function-like macro called with the wrong number of arguments. */
export class MacroArgumentError extends Error {
  constructor(
    message: string,
    readonly line: number | undefined,
  ) {
    super(message);
  }
}

/**
 * Names that expand to nothing, with the balanced argument list that may follow them: compiler
 * attributes and the `_Pragma` operator carry nothing the bindings use, and the parser does not
 * accept them everywhere a compiler does (`const char X[] __attribute__((deprecated)) = …`).
 */
export const ATTRIBUTE_WORDS = ['__attribute__', '__declspec', '_Pragma'] as const;

const SPACE: Token = { kind: 'space', text: ' ' };
const NEWLINE: Token = { kind: 'newline', text: '\n' };

/** Reads tokens from a list, with expansions pushed back in front of what is left (rescanning). */
class TokenReader {
  private readonly pushedBack: Token[] = [];
  private index = 0;

  constructor(private readonly source: readonly Token[]) {}

  next(): Token | undefined {
    if (this.pushedBack.length > 0) return this.pushedBack.pop();
    return this.index < this.source.length ? this.source[this.index++] : undefined;
  }

  unread(tokens: readonly Token[]): void {
    for (let k = tokens.length - 1; k >= 0; k--) this.pushedBack.push(tokens[k]!);
  }

  /** The first token ahead that is not blank, without consuming anything. */
  peekPastBlanks(): Token | undefined {
    for (let k = this.pushedBack.length - 1; k >= 0; k--) if (!isBlank(this.pushedBack[k]!)) return this.pushedBack[k];
    for (let k = this.index; k < this.source.length; k++) if (!isBlank(this.source[k]!)) return this.source[k];
    return undefined;
  }

  takeBlanks(): Token[] {
    const blanks: Token[] = [];
    for (let t = this.next(); t; t = this.next()) {
      if (!isBlank(t)) {
        this.unread([t]);
        break;
      }
      blanks.push(t);
    }
    return blanks;
  }

  /** Consumes up to the token that closes `open` (already read); undefined if the input ends first. */
  takeGroup(open: string, close: string): Token[] | undefined {
    const taken: Token[] = [];
    let depth = 1;
    for (let t = this.next(); t; t = this.next()) {
      taken.push(t);
      if (t.text === open) depth++;
      if (t.text === close && --depth === 0) return taken;
    }
    this.unread(taken);
    return undefined;
  }
}

function withHide(t: Token, hide: ReadonlySet<string>): Token {
  const merged = t.hide ? new Set([...t.hide, ...hide]) : hide;
  return { kind: t.kind, text: t.text, hide: merged };
}

/** Blanks inside an argument become one space: an expansion never spans lines. */
function flatten(tokens: readonly Token[]): Token[] {
  const out: Token[] = [];
  for (const t of tokens) {
    if (isBlank(t)) {
      if (out.length > 0 && out[out.length - 1]!.kind !== 'space') out.push(SPACE);
    } else out.push(t);
  }
  while (out.length > 0 && out[out.length - 1]!.kind === 'space') out.pop();
  return out;
}

function stringify(arg: readonly Token[]): Token {
  const body = flatten(arg)
    .map((t) => (t.kind === 'string' || t.kind === 'char' ? t.text.replace(/[\\"]/g, (c) => `\\${c}`) : t.text))
    .join('');
  return { kind: 'string', text: `"${body}"` };
}

/** Splits the tokens after `(` into arguments at top-level commas; undefined if `)` never comes. */
function readArguments(reader: TokenReader): { args: Token[][]; consumed: Token[] } | undefined {
  const group = reader.takeGroup('(', ')');
  if (!group) return undefined;
  const args: Token[][] = [[]];
  let depth = 0;
  for (const t of group.slice(0, -1)) {
    if (t.text === '(') depth++;
    if (t.text === ')') depth--;
    if (t.text === ',' && depth === 0) args.push([]);
    else args[args.length - 1]!.push(t);
  }
  return { args, consumed: group };
}

/**
 * The macros defined so far and their expansion (C++ [cpp.replace]): object-like and function-like
 * macros, `#` and `##`, variadic macros with `__VA_ARGS__` and `__VA_OPT__`, rescanning, and no
 * recursion into a macro's own expansion. Names in `erased` vanish with their argument list.
 */
export class MacroTable {
  private readonly macros = new Map<string, MacroDefinition>();
  private readonly erased: ReadonlySet<string>;

  constructor(erased: Iterable<string>) {
    this.erased = new Set(erased);
  }

  define(macro: MacroDefinition): void {
    this.macros.set(macro.name, macro);
  }

  undefine(name: string): void {
    this.macros.delete(name);
  }

  isDefined(name: string): boolean {
    return this.macros.has(name);
  }

  /** Expands every macro in `tokens`. Line breaks inside a call are kept after its expansion. */
  expand(tokens: readonly Token[], onUse?: (use: MacroUse) => void): Token[] {
    const out: Token[] = [];
    const reader = new TokenReader(tokens);
    for (let t = reader.next(); t; t = reader.next()) {
      if (t.text === '[' && reader.peekPastBlanks()?.text === '[') {
        // A C++11 attribute ([[deprecated("…")]], [[nodiscard]]): nothing the bindings use.
        const blanks = reader.takeBlanks();
        reader.next();
        const inner = reader.takeGroup('[', ']');
        const outer = inner ? reader.takeGroup('[', ']') : undefined;
        if (!inner || !outer) {
          out.push(t, ...blanks, { kind: 'punctuator', text: '[' }, ...(inner ?? []));
          continue;
        }
        out.push(SPACE, ...Array<Token>(lineBreaks([...blanks, ...inner, ...outer])).fill(NEWLINE));
        continue;
      }
      if (t.kind !== 'identifier') {
        out.push(t);
        continue;
      }
      if (this.erased.has(t.text)) {
        let dropped: Token[] = [];
        if (reader.peekPastBlanks()?.text === '(') {
          const blanks = reader.takeBlanks();
          reader.next();
          dropped = [...blanks, ...(reader.takeGroup('(', ')') ?? [])];
        }
        out.push(SPACE, ...Array<Token>(lineBreaks(dropped)).fill(NEWLINE));
        continue;
      }
      const macro = this.macros.get(t.text);
      if (!macro || t.hide?.has(t.text)) {
        out.push(t);
        continue;
      }
      const hide = new Set([...(t.hide ?? []), macro.name]);
      if (!macro.params) {
        if (t.line !== undefined) onUse?.({ name: macro.name, line: t.line, text: t.text });
        reader.unread([SPACE, ...this.substitute(macro, [], hide), SPACE]);
        continue;
      }
      if (reader.peekPastBlanks()?.text !== '(') {
        out.push(t);
        continue;
      }
      const blanks = reader.takeBlanks();
      const open = reader.next()!;
      const call = readArguments(reader);
      if (!call) {
        // An unfinished call (its `)` is past a directive or the end): left as written.
        out.push(t, ...blanks, open);
        continue;
      }
      const args = this.checkArguments(macro, call.args, t.line);
      const written = [t, ...blanks, open, ...call.consumed];
      if (t.line !== undefined) onUse?.({ name: macro.name, line: t.line, text: written.map((w) => w.text).join('').replace(/\s+/g, ' ') });
      reader.unread([SPACE, ...this.substitute(macro, args, hide), SPACE, ...Array<Token>(lineBreaks(written)).fill(NEWLINE)]);
    }
    return out;
  }

  private checkArguments(macro: MacroDefinition, args: Token[][], line: number | undefined): Token[][] {
    const params = macro.params!;
    // `F()` passes one empty argument, which is no argument for a macro without parameters.
    const given = params.length === 0 && !macro.variadic && args.length === 1 && flatten(args[0]!).length === 0 ? [] : args;
    const ok = macro.variadic ? given.length >= params.length : given.length === params.length;
    if (!ok) {
      const expected = `${params.length}${macro.variadic ? ' or more' : ''}`;
      throw new MacroArgumentError(`macro ${macro.name} (defined at ${macro.file}:${macro.line}) takes ${expected} arguments, but is called with ${given.length}`, line);
    }
    return given;
  }

  /** The replacement list with arguments substituted, `#` and `##` applied, before rescanning. */
  private substitute(macro: MacroDefinition, args: readonly Token[][], hide: ReadonlySet<string>, body: readonly Token[] = macro.body): Token[] {
    const params = macro.params ?? [];
    const named = new Map<string, Token[]>(params.map((p, k) => [p, args[k] ?? []]));
    const variadicArgs = args.slice(params.length);
    if (macro.variadic) named.set(macro.variadic, variadicArgs.flatMap((a, k) => (k === 0 ? a : [{ kind: 'punctuator', text: ',' } as Token, ...a])));
    const result: Token[] = [];
    /** The last operand was an empty argument (a placemarker for `##`). */
    let emptyOperand = false;
    const nonSpace = (from: number, step: 1 | -1): Token | undefined => {
      for (let k = from; k >= 0 && k < body.length; k += step) if (body[k]!.kind !== 'space') return body[k];
      return undefined;
    };
    for (let i = 0; i < body.length; i++) {
      const t = body[i]!;
      if (t.kind === 'space') {
        result.push(t);
        continue;
      }
      if (t.text === '#' && macro.params) {
        let k = i + 1;
        while (body[k]?.kind === 'space') k++;
        const param = body[k];
        if (param && named.has(param.text)) {
          result.push(stringify(named.get(param.text)!));
          emptyOperand = false;
          i = k;
          continue;
        }
      }
      if (t.text === '##') {
        while (result.length > 0 && result[result.length - 1]!.kind === 'space') result.pop();
        let k = i + 1;
        while (body[k]?.kind === 'space') k++;
        const right = body[k];
        i = k;
        if (!right) break;
        const operand = named.has(right.text) ? flatten(named.get(right.text)!) : [right];
        if (operand.length === 0) continue;
        const left = emptyOperand ? undefined : result.pop();
        const pasted = left ? tokenize(left.text + operand[0]!.text) : [operand[0]!];
        result.push(...pasted, ...operand.slice(1));
        emptyOperand = false;
        continue;
      }
      if (t.text === '__VA_OPT__' && macro.variadic && nonSpace(i + 1, 1)?.text === '(') {
        let k = i + 1;
        while (body[k]!.text !== '(') k++;
        let depth = 0;
        let end = k;
        for (; end < body.length; end++) {
          if (body[end]!.text === '(') depth++;
          if (body[end]!.text === ')' && --depth === 0) break;
        }
        if (flatten(named.get(macro.variadic)!).length > 0) result.push(...this.substitute(macro, args, new Set(), body.slice(k + 1, end)));
        i = end;
        continue;
      }
      if (named.has(t.text)) {
        const arg = named.get(t.text)!;
        const pasted = nonSpace(i - 1, -1)?.text === '##' || nonSpace(i + 1, 1)?.text === '##';
        const replacement = pasted ? flatten(arg) : flatten(this.expand(flatten(arg)));
        result.push(...replacement);
        emptyOperand = replacement.length === 0;
        continue;
      }
      result.push(t);
      emptyOperand = false;
    }
    return result.map((r) => withHide(r, hide));
  }
}

/**
 * Reads the text after `#define` (line splices and comments already gone): `NAME body` or
 * `NAME(params) body`, where `(` directly after the name makes it function-like.
 */
export function parseDefinition(tokens: readonly Token[], file: string, line: number): MacroDefinition | string {
  let k = 0;
  while (tokens[k] && isBlank(tokens[k]!)) k++;
  const name = tokens[k];
  if (!name || name.kind !== 'identifier') return '#define needs a macro name';
  k++;
  const bodyFrom = (from: number): Token[] => flatten(tokens.slice(from));
  if (tokens[k]?.text !== '(') return { name: name.text, body: bodyFrom(k), file, line };
  const params: string[] = [];
  let variadic: string | undefined;
  for (k++; k < tokens.length; k++) {
    const t = tokens[k]!;
    if (isBlank(t) || t.text === ',') continue;
    if (t.text === ')') return { name: name.text, params, ...(variadic ? { variadic } : {}), body: bodyFrom(k + 1), file, line };
    if (t.text === '...') variadic = '__VA_ARGS__';
    else if (t.kind === 'identifier' && tokens[k + 1]?.text === '...') {
      variadic = t.text;
      k++;
    } else if (t.kind === 'identifier') params.push(t.text);
    else return `unexpected "${t.text}" in the parameters of macro ${name.text}`;
  }
  return `the parameter list of macro ${name.text} is not closed`;
}
