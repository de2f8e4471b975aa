import type { CodegenConfig, ScalarName, TypeMapEntry } from '../config.js';
import { CodegenError } from '../errors.js';
import type { IrAlias, IrEnum, IrStruct, IrType, ParsedIr } from '../ir.js';
import { renderType } from '../parse/ir-builder.js';
import type { SymbolTable } from '../parse/symbols.js';
import type { EnumModel, FieldModel, Mapped, StructModel } from './model.js';

/** Spellings of the built-in and <cstdint> types (LP64: long is 64-bit). */
const PRIMITIVES: Readonly<Record<string, ScalarName>> = {
  bool: 'bool',
  int8_t: 'int8',
  'signed char': 'int8',
  uint8_t: 'uint8',
  'unsigned char': 'uint8',
  int16_t: 'int16',
  short: 'int16',
  'unsigned short': 'uint16',
  uint16_t: 'uint16',
  int32_t: 'int32',
  int: 'int32',
  'signed int': 'int32',
  uint32_t: 'uint32',
  unsigned: 'uint32',
  'unsigned int': 'uint32',
  int64_t: 'int64',
  long: 'int64',
  'long long': 'int64',
  'long int': 'int64',
  'unsigned long': 'uint64',
  'unsigned long long': 'uint64',
  uint64_t: 'uint64',
  uintptr_t: 'uintptr',
  size_t: 'size',
  float: 'float',
  double: 'double',
};

/** Where a type is used, for error messages and for the `skip` key that would silence them. */
export interface TypeUse {
  /** `parameter rets of llm_datadist::LlmDataDist::LinkLlmClusters`, `field CacheDesc.data_type`. */
  readonly what: string;
  readonly file: string;
  readonly line: number;
  /** The `skip` key that leaves the user of this type unbound, when skipping is possible. */
  readonly skipKey?: string;
}

export function isReservedField(name: string): boolean {
  return name.startsWith('reserved');
}

export interface UnsupportedHints {
  /** Why the type is unknown (an `#include` the codegen could not follow). */
  readonly unresolvedHint?: string;
  /** The qualified name a `typeMap` entry would describe. */
  readonly qualifiedName?: string;
  /** The `typeMap` value to suggest, when the codegen knows what the type must be. */
  readonly typeMapValue?: string;
}

export function unsupported(type: IrType, use: TypeUse, why: string, hints: UnsupportedHints): CodegenError {
  const skip = use.skipKey ? `, or leave it unbound with "skip": { "${use.skipKey}": "<reason>" }` : '';
  const hint = hints.unresolvedHint ? `${hints.unresolvedHint}; ` : '';
  const name = hints.qualifiedName ?? type.name.replace(/^::/, '');
  const value = hints.typeMapValue ?? '"int32" | "uint32" | "string" | { "underlying": "int32", "values": { … } }';
  return new CodegenError(
    `${use.what} has type ${renderType(type)}, which ${why}.`,
    use.file,
    use.line,
    `${hint}classify the type with a "typeMap" entry in the config (--config), ${hints.typeMapValue ? '' : 'e.g. '}"${name}": ${value}${skip}.`,
  );
}

/** A type the contract has no shape for: no `typeMap` entry changes that, only leaving its user unbound. */
export function noShape(type: IrType, use: TypeUse, why: string): CodegenError {
  const fix = use.skipKey
    ? `leave it unbound with "skip": { "${use.skipKey}": "<reason>" } in the config (--config), and bind a wrapper with a supported signature if it is needed.`
    : `leave the struct and every method that takes it unbound with "skip" entries in the config (--config), or rename the field reserved* if it is padding.`;
  return new CodegenError(`${use.what} has type ${renderType(type)}, which ${why}.`, use.file, use.line, fix);
}

/**
 * Maps IR types to the contract's shapes, following aliases, using-declarations and the type map.
 * Structs are modelled on first use and cached.
 */
export class TypeMapper {
  private readonly enums = new Map<string, IrEnum>();
  private readonly structs = new Map<string, IrStruct>();
  private readonly aliases = new Map<string, IrAlias>();
  private readonly enumModels = new Map<string, EnumModel>();
  private readonly structModels = new Map<string, StructModel>();

  constructor(
    private readonly ir: ParsedIr,
    private readonly symbols: SymbolTable,
    private readonly config: CodegenConfig,
    /** How messages name the config. */
    private readonly configName: string,
  ) {
    for (const e of ir.enums) if (!this.enums.has(e.qualifiedName)) this.enums.set(e.qualifiedName, e);
    for (const s of ir.structs) if (!this.structs.has(s.qualifiedName)) this.structs.set(s.qualifiedName, s);
    for (const a of ir.aliases) if (!this.aliases.has(a.qualifiedName)) this.aliases.set(a.qualifiedName, a);
  }

  /** Every struct modelled so far, in declaration order. */
  structsInOrder(): StructModel[] {
    return this.ir.structs.map((s) => this.structModels.get(s.qualifiedName)).filter((s): s is StructModel => s !== undefined);
  }

  enumsInOrder(): EnumModel[] {
    const fromIr = this.ir.enums.map((e) => this.enumModels.get(e.qualifiedName)).filter((e): e is EnumModel => e !== undefined);
    const stand = [...this.enumModels.values()].filter((e) => !fromIr.includes(e));
    return [...fromIr, ...stand];
  }

  enumModel(qualifiedName: string): EnumModel | undefined {
    const existing = this.enumModels.get(qualifiedName);
    if (existing) return existing;
    const e = this.enums.get(qualifiedName);
    const mapped = this.config.typeMap[qualifiedName];
    let model: EnumModel | undefined;
    if (e) {
      const scalar = e.underlying ? this.scalarOf(e.underlying, e.namespace) : undefined;
      model = {
        qualifiedName,
        name: e.name,
        scalar: scalar ?? 'int32',
        members: e.enumerators.map((m) => (m.doc === undefined ? { name: m.name, value: BigInt(m.value) } : { name: m.name, value: BigInt(m.value), doc: m.doc })),
        ...(e.doc === undefined ? {} : { doc: e.doc }),
      };
    } else if (mapped !== undefined && typeof mapped === 'object') {
      model = {
        qualifiedName,
        name: qualifiedName.slice(qualifiedName.lastIndexOf(':') + 1),
        scalar: mapped.underlying,
        members: Object.entries(mapped.values).map(([name, value]) => ({ name, value: BigInt(value) })),
      };
    }
    if (model) this.enumModels.set(qualifiedName, model);
    return model;
  }

  private scalarOf(type: IrType, scope: string): ScalarName | undefined {
    const name = type.name.replace(/^(::)?std::/, '');
    if (PRIMITIVES[name]) return PRIMITIVES[name];
    const found = this.symbols.lookup(type.name, scope);
    const alias = found ? this.aliases.get(found.qualified) : undefined;
    return alias ? this.scalarOf(alias.target, alias.namespace) : undefined;
  }

  /** The hint about an `#include` the codegen could not follow, for unknown-type messages. */
  private unresolvedHint(): string | undefined {
    const missing = this.ir.unresolvedIncludes;
    if (missing.length === 0) return undefined;
    const list = missing.map((m) => `"${m.include}" (${m.file}:${m.line})`).join(', ');
    return `the codegen could not find ${list}: add the folder that has it to "includeDirs" in the config or pass --include <dir>`;
  }

  /** What a `typeMap` entry must say for the types whose shape the contract fixes. */
  private typeMapValueFor(qualifiedName: string): string | undefined {
    // The status alias is uint32_t (ge::Status); declaring it otherwise would change the ABI hash.
    if (qualifiedName === this.config.statusType) return '"uint32"';
    if (qualifiedName === this.config.dataTypeEnum) return '{ "underlying": "int32", "values": { "DT_FLOAT": 0, …, "DT_UNDEFINED": 28, … } } (all of its enumerators)';
    return undefined;
  }

  private fromTypeMap(entry: TypeMapEntry, qualifiedName: string): Mapped {
    if (qualifiedName === this.config.statusType && entry !== 'uint32') {
      throw new CodegenError(
        `"typeMap" gives the status type ${qualifiedName} as ${JSON.stringify(entry)}, but statuses are uint32_t (the shim returns them as uint32_t).`,
        this.configName,
        0,
        `write "typeMap": { "${qualifiedName}": "uint32" }.`,
      );
    }
    if (entry === 'string') return { kind: 'string' };
    if (typeof entry === 'string') return qualifiedName === this.config.statusType ? { kind: 'scalar', scalar: entry, status: true } : { kind: 'scalar', scalar: entry };
    return { kind: 'enum', enum: this.enumModel(qualifiedName)! };
  }

  /** Maps `type` (qualifiers and references ignored) as written in `scope`. */
  map(type: IrType, scope: string, use: TypeUse): Mapped {
    const fail = (why: string, qualifiedName?: string): CodegenError => {
      const hint = this.unresolvedHint();
      const typeMapValue = this.typeMapValueFor(qualifiedName ?? type.name.replace(/^::/, ''));
      return unsupported(type, use, why, {
        ...(hint === undefined ? {} : { unresolvedHint: hint }),
        ...(qualifiedName === undefined ? {} : { qualifiedName }),
        ...(typeMapValue === undefined ? {} : { typeMapValue }),
      });
    };
    const bare = type.name.replace(/^::/, '');
    const std = bare.startsWith('std::') ? bare.slice(5) : undefined;
    if (type.pointer) {
      if (type.pointer === 1 && type.const && (bare === 'char' || bare === 'char8_t')) return { kind: 'string' };
      throw noShape(type, use, 'is a raw pointer (the contract passes strings as const char * and arrays as std::vector)');
    }
    if (std === 'string' || std === 'string_view') return { kind: 'string' };
    if (std === 'vector') {
      const arg = type.args?.[0];
      if (!arg) throw noShape(type, use, 'has no element type');
      return { kind: 'vector', element: this.map(arg, scope, use) };
    }
    if (std === 'map') {
      const [key, value] = type.args ?? [];
      if (!key || !value) throw noShape(type, use, 'is not a map of two types');
      const k = this.map(key, scope, use);
      const v = this.map(value, scope, use);
      if (k.kind !== 'string' || v.kind !== 'string') throw noShape(type, use, 'is a map whose key or value is not a string (only std::map<string, string> crosses as parallel arrays)');
      return { kind: 'map', key: k, value: v };
    }
    if (std === 'pair') {
      const [first, second] = type.args ?? [];
      if (!first || !second) throw noShape(type, use, 'is not a pair of two types');
      return { kind: 'pair', first: this.map(first, scope, use), second: this.map(second, scope, use) };
    }
    const primitive = PRIMITIVES[std ?? bare];
    if (primitive) return { kind: 'scalar', scalar: primitive };

    const found = this.symbols.lookup(bare, scope);
    const candidates = [...(found ? [found.qualified] : []), ...this.symbols.candidates(bare, scope)];
    for (const qualified of candidates) {
      if (this.enums.has(qualified)) return { kind: 'enum', enum: this.enumModel(qualified)! };
      const mapped = this.config.typeMap[qualified];
      if (mapped !== undefined) return this.fromTypeMap(mapped, qualified);
      if (this.structs.has(qualified)) return { kind: 'struct', struct: this.structModel(qualified) };
      const alias = this.aliases.get(qualified);
      if (alias) {
        const target = this.map(alias.target, alias.namespace, use);
        return qualified === this.config.statusType && target.kind === 'scalar' ? { ...target, status: true } : target;
      }
    }
    if (found?.entry?.kind === 'class') throw fail(`is a class (${found.qualified}); only structs, enums, strings and scalars cross the C ABI`, found.qualified);
    if (std !== undefined) throw fail('is a standard-library type with no C shape in the bindings contract');
    throw fail(found ? `resolves to ${found.qualified}, which no header the codegen read declares` : 'no header the codegen read declares', found?.qualified);
  }

  structModel(qualifiedName: string): StructModel {
    const existing = this.structModels.get(qualifiedName);
    if (existing) return existing;
    const s = this.structs.get(qualifiedName)!;
    const fields: FieldModel[] = [];
    const model: StructModel = {
      qualifiedName,
      name: s.name,
      cName: `dd_${s.name}`,
      ...(s.doc === undefined ? {} : { doc: s.doc }),
      fields,
      reservedOnly: s.fields.every((f) => isReservedField(f.name)),
      usedAsOutput: false,
    };
    this.structModels.set(qualifiedName, model);
    for (const f of s.fields) {
      if (isReservedField(f.name)) continue;
      const use: TypeUse = { what: `field ${s.name}.${f.name}`, file: f.file, line: f.line };
      if (f.arraySize !== undefined) throw noShape(f.type, use, `is a fixed array [${f.arraySize}] (only reserved* arrays are supported; they are dropped)`);
      const type = this.map(f.type, qualifiedName, use);
      checkFieldType(type, f.type, use);
      fields.push({
        name: f.name,
        file: f.file,
        line: f.line,
        type,
        cppType: f.type,
        ...(f.default === undefined ? {} : { default: f.default }),
        ...(f.doc === undefined ? {} : { doc: f.doc }),
      });
    }
    return model;
  }
}

function isScalarLike(t: Mapped): boolean {
  return t.kind === 'scalar' || t.kind === 'enum';
}

function checkFieldType(t: Mapped, type: IrType, use: TypeUse): void {
  const ok =
    isScalarLike(t) ||
    t.kind === 'string' ||
    t.kind === 'struct' ||
    (t.kind === 'pair' && isScalarLike(t.first) && isScalarLike(t.second)) ||
    (t.kind === 'vector' && (isScalarLike(t.element) || t.element.kind === 'string' || t.element.kind === 'struct'));
  if (!ok) throw noShape(type, use, 'has no C field shape in the bindings contract (scalars, enums, strings, structs, pairs of scalars and vectors of those)');
}

export { isScalarLike };
