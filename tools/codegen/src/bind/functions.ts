import type { CodegenConfig, FunctionRule } from '../config.js';
import { CodegenError } from '../errors.js';
import type { IrCoverageEntry, IrFunction, IrParam, IrType } from '../ir.js';
import { renderType } from '../parse/ir-builder.js';
import type { SymbolTable } from '../parse/symbols.js';
import type { ConstantGroup, ConstantMember, FunctionGroupModel, FunctionModel, FunctionParamModel } from './model.js';
import { isScalarLike, noShape, type TypeMapper, type TypeUse } from './type-mapper.js';

export interface FunctionBindInput {
  readonly functions: readonly IrFunction[];
  readonly symbols: SymbolTable;
  readonly types: TypeMapper;
  readonly config: CodegenConfig;
  readonly configName: string;
  /** Constant groups already bound: a function group's status codes are one of them. */
  readonly groups: readonly ConstantGroup[];
}

const RULE_FIX = (f: IrFunction): string =>
  `add a rule to "functions" in the config (--config), { "match": "^${f.name}$", "group": "<a functionGroups key>" } to bind it or { "match": "^${f.name}$", "skip": "<reason>" }, or "skip": { "${f.qualifiedName}": "<reason>" }.`;

/** The type without its pointer declarators and top-level const: what a pointer points to. */
function pointee(t: IrType): IrType {
  const { pointer: _pointer, const: _const, ...rest } = t;
  return rest;
}

/**
 * C parameter shapes of a free function (docs/codegen.md, "Free functions"): scalars and enums by
 * value; `void *` / `const void *` as an address (uintptr_t, bigint); `void **` as an address the
 * function writes; `T *` to a scalar or enum as a value it writes; `const char *` as a string that
 * may be NULL. Anything else has no shape.
 */
function mapParam(types: TypeMapper, p: IrParam, scope: string, use: TypeUse): FunctionParamModel {
  const t = p.type;
  const base = { name: p.name, cppType: t };
  const bare = t.name.replace(/^::/, '');
  if (t.reference) throw noShape(t, use, 'is a reference, which a C function does not take');
  if (t.pointer === 1 && bare === 'void') return { ...base, type: { kind: 'scalar', scalar: 'uintptr', address: true }, direction: 'in' };
  if (t.pointer === 2 && bare === 'void' && !t.const) return { ...base, type: { kind: 'scalar', scalar: 'uintptr', address: true }, direction: 'out', byPointer: true };
  if (t.pointer === 1 && t.const && bare === 'char') return { ...base, type: { kind: 'string', nullable: true }, direction: 'in' };
  if (t.pointer === 1 && !t.const) {
    const target = types.map(pointee(t), scope, use);
    if (isScalarLike(target) && !(target.kind === 'scalar' && target.status)) return { ...base, type: target, direction: 'out', byPointer: true };
    throw noShape(t, use, 'points to something other than a scalar or an enum (a C function writes only those through an out-pointer here)');
  }
  if (t.pointer) throw noShape(t, use, 'is a pointer shape free functions do not have (void *, void **, T * to a scalar or enum, const char *)');
  const type = types.map(t, scope, use);
  if (!isScalarLike(type)) throw noShape(t, use, 'is passed by value but is not a scalar or an enum');
  return { ...base, type, direction: 'in' };
}

function ruleFor(rules: readonly FunctionRule[], f: IrFunction): FunctionRule | undefined {
  return rules.find((r) => (!r.namespaces || r.namespaces.includes(f.namespace)) && new RegExp(r.match).test(f.name));
}

/**
 * Binds the free functions of the entry headers by the config's `functions` rules: each is bound
 * into a group, skipped with a reason, or fails the run. Coverage entries go into `coverage`.
 */
export function bindFunctions(input: FunctionBindInput, coverage: IrCoverageEntry[]): FunctionGroupModel[] {
  const { config, configName, types } = input;
  const rules = config.functions ?? [];
  const groupConfigs = config.functionGroups ?? {};
  const bound = new Map<string, FunctionModel[]>();
  const seen = new Set<string>();
  for (const f of input.functions) {
    // A prototype repeated in another header declares the same function.
    if (seen.has(f.qualifiedName)) continue;
    seen.add(f.qualifiedName);
    const configured = config.skip[f.qualifiedName];
    if (configured) {
      coverage.push({ kind: 'function', name: f.qualifiedName, file: f.file, status: 'skipped', reason: configured });
      continue;
    }
    const rule = ruleFor(rules, f);
    if (!rule) throw new CodegenError(`free function ${f.qualifiedName} is not classified: no rule in "functions" matches it.`, f.file, f.line, RULE_FIX(f));
    if (rule.skip !== undefined) {
      coverage.push({ kind: 'function', name: f.qualifiedName, file: f.file, status: 'skipped', reason: rule.skip });
      continue;
    }
    const groupName = rule.group!;
    const group = groupConfigs[groupName];
    if (!group) {
      throw new CodegenError(`function rule "${rule.match}" binds into group "${groupName}", which "functionGroups" does not define.`, configName, 0, `add "functionGroups": { "${groupName}": { "statusType": …, "statusGroup": …, "success": …, "paramInvalid": … } } or fix the rule.`);
    }
    const resolved = input.symbols.lookup(f.returnType.name, f.namespace)?.qualified;
    if (f.returnType.pointer || f.returnType.reference || resolved !== group.statusType) {
      throw new CodegenError(
        `free function ${f.qualifiedName} returns ${renderType(f.returnType)}, not the status type ${group.statusType} of group ${groupName} (the shim returns the status of every call).`,
        f.file,
        f.line,
        `leave it unbound with a rule { "match": "^${f.name}$", "skip": "<reason>" } before the one that binds it in "functions", or "skip": { "${f.qualifiedName}": "<reason>" } in the config (--config); or bind it into a group whose "statusType" it returns.`,
      );
    }
    const params = f.params.map((p) => mapParam(types, p, f.namespace, { what: `parameter ${p.name} of ${f.qualifiedName}`, file: f.file, line: f.line, skipKey: f.qualifiedName }));
    const cName = `dd_${f.name}`;
    const list = bound.get(groupName) ?? [];
    bound.set(groupName, list);
    list.push({ name: f.name, qualifiedName: f.qualifiedName, file: f.file, line: f.line, cName, ...(f.doc === undefined ? {} : { doc: f.doc }), params });
    coverage.push({ kind: 'function', name: f.qualifiedName, file: f.file, status: 'bound', as: cName });
  }

  const models: FunctionGroupModel[] = [];
  for (const [name, group] of Object.entries(groupConfigs)) {
    const functions = bound.get(name);
    if (!functions) continue;
    const statusGroup = input.groups.find((g) => g.name === group.statusGroup);
    if (!statusGroup) {
      throw new CodegenError(`function group ${name} names "statusGroup": "${group.statusGroup}", but no constant rule fills a group of that name.`, configName, 0, `add a "constants" rule with "group": "${group.statusGroup}" for the codes of ${group.statusType}.`);
    }
    const member = (key: 'success' | 'paramInvalid'): ConstantMember => {
      const found = statusGroup.members.find((m) => m.name === group[key]);
      if (!found) throw new CodegenError(`function group ${name}: "${key}": "${group[key]}" is not in the constant group ${statusGroup.name}.`, configName, 0, `name a code of ${statusGroup.name} in functionGroups.${name}.${key}.`);
      return found;
    };
    const first = functions[0]!;
    const status = types.map({ text: group.statusType, name: group.statusType }, '', { what: `status type ${group.statusType} of group ${name}`, file: first.file, line: first.line });
    if (status.kind !== 'scalar' || status.address) {
      throw new CodegenError(`the status type ${group.statusType} of group ${name} is not an integer type.`, first.file, first.line, 'name an integer alias (typedef int aclError;) in functionGroups.statusType.');
    }
    models.push({ name, statusType: group.statusType, scalar: status.scalar, statusGroup, success: member('success'), paramInvalid: member('paramInvalid'), functions });
  }
  return models;
}
