import type { IrConstant, IrType } from '../ir.js';
import type { MacroDefinition } from './macros.js';
import { ConditionError, evaluateCondition } from './pp-expression.js';
import type { PreprocessedHeader } from './preprocess.js';
import { isBlank, type Token } from './pp-tokens.js';

const INT_MAX = 2147483647n;
const UINT_MAX = 4294967295n;
const LONG_MAX = 9223372036854775807n;

/**
 * The type a compiler gives an integer constant expression of this value (LP64): `int` when it
 * fits, else `long`; unsigned when a literal says so (`U`) and the value needs it.
 */
function typeOf(value: bigint, unsigned: boolean): IrType {
  const name = unsigned
    ? value <= UINT_MAX
      ? 'unsigned int'
      : 'unsigned long'
    : value >= -INT_MAX - 1n && value <= INT_MAX
      ? 'int'
      : value >= -LONG_MAX - 1n && value <= LONG_MAX
        ? 'long'
        : 'unsigned long';
  return { text: name, name };
}

/** The `/** … *\/` or `///` comment that ends right above 1-based `line` of `text`, cleaned. */
function docAbove(lines: readonly string[], line: number): string | undefined {
  let end = line - 2;
  if (end < 0) return undefined;
  const collected: string[] = [];
  if (/^\s*\/\/\//.test(lines[end]!)) {
    while (end >= 0 && /^\s*\/\/\//.test(lines[end]!)) collected.unshift(lines[end--]!.replace(/^\s*\/\/\/\s?/, ''));
  } else if (/\*\/\s*$/.test(lines[end]!)) {
    let start = end;
    while (start >= 0 && !/\/\*/.test(lines[start]!)) start--;
    if (start < 0 || !/\/\*[*!]/.test(lines[start]!)) return undefined;
    for (let i = start; i <= end; i++) collected.push(lines[i]!);
    collected[0] = collected[0]!.replace(/^\s*\/\*[*!]/, '');
    collected[collected.length - 1] = collected[collected.length - 1]!.replace(/\*\/\s*$/, '');
  } else {
    return undefined;
  }
  const doc = collected
    .map((l) => l.replace(/^\s*\*(?!\/)/, ''))
    .join(' ')
    .replace(/\s+/g, ' ')
    .trim();
  return doc === '' ? undefined : doc;
}

/**
 * Object-like macros whose body is an integer constant expression (`#define ACL_ERROR_RT_X 107000`,
 * `#define B (A + 1)` over an earlier one): constants of the global namespace, as a compiler sees
 * them wherever the header is included. Header guards, visibility and function-like macros, and
 * bodies naming anything but such constants, are not constants.
 */
export function macroConstants(macros: readonly MacroDefinition[], files: readonly PreprocessedHeader[]): IrConstant[] {
  const texts = new Map(files.map((f) => [f.path, f.text.split('\n')]));
  const values = new Map<string, { value: bigint; unsigned: boolean }>();
  const constants = new Map<string, IrConstant>();
  for (const m of macros) {
    const lines = texts.get(m.file);
    if (lines === undefined || m.params !== undefined || m.variadic !== undefined) continue;
    const body = m.body.filter((t) => !isBlank(t));
    const found = integerBody(body, values);
    if (found === undefined) {
      // A redefinition as something else is no longer a constant.
      values.delete(m.name);
      constants.delete(m.name);
      continue;
    }
    values.set(m.name, found);
    const doc = docAbove(lines, m.line);
    const text = body.map((t) => t.text).join(' ');
    constants.delete(m.name);
    constants.set(m.name, {
      name: m.name,
      namespace: '',
      qualifiedName: m.name,
      file: m.file,
      line: m.line,
      ...(doc === undefined ? {} : { doc }),
      type: typeOf(found.value, found.unsigned),
      value: { kind: 'integer', value: found.value.toString(), text },
      define: true,
    });
  }
  return [...constants.values()];
}

/** The value of a macro body made of integer literals, operators and earlier integer macros. */
function integerBody(body: readonly Token[], known: ReadonlyMap<string, { value: bigint; unsigned: boolean }>): { value: bigint; unsigned: boolean } | undefined {
  if (body.length === 0) return undefined;
  let unsigned = false;
  const substituted: Token[] = [];
  for (const t of body) {
    if (t.kind === 'identifier') {
      const earlier = known.get(t.text);
      if (earlier === undefined) return undefined;
      unsigned ||= earlier.unsigned;
      substituted.push({ ...t, kind: 'number', text: `(${earlier.value})` });
      continue;
    }
    if (t.kind === 'number') {
      if (!/^(0[xX][0-9a-fA-F']+|0[bB][01']+|[0-9][0-9']*)[uUlLzZ]*$/.test(t.text)) return undefined;
      unsigned ||= /[uU]/.test(t.text);
      substituted.push(t);
      continue;
    }
    if (t.kind !== 'punctuator' || !/^(\(|\)|\+|-|\*|\/|%|<<|>>|\||&|\^|~)$/.test(t.text)) return undefined;
    substituted.push(t);
  }
  try {
    return { value: evaluateCondition(substituted.flatMap(expand)), unsigned };
  } catch (error) {
    if (error instanceof ConditionError) return undefined;
    throw error;
  }
}

/** `(107000)` stands for an earlier macro's value: split back into the tokens the evaluator reads. */
function expand(t: Token): Token[] {
  const m = /^\((-?)(\d+)\)$/.exec(t.text);
  if (t.kind !== 'number' || !m) return [t];
  return [
    { ...t, kind: 'punctuator', text: '(' },
    ...(m[1] ? [{ ...t, kind: 'punctuator' as const, text: '-' }] : []),
    { ...t, kind: 'number', text: m[2]! },
    { ...t, kind: 'punctuator', text: ')' },
  ];
}
