import type { SourceFile } from 'ts-morph';
import type { ScalarName } from '../config.js';
import {
  asyncMethodFunction,
  COMPLETION_QUEUE,
  completesThroughQueue,
  C_SCALARS,
  createFunction,
  destroyFunction,
  freeFunction,
  methodFunction,
  paramSlots,
  RUNTIME_FUNCTIONS,
  scalarOf,
  structLayouts,
  submitMethodFunction,
  type CFunction,
  type CSlot,
  type CStructLayout,
  type CType,
} from '../bind/c-abi.js';
import type { ApiModel, ClassModel, FunctionGroupModel, Mapped, MethodModel, ParamModel, StructModel } from '../bind/model.js';
import { runtimeHelpers } from './ts-native-runtime.js';
import {
  bindingName,
  bindingsInterface,
  defaultExpression,
  groupInterface,
  handleType,
  inParams,
  isBigScalar,
  namedResult,
  TYPED_ARRAYS,
  tsString,
} from './ts-types.js';

/** Collects the runtime helpers the generated code calls. */
class Uses {
  readonly names = new Set<string>();
  call(name: string, args: string): string {
    this.names.add(name);
    return `${name}(${args})`;
  }
}

/** A path for error messages, as the body of a template literal (`${where}: clusters[${i}]`). */
const lit = (path: string): string => `\`${path}\``;

function checkScalar(u: Uses, s: ScalarName, value: string, path: string): string {
  if (s === 'bool') return u.call('expectBoolean', `${value}, ${lit(path)}`);
  if (s === 'float' || s === 'double') return u.call('expectFloat', `${value}, ${lit(path)}`);
  if (isBigScalar(s)) return u.call('expectBigInteger', `${value}, '${s === 'int64' ? 'int64' : 'uint64'}', ${lit(path)}`);
  return u.call('expectInteger', `${value}, '${s}', ${lit(path)}`);
}

interface Encoded {
  /** Statements to run first (typed-array checks, nested encodings). */
  readonly pre: string[];
  /** One expression per C slot, in slot order. */
  readonly values: string[];
}

/** Encodes one value of mapped type `t` into the C slots of the contract; `local` names temporaries. */
function encodeValue(u: Uses, t: Mapped, value: string, path: string, local: string): Encoded {
  const scalar = scalarOf(t);
  if (scalar) return { pre: [], values: [checkScalar(u, scalar, value, path)] };
  switch (t.kind) {
    case 'string':
      return { pre: [], values: [u.call(t.nullable ? 'expectNullableString' : 'expectString', `${value}, ${lit(path)}`)] };
    case 'struct':
      return { pre: [], values: [`encode${t.struct.name}(${value}, ${lit(path)})`] };
    case 'pair': {
      const pre = [`const ${local} = ${u.call('expectPair', `${value}, ${lit(path)}`)};`];
      const first = encodeValue(u, t.first, `${local}[0]`, `${path}[0]`, `${local}_first`);
      const second = encodeValue(u, t.second, `${local}[1]`, `${path}[1]`, `${local}_second`);
      return { pre: [...pre, ...first.pre, ...second.pre], values: [...first.values, ...second.values] };
    }
    case 'map': {
      const pre = [`const ${local} = ${u.call('expectStringMap', `${value}, ${lit(path)}`)};`];
      return { pre, values: [`${local}.keys`, `${local}.values`, `${local}.keys.length`] };
    }
    case 'vector': {
      const e = t.element;
      const es = scalarOf(e);
      const typed = es ? TYPED_ARRAYS[es] : undefined;
      if (typed) return { pre: [`const ${local} = ${u.call('expectTypedArray', `${value}, ${typed}, ${lit(path)}`)};`], values: [local, `${local}.length`] };
      if (e.kind === 'vector') {
        const inner = scalarOf(e.element);
        const innerTyped = inner ? TYPED_ARRAYS[inner] : undefined;
        if (!innerTyped) throw new Error('rows of non-typed elements');
        return { pre: [`const ${local} = ${u.call('flattenRows', `${value}, ${innerTyped}, ${lit(path)}`)};`], values: [`${local}.data`, `${local}.lengths`, `${local}.lengths.length`] };
      }
      const each = (item: string, itemPath: string): string => {
        if (es) return checkScalar(u, es, item, itemPath);
        if (e.kind === 'string') return u.call('expectString', `${item}, ${lit(itemPath)}`);
        if (e.kind === 'struct') return `encode${e.struct.name}(${item}, ${lit(itemPath)})`;
        throw new Error(`no encoding for vector of ${e.kind}`);
      };
      const pre = [`const ${local} = ${u.call('expectArray', `${value}, ${lit(path)}`)}.map((item, i) => ${each('item', `${path}[\${i}]`)});`];
      return { pre, values: [local, `${local}.length`] };
    }
    default:
      throw new Error(`no encoding for ${t.kind}`);
  }
}

/** The koffi type expression of a C type; `types` is how the generated code reaches declared types. */
function koffiSpec(t: CType, types = 't.'): string {
  switch (t.kind) {
    case 'scalar':
      return `'${C_SCALARS[t.scalar].c}'`;
    case 'string':
      return `'const char *'`;
    case 'struct':
      return `${types}${t.struct.cName}`;
    case 'handle':
      return `${types}${t.cName}`;
    case 'handleOut':
      return `koffi.out(koffi.pointer(${types}${t.cName}))`;
    case 'textBuffer':
      return `koffi.pointer('char')`;
    case 'pointer':
      return `koffi.pointer(${koffiSpec(t.to, types)})`;
  }
}

/** koffi type of a function parameter; out-pointers get their direction. */
function koffiParamSpec(slot: CSlot, direction: 'in' | 'out'): string {
  if (direction === 'out' && slot.type.kind === 'pointer') {
    if (slot.role === 'outCount' || (slot.role === 'value' && slot.type.to.kind === 'scalar')) return `koffi.out(${koffiSpec(slot.type)})`;
    if (slot.role === 'value' && slot.type.to.kind === 'struct') return `koffi.inout(${koffiSpec(slot.type)})`;
  }
  return koffiSpec(slot.type);
}

function functionDeclaration(f: CFunction, directions: readonly ('in' | 'out')[]): string {
  const params = f.params.map((slot, i) => koffiParamSpec(slot, directions[i] ?? 'in'));
  return `${f.name}: lib.func('${f.name}', '${f.returns}', [${params.join(', ')}]),`;
}

function slotDirections(params: readonly ParamModel[], leading: number): ('in' | 'out')[] {
  return [...Array<'in'>(leading).fill('in'), ...params.flatMap((p) => paramSlots(p).map(() => p.direction))];
}

function encoders(u: Uses, structs: readonly StructModel[]): string[] {
  const out: string[] = [];
  for (const s of structs.filter((x) => !x.reservedOnly)) {
    const pre: string[] = [];
    const entries: string[] = [];
    for (const f of s.fields) {
      const e = encodeValue(u, f.type, `v.${f.name}`, `\${path}.${f.name}`, f.name);
      pre.push(...e.pre);
      const slots = fieldSlotsOf(f.name, f.type);
      slots.forEach((slot, i) => entries.push(`${slot}: ${e.values[i]}`));
    }
    u.names.add('expectRecord');
    out.push(
      `function encode${s.name}(value: unknown, path: string): Record<string, unknown> {`,
      '  const v = expectRecord(value, path);',
      ...pre.map((l) => `  ${l}`),
      '  return {',
      ...entries.map((e) => `    ${e},`),
      '  };',
      '}',
      '',
    );
  }
  return out;
}

/** DataView setter for each scalar a pointer-free struct can hold. */
const VIEW_SETTERS: Readonly<Record<ScalarName, string>> = {
  bool: 'setUint8',
  int8: 'setInt8',
  uint8: 'setUint8',
  int16: 'setInt16',
  uint16: 'setUint16',
  int32: 'setInt32',
  uint32: 'setUint32',
  int64: 'setBigInt64',
  uint64: 'setBigUint64',
  uintptr: 'setBigUint64',
  size: 'setBigUint64',
  float: 'setFloat32',
  double: 'setFloat64',
};

/**
 * Input structs of scalars only: koffi converts a JS object field by field on every call (~0.3 µs
 * per struct measured), so these are written straight into bytes at the C layout's offsets.
 */
function isPointerFree(s: StructModel): boolean {
  const scalarOrPair = (t: Mapped): boolean => scalarOf(t) !== undefined || (t.kind === 'pair' && scalarOf(t.first) !== undefined && scalarOf(t.second) !== undefined);
  return !s.reservedOnly && !s.usedAsOutput && s.fields.length > 0 && s.fields.every((f) => scalarOrPair(f.type));
}

/** write<Struct>(bytes, value, path): checks `value` like encode<Struct> and writes it into `bytes`. */
function byteWriters(u: Uses, layouts: readonly CStructLayout[]): string[] {
  const out: string[] = [];
  for (const l of layouts.filter((x) => isPointerFree(x.struct))) {
    const s = l.struct;
    const pre: string[] = [];
    const writes: string[] = [];
    let slot = 0;
    for (const f of s.fields) {
      const e = encodeValue(u, f.type, `v.${f.name}`, `\${path}.${f.name}`, f.name);
      pre.push(...e.pre);
      for (const value of e.values) {
        const field = l.fields[slot++]!;
        if (field.type.kind !== 'scalar') throw new Error(`${s.cName}.${field.name} is not a scalar`);
        const scalar = field.type.scalar;
        const wide = C_SCALARS[scalar].size > 1;
        const written = scalar === 'bool' ? `${value} ? 1 : 0` : value;
        writes.push(`view.${VIEW_SETTERS[scalar]}(${field.offset}, ${written}${wide ? ', LITTLE_ENDIAN' : ''});`);
      }
    }
    u.names.add('expectRecord');
    u.names.add('LITTLE_ENDIAN');
    out.push(
      `/** ${s.cName} (${l.size} bytes) written into \`bytes\`, every field checked first as encode${s.name} would. */`,
      `function write${s.name}(bytes: Buffer, value: unknown, path: string): Buffer {`,
      '  const v = expectRecord(value, path);',
      ...pre.map((x) => `  ${x}`),
      `  const view = new DataView(bytes.buffer, bytes.byteOffset, ${l.size});`,
      ...writes.map((w) => `  ${w}`),
      '  return bytes;',
      '}',
      '',
    );
  }
  return out;
}

/** Bytes per element of each typed array a vector crosses as. */
const TYPED_ARRAY_BYTES: Readonly<Record<string, number>> = {
  Int8Array: 1,
  Uint8Array: 1,
  Int16Array: 2,
  Uint16Array: 2,
  Int32Array: 4,
  Uint32Array: 4,
  Float32Array: 4,
  BigInt64Array: 8,
  BigUint64Array: 8,
  Float64Array: 8,
};

/**
 * Input structs that hold arrays (a Cache, a CacheDesc): koffi's conversion of such an object costs
 * about 0.8 µs per call (measured), so they are placed into an ArgumentArena instead, their arrays
 * after them. Every field is a scalar, a pair of scalars, a vector of scalars whose typed array has
 * the C element's size, or a struct placed the same way.
 */
function isArenaPlaced(s: StructModel): boolean {
  return !s.reservedOnly && s.fields.length > 0 && !isPointerFree(s) && placeable(s, new Set());
}

function placeable(s: StructModel, seen: Set<StructModel>): boolean {
  if (seen.has(s)) return false;
  seen.add(s);
  return s.fields.every((f) => {
    const t = f.type;
    if (scalarOf(t) !== undefined) return true;
    if (t.kind === 'pair') return scalarOf(t.first) !== undefined && scalarOf(t.second) !== undefined;
    if (t.kind === 'struct') return !t.struct.reservedOnly && placeable(t.struct, seen);
    if (t.kind === 'vector') {
      const scalar = scalarOf(t.element);
      const typed = scalar === undefined ? undefined : TYPED_ARRAYS[scalar];
      return typed !== undefined && TYPED_ARRAY_BYTES[typed] === C_SCALARS[scalar!].size;
    }
    return false;
  });
}

/**
 * place<Struct>(arena, encoded): the object encode<Struct> returned, as C bytes at the start of
 * `arena` (the argument to pass), or the object itself when its arrays do not fit (koffi converts
 * it then). place<Struct>At writes one at a given offset and says whether its arrays fit.
 */
function arenaPlacers(layouts: readonly CStructLayout[]): string[] {
  const out: string[] = [];
  const layoutOf = (s: StructModel): CStructLayout => layouts.find((l) => l.struct === s)!;
  for (const l of layouts.filter((x) => !x.struct.reservedOnly && x.struct.fields.length > 0 && placeable(x.struct, new Set()))) {
    const s = l.struct;
    const writes: string[] = [];
    for (const f of l.fields) {
      const value = `e.${f.name}`;
      const t = f.type;
      if (t.kind === 'scalar') {
        const wide = C_SCALARS[t.scalar].size > 1;
        const big = VIEW_SETTERS[t.scalar].includes('Big');
        const written = t.scalar === 'bool' ? `${value} ? 1 : 0` : big ? `ArgumentArena.big(${value})` : `${value} as number`;
        writes.push(`arena.view.${VIEW_SETTERS[t.scalar]}(at + ${f.offset}, ${written}${wide ? ', LITTLE_ENDIAN' : ''});`);
      } else if (t.kind === 'pointer') {
        writes.push(
          `const ${f.name} = arena.array(${value} as ArrayBufferView);`,
          `if (${f.name} === undefined) return false;`,
          `arena.view.setBigUint64(at + ${f.offset}, ${f.name}, LITTLE_ENDIAN);`,
        );
      } else if (t.kind === 'struct') {
        writes.push(`if (!place${t.struct.name}At(arena, at + ${f.offset}, ${value} as Record<string, unknown>)) return false;`);
      } else {
        throw new Error(`${s.cName}.${f.name}: no placement for a ${t.kind}`);
      }
    }
    out.push(
      `/** ${s.cName} (${l.size} bytes) written at \`at\` in \`arena\`, its arrays after what the arena holds; false when they do not fit. */`,
      `function place${s.name}At(arena: ArgumentArena, at: number, e: Record<string, unknown>): boolean {`,
      ...writes.map((w) => `  ${w}`),
      '  return true;',
      '}',
      '',
    );
    if (isArenaPlaced(s)) {
      out.push(
        `/** What encode${s.name} returned, as C bytes in \`arena\` (the argument to pass), or itself when its arrays do not fit there. */`,
        `function place${s.name}(arena: ArgumentArena, e: Record<string, unknown>): unknown {`,
        `  arena.start(${layoutOf(s).size});`,
        `  return place${s.name}At(arena, 0, e) ? arena.bytes : e;`,
        '}',
        '',
      );
    }
  }
  return out;
}

/** Throws when koffi lays out a struct the bytes writers or placers fill differently from the codegen's layout. */
function layoutChecks(layouts: readonly CStructLayout[]): string[] {
  return layouts
    .filter((l) => isPointerFree(l.struct) || (!l.struct.reservedOnly && l.struct.fields.length > 0 && placeable(l.struct, new Set())))
    .map((l) => {
      const offsets = l.fields.map((f) => `${f.name}: ${f.offset}`).join(', ');
      return `checkLayout(koffi, t.${l.struct.cName}, '${l.struct.cName}', ${l.size}, { ${offsets} });`;
    });
}

function fieldSlotsOf(name: string, t: Mapped): string[] {
  if (t.kind === 'pair') return [`${name}_first`, `${name}_second`];
  if (t.kind === 'vector') return [name, `${name}_count`];
  return [name];
}

/** Out-structs: caller-allocated buffers for vector fields, and a reader for the result. */
function allocators(u: Uses, structs: readonly StructModel[]): string[] {
  const out: string[] = [];
  for (const s of structs.filter((x) => x.usedAsOutput && !x.reservedOnly)) {
    const pre: string[] = [];
    const nativeEntries: string[] = [];
    const readEntries: string[] = [];
    for (const f of s.fields) {
      const t = f.type;
      const scalar = scalarOf(t);
      if (scalar) {
        nativeEntries.push(`${f.name}: ${isBigScalar(scalar) ? '0n' : scalar === 'bool' ? 'false' : '0'}`);
        const read = isBigScalar(scalar) ? u.call('toBigInt', `r.${f.name}`) : scalar === 'bool' ? `Boolean(r.${f.name})` : u.call('toNumber', `r.${f.name}`);
        // Native code may return values the header's enum does not list; the union documents the known ones.
        readEntries.push(`${f.name}: ${t.kind === 'enum' ? `${read} as ${t.enum.name}` : read}`);
      } else if (t.kind === 'pair') {
        for (const [part, m] of [['first', t.first], ['second', t.second]] as const) {
          const ps = scalarOf(m)!;
          nativeEntries.push(`${f.name}_${part}: ${isBigScalar(ps) ? '0n' : '0'}`);
        }
        const readPart = (part: string, m: Mapped): string => {
          const ps = scalarOf(m)!;
          const v = isBigScalar(ps) ? u.call('toBigInt', `r.${f.name}_${part}`) : u.call('toNumber', `r.${f.name}_${part}`);
          return m.kind === 'enum' ? `${v} as ${m.enum.name}` : v;
        };
        readEntries.push(`${f.name}: [${readPart('first', t.first)}, ${readPart('second', t.second)}] as const`);
      } else if (t.kind === 'struct') {
        pre.push(`const ${f.name} = allocate${t.struct.name}(capacity);`);
        nativeEntries.push(`${f.name}: ${f.name}.native`);
        readEntries.push(`${f.name}: ${f.name}.read(r.${f.name})`);
      } else if (t.kind === 'vector') {
        const typed = TYPED_ARRAYS[scalarOf(t.element)!]!;
        pre.push(`const ${f.name} = new ${typed}(capacity);`);
        nativeEntries.push(`${f.name}, ${f.name}_count: capacity`);
        readEntries.push(`${f.name}: ${f.name}.subarray(0, Math.min(capacity, ${u.call('toNumber', `r.${f.name}_count`)}))`);
      }
    }
    u.names.add('expectRecord');
    out.push(
      `/** Caller-allocated ${s.cName} (vector fields have \`capacity\` elements) and a reader for what the shim wrote. */`,
      `function allocate${s.name}(capacity: number): { native: Record<string, unknown>; read(result: unknown): ${s.name} } {`,
      ...pre.map((l) => `  ${l}`),
      `  const native: Record<string, unknown> = { ${nativeEntries.join(', ')} };`,
      '  return {',
      '    native,',
      `    read: (result) => {`,
      `      const r = expectRecord(result, '${s.cName}');`,
      `      return { ${readEntries.join(', ')} };`,
      '    },',
      '  };',
      '}',
      '',
    );
  }
  return out;
}

interface Prepared {
  readonly pre: string[];
  readonly args: string[];
  readonly result: string;
}

/**
 * The statements and arguments of one call. `bytesFor` names the buffer a pointer-free struct
 * parameter is written into (a per-bindings scratch for sync calls, a fresh one for async calls).
 */
function prepareCall(
  u: Uses,
  m: MethodModel,
  outCapacity: number,
  bytesFor: (p: ParamModel, size: number) => string,
  layouts: readonly CStructLayout[],
  arenaFor?: (p: ParamModel) => string,
): Prepared {
  const pre: string[] = [];
  const args = [u.call('expectHandle', `self, ${lit('${where}: self')}`)];
  const outs: { name: string; expr: string }[] = [];
  const locals = new Map<string, string>();
  for (const p of m.params) {
    const local = `${p.name}_`;
    if (p.direction === 'in') {
      if (p.type.kind === 'struct' && p.type.struct.reservedOnly) continue;
      if (p.type.kind === 'struct' && isPointerFree(p.type.struct)) {
        const struct = p.type.struct;
        const layout = layouts.find((l) => l.struct === struct)!;
        args.push(`write${struct.name}(${bytesFor(p, layout.size)}, ${p.name}, \`\${where}: ${p.name}\`)`);
        continue;
      }
      const e = encodeValue(u, p.type, p.name, `\${where}: ${p.name}`, local);
      pre.push(...e.pre);
      if (p.type.kind === 'struct' && arenaFor !== undefined && isArenaPlaced(p.type.struct)) {
        args.push(`place${p.type.struct.name}(${arenaFor(p)}, ${e.values[0]!})`);
        continue;
      }
      args.push(...e.values);
      if (e.pre.length > 0) locals.set(p.name, local);
      continue;
    }
    const t = p.type;
    const scalar = scalarOf(t);
    if (scalar) {
      pre.push(`const ${local}: unknown[] = [${isBigScalar(scalar) ? '0n' : '0'}];`);
      args.push(local);
      const read = isBigScalar(scalar) ? u.call('toBigInt', `${local}[0]`) : scalar === 'bool' ? `Boolean(${local}[0])` : u.call('toNumber', `${local}[0]`);
      outs.push({ name: p.name, expr: t.kind === 'enum' ? `${read} as ${t.enum.name}` : read });
    } else if (t.kind === 'struct') {
      pre.push(`const ${local} = allocate${t.struct.name}(${outCapacity});`);
      args.push(`${local}.native`);
      outs.push({ name: p.name, expr: `${local}.read(${local}.native)` });
    } else if (t.kind === 'vector') {
      const typed = TYPED_ARRAYS[scalarOf(t.element)!]!;
      const source = locals.get(p.capacityFrom!) ?? p.capacityFrom!;
      pre.push(`const ${local} = new ${typed}(${source}.length);`, `const ${local}count: unknown[] = [0];`);
      args.push(local, `${local}.length`, `${local}count`);
      outs.push({ name: p.name, expr: `${local}.subarray(0, Math.min(${local}.length, ${u.call('toNumber', `${local}count[0]`)}))` });
    }
  }
  const status = u.call('toStatus', 'status');
  const result = outs.length === 0 ? status : `({ status: ${status}, ${outs.map((o) => `${o.name}: ${o.expr}`).join(', ')} })`;
  return { pre, args, result };
}

function methodParams(m: { params: readonly ParamModel[] }, api: ApiModel, withDefaults: boolean, ctx: { file: string; line: number; what: string }): string[] {
  return inParams(m).map((p) => {
    if (p.type.kind === 'struct' && p.type.struct.reservedOnly) return `_${p.name}`;
    if (withDefaults && p.default !== undefined) return `${p.name} = ${defaultExpression(p.type, p.default, api, { ...ctx, what: `parameter ${p.name} of ${ctx.what}` })}`;
    return p.name;
  });
}

interface ImplementationParts {
  readonly members: string[];
  /** Module-level constants (struct defaults built once). */
  readonly defaults: Map<string, string>;
  /** Per-bindings scratch buffers. */
  readonly scratch: string[];
  /** Has async methods that run on koffi's worker. */
  readonly hasAsync: boolean;
  /** Has async methods that complete through the completion queue. */
  readonly hasQueued: boolean;
}

function classMembers(u: Uses, c: ClassModel, api: ApiModel, outCapacity: number, layouts: readonly CStructLayout[]): ImplementationParts {
  const handle = handleType(c);
  const members: string[] = [];
  const create = createFunction(c);
  const createEncoded = c.constructorParams.map((p) => encodeValue(u, p.type, p.name, `\${where}: ${p.name}`, `${p.name}_`));
  members.push(
    `${bindingName(c, 'create')}(${c.constructorParams.map((p) => p.name).join(', ')}) {`,
    `  const where = '${bindingName(c, 'create')}';`,
    ...createEncoded.flatMap((e) => e.pre).map((l) => `  ${l}`),
    '  const out: unknown[] = [null];',
    `  const status = ${u.call('toStatus', `noteSyncStatus(fn.${create.name}(${[...createEncoded.flatMap((e) => e.values), 'out'].join(', ')}))`)};`,
    `  return { status, handle: ${u.call('toHandle', 'out[0]')} as ${handle} };`,
    '},',
    `${bindingName(c, 'destroy')}(self) {`,
    `  fn.${destroyFunction(c).name}(${u.call('expectHandle', `self, '${bindingName(c, 'destroy')}: self'`)});`,
    '},',
  );
  // Module-level defaults: a struct default is built once (frozen), not on every call that omits it.
  const defaults = new Map<string, string>();
  const hoistDefault = (param: string): string => {
    const made = /^(\w+) = make(\w+)\(\)$/.exec(param);
    if (!made) return param;
    const name = `DEFAULT_${made[2]}`;
    defaults.set(name, `const ${name}: ${made[2]} = Object.freeze(make${made[2]}());`);
    return `${made[1]} = ${name}`;
  };
  // Sync calls never overlap (koffi runs them on this thread, with no callbacks), so each pointer-free
  // struct parameter of a sync call has one scratch buffer for the life of the bindings.
  const scratch: string[] = [];
  for (const m of c.methods) {
    const f = methodFunction(c, m);
    const syncBytes = (p: ParamModel, size: number): string => {
      const name = `${m.name}_${p.name}_bytes`;
      scratch.push(`const ${name} = Buffer.alloc(${size});`);
      return name;
    };
    const syncArena = (p: ParamModel): string => {
      const name = `${m.name}_${p.name}_arena`;
      u.names.add('ArgumentArena');
      u.names.add('ARGUMENT_ARENA_BYTES');
      scratch.push(`const ${name} = new ArgumentArena(koffi, ARGUMENT_ARENA_BYTES);`);
      return name;
    };
    const sync = prepareCall(u, m, outCapacity, syncBytes, layouts, syncArena);
    const ctx = { file: m.file, line: m.line, what: m.qualifiedName };
    const params = ['self', ...methodParams(m, api, true, ctx).map(hoistDefault)].join(', ');
    const where = `  const where = '${bindingName(c, m.name)}';`;
    members.push(
      `${bindingName(c, m.name)}(${params}) {`,
      where,
      ...sync.pre.map((l) => `  ${l}`),
      `  const status = noteSyncStatus(fn.${f.name}(${sync.args.join(', ')}));`,
      `  return ${sync.result};`,
      '},',
    );
    if (m.async && completesThroughQueue(m)) {
      // The submission converts and copies every argument before it returns, as a sync call does,
      // so it uses the sync call's statements and scratch buffers.
      members.push(
        `async ${bindingName(c, `${m.name}Async`)}(${params}) {`,
        where,
        ...sync.pre.map((l) => `  ${l}`),
        `  const status = noteCompletion(await completions().run((queue, token) => fn.${submitMethodFunction(c, m).name}(${['queue', 'token', ...sync.args].join(', ')})));`,
        `  return ${sync.result};`,
        '},',
      );
    } else if (m.async) {
      const asyncCall = prepareCall(u, m, outCapacity, (_p, size) => `Buffer.alloc(${size})`, layouts);
      members.push(
        `async ${bindingName(c, `${m.name}Async`)}(${params}) {`,
        where,
        ...asyncCall.pre.map((l) => `  ${l}`),
        '  const error = errorTexts.take();',
        '  try {',
        `    const status = noteAsyncStatus(await ${u.call('callAsync', `fn.${asyncMethodFunction(c, m).name}, [${[...asyncCall.args, 'error', 'error.length'].join(', ')}]`)}, error);`,
        `    return ${asyncCall.result};`,
        '  } finally {',
        '    errorTexts.give(error);',
        '  }',
        '},',
      );
    }
  }
  return { members, defaults, scratch, hasAsync: c.methods.some((m) => m.async && !completesThroughQueue(m)), hasQueued: c.methods.some(completesThroughQueue) };
}

/** The members of a free-function group: each checks its arguments, calls dd_<name> and notes its status. */
function groupMembers(u: Uses, g: FunctionGroupModel): string[] {
  const members: string[] = [];
  for (const f of g.functions) {
    const pre: string[] = [];
    const args: string[] = [];
    const outs: { name: string; expr: string }[] = [];
    for (const p of f.params) {
      const local = `${p.name}_`;
      if (p.direction === 'in') {
        const e = encodeValue(u, p.type, p.name, `\${where}: ${p.name}`, local);
        pre.push(...e.pre);
        args.push(...e.values);
        continue;
      }
      const scalar = scalarOf(p.type)!;
      pre.push(`const ${local}: unknown[] = [${isBigScalar(scalar) ? '0n' : '0'}];`);
      args.push(local);
      const read = isBigScalar(scalar) ? u.call('toBigInt', `${local}[0]`) : scalar === 'bool' ? `Boolean(${local}[0])` : u.call('toNumber', `${local}[0]`);
      outs.push({ name: p.name, expr: p.type.kind === 'enum' ? `${read} as ${p.type.enum.name}` : read });
    }
    const ins = f.params.filter((p) => p.direction === 'in').map((p) => p.name);
    members.push(
      `${f.name}(${ins.join(', ')}) {`,
      ...(ins.length > 0 ? [`  const where = '${f.name}';`] : []),
      ...pre.map((l) => `  ${l}`),
      ...(outs.length === 0
        ? [`  return note${g.name}Status(fn.${f.cName}(${args.join(', ')}));`]
        : [`  const status = note${g.name}Status(fn.${f.cName}(${args.join(', ')}));`, `  return { status, ${outs.map((o) => `${o.name}: ${o.expr}`).join(', ')} };`]),
      '},',
    );
  }
  return members;
}

/** `createNativeBindings`: every class and free-function group over the shim, and the last error. */
function nativeImplementation(u: Uses, api: ApiModel, outCapacity: number, layouts: readonly CStructLayout[]): string[] {
  const parts = api.classes.map((c) => classMembers(u, c, api, outCapacity, layouts));
  const defaults = new Map(parts.flatMap((p) => [...p.defaults]));
  u.names.add('ERROR_TEXT_CAPACITY');
  const success = `${api.statusGroup.name}.${api.statusNames.success.name}`;
  const state = [
    '// The detail of the most recent non-success status returned to JavaScript, sync or async.',
    "let lastErrorText = '';",
    'const syncError = Buffer.alloc(ERROR_TEXT_CAPACITY);',
    '/** A sync call ran on this thread, so the thread-local last error of the shim is its own. */',
    'const noteSyncStatus = (status: unknown): unknown => {',
    `  if (${u.call('toStatus', 'status')} === ${success}) lastErrorText = '';`,
    '  else {',
    '    fn.dd_last_error(syncError, syncError.length);',
    `    lastErrorText = ${u.call('cText', 'syncError')};`,
    '  }',
    '  return status;',
    '};',
  ];
  for (const g of api.functionGroups) {
    state.push(
      `/** A function of group ${g.name} ran on this thread: its ${g.statusType} comes back unchanged, its last error is read like a method's. */`,
      `const note${g.name}Status = (status: unknown): number => {`,
      `  const code = ${u.call('toNumber', 'status')};`,
      `  if (code === ${g.statusGroup.name}.${g.success.name}) lastErrorText = '';`,
      '  else {',
      '    fn.dd_last_error(syncError, syncError.length);',
      `    lastErrorText = ${u.call('cText', 'syncError')};`,
      '  }',
      '  return code;',
      '};',
    );
  }
  if (parts.some((p) => p.hasAsync)) {
    u.names.add('ErrorTextPool');
    state.push('const errorTexts = new ErrorTextPool();');
    state.push(
      '/** An async call ran on a worker thread, which copied its last error into `error` before returning. */',
      'const noteAsyncStatus = (status: unknown, error: Buffer): unknown => {',
      `  lastErrorText = ${u.call('toStatus', 'status')} === ${success} ? '' : ${u.call('cText', 'error')};`,
      '  return status;',
      '};',
    );
  }
  const queued = parts.some((p) => p.hasQueued);
  if (queued) {
    u.names.add('cText');
    state.push(
      '// Opened at the first queued call: bindings that never make one start no thread and no pipe.',
      'let queue: CompletionRunner | undefined;',
      'const completions = (): CompletionRunner =>',
      '  (queue ??= openCompletions(',
      '    nativeCompletionQueue(koffi, fn),',
      `    { success: ${success}, syncError: () => (fn.dd_last_error(syncError, syncError.length), cText(syncError)) },`,
      '  ));',
      '/** A queued call finished on a thread of the queue, which kept its last error with its status. */',
      'const noteCompletion = (done: Completed): number => {',
      `  lastErrorText = done.status === ${success} ? '' : done.error;`,
      '  return done.status;',
      '};',
    );
  }
  const members = [...parts.flatMap((p) => p.members), ...api.functionGroups.flatMap((g) => groupMembers(u, g))];
  members.push(
    '/** The detail of the most recent non-success status returned to JavaScript by these bindings, sync or async; \'\' after a success. */',
    'lastError() {',
    '  return lastErrorText;',
    '},',
  );
  const checks = layoutChecks(layouts);
  if (checks.length > 0) u.names.add('checkLayout');
  const interfaces = [...api.classes.map(bindingsInterface), ...api.functionGroups.map(groupInterface)];
  return [
    ...defaults.values(),
    ...(defaults.size > 0 ? [''] : []),
    `/** ${interfaces.join(' and ')} over the shim, through koffi, and the detail of the last failure. Every integer is range-checked before koffi sees it. */`,
    `export function createNativeBindings(koffi: KoffiModule, lib: KoffiLibrary, ${queued ? '' : '_'}openCompletions: OpenCompletions): ${[...interfaces, '{ lastError(): string }'].join(' & ')} {`,
    '  const fn = declareNativeFunctions(koffi, lib);',
    ...(checks.length > 0 ? ['  const t = declareNativeTypes(koffi);', ...checks.map((l) => `  ${l}`)] : []),
    ...state.map((l) => `  ${l}`),
    ...parts.flatMap((p) => p.scratch).map((l) => `  ${l}`),
    '  return {',
    ...members.map((l) => `    ${l}`),
    '  };',
    '}',
  ];
}

/** native.ts: koffi declarations of the shim and `createNativeBindings`. koffi itself is passed in. */
export function emitNative(sf: SourceFile, api: ApiModel, outCapacity: number, shimVersion: string): void {
  const u = new Uses();
  const layouts = structLayouts(api.structs);
  const classes = api.classes;
  const typeNames = [...classes.map((c) => c.cName), COMPLETION_QUEUE, ...layouts.map((l) => l.struct.cName)];
  const apiImports = new Set<string>();
  for (const g of api.functionGroups) {
    apiImports.add(groupInterface(g));
    for (const f of g.functions) for (const p of f.params) collectTypeImports(p.type, apiImports);
  }
  for (const c of classes) {
    apiImports.add(handleType(c));
    apiImports.add(bindingsInterface(c));
    for (const m of c.methods) {
      const named = namedResult(m);
      if (named) apiImports.add(named.name);
    }
  }
  const body: string[] = [];
  body.push(
    '/** "abi-<hash>" of the C ABI (functions, struct layouts) this code calls: dd_shim_version() of a library it can use returns the same. */',
    `export const SHIM_VERSION = ${tsString(shimVersion)};`,
    '',
    '// koffi is passed in, never imported here: importing @dd/sys must not load native code.',
    "type KoffiModule = typeof import('koffi');",
    "type KoffiLibrary = import('koffi').LibraryHandle;",
    "type KoffiType = import('koffi').TypeObject;",
    "type KoffiFunction = ReturnType<KoffiLibrary['func']>;",
    '',
    '/** The shim\'s completion-queue functions (dd_completion_queue_*), for the runner the loader passes in. */',
    'export interface NativeCompletionQueue {',
    '  open(out: unknown[], wakeFd: Int32Array): unknown;',
    '  take(queue: unknown, records: Uint32Array, capacity: number): unknown;',
    '  /** A view of the count of finished calls (dd_completion_queue_finished), valid while the queue is open. */',
    '  finished(queue: unknown): Uint32Array;',
    '  arm(queue: unknown): unknown;',
    '  error(queue: unknown, token: number, buf: Buffer, cap: number): unknown;',
    '  close(queue: unknown): unknown;',
    '}',
    '',
    '/** A queued call\'s end: its status, and its last-error text when it failed. */',
    'export interface Completed {',
    '  readonly status: number;',
    '  readonly error: string;',
    '}',
    '',
    '/** Runs queued calls: `submit` hands one to the shim under `token`; the promise settles when it finished. */',
    'export interface CompletionRunner {',
    '  run(submit: (queue: unknown, token: number) => unknown): Promise<Completed>;',
    '}',
    '',
    '/** Opens the runner of these bindings, given the shim\'s functions, its success status and its last error on this thread. */',
    'export type OpenCompletions = (native: NativeCompletionQueue, status: { readonly success: number; syncError(): string }) => CompletionRunner;',
    '',
    '/** koffi types of the shim: opaque handles and every C struct. */',
    'export interface NativeTypes {',
    ...typeNames.map((n) => `  readonly ${n}: KoffiType;`),
    '}',
    '',
    '// koffi refuses a second declaration of a type name, so types are declared once per koffi instance.',
    'const declaredTypes = new WeakMap<object, NativeTypes>();',
    '',
    'export function declareNativeTypes(koffi: KoffiModule): NativeTypes {',
    '  const cached = declaredTypes.get(koffi);',
    '  if (cached) return cached;',
  );
  for (const name of [...classes.map((c) => c.cName), COMPLETION_QUEUE]) body.push(`  const ${name} = koffi.pointer('${name}', koffi.opaque());`);
  for (const l of layouts) {
    body.push(`  const ${l.struct.cName} = koffi.struct('${l.struct.cName}', {`);
    for (const f of l.fields) body.push(`    ${f.name}: ${koffiSpec(f.type, '')},`);
    body.push('  });');
  }
  body.push(`  const types: NativeTypes = { ${typeNames.join(', ')} };`, '  declaredTypes.set(koffi, types);', '  return types;', '}', '');
  body.push('/** Every function the shim exports, bound with koffi. */', 'export function declareNativeFunctions(koffi: KoffiModule, lib: KoffiLibrary) {', '  const t = declareNativeTypes(koffi);', '  return {');
  for (const f of RUNTIME_FUNCTIONS) body.push(`    ${functionDeclaration(f, [])}`);
  for (const c of classes) {
    body.push(`    ${functionDeclaration(createFunction(c), slotDirections(c.constructorParams, 0))}`);
    body.push(`    ${functionDeclaration(destroyFunction(c), ['in'])}`);
    for (const m of c.methods) {
      body.push(`    ${functionDeclaration(methodFunction(c, m), slotDirections(m.params, 1))}`);
      // queue and token come before self; error and error_cap follow the method's own parameters.
      if (m.async && completesThroughQueue(m)) body.push(`    ${functionDeclaration(submitMethodFunction(c, m), slotDirections(m.params, 3))}`);
      else if (m.async) body.push(`    ${functionDeclaration(asyncMethodFunction(c, m), slotDirections(m.params, 1))}`);
    }
  }
  for (const g of api.functionGroups) {
    for (const f of g.functions) body.push(`    ${functionDeclaration(freeFunction(g, f), slotDirections(f.params, 0))}`);
  }
  body.push('  };', '}', '');
  if (classes.some((c) => c.methods.some(completesThroughQueue))) {
    body.push(
      "/** The shim's completion-queue functions, as the runner `createNativeBindings` is given receives them. */",
      'export function nativeCompletionQueue(koffi: KoffiModule, fn: ReturnType<typeof declareNativeFunctions>): NativeCompletionQueue {',
      '  return {',
      '    open: fn.dd_completion_queue_open,',
      '    take: fn.dd_completion_queue_take,',
      '    finished: (queue: unknown) => new Uint32Array(koffi.view(fn.dd_completion_queue_finished(queue), 4)),',
      '    arm: fn.dd_completion_queue_arm,',
      '    error: fn.dd_completion_queue_error,',
      '    close: fn.dd_completion_queue_close,',
      '  };',
      '}',
      '',
    );
  }
  const impl = nativeImplementation(u, api, outCapacity, layouts);
  const structCode = referencedOnly([...encoders(u, api.structs), ...byteWriters(u, layouts), ...arenaPlacers(layouts), ...allocators(u, api.structs)], impl.join('\n'));
  apiImports.add('Status');
  for (const s of api.structs.filter((x) => x.usedAsOutput && !x.reservedOnly)) {
    apiImports.add(s.name);
    for (const f of s.fields) collectTypeImports(f.type, apiImports);
  }
  for (const c of classes) {
    for (const m of c.methods) {
      for (const p of m.params) collectTypeImports(p.type, apiImports);
    }
    for (const p of c.constructorParams) collectTypeImports(p.type, apiImports);
  }
  const valueImports = new Set<string>([api.statusGroup.name, ...api.functionGroups.map((g) => g.statusGroup.name)]);
  const implText = impl.join('\n');
  for (const s of api.structs) if (implText.includes(`make${s.name}(`)) valueImports.add(`make${s.name}`);
  for (const e of api.enums) if (new RegExp(`[^\\w]${e.name}\\.`).test(implText)) valueImports.add(e.name);
  for (const single of api.singles) if (new RegExp(`\\b${single.name}\\b`).test(implText)) valueImports.add(single.name);
  const code = [...body, ...runtimeHelpers(u.names).flatMap((h) => [h, '']), ...structCode, ...impl].join('\n');
  // Import exactly what the code names: an unused import fails noUnusedLocals.
  const referenced = (name: string): boolean => new RegExp(`\\b${name}\\b`).test(code);
  const typeOnly = [...apiImports].filter((n) => !valueImports.has(n) && referenced(n)).sort();
  const imports = [...[...valueImports].sort(), ...typeOnly.map((n) => `type ${n}`)];
  sf.addStatements([`import { ${imports.join(', ')} } from './api.js';`, '', code].join('\n'));
}

/**
 * The struct functions (blank-line separated blocks) that `impl` calls, directly or through each
 * other: an unused one fails noUnusedLocals.
 */
function referencedOnly(lines: readonly string[], impl: string): string[] {
  const blocks: string[][] = [[]];
  for (const line of lines) {
    if (line === '') blocks.push([]);
    else blocks[blocks.length - 1]!.push(line);
  }
  const named = blocks
    .filter((b) => b.length > 0)
    .map((b) => ({ name: /^function (\w+)/m.exec(b.join('\n'))![1]!, text: b.join('\n') }));
  const kept = new Set<string>();
  let text = impl;
  for (let changed = true; changed; ) {
    changed = false;
    for (const b of named) {
      if (!kept.has(b.name) && new RegExp(`\\b${b.name}\\(`).test(text)) {
        kept.add(b.name);
        text += `\n${b.text}`;
        changed = true;
      }
    }
  }
  return named.filter((b) => kept.has(b.name)).flatMap((b) => [b.text, '']);
}

function collectTypeImports(t: Mapped, into: Set<string>): void {
  switch (t.kind) {
    case 'enum':
      into.add(t.enum.name);
      return;
    case 'struct':
      into.add(t.struct.name);
      return;
    case 'vector':
      collectTypeImports(t.element, into);
      return;
    case 'pair':
      collectTypeImports(t.first, into);
      collectTypeImports(t.second, into);
      return;
    default:
      return;
  }
}
