import type { ScalarName } from '../config.js';
import { CodegenError } from '../errors.js';
import type { IrValue } from '../ir.js';
import type { ApiModel, ClassModel, FunctionGroupModel, FunctionModel, Mapped, MethodModel, ParamModel, SingleConstant } from '../bind/model.js';
import { scalarOf } from '../bind/c-abi.js';

/** How each scalar looks in TypeScript (contract §2: 64-bit integers are bigint). */
export function isBigScalar(s: ScalarName): boolean {
  return s === 'int64' || s === 'uint64' || s === 'uintptr' || s === 'size';
}

export const TYPED_ARRAYS: Readonly<Record<ScalarName, string | undefined>> = {
  bool: undefined,
  int8: 'Int8Array',
  uint8: 'Uint8Array',
  int16: 'Int16Array',
  uint16: 'Uint16Array',
  int32: 'Int32Array',
  uint32: 'Uint32Array',
  int64: 'BigInt64Array',
  uint64: 'BigUint64Array',
  uintptr: 'BigUint64Array',
  size: 'BigUint64Array',
  float: 'Float32Array',
  double: 'Float64Array',
};

export function scalarTs(s: ScalarName, status?: true): string {
  if (status) return 'Status';
  if (s === 'bool') return 'boolean';
  return isBigScalar(s) ? 'bigint' : 'number';
}

/** The TS type of a mapped type in the public API. */
export function tsType(t: Mapped): string {
  switch (t.kind) {
    case 'scalar':
      return scalarTs(t.scalar, t.status);
    case 'enum':
      return t.enum.name;
    case 'string':
      return t.nullable ? 'string | null' : 'string';
    case 'struct':
      return t.struct.name;
    case 'pair':
      return `readonly [${tsType(t.first)}, ${tsType(t.second)}]`;
    case 'map':
      return 'Readonly<Record<string, string>>';
    case 'vector': {
      const scalar = scalarOf(t.element);
      const typed = scalar ? TYPED_ARRAYS[scalar] : undefined;
      if (typed) return typed;
      return `readonly ${tsType(t.element)}[]`;
    }
  }
}

/** `/** uint16 *\/`-style note for numbers whose range TS does not show. */
export function rangeNote(t: Mapped): string | undefined {
  const scalar = t.kind === 'scalar' && !t.status ? t.scalar : undefined;
  if (!scalar || scalar === 'bool' || isBigScalar(scalar)) return undefined;
  return scalar;
}

function pascal(name: string): string {
  return name
    .split('_')
    .filter((s) => s !== '')
    .map((s) => s[0]!.toUpperCase() + s.slice(1))
    .join('');
}

export function handleType(c: ClassModel): string {
  return `${c.name}Handle`;
}

export function bindingsInterface(c: ClassModel): string {
  return `${c.name}Bindings`;
}

/** `AclBindings`: the interface of a free-function group. */
export function groupInterface(g: FunctionGroupModel): string {
  return `${g.name}Bindings`;
}

/** `AclStatus`: what every function of the group returns. */
export function groupStatusType(g: FunctionGroupModel): string {
  return `${g.name}Status`;
}

/** What a free function returns: its group's status, or `{ status; <out>… }`. */
export function functionResultType(g: FunctionGroupModel, f: FunctionModel): string {
  const outs = f.params.filter((p) => p.direction === 'out');
  if (outs.length === 0) return groupStatusType(g);
  return `{ status: ${groupStatusType(g)}; ${outs.map((p) => `${p.name}: ${tsType(p.type)}`).join('; ')} }`;
}

export function bindingName(c: ClassModel, member: string): string {
  return `${c.name}_${member}`;
}

/** The named result interface of a method with exactly one out-vector (`StatusWithRets`). */
export function namedResult(m: MethodModel): { name: string; param: ParamModel } | undefined {
  const outs = m.params.filter((p) => p.direction === 'out');
  const only = outs[0];
  if (outs.length !== 1 || !only || only.type.kind !== 'vector') return undefined;
  return { name: `StatusWith${pascal(only.name)}`, param: only };
}

/** What a method returns: a bare Status, a named result, or `{ status; <out>… }`. */
export function resultType(m: MethodModel): string {
  const outs = m.params.filter((p) => p.direction === 'out');
  if (outs.length === 0) return 'Status';
  const named = namedResult(m);
  if (named) return named.name;
  return `{ status: Status; ${outs.map((p) => `${p.name}: ${tsType(p.type)}`).join('; ')} }`;
}

/** TS parameters of a method as the bindings interface declares them (out-parameters are results). */
export function inParams(m: { params: readonly ParamModel[] }): ParamModel[] {
  return m.params.filter((p) => p.direction === 'in');
}

/** An all-reserved struct parameter is optional: the shim passes a default-constructed one. */
export function isOptional(p: ParamModel): boolean {
  return p.default !== undefined || (p.type.kind === 'struct' && p.type.struct.reservedOnly);
}

export function tsString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\0/g, '\\0')}'`;
}

export function integerLiteral(value: bigint, big: boolean): string {
  return big ? `${value}n` : `${value}`;
}

/** A number literal written the way status codes read best (0x5010b001). */
export function hexLiteral(value: bigint): string {
  return `0x${value.toString(16).padStart(8, '0')}`;
}

/** Where a default value comes from, for error messages. */
export interface DefaultContext {
  readonly what: string;
  readonly file: string;
  readonly line: number;
}

/**
 * The TS expression for a header default (or the zero value when there is none): enumerators
 * as `Enum.member`, exported constants by name, structs through their `make…()` factory.
 */
export function defaultExpression(t: Mapped, value: IrValue | undefined, api: ApiModel, ctx: DefaultContext): string {
  const fail = (why: string): CodegenError =>
    new CodegenError(`${ctx.what}: default value "${value?.text ?? ''}" ${why}.`, ctx.file, ctx.line, 'give it a default the codegen can evaluate (a literal, an enumerator or a constant from a header it reads).');
  if (value?.kind === 'unevaluated') throw fail(`cannot be evaluated (${value.reason})`);
  switch (t.kind) {
    case 'scalar': {
      if (t.scalar === 'bool') {
        if (!value) return 'false';
        if (value.kind === 'bool') return String(value.value);
        if (value.kind === 'integer') return value.value === '0' ? 'false' : 'true';
        throw fail('is not a boolean');
      }
      const big = isBigScalar(t.scalar);
      if (t.scalar === 'float' || t.scalar === 'double') {
        if (!value) return '0';
        if (value.kind === 'float' || value.kind === 'integer') return String(value.value);
        throw fail('is not a number');
      }
      if (!value) return integerLiteral(0n, big);
      if (value.kind === 'integer' || value.kind === 'enumerator') {
        const single = value.kind === 'integer' && value.symbol ? api.singles.find((s: SingleConstant) => s.qualifiedName === value.symbol) : undefined;
        const singleScalar = single ? scalarOf(single.type) : undefined;
        if (single && singleScalar && isBigScalar(singleScalar) === big) return single.name;
        return integerLiteral(BigInt(value.value), big);
      }
      throw fail('is not an integer');
    }
    case 'enum': {
      const members = t.enum.members;
      if (!value) {
        const zero = members.find((m) => m.value === 0n) ?? members[0];
        if (!zero) throw fail(`has no enumerator in ${t.enum.name}`);
        return `${t.enum.name}.${zero.name}`;
      }
      if (value.kind === 'enumerator' || value.kind === 'integer') {
        const member = members.find((m) => m.value === BigInt(value.value));
        if (!member) throw fail(`is not an enumerator of ${t.enum.name}`);
        return `${t.enum.name}.${member.name}`;
      }
      throw fail(`is not an enumerator of ${t.enum.name}`);
    }
    case 'string':
      if (!value) return "''";
      if (value.kind === 'string') return tsString(value.value);
      throw fail('is not a string');
    case 'struct':
      if (!value || (value.kind === 'list' && value.items.length === 0)) return t.struct.reservedOnly ? '{}' : `make${t.struct.name}()`;
      throw fail('is a non-empty struct initializer (only {} is supported)');
    case 'map':
      if (!value || (value.kind === 'list' && value.items.length === 0)) return '{}';
      throw fail('is a non-empty map initializer');
    case 'pair': {
      const items = value?.kind === 'list' ? value.items : undefined;
      if (value && (!items || items.length !== 2)) throw fail('is not a pair {first, second}');
      const [a, b] = items ?? [];
      return `[${defaultExpression(t.first, a, api, ctx)}, ${defaultExpression(t.second, b, api, ctx)}]`;
    }
    case 'vector': {
      const items = value?.kind === 'list' ? value.items : value ? undefined : [];
      if (!items) throw fail('is not a list');
      const scalar = scalarOf(t.element);
      const typed = scalar ? TYPED_ARRAYS[scalar] : undefined;
      const elements = items.map((i) => defaultExpression(t.element, i, api, ctx));
      if (typed) return elements.length === 0 ? `new ${typed}(0)` : `new ${typed}([${elements.join(', ')}])`;
      return `[${elements.join(', ')}]`;
    }
  }
}
