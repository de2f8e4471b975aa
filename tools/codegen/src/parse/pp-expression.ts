import { parseIntegerLiteral, parseStringLiteral } from './literals.js';
import { isBlank, type Token } from './pp-tokens.js';

/** Why a `#if` expression has no value; the preprocessor turns it into a CodegenError at the directive. */
export class ConditionError extends Error {}

const BINARY_PRECEDENCE: Readonly<Record<string, number>> = {
  '||': 1,
  '&&': 2,
  '|': 3,
  '^': 4,
  '&': 5,
  '==': 6,
  '!=': 6,
  '<': 7,
  '>': 7,
  '<=': 7,
  '>=': 7,
  '<<': 8,
  '>>': 8,
  '+': 9,
  '-': 9,
  '*': 10,
  '/': 10,
  '%': 10,
};

function apply(op: string, a: bigint, b: bigint): bigint {
  switch (op) {
    case '||':
      return a !== 0n || b !== 0n ? 1n : 0n;
    case '&&':
      return a !== 0n && b !== 0n ? 1n : 0n;
    case '|':
      return a | b;
    case '^':
      return a ^ b;
    case '&':
      return a & b;
    case '==':
      return a === b ? 1n : 0n;
    case '!=':
      return a !== b ? 1n : 0n;
    case '<':
      return a < b ? 1n : 0n;
    case '>':
      return a > b ? 1n : 0n;
    case '<=':
      return a <= b ? 1n : 0n;
    case '>=':
      return a >= b ? 1n : 0n;
    case '<<':
      return a << b;
    case '>>':
      return a >> b;
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    default:
      if (b === 0n) throw new ConditionError(`division by zero in ${op}`);
      return op === '/' ? a / b : a % b;
  }
}

/**
 * Evaluates the controlling expression of `#if`/`#elif` after `defined`, `__has_include` and macro
 * expansion: integer and character literals, every C operator except assignment and comma, and the
 * conditional operator. Identifiers left over are 0, `true` is 1 (C++ [cpp.cond]). Values are
 * unbounded integers, which agrees with the compiler for every expression a header writes.
 */
export function evaluateCondition(tokens: readonly Token[]): bigint {
  const items = tokens.filter((t) => !isBlank(t));
  let pos = 0;
  const peek = (): Token | undefined => items[pos];
  const take = (text: string): void => {
    if (items[pos]?.text !== text) throw new ConditionError(`expected "${text}" ${items[pos] ? `before "${items[pos]!.text}"` : 'at the end'}`);
    pos++;
  };

  const primary = (): bigint => {
    const t = items[pos++];
    if (!t) throw new ConditionError('the expression ends early');
    if (t.text === '(') {
      const value = conditional();
      take(')');
      return value;
    }
    if (t.text === '!' || t.text === '~' || t.text === '-' || t.text === '+') {
      const value = primary();
      if (t.text === '!') return value === 0n ? 1n : 0n;
      if (t.text === '~') return ~value;
      return t.text === '-' ? -value : value;
    }
    if (t.kind === 'number') {
      const value = parseIntegerLiteral(t.text);
      if (value === undefined) throw new ConditionError(`"${t.text}" is not an integer`);
      return value;
    }
    if (t.kind === 'char') return BigInt(parseStringLiteral(`"${t.text.replace(/^[uUL8]*'|'$/g, '')}"`).codePointAt(0) ?? 0);
    if (t.kind === 'identifier') return t.text === 'true' ? 1n : 0n;
    throw new ConditionError(`unexpected "${t.text}"`);
  };

  const binary = (minPrecedence: number): bigint => {
    let left = primary();
    for (;;) {
      const op = peek()?.text ?? '';
      const precedence = BINARY_PRECEDENCE[op];
      if (precedence === undefined || precedence < minPrecedence) return left;
      pos++;
      // && and || still parse their right side when it does not matter, as the compiler does.
      left = apply(op, left, binary(precedence + 1));
    }
  };

  const conditional = (): bigint => {
    const condition = binary(1);
    if (peek()?.text !== '?') return condition;
    pos++;
    const whenTrue = conditional();
    take(':');
    const whenFalse = conditional();
    return condition !== 0n ? whenTrue : whenFalse;
  };

  if (items.length === 0) throw new ConditionError('the expression is empty');
  const value = conditional();
  if (pos < items.length) throw new ConditionError(`unexpected "${items[pos]!.text}"`);
  return value;
}
