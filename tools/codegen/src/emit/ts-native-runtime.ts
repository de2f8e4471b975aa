/**
 * The runtime checks and conversions native.ts needs, as source text. They are emitted into the
 * generated file (generated and hand-written code never share a folder), and only the ones a
 * given API uses, so the output compiles under noUnusedLocals.
 */
interface RuntimeHelper {
  readonly code: string;
  readonly uses: readonly string[];
}

export const RUNTIME_HELPERS: Readonly<Record<string, RuntimeHelper>> = {
  INTEGER_RANGES: {
    uses: [],
    code: `/** Ranges of the C integer types: koffi silently wraps values outside them. */
const INTEGER_RANGES = {
  int8: [-128n, 127n],
  uint8: [0n, 255n],
  int16: [-32768n, 32767n],
  uint16: [0n, 65535n],
  int32: [-2147483648n, 2147483647n],
  uint32: [0n, 4294967295n],
  int64: [-9223372036854775808n, 9223372036854775807n],
  uint64: [0n, 18446744073709551615n],
} as const;`,
  },
  NUMBER_RANGES: {
    uses: [],
    code: `/** The ranges of the C integer types that fit a JS number, as numbers: compared on every call. */
const NUMBER_RANGES = {
  int8: [-128, 127],
  uint8: [0, 255],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
} as const;`,
  },
  describe: {
    uses: [],
    code: `function describe(value: unknown): string {
  if (typeof value === 'bigint') return \`\${value}n\`;
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return \`a \${Object.getPrototypeOf(value)?.constructor?.name ?? 'object'}\`;
  return String(value);
}`,
  },
  expectInteger: {
    uses: ['NUMBER_RANGES', 'describe'],
    code: `function expectInteger(value: unknown, kind: 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32', path: string): number {
  if (typeof value !== 'number') throw new TypeError(\`\${path} must be a number (\${kind}), got \${describe(value)}\`);
  const range = NUMBER_RANGES[kind];
  const min = range[0];
  const max = range[1];
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(\`\${path} must be an integer in [\${min}, \${max}] (\${kind}), got \${describe(value)}\`);
  }
  return value;
}`,
  },
  expectBigInteger: {
    uses: ['INTEGER_RANGES', 'describe'],
    code: `/** 64-bit integers: a bigint, or a safe-integer number, normalised to bigint. */
function expectBigInteger(value: unknown, kind: 'int64' | 'uint64', path: string): bigint {
  let v: bigint;
  if (typeof value === 'bigint') v = value;
  else if (typeof value === 'number' && Number.isSafeInteger(value)) v = BigInt(value);
  else if (typeof value === 'number') throw new RangeError(\`\${path} must be a bigint or a safe integer (\${kind}), got \${describe(value)}\`);
  else throw new TypeError(\`\${path} must be a bigint (\${kind}), got \${describe(value)}\`);
  const [min, max] = INTEGER_RANGES[kind];
  if (v < min || v > max) throw new RangeError(\`\${path} must be in [\${min}, \${max}] (\${kind}), got \${describe(value)}\`);
  return v;
}`,
  },
  expectBoolean: {
    uses: ['describe'],
    code: `function expectBoolean(value: unknown, path: string): boolean {
  if (typeof value !== 'boolean') throw new TypeError(\`\${path} must be a boolean, got \${describe(value)}\`);
  return value;
}`,
  },
  expectFloat: {
    uses: ['describe'],
    code: `function expectFloat(value: unknown, path: string): number {
  if (typeof value !== 'number') throw new TypeError(\`\${path} must be a number, got \${describe(value)}\`);
  return value;
}`,
  },
  expectString: {
    uses: ['describe'],
    code: `/** C strings end at the first NUL, so a JS string with one would be cut short silently. */
function expectString(value: unknown, path: string): string {
  if (typeof value !== 'string') throw new TypeError(\`\${path} must be a string, got \${describe(value)}\`);
  if (value.includes('\\0')) throw new RangeError(\`\${path} must not contain a NUL character\`);
  return value;
}`,
  },
  expectNullableString: {
    uses: ['expectString'],
    code: `/** A C function's \`const char *\` that may be NULL: null passes as NULL. */
function expectNullableString(value: unknown, path: string): string | null {
  return value === null ? null : expectString(value, path);
}`,
  },
  expectRecord: {
    uses: ['describe'],
    code: `function expectRecord(value: unknown, path: string): Readonly<Record<string, unknown>> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TypeError(\`\${path} must be an object, got \${describe(value)}\`);
  return value as Readonly<Record<string, unknown>>;
}`,
  },
  expectArray: {
    uses: ['describe'],
    code: `function expectArray(value: unknown, path: string): readonly unknown[] {
  if (!Array.isArray(value)) throw new TypeError(\`\${path} must be an array, got \${describe(value)}\`);
  return value;
}`,
  },
  expectPair: {
    uses: ['describe'],
    code: `function expectPair(value: unknown, path: string): readonly [unknown, unknown] {
  if (!Array.isArray(value) || value.length !== 2) throw new TypeError(\`\${path} must be a [first, second] pair, got \${describe(value)}\`);
  return [value[0], value[1]];
}`,
  },
  expectTypedArray: {
    uses: ['describe'],
    code: `/** Typed arrays go to native code without a copy, so the kind must match the C element type. */
function expectTypedArray<T>(value: unknown, type: abstract new (...args: never[]) => T, path: string): T {
  if (!(value instanceof type)) throw new TypeError(\`\${path} must be a \${type.name}, got \${describe(value)}\`);
  return value;
}`,
  },
  expectStringMap: {
    uses: ['expectRecord', 'expectString'],
    code: `/** std::map<AscendString, AscendString> crosses as two parallel string arrays. */
function expectStringMap(value: unknown, path: string): { keys: string[]; values: string[] } {
  const keys: string[] = [];
  const values: string[] = [];
  for (const [key, item] of Object.entries(expectRecord(value, path))) {
    keys.push(expectString(key, \`\${path} key\`));
    values.push(expectString(item, \`\${path}[\${JSON.stringify(key)}]\`));
  }
  return { keys, values };
}`,
  },
  flattenRows: {
    uses: ['expectArray', 'expectTypedArray'],
    code: `/** std::vector<std::vector<T>> crosses as the rows concatenated plus one length per row. */
function flattenRows<T extends { readonly length: number; set(array: T, offset?: number): void }>(
  value: unknown,
  type: new (length: number) => T,
  path: string,
): { data: T; lengths: BigUint64Array } {
  const rows = expectArray(value, path).map((row, i) => expectTypedArray(row, type, \`\${path}[\${i}]\`));
  const data = new type(rows.reduce((sum, row) => sum + row.length, 0));
  const lengths = new BigUint64Array(rows.length);
  let at = 0;
  rows.forEach((row, i) => {
    data.set(row, at);
    lengths[i] = BigInt(row.length);
    at += row.length;
  });
  return { data, lengths };
}`,
  },
  expectHandle: {
    uses: ['describe'],
    code: `function expectHandle(value: unknown, path: string): bigint {
  if (typeof value !== 'bigint' || value < 0n || value > 0xffffffffffffffffn) throw new TypeError(\`\${path} must be a handle (bigint), got \${describe(value)}\`);
  return value;
}`,
  },
  toStatus: {
    uses: [],
    code: `function toStatus(value: unknown): number {
  return Number(value) >>> 0;
}`,
  },
  toBigInt: {
    uses: [],
    code: `/** koffi returns a 64-bit value as a number when it fits; the bindings always give bigint. */
function toBigInt(value: unknown): bigint {
  return typeof value === 'bigint' ? value : BigInt(Number(value));
}`,
  },
  toNumber: {
    uses: [],
    code: `function toNumber(value: unknown): number {
  return Number(value);
}`,
  },
  toHandle: {
    uses: [],
    code: `function toHandle(value: unknown): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') return BigInt(value);
  return 0n;
}`,
  },
  ERROR_TEXT_CAPACITY: {
    uses: [],
    code: `/** Bytes for the shim's error text, NUL included; longer texts are cut short. */
const ERROR_TEXT_CAPACITY = 4096;`,
  },
  cText: {
    uses: [],
    code: `/** The NUL-terminated text the shim wrote into \`buffer\`. */
function cText(buffer: Buffer): string {
  const end = buffer.indexOf(0);
  return buffer.toString('utf8', 0, end < 0 ? buffer.length : end);
}`,
  },
  LITTLE_ENDIAN: {
    uses: [],
    code: `/** Structs written as bytes use the host's byte order, as the C side reads them. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;`,
  },
  checkLayout: {
    uses: [],
    code: `/** The bytes writers use the codegen's C layout; koffi's (the compiler's) must be the same. */
function checkLayout(koffi: KoffiModule, type: KoffiType, name: string, size: number, offsets: Readonly<Record<string, number>>): void {
  const actual = koffi.sizeof(type);
  if (actual !== size) throw new Error(\`\${name}: koffi lays it out in \${actual} bytes, the generated code in \${size}\`);
  for (const [field, offset] of Object.entries(offsets)) {
    const at = koffi.offsetof(type, field);
    if (at !== offset) throw new Error(\`\${name}.\${field}: koffi puts it at byte \${at}, the generated code at \${offset}\`);
  }
}`,
  },
  ARGUMENT_ARENA_BYTES: {
    uses: [],
    code: `/** Bytes of each struct argument's arena: a Cache with 240 tensor addresses fits. */
const ARGUMENT_ARENA_BYTES = 4096;`,
  },
  ArgumentArena: {
    uses: ['LITTLE_ENDIAN'],
    code: `/**
 * Scratch memory at a fixed address for one struct argument and the arrays it points to. koffi
 * converts a JS object property by property on every call (about 0.8 µs for a Cache, measured),
 * while a placer writes these bytes directly; the shim copies them before the call returns.
 */
class ArgumentArena {
  readonly bytes: Buffer;
  readonly view: DataView;
  /** Where the bytes are: an ArrayBuffer's memory never moves. */
  readonly base: bigint;
  used = 0;
  constructor(koffi: KoffiModule, size: number) {
    const buffer = new ArrayBuffer(size);
    this.bytes = Buffer.from(buffer);
    this.view = new DataView(buffer);
    this.base = BigInt(koffi.address(buffer) as bigint | number);
  }
  /** Room for a struct of size bytes at the start; its arrays go after it. */
  start(size: number): void {
    this.used = size;
  }
  /** The address the values are copied to (0 for none), or undefined when they do not fit. */
  array(values: ArrayBufferView): bigint | undefined {
    if (values.byteLength === 0) return 0n;
    const at = (this.used + 7) & ~7;
    if (at + values.byteLength > this.bytes.length) return undefined;
    this.bytes.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), at);
    this.used = at + values.byteLength;
    return this.base + BigInt(at);
  }
  /** A C integer field: JS numbers (counts) and bigints alike. */
  static big(value: unknown): bigint {
    return typeof value === 'bigint' ? value : BigInt(value as number);
  }
}`,
  },
  ErrorTextPool: {
    uses: ['ERROR_TEXT_CAPACITY'],
    code: `/** Error-text buffers for async calls, reused: one per call in flight instead of a 4 KiB allocation per call. */
class ErrorTextPool {
  private readonly free: Buffer[] = [];
  take(): Buffer {
    const buffer = this.free.pop() ?? Buffer.allocUnsafe(ERROR_TEXT_CAPACITY);
    // A shim that fails without writing a text must not leave an earlier call's text behind.
    buffer[0] = 0;
    return buffer;
  }
  /** Keeps a few for the next calls; a burst of concurrent calls leaves the rest to the GC. */
  give(buffer: Buffer): void {
    if (this.free.length < 16) this.free.push(buffer);
  }
}`,
  },
  callAsync: {
    uses: [],
    code: `/** Runs a native call on koffi's worker threads. */
function callAsync(fn: KoffiFunction, args: readonly unknown[]): Promise<unknown> {
  return new Promise((resolve, reject) => {
    fn.async(...args, (error: unknown, result: unknown) => {
      if (error) reject(error instanceof Error ? error : new Error(String(error)));
      else resolve(result);
    });
  });
}`,
  },
};

/** The helpers `used` needs, dependencies first, in a stable order. */
export function runtimeHelpers(used: ReadonlySet<string>): string[] {
  const order = Object.keys(RUNTIME_HELPERS);
  const needed = new Set<string>();
  const add = (name: string): void => {
    if (needed.has(name)) return;
    needed.add(name);
    for (const dep of RUNTIME_HELPERS[name]!.uses) add(dep);
  };
  for (const name of used) add(name);
  return order.filter((name) => needed.has(name)).map((name) => RUNTIME_HELPERS[name]!.code);
}
