import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { CodegenError } from './errors.js';

/** The integer and floating types the bindings know; each has one C type and one TS type. */
export const SCALAR_NAMES = [
  'bool',
  'int8',
  'uint8',
  'int16',
  'uint16',
  'int32',
  'uint32',
  'int64',
  'uint64',
  'uintptr',
  'size',
  'float',
  'double',
] as const;
export type ScalarName = (typeof SCALAR_NAMES)[number];

/**
 * How to treat a type the headers name but do not define where the codegen can see it: a string,
 * a scalar, or an enum whose values are given here.
 */
export type TypeMapEntry = 'string' | ScalarName | { readonly underlying: ScalarName; readonly values: Readonly<Record<string, number>> };

/** Classifies header constants; the first rule whose namespace and name pattern match wins. */
export interface ConstantRule {
  /** Regular expression tested against the unqualified constant name. */
  readonly match: string;
  /** Namespaces the rule applies to (any when absent). */
  readonly namespaces?: readonly string[];
  /** The value the constant must have: an integer, a string, or a status code (integer of the status type). */
  readonly kind?: 'integer' | 'string' | 'status';
  /** Collect into `export const <group> = { NAME: value } as const`. */
  readonly group?: string;
  /** Export as `export const <NAME> = value`. */
  readonly single?: boolean;
  /** Leave unbound, for this reason. */
  readonly skip?: string;
}

/**
 * Classifies free functions of the entry headers; the first rule whose namespace and name pattern
 * match wins. A function is bound into a group (`functionGroups`) or skipped with a reason.
 */
export interface FunctionRule {
  /** Regular expression tested against the unqualified function name. */
  readonly match: string;
  /** Namespaces the rule applies to (any when absent; `""` is the global namespace). */
  readonly namespaces?: readonly string[];
  /** Bind into this entry of `functionGroups`. */
  readonly group?: string;
  /** Leave unbound, for this reason. */
  readonly skip?: string;
}

/**
 * Free functions bound together: one TypeScript interface (`<name>Bindings`) and one status type
 * (`<name>Status`), whose codes are a constant group.
 */
export interface FunctionGroup {
  /** The alias every function of the group returns (`aclError`). */
  readonly statusType: string;
  /** The constant group that lists its codes (`AclStatusCode`). */
  readonly statusGroup: string;
  /** The code of success, and the one the shim returns itself for a NULL out-pointer. */
  readonly success: string;
  readonly paramInvalid: string;
}

export interface CodegenConfig {
  /** Headers whose declarations make up the API, relative to the header folder; others are read only for types. */
  readonly entryHeaders: readonly string[];
  /** Extra folders searched for `#include "..."` after the header folder (absolute once loaded). */
  readonly includeDirs: readonly string[];
  /** Export/visibility macros blanked out before parsing (`class LLM_API X` → `class X`). */
  readonly visibilityMacros: readonly string[];
  /** What the generated shim includes to see the C++ API. */
  readonly shimIncludes: readonly string[];
  /** Qualified names of the classes bound as opaque handles. */
  readonly classes: readonly string[];
  /** Types defined outside the visible headers, by qualified name. */
  readonly typeMap: Readonly<Record<string, TypeMapEntry>>;
  /** The alias whose values are status codes (TS `Status`). */
  readonly statusType: string;
  /** Status names the shim returns itself. */
  readonly statusNames: { readonly success: string; readonly failed: string; readonly paramInvalid: string; readonly outOfMemory: string };
  readonly constants: readonly ConstantRule[];
  /** Free functions: bound into a `functionGroups` entry or skipped (docs/codegen.md, "Free functions"). */
  readonly functions?: readonly FunctionRule[];
  readonly functionGroups?: Readonly<Record<string, FunctionGroup>>;
  /** Declarations left unbound on purpose: qualified name (`ns::Class::Method`) → reason. */
  readonly skip: Readonly<Record<string, string>>;
  /** Methods (`ns::Class::Method`) that wait on the network and get an `…Async` twin. */
  readonly asyncMethods: readonly string[];
  /** Capacity of an out-vector (`ns::Class::Method.param`) = length of this in-parameter. */
  readonly outVectorLengths: Readonly<Record<string, string>>;
  /** Capacity given to vector fields of out-structs (the shim reports the full size). */
  readonly outStructVectorCapacity: number;
  /** The enum whose element sizes `dataTypeSizes` lists (emitted as DataType). */
  readonly dataTypeEnum: string;
  /** JSON file `{ "bits": { "<enumerator>": <bits per element> } }` (absolute once loaded). */
  readonly dataTypeSizes: string;
  /**
   * Macros for `#if`/`#ifdef`, merged over the build's (parse/build-defines.ts): `"NAME": "value"`,
   * `"NAME(a, b)": "replacement"`, or `"NAME": null` to leave a default one undefined.
   */
  readonly defines?: Readonly<Record<string, string | null>>;
  /**
   * Names the generated bindings must export, by constant group or enum (`StatusCode`, `LlmRole`):
   * the ones `@dd/core` and `@dd/testing` use. A release without one fails the run, not their build.
   */
  readonly required: Readonly<Record<string, readonly string[]>>;
}

/** Where the default configuration lives, next to this package's package.json. */
export function defaultConfigPath(packageRoot: string): string {
  return resolve(packageRoot, 'codegen.config.json');
}

const OBJECT_KEYS = ['typeMap', 'skip', 'outVectorLengths', 'statusNames', 'defines', 'required', 'functionGroups'] as const;
const APPENDED_LISTS = ['includeDirs', 'visibilityMacros', 'classes', 'asyncMethods'] as const;
const REPLACED = ['entryHeaders', 'shimIncludes', 'statusType', 'outStructVectorCapacity', 'dataTypeEnum', 'dataTypeSizes'] as const;
const KNOWN_KEYS = new Set<string>(['$comment', 'constants', 'functions', ...OBJECT_KEYS, ...APPENDED_LISTS, ...REPLACED]);

function readJson(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new CodegenError('config file not found.', file, 0, 'pass an existing JSON file to --config.');
  }
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
    return value as Record<string, unknown>;
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    const line = /line (\d+)/.exec(detail)?.[1];
    throw new CodegenError(`config is not a JSON object (${detail}).`, file, line ? Number(line) : 0, 'write the config as a JSON object; docs/codegen.md lists its keys.');
  }
}

function lineOfKey(file: string, key: string): number {
  const index = readFileSync(file, 'utf8').split('\n').findIndex((l) => l.includes(`"${key}"`));
  return index + 1;
}

function expectStrings(file: string, key: string, value: unknown): string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    throw new CodegenError(`"${key}" must be a list of strings.`, file, lineOfKey(file, key), `write "${key}": ["…"].`);
  }
  return value as string[];
}

function expectRecord(file: string, key: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CodegenError(`"${key}" must be an object.`, file, lineOfKey(file, key), `write "${key}": { … }.`);
  }
  return value as Record<string, unknown>;
}

function checkTypeMapEntry(file: string, name: string, entry: unknown): TypeMapEntry {
  const scalars: readonly string[] = SCALAR_NAMES;
  if (entry === 'string' || (typeof entry === 'string' && scalars.includes(entry))) return entry as TypeMapEntry;
  if (typeof entry === 'object' && entry !== null) {
    const { underlying, values } = entry as { underlying?: unknown; values?: unknown };
    const valuesOk =
      typeof values === 'object' && values !== null && Object.values(values).every((v) => typeof v === 'number' && Number.isInteger(v));
    if (typeof underlying === 'string' && scalars.includes(underlying) && valuesOk) return entry as TypeMapEntry;
  }
  throw new CodegenError(
    `typeMap entry "${name}" is not a type the bindings know.`,
    file,
    lineOfKey(file, name),
    `use "string", one of ${SCALAR_NAMES.join('/')}, or { "underlying": "int32", "values": { "NAME": 0 } }.`,
  );
}

function checkRules(file: string, value: unknown): ConstantRule[] {
  if (!Array.isArray(value)) throw new CodegenError('"constants" must be a list of rules.', file, lineOfKey(file, 'constants'), 'see docs/codegen.md, "The config file".');
  return value.map((rule: unknown) => {
    const r = rule as ConstantRule;
    const actions = [r.group !== undefined, r.single === true, r.skip !== undefined].filter(Boolean).length;
    let validPattern = true;
    try {
      new RegExp(r.match);
    } catch {
      validPattern = false;
    }
    if (typeof r.match !== 'string' || !validPattern || actions !== 1) {
      throw new CodegenError(
        `constant rule ${JSON.stringify(rule)} is invalid.`,
        file,
        lineOfKey(file, 'constants'),
        'give each rule a "match" regular expression and exactly one of "group", "single": true or "skip": "<reason>".',
      );
    }
    return r;
  });
}

function checkFunctionRules(file: string, value: unknown): FunctionRule[] {
  if (!Array.isArray(value)) throw new CodegenError('"functions" must be a list of rules.', file, lineOfKey(file, 'functions'), 'see docs/codegen.md, "Free functions".');
  return value.map((rule: unknown) => {
    const r = rule as FunctionRule;
    let validPattern = typeof r.match === 'string';
    try {
      new RegExp(r.match);
    } catch {
      validPattern = false;
    }
    const actions = [typeof r.group === 'string', typeof r.skip === 'string'].filter(Boolean).length;
    const namespacesOk = r.namespaces === undefined || (Array.isArray(r.namespaces) && r.namespaces.every((n) => typeof n === 'string'));
    if (!validPattern || actions !== 1 || !namespacesOk) {
      throw new CodegenError(
        `function rule ${JSON.stringify(rule)} is invalid.`,
        file,
        lineOfKey(file, 'functions'),
        'give each rule a "match" regular expression, optionally "namespaces", and exactly one of "group": "<functionGroups key>" or "skip": "<reason>".',
      );
    }
    return r;
  });
}

function checkFunctionGroups(file: string, value: unknown): Record<string, FunctionGroup> {
  const map = expectRecord(file, 'functionGroups', value);
  const keys = ['statusType', 'statusGroup', 'success', 'paramInvalid'] as const;
  for (const [name, group] of Object.entries(map)) {
    const g = group as Record<string, unknown>;
    if (!/^[A-Z][A-Za-z0-9]*$/.test(name) || typeof g !== 'object' || g === null || keys.some((k) => typeof g[k] !== 'string')) {
      throw new CodegenError(
        `function group "${name}" is invalid.`,
        file,
        lineOfKey(file, name),
        `name it in PascalCase (it prefixes <name>Bindings and <name>Status) and give ${keys.map((k) => `"${k}"`).join(', ')} as strings.`,
      );
    }
  }
  return map as Record<string, FunctionGroup>;
}

function resolvePath(base: string, path: string): string {
  return isAbsolute(path) ? path : resolve(base, path);
}

/** Checks one config object and resolves its paths against the folder it came from. */
function normalise(file: string, raw: Record<string, unknown>): Partial<CodegenConfig> {
  const base = dirname(file);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (!KNOWN_KEYS.has(key)) {
      throw new CodegenError(`unknown config key "${key}".`, file, lineOfKey(file, key), `remove it; the keys are ${[...KNOWN_KEYS].filter((k) => k !== '$comment').join(', ')}.`);
    }
    if (key === '$comment') continue;
    if (key === 'constants') out[key] = checkRules(file, value);
    else if (key === 'functions') out[key] = checkFunctionRules(file, value);
    else if (key === 'functionGroups') out[key] = checkFunctionGroups(file, value);
    else if (key === 'typeMap') {
      const map = expectRecord(file, key, value);
      out[key] = Object.fromEntries(Object.entries(map).map(([name, entry]) => [name, checkTypeMapEntry(file, name, entry)]));
    } else if (key === 'skip' || key === 'outVectorLengths' || key === 'statusNames') {
      const map = expectRecord(file, key, value);
      if (Object.values(map).some((v) => typeof v !== 'string')) {
        throw new CodegenError(`"${key}" values must be strings.`, file, lineOfKey(file, key), `write "${key}": { "name": "…" }.`);
      }
      out[key] = map;
    } else if (key === 'defines') {
      const map = expectRecord(file, key, value);
      if (Object.values(map).some((v) => typeof v !== 'string' && v !== null)) {
        throw new CodegenError(`"defines" values must be strings (or null to leave a macro undefined).`, file, lineOfKey(file, key), 'write "defines": { "NAME": "1", "NAME(a)": "a", "OTHER": null }.');
      }
      out[key] = map;
    } else if (key === 'required') {
      const map = expectRecord(file, key, value);
      out[key] = Object.fromEntries(Object.entries(map).map(([group, names]) => [group, expectStrings(file, group, names)]));
    } else if (key === 'outStructVectorCapacity') {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
        throw new CodegenError(`"${key}" must be a positive integer.`, file, lineOfKey(file, key), `write "${key}": 256.`);
      }
      out[key] = value;
    } else if (key === 'statusType' || key === 'dataTypeEnum' || key === 'dataTypeSizes') {
      if (typeof value !== 'string') throw new CodegenError(`"${key}" must be a string.`, file, lineOfKey(file, key), `write "${key}": "…".`);
      out[key] = key === 'dataTypeSizes' ? resolvePath(base, value) : value;
    } else {
      const list = expectStrings(file, key, value);
      out[key] = key === 'includeDirs' ? list.map((p) => resolvePath(base, p)) : list;
    }
  }
  return out as Partial<CodegenConfig>;
}

/**
 * Loads the default config and merges `userFile` over it: objects merge key by key, the lists
 * includeDirs/visibilityMacros/classes/asyncMethods are appended to, user constant and function rules
 * are tried before the default ones, and every other key replaces the default.
 */
export function loadConfig(defaultFile: string, userFile?: string, extraIncludeDirs: readonly string[] = []): CodegenConfig {
  const defaults = normalise(defaultFile, readJson(defaultFile)) as CodegenConfig;
  let merged: CodegenConfig = defaults;
  if (userFile !== undefined) {
    const user = normalise(userFile, readJson(userFile));
    const next: Record<string, unknown> = { ...defaults };
    for (const [key, value] of Object.entries(user)) {
      const current = (defaults as unknown as Record<string, unknown>)[key];
      if ((OBJECT_KEYS as readonly string[]).includes(key)) next[key] = { ...(current as object), ...(value as object) };
      else if ((APPENDED_LISTS as readonly string[]).includes(key)) next[key] = [...(current as string[]), ...(value as string[])];
      else if (key === 'constants') next[key] = [...(value as ConstantRule[]), ...defaults.constants];
      else if (key === 'functions') next[key] = [...(value as FunctionRule[]), ...(defaults.functions ?? [])];
      else next[key] = value;
    }
    merged = next as unknown as CodegenConfig;
  }
  if (extraIncludeDirs.length > 0) merged = { ...merged, includeDirs: [...merged.includeDirs, ...extraIncludeDirs.map((d) => resolve(d))] };
  return merged;
}
