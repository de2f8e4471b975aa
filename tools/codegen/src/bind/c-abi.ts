import type { ScalarName } from '../config.js';
import type { ClassModel, FunctionGroupModel, FunctionModel, Mapped, MethodModel, ParamModel, StructModel } from './model.js';

/**
 * The C side of the contract (docs/design/bindings-contract.md §1): how each mapped type becomes
 * C fields and parameters, and the LP64 layout of every `dd_` struct. The shim emitter and the
 * koffi emitter both read this, so the two cannot disagree.
 */
export const C_SCALARS: Readonly<Record<ScalarName, { readonly c: string; readonly size: number }>> = {
  bool: { c: 'bool', size: 1 },
  int8: { c: 'int8_t', size: 1 },
  uint8: { c: 'uint8_t', size: 1 },
  int16: { c: 'int16_t', size: 2 },
  uint16: { c: 'uint16_t', size: 2 },
  int32: { c: 'int32_t', size: 4 },
  uint32: { c: 'uint32_t', size: 4 },
  int64: { c: 'int64_t', size: 8 },
  uint64: { c: 'uint64_t', size: 8 },
  uintptr: { c: 'uintptr_t', size: 8 },
  size: { c: 'size_t', size: 8 },
  float: { c: 'float', size: 4 },
  double: { c: 'double', size: 8 },
};

const POINTER_SIZE = 8;

export type CType =
  | { readonly kind: 'scalar'; readonly scalar: ScalarName }
  /** `const char *`, NUL-terminated UTF-8. */
  | { readonly kind: 'string' }
  | { readonly kind: 'struct'; readonly struct: StructModel }
  | { readonly kind: 'pointer'; readonly to: CType; readonly const: boolean }
  /** `dd_Class *` */
  | { readonly kind: 'handle'; readonly cName: string }
  /** `dd_Class **` (create's out-parameter) */
  | { readonly kind: 'handleOut'; readonly cName: string }
  /** `char *`: a caller-allocated buffer the shim writes NUL-terminated text into. */
  | { readonly kind: 'textBuffer' };

/** What a C field or parameter carries for the C++ value it came from. */
export type CRole = 'value' | 'first' | 'second' | 'data' | 'count' | 'lengths' | 'keys' | 'values' | 'capacity' | 'outCount' | 'errorText';

export interface CSlot {
  readonly name: string;
  readonly type: CType;
  readonly role: CRole;
}

export interface CField extends CSlot {
  readonly offset: number;
}

export interface CStructLayout {
  readonly struct: StructModel;
  readonly fields: readonly CField[];
  readonly size: number;
  readonly align: number;
}

/** The scalar an element crosses as: enums as their underlying type. */
export function scalarOf(t: Mapped): ScalarName | undefined {
  if (t.kind === 'scalar') return t.scalar;
  if (t.kind === 'enum') return t.enum.scalar;
  return undefined;
}

function elementType(t: Mapped): CType {
  const scalar = scalarOf(t);
  if (scalar) return { kind: 'scalar', scalar };
  if (t.kind === 'string') return { kind: 'string' };
  if (t.kind === 'struct') return { kind: 'struct', struct: t.struct };
  throw new Error(`no C element type for ${t.kind}`);
}

/** C fields of one C++ field (none for reserved fields, which the model already dropped). */
export function fieldSlots(name: string, t: Mapped, constPointers: boolean): CSlot[] {
  const scalar = scalarOf(t);
  if (scalar) return [{ name, type: { kind: 'scalar', scalar }, role: 'value' }];
  switch (t.kind) {
    case 'string':
      return [{ name, type: { kind: 'string' }, role: 'value' }];
    case 'struct':
      return [{ name, type: { kind: 'struct', struct: t.struct }, role: 'value' }];
    case 'pair':
      return [
        { name: `${name}_first`, type: elementType(t.first), role: 'first' },
        { name: `${name}_second`, type: elementType(t.second), role: 'second' },
      ];
    case 'vector':
      return [
        { name, type: { kind: 'pointer', to: elementType(t.element), const: constPointers }, role: 'data' },
        { name: `${name}_count`, type: { kind: 'scalar', scalar: 'size' }, role: 'count' },
      ];
    default:
      throw new Error(`no C field shape for ${t.kind}`);
  }
}

/** C parameters of one C++ parameter; an all-reserved struct parameter has none. */
export function paramSlots(p: ParamModel): CSlot[] {
  const t = p.type;
  const scalar = scalarOf(t);
  const size: CType = { kind: 'scalar', scalar: 'size' };
  if (p.direction === 'out') {
    if (scalar) return [{ name: p.name, type: { kind: 'pointer', to: { kind: 'scalar', scalar }, const: false }, role: 'value' }];
    if (t.kind === 'struct') return [{ name: p.name, type: { kind: 'pointer', to: { kind: 'struct', struct: t.struct }, const: false }, role: 'value' }];
    if (t.kind === 'vector') {
      return [
        { name: p.name, type: { kind: 'pointer', to: elementType(t.element), const: false }, role: 'data' },
        { name: `${p.name}_capacity`, type: size, role: 'capacity' },
        { name: `${p.name}_count`, type: { kind: 'pointer', to: size, const: false }, role: 'outCount' },
      ];
    }
    throw new Error(`no C out-parameter shape for ${t.kind}`);
  }
  if (t.kind === 'struct') return t.struct.reservedOnly ? [] : [{ name: p.name, type: { kind: 'pointer', to: { kind: 'struct', struct: t.struct }, const: true }, role: 'value' }];
  if (t.kind === 'map') {
    return [
      { name: `${p.name}_keys`, type: { kind: 'pointer', to: { kind: 'string' }, const: true }, role: 'keys' },
      { name: `${p.name}_values`, type: { kind: 'pointer', to: { kind: 'string' }, const: true }, role: 'values' },
      { name: `${p.name}_count`, type: size, role: 'count' },
    ];
  }
  if (t.kind === 'vector' && t.element.kind === 'vector') {
    return [
      { name: p.name, type: { kind: 'pointer', to: elementType(t.element.element), const: true }, role: 'data' },
      { name: `${p.name}_lengths`, type: { kind: 'pointer', to: size, const: true }, role: 'lengths' },
      { name: `${p.name}_count`, type: size, role: 'count' },
    ];
  }
  return fieldSlots(p.name, t, true);
}

/** `const char *name`, `const dd_IpInfo *name`, `const char *const *name`. */
export function cDeclaration(t: CType, name: string): string {
  const sep = name === '' ? '' : ' ';
  switch (t.kind) {
    case 'scalar':
      return `${C_SCALARS[t.scalar].c}${sep}${name}`;
    case 'string':
      return `const char *${name}`;
    case 'struct':
      return `${t.struct.cName}${sep}${name}`;
    case 'handle':
      return `${t.cName} *${name}`;
    case 'handleOut':
      return `${t.cName} **${name}`;
    case 'textBuffer':
      return `char *${name}`;
    case 'pointer':
      if (t.to.kind === 'string') return `const char *${t.const ? 'const ' : ''}*${name}`;
      return `${t.const ? 'const ' : ''}${cDeclaration(t.to, '')} *${name}`;
  }
}

function sizeAlign(t: CType, layouts: ReadonlyMap<StructModel, CStructLayout>): { size: number; align: number } {
  if (t.kind === 'scalar') return { size: C_SCALARS[t.scalar].size, align: C_SCALARS[t.scalar].size };
  if (t.kind === 'struct') {
    const l = layouts.get(t.struct)!;
    return { size: l.size, align: l.align };
  }
  return { size: POINTER_SIZE, align: POINTER_SIZE };
}

/** LP64 layouts (x86_64 and aarch64 agree) of every C struct, in declaration order. */
export function structLayouts(structs: readonly StructModel[]): CStructLayout[] {
  const layouts = new Map<StructModel, CStructLayout>();
  for (const struct of structs.filter((s) => !s.reservedOnly)) {
    let offset = 0;
    let align = 1;
    const fields: CField[] = [];
    for (const f of struct.fields) {
      for (const slot of fieldSlots(f.name, f.type, !struct.usedAsOutput)) {
        const sa = sizeAlign(slot.type, layouts);
        offset = Math.ceil(offset / sa.align) * sa.align;
        fields.push({ ...slot, offset });
        offset += sa.size;
        align = Math.max(align, sa.align);
      }
    }
    const layout = { struct, fields, size: Math.ceil(Math.max(offset, 1) / align) * align, align };
    layouts.set(struct, layout);
  }
  return [...layouts.values()];
}

export interface CFunction {
  readonly name: string;
  /** `uint32_t` for methods (the status), a function group's status scalar, or the runtime functions' own. */
  readonly returns: string;
  readonly params: readonly CSlot[];
  readonly doc?: string;
}

const selfSlot = (c: ClassModel): CSlot => ({ name: 'self', type: { kind: 'handle', cName: c.cName }, role: 'value' });

export function createFunction(c: ClassModel): CFunction {
  return {
    name: `${c.cName}_create`,
    returns: 'uint32_t',
    params: [...c.constructorParams.flatMap(paramSlots), { name: 'out', type: { kind: 'handleOut', cName: c.cName }, role: 'value' }],
    doc: `Constructs a ${c.qualifiedName}; *out receives the handle (NULL on failure).`,
  };
}

export function destroyFunction(c: ClassModel): CFunction {
  return { name: `${c.cName}_destroy`, returns: 'void', params: [selfSlot(c)], doc: `Destroys a ${c.qualifiedName}; NULL is ignored.` };
}

export function methodFunction(c: ClassModel, m: MethodModel): CFunction {
  return { name: m.cName, returns: 'uint32_t', params: [selfSlot(c), ...m.params.flatMap(paramSlots)], ...(m.doc === undefined ? {} : { doc: m.doc }) };
}

/**
 * The variant of an `asyncMethods` method for callers that run it on another thread (koffi's
 * `fn.async`): the last error is thread-local, so the shim hands it back in `error` before the
 * worker thread returns.
 */
export function asyncMethodFunction(c: ClassModel, m: MethodModel): CFunction {
  const plain = methodFunction(c, m);
  return {
    name: `${plain.name}_async`,
    returns: 'uint32_t',
    params: [...plain.params, { name: 'error', type: { kind: 'textBuffer' }, role: 'errorText' }, { name: 'error_cap', type: { kind: 'scalar', scalar: 'size' }, role: 'capacity' }],
    doc: `As ${plain.name}, and before returning copies this thread's last error into error (NUL-terminated, truncated to error_cap; "" on success): for callers that run it on a worker thread.`,
  };
}

/** The opaque handle of the shim's completion queue (packages/sys/native/completions). */
export const COMPLETION_QUEUE = 'dd_CompletionQueue';
const queueSlot: CSlot = { name: 'queue', type: { kind: 'handle', cName: COMPLETION_QUEUE }, role: 'value' };
const tokenSlot: CSlot = { name: 'token', type: { kind: 'scalar', scalar: 'uint32' }, role: 'value' };

/**
 * Whether an async method completes through the completion queue: it reports its status alone (no
 * out-parameters to fill after the call) and every argument becomes an owned C++ value before the
 * call, so the shim can copy them and return at once. Others run on koffi's worker (`_async`).
 */
export function completesThroughQueue(m: MethodModel): boolean {
  return m.async && m.returnsStatus && m.params.every((p) => p.direction === 'in' && !(p.type.kind === 'string' && p.cppType.pointer));
}

/**
 * The submission of a queued async method: checks and copies the arguments, hands the call to a
 * thread of `queue` and returns at once; the call's status arrives later in the queue under `token`.
 */
export function submitMethodFunction(c: ClassModel, m: MethodModel): CFunction {
  const plain = methodFunction(c, m);
  return {
    name: `${plain.name}_submit`,
    returns: 'uint32_t',
    params: [queueSlot, tokenSlot, ...plain.params],
    doc: `As ${plain.name}, run on a thread of queue: returns the status of the argument checks at once (on success the call's own status arrives in queue under token; otherwise the call never runs).`,
  };
}

/** The functions of an async method besides its sync one. */
function asyncFunction(c: ClassModel, m: MethodModel): CFunction {
  return completesThroughQueue(m) ? submitMethodFunction(c, m) : asyncMethodFunction(c, m);
}

/** What a class exports, in header order. */
export function classFunctions(c: ClassModel): CFunction[] {
  return [createFunction(c), destroyFunction(c), ...c.methods.flatMap((m) => (m.async ? [methodFunction(c, m), asyncFunction(c, m)] : [methodFunction(c, m)]))];
}

/** The shim's pass-through of a free function: same parameters in C shapes, the group's status returned unchanged. */
export function freeFunction(g: FunctionGroupModel, f: FunctionModel): CFunction {
  return { name: f.cName, returns: C_SCALARS[g.scalar].c, params: f.params.flatMap(paramSlots), doc: f.doc ?? `Calls ${f.qualifiedName}.` };
}

/** Every free function the shim exports, group by group. */
export function freeFunctions(groups: readonly FunctionGroupModel[]): CFunction[] {
  return groups.flatMap((g) => g.functions.map((f) => freeFunction(g, f)));
}

/** The shim's own functions, independent of the API. */
export const RUNTIME_FUNCTIONS: readonly CFunction[] = [
  {
    name: 'dd_last_error',
    returns: 'size_t',
    params: [
      { name: 'buf', type: { kind: 'textBuffer' }, role: 'errorText' },
      { name: 'cap', type: { kind: 'scalar', scalar: 'size' }, role: 'capacity' },
    ],
    doc: 'Copies the last error of this thread into buf (NUL-terminated, truncated to cap) and returns its full length; "" after a successful call.',
  },
  { name: 'dd_shim_version', returns: 'const char *', params: [], doc: '"abi-<hash>": identifies the C ABI (functions and struct layouts) this library was built with.' },
  { name: 'dd_backend_name', returns: 'const char *', params: [], doc: 'The backend compiled in (DD_BACKEND_NAME): "host", "cann", …' },
  {
    name: 'dd_completion_queue_open',
    returns: 'int32_t',
    params: [
      { name: 'out', type: { kind: 'handleOut', cName: COMPLETION_QUEUE }, role: 'value' },
      { name: 'wake_fd', type: { kind: 'pointer', to: { kind: 'scalar', scalar: 'int32' }, const: false }, role: 'value' },
    ],
    doc: 'Opens a completion queue: *out receives it, *wake_fd the read end of its wake-up pipe (the caller closes it). Returns 0 or an errno value.',
  },
  {
    name: 'dd_completion_queue_take',
    returns: 'uint32_t',
    params: [
      queueSlot,
      { name: 'records', type: { kind: 'pointer', to: { kind: 'scalar', scalar: 'uint32' }, const: false }, role: 'data' },
      { name: 'capacity', type: { kind: 'scalar', scalar: 'uint32' }, role: 'capacity' },
    ],
    doc: 'Moves up to capacity finished calls into records as (token, status) pairs (2 × capacity uint32) and returns how many.',
  },
  {
    name: 'dd_completion_queue_finished',
    returns: 'const uint32_t *',
    params: [queueSlot],
    doc: 'Where the queue counts its finished calls (modulo 2^32), for as long as the queue lives: a reader sees a change there before take returns the calls; NULL for a NULL queue.',
  },
  {
    name: 'dd_completion_queue_arm',
    returns: 'uint32_t',
    params: [queueSlot],
    doc: 'Returns the number of finished calls waiting; when there are none, the next one to finish writes one byte to the wake-up pipe.',
  },
  {
    name: 'dd_completion_queue_error',
    returns: 'size_t',
    params: [
      queueSlot,
      tokenSlot,
      { name: 'buf', type: { kind: 'textBuffer' }, role: 'errorText' },
      { name: 'cap', type: { kind: 'scalar', scalar: 'size' }, role: 'capacity' },
    ],
    doc: 'Moves the last-error text of the failed call reported under token into buf (NUL-terminated, truncated to cap) and returns its full length; 0 when there is none.',
  },
  {
    name: 'dd_completion_queue_close',
    returns: 'void',
    params: [queueSlot],
    doc: 'Runs every submitted call, waits for the queue\'s threads to end and frees it; NULL is ignored.',
  },
];

/**
 * What a library and the TypeScript generated with it must agree on, in a stable text form: every
 * exported function's name, return and parameter C types, and every struct's name, size, and field
 * names, types and offsets. Parameter names, comments, paths and versions are left out, and
 * functions and structs are sorted by name (symbols are found by name, not by position), so only an
 * ABI change changes it.
 */
export function abiSignature(api: { readonly classes: readonly ClassModel[]; readonly structs: readonly StructModel[]; readonly functionGroups: readonly FunctionGroupModel[] }): string {
  const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  const functions = [...RUNTIME_FUNCTIONS, ...api.classes.flatMap(classFunctions), ...freeFunctions(api.functionGroups)].map(
    (f) => `function ${f.name}(${f.params.map((p) => cDeclaration(p.type, '')).join(', ')}) -> ${f.returns}\n`,
  );
  const structs = structLayouts(api.structs).map(
    (l) => `struct ${l.struct.cName} size ${l.size} align ${l.align}\n${l.fields.map((f) => `  ${f.name}: ${cDeclaration(f.type, '')} @ ${f.offset}\n`).join('')}`,
  );
  return [...functions.sort(byName), ...structs.sort(byName)].join('');
}
