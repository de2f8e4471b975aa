import type { IrValue } from '../ir.js';

/** What a qualified name stands for, as far as name lookup needs to know. */
export type SymbolEntry =
  | { readonly kind: 'namespace' }
  | { readonly kind: 'enum' | 'struct' | 'class' | 'alias' }
  | { readonly kind: 'enumerator'; readonly enum: string; readonly value: bigint }
  | { readonly kind: 'constant'; readonly value: IrValue }
  /** `using ns::NAME;` — the name stands for `target`. */
  | { readonly kind: 'using'; readonly target: string };

export interface LookupResult {
  /** The qualified name the lookup arrived at (after following using-declarations). */
  readonly qualified: string;
  /** Undefined when the name resolves to something no visible header declares. */
  readonly entry?: SymbolEntry;
}

/** Parent scope of `a::b::c` is `a::b`; of `a` is ''. */
export function parentScope(scope: string): string {
  const i = scope.lastIndexOf('::');
  return i < 0 ? '' : scope.slice(0, i);
}

export function qualify(scope: string, name: string): string {
  return scope ? `${scope}::${name}` : name;
}

/**
 * A simplified C++ name lookup over every declaration read so far: the innermost scope first,
 * then each enclosing one; in each, `using namespace` targets too; `using ns::NAME` entries are
 * followed. Enough for API headers, which do not overload names across scopes.
 */
export class SymbolTable {
  private readonly entries = new Map<string, SymbolEntry>();
  private readonly usingNamespaces = new Map<string, string[]>();

  /** Later definitions win, so a header's declaration replaces a type-map stand-in. */
  define(qualifiedName: string, entry: SymbolEntry): void {
    this.entries.set(qualifiedName, entry);
  }

  get(qualifiedName: string): SymbolEntry | undefined {
    return this.entries.get(qualifiedName);
  }

  addUsingNamespace(scope: string, target: string): void {
    const list = this.usingNamespaces.get(scope) ?? [];
    list.push(target);
    this.usingNamespaces.set(scope, list);
  }

  /** Every qualified name `name` could mean from `scope`, innermost first. */
  candidates(name: string, scope: string): string[] {
    if (name.startsWith('::')) return [name.slice(2)];
    const out: string[] = [];
    for (let s = scope; ; s = parentScope(s)) {
      out.push(qualify(s, name));
      for (const target of this.usingNamespaces.get(s) ?? []) out.push(qualify(target, name));
      if (s === '') break;
    }
    return out;
  }

  lookup(name: string, scope: string, depth = 0): LookupResult | undefined {
    if (depth > 16) return undefined;
    for (const candidate of this.candidates(name, scope)) {
      const entry = this.entries.get(candidate);
      if (!entry) continue;
      if (entry.kind === 'using') return this.lookup(entry.target, '', depth + 1) ?? { qualified: entry.target };
      return { qualified: candidate, entry };
    }
    const split = name.replace(/^::/, '').indexOf('::');
    if (split > 0) {
      const bare = name.replace(/^::/, '');
      const head = this.lookup(bare.slice(0, split), name.startsWith('::') ? '' : scope, depth + 1);
      if (head?.entry) {
        const full = `${head.qualified}${bare.slice(split)}`;
        return this.lookup(full, '', depth + 1) ?? { qualified: full };
      }
    }
    return undefined;
  }
}
