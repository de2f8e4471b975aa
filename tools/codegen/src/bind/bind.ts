import type { CodegenConfig, ConstantRule } from '../config.js';
import { CodegenError } from '../errors.js';
import type { IrConstant, IrCoverageEntry, IrMethod, IrParam, ParsedIr } from '../ir.js';
import { renderType, type Unrecognized } from '../parse/ir-builder.js';
import { parentScope as namespaceOf, type SymbolTable } from '../parse/symbols.js';
import type {
  ApiModel,
  ClassModel,
  ConstantGroup,
  ConstantMember,
  EnumModel,
  FunctionGroupModel,
  Mapped,
  MethodModel,
  ParamModel,
  SingleConstant,
  StatusNames,
  StructModel,
} from './model.js';
import { bindFunctions } from './functions.js';
import { classifyLeftovers } from './leftovers.js';
import { isScalarLike, noShape, TypeMapper, unsupported, type TypeUse } from './type-mapper.js';

export interface BindInput {
  readonly ir: ParsedIr;
  readonly symbols: SymbolTable;
  /** Namespace-scope lines of the entry headers the parser has no IR section for. */
  readonly unrecognized: readonly Unrecognized[];
  readonly writtenLine: (file: string, line: number) => string;
  readonly config: CodegenConfig;
  /** `--config` path (or the default config's), for messages. */
  readonly configName: string;
  readonly dataTypeBits: Readonly<Record<string, number>>;
}

function markOutput(struct: StructModel): void {
  if (struct.usedAsOutput) return;
  struct.usedAsOutput = true;
  for (const f of struct.fields) {
    if (f.type.kind === 'struct') markOutput(f.type.struct);
    if (f.type.kind === 'vector' && f.type.element.kind === 'struct') markOutput(f.type.element.struct);
  }
}

/** Out-structs are written field by field into caller memory: strings and nested vectors of structs cannot be. */
function outStructProblem(struct: StructModel): string | undefined {
  for (const f of struct.fields) {
    if (f.type.kind === 'string') return `field ${struct.name}.${f.name} is a string, which the caller cannot pre-allocate`;
    if (f.type.kind === 'vector' && !isScalarLike(f.type.element)) return `field ${struct.name}.${f.name} is a vector of ${f.type.element.kind}s, which the caller cannot pre-allocate`;
    if (f.type.kind === 'struct') {
      const nested = outStructProblem(f.type.struct);
      if (nested) return nested;
    }
  }
  return undefined;
}

class Binder {
  private readonly types: TypeMapper;
  private readonly coverage: IrCoverageEntry[] = [];
  private readonly entryFiles: Set<string>;

  constructor(private readonly input: BindInput) {
    this.types = new TypeMapper(input.ir, input.symbols, input.config, input.configName);
    this.entryFiles = new Set(input.ir.inputs.filter((i) => i.role === 'entry').map((i) => i.path));
  }

  private isEntry(file: string): boolean {
    return this.entryFiles.has(file);
  }

  private skipReason(qualifiedName: string): string | undefined {
    return this.input.config.skip[qualifiedName];
  }

  bind(): ApiModel {
    const { ir, config } = this.input;
    const classes = this.bindClasses();
    // Structs and enums of the entry headers are part of the API even when no method uses them.
    for (const s of ir.structs.filter((x) => this.isEntry(x.file))) {
      const reason = this.skipReason(s.qualifiedName);
      if (reason) {
        this.coverage.push({ kind: 'struct', name: s.qualifiedName, file: s.file, status: 'skipped', reason });
        continue;
      }
      const model = this.types.structModel(s.qualifiedName);
      this.coverage.push({ kind: 'struct', name: s.qualifiedName, file: s.file, status: 'bound', as: model.reservedOnly ? `${model.name} (reserved only: parameters dropped)` : model.cName });
    }
    for (const e of ir.enums.filter((x) => this.isEntry(x.file))) {
      const model = this.types.enumModel(e.qualifiedName)!;
      this.coverage.push({ kind: 'enum', name: e.qualifiedName, file: e.file, status: 'bound', as: model.name });
    }
    const dataTypeEnum = this.types.enumModel(config.dataTypeEnum);
    const { groups, singles } = this.bindConstants();
    const statusGroup = groups.find((g) => g.kind === 'status');
    if (!statusGroup) {
      throw new CodegenError('no constant rule of kind "status" matched any constant, so there is no status table.', this.input.configName, 0, 'add a rule { "match": "^LLM_", "kind": "status", "group": "StatusCode" } to "constants".');
    }
    const functionGroups = bindFunctions(
      { functions: ir.functions.filter((x) => this.isEntry(x.file)), symbols: this.input.symbols, types: this.types, config, configName: this.input.configName, groups },
      this.coverage,
    );
    const leftovers = classifyLeftovers({ ...this.input, skip: this.input.config.skip, isEntry: (file) => this.isEntry(file) });
    this.coverage.push(...leftovers.coverage);
    this.checkRequired(groups, functionGroups);
    return {
      enums: this.types.enumsInOrder(),
      structs: this.types.structsInOrder(),
      classes,
      functionGroups,
      groups,
      singles,
      statusGroup,
      statusNames: this.statusNames(statusGroup),
      ...(dataTypeEnum ? { dataType: { enum: dataTypeEnum, bits: this.dataTypeBits(dataTypeEnum) } } : {}),
      coverage: this.coverage,
      unclassified: leftovers.unclassified,
    };
  }

  /** Every name "required" lists is exported: what @dd/core and @dd/testing use must exist. */
  private checkRequired(groups: readonly ConstantGroup[], functionGroups: readonly FunctionGroupModel[]): void {
    const { config, configName } = this.input;
    for (const [owner, names] of Object.entries(config.required ?? {})) {
      const group = groups.find((g) => g.name === owner);
      const functions = functionGroups.find((g) => `${g.name}Bindings` === owner)?.functions.map((f) => f.name);
      const members = group ? group.members.map((m) => m.name) : (functions ?? this.types.enumsInOrder().find((e) => e.name === owner)?.members.map((m) => m.name));
      const missing = names.filter((n) => !members?.includes(n));
      if (missing.length === 0) continue;
      const one = missing.length === 1;
      throw new CodegenError(
        `${missing.map((n) => `${owner}.${n}`).join(', ')} ${one ? 'is' : 'are'} required ("required" in the config: @dd/core or @dd/testing use${one ? 's it' : ' them'}), but no entry header declares ${one ? 'it' : 'them'} (entry headers: ${[...this.entryFiles].join(', ')}).`,
        configName,
        0,
        `if the release declares ${one ? 'it' : 'them'} in another header, add that header to "entryHeaders" (--config); if it really dropped ${one ? 'it' : 'them'}, @dd/core must stop using ${missing.join(', ')} before these bindings can replace the committed ones.`,
      );
    }
  }

  private dataTypeBits(e: EnumModel): Map<string, number> {
    const names = new Set(e.members.map((m) => m.name));
    return new Map(Object.entries(this.input.dataTypeBits).filter(([name]) => names.has(name)));
  }

  private statusNames(group: ConstantGroup): StatusNames {
    const pick = (key: keyof CodegenConfig['statusNames']): ConstantMember => {
      const name = this.input.config.statusNames[key];
      const member = group.members.find((m) => m.name === name);
      if (!member) {
        throw new CodegenError(
          `status "${name}" (statusNames.${key}) is not in the status group ${group.name}.`,
          this.input.configName,
          0,
          `set "statusNames": { "${key}": "<a status constant the headers declare>" } in the config.`,
        );
      }
      return member;
    };
    return { success: pick('success'), failed: pick('failed'), paramInvalid: pick('paramInvalid'), outOfMemory: pick('outOfMemory') };
  }

  private bindClasses(): ClassModel[] {
    const { ir, config } = this.input;
    const models: ClassModel[] = [];
    for (const c of ir.classes) {
      const bound = config.classes.includes(c.qualifiedName);
      if (!this.isEntry(c.file) && !bound) continue;
      if (!bound) {
        const reason = c.forward ? 'forward declaration (an implementation detail, e.g. a pimpl)' : this.skipReason(c.qualifiedName) ?? (config.typeMap[c.qualifiedName] ? 'mapped by "typeMap"' : undefined);
        if (!reason) {
          throw new CodegenError(
            `class ${c.qualifiedName} is not classified.`,
            c.file,
            c.line,
            `bind it by adding "${c.qualifiedName}" to "classes", or add "skip": { "${c.qualifiedName}": "<reason>" } to the config (--config).`,
          );
        }
        this.coverage.push({ kind: 'class', name: c.qualifiedName, file: c.file, status: 'skipped', reason });
        continue;
      }
      if (c.forward) throw new CodegenError(`class ${c.qualifiedName} is only forward-declared.`, c.file, c.line, 'point --headers at the header that defines it.');
      models.push(this.bindClass(c.qualifiedName));
    }
    for (const name of config.classes) {
      if (!ir.classes.some((c) => c.qualifiedName === name)) {
        throw new CodegenError(`class ${name} (from "classes") is not declared in any header the codegen read.`, this.input.configName, 0, 'fix the name in "classes" or add its header to "entryHeaders".');
      }
    }
    return models;
  }

  private bindClass(qualifiedName: string): ClassModel {
    const c = this.input.ir.classes.find((x) => x.qualifiedName === qualifiedName)!;
    const cName = `dd_${c.name}`;
    this.coverage.push({ kind: 'class', name: qualifiedName, file: c.file, status: 'bound', as: cName });
    const methods: MethodModel[] = [];
    let constructorParams: ParamModel[] | undefined;
    const seen = new Map<string, IrMethod>();
    for (const m of c.methods) {
      const key = `${qualifiedName}::${m.name}`;
      const kind = m.kind === 'operator' ? 'method' : m.kind;
      const skipped = (reason: string): void => {
        this.coverage.push({ kind, name: key, file: c.file, status: 'skipped', reason });
      };
      const configured = this.skipReason(key);
      if (configured) {
        skipped(configured);
        continue;
      }
      if (m.access !== 'public') {
        skipped(`${m.access}: not part of the API`);
        continue;
      }
      if (m.deleted) {
        skipped('deleted');
        continue;
      }
      if (m.kind === 'operator') {
        skipped('operator: no C ABI equivalent');
        continue;
      }
      if (m.template) {
        skipped('template: no single C signature');
        continue;
      }
      const isCopyOrMove = m.kind === 'constructor' && m.params.length === 1 && m.params[0]!.type.name.replace(/^.*::/, '') === c.name;
      if (isCopyOrMove) {
        skipped('copy/move constructor: handles are not copied');
        continue;
      }
      const where = { file: c.file, line: m.line };
      const previous = seen.get(m.name);
      if (previous) {
        throw new CodegenError(
          `${key} is overloaded (also at line ${previous.line}); a C function needs one signature.`,
          where.file,
          where.line,
          `add "skip": { "${key}": "<reason>" } to the config (--config) and bind a wrapper instead.`,
        );
      }
      seen.set(m.name, m);
      if (m.kind === 'destructor') {
        this.coverage.push({ kind: 'destructor', name: key, file: c.file, status: 'bound', as: `${cName}_destroy` });
        continue;
      }
      if (m.static) {
        throw new CodegenError(`${key} is static; the contract binds instance methods only.`, where.file, where.line, `add "skip": { "${key}": "<reason>" } to the config (--config).`);
      }
      const params = this.bindParams(m, key, qualifiedName, where);
      if (m.kind === 'constructor') {
        if (params.some((p) => p.direction === 'out')) throw new CodegenError(`constructor ${key} has an out-parameter.`, where.file, where.line, `add "skip": { "${key}": "<reason>" } to the config.`);
        constructorParams = params;
        this.coverage.push({ kind: 'constructor', name: key, file: c.file, status: 'bound', as: `${cName}_create` });
        continue;
      }
      const returnType = m.returnType!;
      let returnsStatus = false;
      if (returnType.name !== 'void' || returnType.pointer || returnType.reference) {
        const use: TypeUse = { what: `return type of ${key}`, file: where.file, line: where.line, skipKey: key };
        const mapped = this.types.map(returnType, qualifiedName, use);
        if (!(mapped.kind === 'scalar' && mapped.status) || returnType.pointer || returnType.reference) {
          throw new CodegenError(
            `return type of ${key} is ${renderType(returnType)}, which is not the status type ${this.input.config.statusType} or void (the shim returns the status of every call).`,
            where.file,
            where.line,
            `leave it unbound with "skip": { "${key}": "<reason>" } in the config (--config); if ${renderType(returnType)} is this release's status type, set "statusType" to its qualified name.`,
          );
        }
        returnsStatus = true;
      }
      const cMethod = `${cName}_${m.name}`;
      methods.push({
        name: m.name,
        file: where.file,
        line: where.line,
        qualifiedName: key,
        cName: cMethod,
        ...(m.doc === undefined ? {} : { doc: m.doc }),
        params,
        returnsStatus,
        async: this.input.config.asyncMethods.includes(key),
      });
      this.coverage.push({ kind: 'method', name: key, file: c.file, status: 'bound', as: cMethod });
    }
    for (const name of this.input.config.asyncMethods.filter((n) => n.startsWith(`${qualifiedName}::`))) {
      if (!methods.some((m) => m.qualifiedName === name)) {
        throw new CodegenError(`"asyncMethods" names ${name}, which is not a bound method.`, this.input.configName, 0, 'remove it from "asyncMethods" or fix the name.');
      }
    }
    if (!constructorParams) throw new CodegenError(`class ${qualifiedName} has no public constructor to bind.`, c.file, c.line, `add "skip": { "${qualifiedName}": "<reason>" } or remove it from "classes".`);
    return {
      qualifiedName,
      file: c.file,
      line: c.line,
      name: c.name,
      namespace: c.namespace,
      cName,
      ...(c.doc === undefined ? {} : { doc: c.doc }),
      constructorParams,
      methods,
    };
  }

  private bindParams(m: IrMethod, key: string, classScope: string, where: { file: string; line: number }): ParamModel[] {
    const params: ParamModel[] = [];
    for (const p of m.params) {
      const use: TypeUse = { what: `parameter ${p.name} of ${key}`, file: where.file, line: where.line, skipKey: key };
      const type = this.types.map(p.type, classScope, use);
      params.push(this.checkParam(p, type, key, use));
    }
    return params;
  }

  private checkParam(p: IrParam, type: Mapped, key: string, use: TypeUse): ParamModel {
    const base = { name: p.name, type, direction: p.direction, cppType: p.type, ...(p.default === undefined ? {} : { default: p.default }) };
    if (p.default?.kind === 'unevaluated') {
      throw new CodegenError(
        `cannot evaluate the default value "${p.default.text}" of parameter ${p.name} of ${key}: ${p.default.reason}.`,
        use.file,
        use.line,
        'add the header that declares it to "includeDirs" (--include <dir>), or give its enum in "typeMap" with "values".',
      );
    }
    if (p.direction === 'in') {
      const ok =
        isScalarLike(type) ||
        type.kind === 'string' ||
        type.kind === 'struct' ||
        type.kind === 'map' ||
        (type.kind === 'pair' && isScalarLike(type.first) && isScalarLike(type.second)) ||
        (type.kind === 'vector' &&
          (isScalarLike(type.element) || type.element.kind === 'string' || type.element.kind === 'struct' || (type.element.kind === 'vector' && isScalarLike(type.element.element))));
      if (!ok) throw noShape(p.type, use, 'has no C parameter shape in the bindings contract');
      return base;
    }
    if (isScalarLike(type)) return base;
    if (type.kind === 'struct') {
      const problem = outStructProblem(type.struct);
      if (problem) throw noShape(p.type, use, `is an out-struct whose ${problem}`);
      markOutput(type.struct);
      return base;
    }
    if (type.kind === 'vector' && isScalarLike(type.element)) {
      const capacityFrom = this.input.config.outVectorLengths[`${key}.${p.name}`];
      if (!capacityFrom) {
        throw new CodegenError(
          `out-vector ${p.name} of ${key} needs a capacity: the caller allocates it.`,
          use.file,
          use.line,
          `add "outVectorLengths": { "${key}.${p.name}": "<in-parameter whose length it has>" } to the config (--config), or "skip": { "${key}": "<reason>" }.`,
        );
      }
      const source = this.findParamIndex(key, capacityFrom);
      if (source === undefined) {
        throw new CodegenError(`"outVectorLengths" for ${key}.${p.name} names ${capacityFrom}, which is not an in-parameter of ${key}.`, this.input.configName, 0, 'name a vector in-parameter of the same method.');
      }
      return { ...base, capacityFrom };
    }
    throw noShape(p.type, use, 'has no C out-parameter shape in the bindings contract (out scalars, out structs, out vectors of scalars)');
  }

  private findParamIndex(key: string, name: string): number | undefined {
    const className = key.slice(0, key.lastIndexOf('::'));
    const method = key.slice(key.lastIndexOf('::') + 2);
    const m = this.input.ir.classes.find((c) => c.qualifiedName === className)?.methods.find((x) => x.name === method);
    const index = m?.params.findIndex((p) => p.name === name && p.direction === 'in' && p.type.name.endsWith('vector'));
    return index === undefined || index < 0 ? undefined : index;
  }

  private ruleFor(c: IrConstant, value: bigint | string | undefined, isStatus: boolean, anyKind = false): ConstantRule | undefined {
    return this.input.config.constants.find((r) => {
      if (r.namespaces && !r.namespaces.includes(c.namespace)) return false;
      if (!new RegExp(r.match).test(c.name)) return false;
      if (anyKind) return true;
      if (r.kind === 'string') return typeof value === 'string';
      if (r.kind === 'integer') return typeof value === 'bigint';
      if (r.kind === 'status') return typeof value === 'bigint' && isStatus;
      return true;
    });
  }

  private bindConstants(): { groups: ConstantGroup[]; singles: SingleConstant[] } {
    const groups = new Map<string, { kind: ConstantGroup['kind']; members: ConstantMember[] }>();
    const singles: SingleConstant[] = [];
    for (const c of this.input.ir.constants.filter((x) => this.isEntry(x.file))) {
      const configured = this.skipReason(c.qualifiedName);
      if (configured) {
        this.coverage.push({ kind: 'constant', name: c.qualifiedName, file: c.file, status: 'skipped', reason: configured });
        continue;
      }
      const v = c.value;
      const value = v.kind === 'string' ? v.value : v.kind === 'integer' || v.kind === 'enumerator' ? BigInt(v.value) : v.kind === 'bool' ? (v.value ? 1n : 0n) : undefined;
      let type: Mapped | undefined;
      let typeError: unknown;
      try {
        type = this.types.map({ ...c.type, ...(c.array ? { pointer: 1 } : {}) }, c.namespace, { what: `constant ${c.qualifiedName}`, file: c.file, line: c.line, skipKey: c.qualifiedName });
      } catch (error) {
        typeError = error;
      }
      const isStatus = type?.kind === 'scalar' && type.status === true;
      const rule = this.ruleFor(c, value, isStatus);
      // A rule that would match but for the kind, on a constant whose type is unknown: the type is the problem.
      if (!rule && typeError instanceof CodegenError && this.ruleFor(c, value, true, true)) throw typeError;
      if (!rule || value === undefined) {
        const what = value === undefined ? `its value "${v.text}" could not be evaluated` : 'no rule in "constants" matches it';
        throw new CodegenError(
          `constant ${c.qualifiedName} (${renderType(c.type)}${c.array ? '[]' : ''}) is not classified: ${what}.`,
          c.file,
          c.line,
          `add a rule to "constants" in the config (--config), e.g. { "match": "^${c.name}$", "group": "<Name>" } or { "match": "^${c.name}$", "skip": "<reason>" }, or "skip": { "${c.qualifiedName}": "<reason>" }.`,
        );
      }
      const member: ConstantMember = {
        name: c.name,
        qualifiedName: c.qualifiedName,
        value,
        file: c.file,
        line: c.line,
        ...(c.doc === undefined ? {} : { doc: c.doc }),
        ...(c.macro === undefined ? {} : { macro: c.macro }),
        ...(c.define ? { define: true as const } : {}),
      };
      if (rule.skip !== undefined) {
        this.coverage.push({ kind: 'constant', name: c.qualifiedName, file: c.file, status: 'skipped', reason: rule.skip });
        continue;
      }
      if (rule.single) {
        if (!type) throw unsupported(c.type, { what: `constant ${c.qualifiedName}`, file: c.file, line: c.line, skipKey: c.qualifiedName }, 'cannot be mapped', {});
        singles.push({ ...member, type });
        this.coverage.push({ kind: 'constant', name: c.qualifiedName, file: c.file, status: 'bound', as: c.name });
        continue;
      }
      const groupName = rule.group!;
      const kind = rule.kind ?? (typeof value === 'string' ? 'string' : 'integer');
      const group = groups.get(groupName) ?? { kind, members: [] };
      groups.set(groupName, group);
      const index = group.members.findIndex((m) => m.name === c.name);
      const existing = group.members[index];
      if (existing && existing.value !== value) {
        const show = (v: bigint | string): string => (typeof v === 'bigint' && kind === 'status' ? `0x${(v & 0xffffffffn).toString(16).toUpperCase().padStart(8, '0')}` : String(v));
        const place = (m: ConstantMember): string => `${m.file}:${m.line}${m.macro ? `, through ${m.macro}` : ''}`;
        throw new CodegenError(
          `constant ${c.qualifiedName} = ${show(value)} (${place(member)}) disagrees with ${existing.qualifiedName} = ${show(existing.value)} (${place(existing)}); both are ${groupName}.${c.name}.`,
          c.file,
          c.line,
          `make the two declarations agree, or leave one unbound with "skip": { "${c.qualifiedName}": "<reason>" } in the config (--config).`,
        );
      }
      // The same constant in several namespaces is one entry: the namespace the rule lists first
      // wins, and a declaration without a comment borrows the other's.
      const preferred = (a: ConstantMember, b: ConstantMember): ConstantMember => (a.doc === undefined && b.doc !== undefined ? { ...a, doc: b.doc } : a);
      if (!existing) group.members.push(member);
      else if (rule.namespaces && rule.namespaces.indexOf(c.namespace) < rule.namespaces.indexOf(namespaceOf(existing.qualifiedName))) group.members[index] = preferred(member, existing);
      else group.members[index] = preferred(existing, member);
      this.coverage.push({ kind: 'constant', name: c.qualifiedName, file: c.file, status: 'bound', as: `${groupName}.${c.name}` });
    }
    const out: ConstantGroup[] = [...groups.entries()].map(([name, g]) => ({
      name,
      kind: g.kind,
      // Status codes read best in numeric order (success first, failed last); others keep header order.
      members: g.kind === 'status' ? [...g.members].sort((a, b) => (BigInt(a.value) < BigInt(b.value) ? -1 : BigInt(a.value) > BigInt(b.value) ? 1 : 0)) : g.members,
    }));
    return { groups: out, singles };
  }
}

/** Applies the config to the IR: what is bound, how, and what is skipped and why. */
export function bindApi(input: BindInput): ApiModel {
  return new Binder(input).bind();
}
