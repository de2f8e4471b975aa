import type { Node } from 'web-tree-sitter';
import type { IrValue } from '../ir.js';
import { parseFloatLiteral, parseIntegerLiteral, parseStringLiteral } from './literals.js';
import type { SymbolTable } from './symbols.js';

function collapse(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function integer(value: bigint, text: string, symbol?: string): IrValue {
  return symbol === undefined ? { kind: 'integer', value: value.toString(), text } : { kind: 'integer', value: value.toString(), text, symbol };
}

/** The integer a value stands for (enumerators and bools included), if it has one. */
export function integerOf(value: IrValue): bigint | undefined {
  if (value.kind === 'integer' || value.kind === 'enumerator') return BigInt(value.value);
  if (value.kind === 'bool') return value.value ? 1n : 0n;
  return undefined;
}

const BINARY: Readonly<Record<string, (a: bigint, b: bigint) => bigint | undefined>> = {
  '+': (a, b) => a + b,
  '-': (a, b) => a - b,
  '*': (a, b) => a * b,
  '/': (a, b) => (b === 0n ? undefined : a / b),
  '%': (a, b) => (b === 0n ? undefined : a % b),
  '<<': (a, b) => a << b,
  '>>': (a, b) => a >> b,
  '|': (a, b) => a | b,
  '&': (a, b) => a & b,
  '^': (a, b) => a ^ b,
};

/**
 * Evaluates the constant expressions headers use for enumerators, constants and defaults:
 * literals, + - * / % << >> | & ^ ~ !, parentheses, casts, and names of earlier enumerators and
 * constants (looked up from `scope`). Anything else comes back as `unevaluated` with a reason,
 * which only becomes an error if a binding needs the value.
 */
export function evaluate(node: Node, scope: string, symbols: SymbolTable): IrValue {
  const text = collapse(node.text);
  const unevaluated = (reason: string): IrValue => ({ kind: 'unevaluated', text, reason });
  switch (node.type) {
    case 'number_literal': {
      const int = parseIntegerLiteral(node.text);
      if (int !== undefined) return integer(int, text);
      const float = parseFloatLiteral(node.text);
      return float === undefined ? unevaluated('not a number literal') : { kind: 'float', value: float, text };
    }
    case 'true':
    case 'false':
      return { kind: 'bool', value: node.type === 'true', text };
    case 'null':
    case 'nullptr':
      return integer(0n, text);
    case 'char_literal': {
      const body = parseStringLiteral(`"${node.text.replace(/^[uUL8]*'|'$/g, '')}"`);
      return integer(BigInt(body.codePointAt(0) ?? 0), text);
    }
    case 'string_literal':
    case 'raw_string_literal':
      return { kind: 'string', value: parseStringLiteral(node.text), text };
    case 'concatenated_string': {
      const parts = node.namedChildren.filter((c): c is Node => c !== null && /string_literal$/.test(c.type));
      return { kind: 'string', value: parts.map((p) => parseStringLiteral(p.text)).join(''), text };
    }
    case 'parenthesized_expression': {
      const inner = node.namedChildren[0];
      return inner ? evaluate(inner, scope, symbols) : unevaluated('empty parentheses');
    }
    case 'cast_expression': {
      const value = node.childForFieldName('value');
      return value ? evaluate(value, scope, symbols) : unevaluated('cast without a value');
    }
    case 'call_expression': {
      // static_cast<T>(x) and functional casts T(x) keep the value of x.
      const fn = node.childForFieldName('function');
      const args = node.childForFieldName('arguments')?.namedChildren ?? [];
      const fnText = fn?.text ?? '';
      const isCast = /^(static_cast|reinterpret_cast)\s*</.test(fnText) || /^[\w:]+$/.test(fnText);
      if (isCast && args.length === 1 && args[0]) {
        const value = evaluate(args[0], scope, symbols);
        if (value.kind !== 'unevaluated') return { ...value, text } as IrValue;
      }
      return unevaluated('function call');
    }
    case 'unary_expression': {
      const op = node.child(0)?.text ?? '';
      const argument = node.childForFieldName('argument');
      const value = argument ? evaluate(argument, scope, symbols) : undefined;
      const int = value ? integerOf(value) : undefined;
      if (int === undefined) return value && value.kind === 'float' && op === '-' ? { kind: 'float', value: -value.value, text } : unevaluated(`operand of ${op} is not an integer`);
      if (op === '-') return integer(-int, text);
      if (op === '+') return integer(int, text);
      if (op === '~') return integer(~int, text);
      if (op === '!') return { kind: 'bool', value: int === 0n, text };
      return unevaluated(`operator ${op}`);
    }
    case 'binary_expression': {
      const op = node.childForFieldName('operator')?.text ?? '';
      const left = node.childForFieldName('left');
      const right = node.childForFieldName('right');
      const a = left ? integerOf(evaluate(left, scope, symbols)) : undefined;
      const b = right ? integerOf(evaluate(right, scope, symbols)) : undefined;
      const fn = BINARY[op];
      const result = a !== undefined && b !== undefined && fn ? fn(a, b) : undefined;
      return result === undefined ? unevaluated(`cannot evaluate ${op}`) : integer(result, text);
    }
    case 'identifier':
    case 'qualified_identifier': {
      const found = symbols.lookup(text.replace(/\s/g, ''), scope);
      const entry = found?.entry;
      if (entry?.kind === 'enumerator') {
        const name = found!.qualified.slice(found!.qualified.lastIndexOf('::') + 2);
        return { kind: 'enumerator', enum: entry.enum, name, value: entry.value.toString(), text };
      }
      if (entry?.kind === 'constant') {
        const v = entry.value;
        if (v.kind === 'integer' || v.kind === 'string') return { ...v, text, symbol: found!.qualified };
        return { ...v, text } as IrValue;
      }
      return unevaluated(`${found?.qualified ?? text} is not declared in any header the codegen read`);
    }
    case 'initializer_list': {
      const items = node.namedChildren.filter((c): c is Node => c !== null && c.type !== 'comment');
      return { kind: 'list', items: items.map((c) => evaluate(c, scope, symbols)), text };
    }
    case 'compound_literal_expression': {
      // `= {}` as a default argument parses as a compound literal with a MISSING type.
      const value = node.childForFieldName('value');
      return value ? evaluate(value, scope, symbols) : unevaluated('compound literal');
    }
    case 'conditional_expression': {
      const cond = node.childForFieldName('condition');
      const c = cond ? integerOf(evaluate(cond, scope, symbols)) : undefined;
      const branch = c === undefined ? null : node.childForFieldName(c !== 0n ? 'consequence' : 'alternative');
      return branch ? evaluate(branch, scope, symbols) : unevaluated('condition is not constant');
    }
    default:
      return unevaluated(`unsupported expression (${node.type})`);
  }
}
