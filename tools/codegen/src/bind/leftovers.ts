import type { IrCoverageEntry, IrUnclassified, ParsedIr } from '../ir.js';
import type { Unrecognized } from '../parse/ir-builder.js';
import type { SymbolTable } from '../parse/symbols.js';

export interface LeftoverInput {
  readonly ir: ParsedIr;
  readonly symbols: SymbolTable;
  /** Namespace-scope lines of the entry headers the parser has no IR section for. */
  readonly unrecognized: readonly Unrecognized[];
  readonly writtenLine: (file: string, line: number) => string;
  /** The config's `skip`. */
  readonly skip: Readonly<Record<string, string>>;
  readonly isEntry: (file: string) => boolean;
}

/**
 * What is left once methods, classes, structs, enums, constants and functions are bound or skipped:
 * namespace-scope variables, `#include`s no folder has, and the lines the parser has no IR section
 * for. Each is skipped (by `skip`, or for a reason the codegen knows) or comes back unclassified, in
 * reading order: nothing is dropped without a word.
 */
export function classifyLeftovers(input: LeftoverInput): { coverage: IrCoverageEntry[]; unclassified: IrUnclassified[] } {
  const { ir, skip } = input;
  const coverage: IrCoverageEntry[] = [];
  const unclassified: IrUnclassified[] = [];

  for (const v of ir.variables.filter((x) => input.isEntry(x.file))) {
    const found = input.symbols.lookup(v.type.name.replace(/^::/, ''), v.namespace);
    // Vendors register error descriptions through such objects; no object crosses the C ABI.
    const reason = skip[v.qualifiedName] ?? (found?.entry?.kind === 'class' && !v.type.pointer ? `object of class type ${found.qualified}: objects do not cross the C ABI` : undefined);
    if (reason) {
      coverage.push({ kind: 'variable', name: v.qualifiedName, file: v.file, status: 'skipped', reason });
      continue;
    }
    unclassified.push({
      file: v.file,
      line: v.line,
      text: input.writtenLine(v.file, v.line),
      what: `variable ${v.qualifiedName}, which is not a constant (the bindings export constants only)`,
      fix: `add "skip": { "${v.qualifiedName}": "<reason>" } to the config (--config).`,
      name: v.qualifiedName,
    });
  }

  for (const missing of ir.unresolvedIncludes) {
    const reason = skip[missing.include];
    if (reason) {
      coverage.push({ kind: 'include', name: missing.include, file: missing.file, status: 'skipped', reason });
      continue;
    }
    unclassified.push({
      file: missing.file,
      line: missing.line,
      text: `#include "${missing.include}"`,
      what: 'an include that no include folder has (the compiler that builds the shim will need it too)',
      fix: `add the folder that has ${missing.include} to "includeDirs" (--include <dir>; for a CANN toolkit also "$ASCEND_HOME_PATH/include/external"); if the shim is built without it and "typeMap" describes what the bindings need from it, add "skip": { "${missing.include}": "<reason>" } to the config (--config).`,
    });
  }

  for (const u of input.unrecognized) {
    const reason = u.name === undefined ? undefined : skip[u.name];
    if (reason) coverage.push({ kind: 'declaration', name: u.name!, file: u.file, status: 'skipped', reason });
    else unclassified.push(u);
  }

  const order = new Map(ir.inputs.map((header, i) => [header.path, i]));
  unclassified.sort((a, b) => (order.get(a.file) ?? 0) - (order.get(b.file) ?? 0) || a.line - b.line);
  return { coverage, unclassified };
}
