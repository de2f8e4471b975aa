import type { Node, Parser } from 'web-tree-sitter';
import type { TypeMapEntry } from '../config.js';
import { CodegenError } from '../errors.js';
import {
  IR_VERSION,
  type IrAlias,
  type IrClass,
  type IrConstant,
  type IrEnum,
  type IrEnumerator,
  type IrField,
  type IrFunction,
  type IrMethod,
  type IrParam,
  type IrStruct,
  type IrType,
  type IrUsing,
  type IrUsingNamespace,
  type IrVariable,
  type ParsedIr,
} from '../ir.js';
import { evaluate, integerOf } from './evaluate.js';
import { macroConstants } from './macro-constants.js';
import type { PreprocessedHeader, PreprocessedHeaders } from './preprocess.js';
import { parentScope, qualify, SymbolTable } from './symbols.js';

/**
 * A namespace-scope line of an entry header the parser has no IR section for. The binder turns it
 * into a coverage entry (a `skip` names it) or reports it as unclassified.
 */
export interface Unrecognized {
  readonly file: string;
  readonly line: number;
  readonly text: string;
  readonly what: string;
  readonly fix: string;
  readonly name?: string;
}

export interface ParsedHeaders {
  /** The IR without coverage and unclassified lines (the binder adds them). */
  readonly ir: ParsedIr;
  readonly symbols: SymbolTable;
  readonly unrecognized: readonly Unrecognized[];
  /** A header line as written (1-based), whitespace collapsed: how messages quote a declaration. */
  readonly writtenLine: (file: string, line: number) => string;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function collapse(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function named(node: Node | null | undefined): Node[] {
  return node ? node.namedChildren.filter((c): c is Node => c !== null) : [];
}

function all(node: Node): Node[] {
  return node.children.filter((c): c is Node => c !== null);
}

function hasToken(node: Node, token: string): boolean {
  return all(node).some((c) => c.type === token || (!c.isNamed && c.text === token));
}

/** Renders a type the way the IR writes type arguments: `const char *`, `std::vector<int> &`. */
export function renderType(t: IrType): string {
  const ptr = t.pointer ? ` ${'*'.repeat(t.pointer)}` : '';
  const ref = t.reference === 'lvalue' ? ' &' : t.reference === 'rvalue' ? ' &&' : '';
  return `${t.const ? 'const ' : ''}${t.text}${ptr}${ref}`;
}

/** The doc comment (`///`, `//!`, `/** *\/`, `/*! *\/`) directly above `node`, cleaned. */
function docOf(node: Node): string | undefined {
  const parts: string[] = [];
  let row = node.startPosition.row;
  for (let prev = node.previousSibling; prev && prev.type === 'comment' && prev.endPosition.row >= row - 1; prev = prev.previousSibling) {
    parts.unshift(prev.text);
    row = prev.startPosition.row;
  }
  const docs = parts.filter((p) => /^(\/\/\/|\/\/!|\/\*\*|\/\*!)/.test(p) && !/^\/\/\/</.test(p));
  if (docs.length === 0) return undefined;
  const text = docs
    .map((p) =>
      p
        .replace(/^\/\/[/!]/, '')
        .replace(/^\/\*[*!]/, '')
        .replace(/\*\/$/, '')
        .split('\n')
        .map((l) => l.replace(/^\s*\/\/[/!]?/, '').replace(/^\s*\*(?!\/)/, ''))
        .join(' '),
    )
    .join(' ')
    .replace(/[@\\]brief\b/g, '');
  const doc = collapse(text);
  return doc === '' ? undefined : doc;
}

interface DeclaratorInfo {
  name?: string;
  pointer: number;
  reference?: 'lvalue' | 'rvalue';
  arraySizes: (Node | null)[];
  value?: Node;
  func?: Node;
  nameNode?: Node;
}

function unwrapDeclarator(start: Node | null): DeclaratorInfo {
  const info: DeclaratorInfo = { pointer: 0, arraySizes: [] };
  let d = start;
  while (d) {
    switch (d.type) {
      case 'reference_declarator':
      case 'abstract_reference_declarator':
        info.reference = hasToken(d, '&&') ? 'rvalue' : 'lvalue';
        d = named(d).find((c) => c.type !== 'type_qualifier') ?? null;
        break;
      case 'pointer_declarator':
      case 'abstract_pointer_declarator':
        info.pointer += 1;
        d = d.childForFieldName('declarator');
        break;
      case 'array_declarator':
      case 'abstract_array_declarator':
        info.arraySizes.push(d.childForFieldName('size'));
        d = d.childForFieldName('declarator');
        break;
      case 'init_declarator':
        info.value = d.childForFieldName('value') ?? undefined;
        d = d.childForFieldName('declarator');
        break;
      case 'function_declarator':
        info.func = d;
        d = d.childForFieldName('declarator');
        break;
      case 'parenthesized_declarator':
        d = named(d)[0] ?? null;
        break;
      default:
        info.name = collapse(d.text);
        info.nameNode = d;
        d = null;
    }
  }
  return info;
}

/** The written name and template arguments of a type node (without qualifiers or declarators). */
function baseType(node: Node): { name: string; args?: IrType[] } {
  switch (node.type) {
    case 'qualified_identifier': {
      const scope = node.childForFieldName('scope');
      const inner = node.childForFieldName('name');
      const rest = inner ? baseType(inner) : { name: '' };
      const prefix = scope ? `${collapse(scope.text)}::` : '::';
      return rest.args ? { name: prefix + rest.name, args: rest.args } : { name: prefix + rest.name };
    }
    case 'template_type': {
      const name = collapse(node.childForFieldName('name')?.text ?? '');
      const args = named(node.childForFieldName('arguments')).map((a) =>
        a.type === 'type_descriptor' ? typeOfDescriptor(a) : { text: collapse(a.text), name: collapse(a.text) },
      );
      return { name, args };
    }
    case 'struct_specifier':
    case 'class_specifier':
    case 'enum_specifier':
    case 'union_specifier':
      return { name: collapse(node.childForFieldName('name')?.text ?? node.text) };
    default:
      return { name: collapse(node.text) };
  }
}

function makeType(typeNode: Node | null, qualifierOwner: Node, declarator: DeclaratorInfo | undefined): IrType {
  const base = typeNode ? baseType(typeNode) : { name: 'int' };
  const text = base.args ? `${base.name}<${base.args.map(renderType).join(', ')}>` : base.name;
  const isConst = all(qualifierOwner).some((c) => c.type === 'type_qualifier' && c.text === 'const');
  const t: Mutable<IrType> = { text, name: base.name };
  if (base.args) t.args = base.args;
  if (isConst) t.const = true;
  if (declarator?.reference) t.reference = declarator.reference;
  if (declarator && declarator.pointer > 0) t.pointer = declarator.pointer;
  return t;
}

function typeOfDescriptor(node: Node): IrType {
  const declarator = node.childForFieldName('declarator');
  // A function type (`void(uint64_t, Status)`) has no name of its own; keep its spelling.
  if (declarator && (declarator.type === 'abstract_function_declarator' || declarator.descendantsOfType('abstract_function_declarator').length > 0)) {
    const text = collapse(node.text);
    return { text, name: text };
  }
  return makeType(node.childForFieldName('type'), node, unwrapDeclarator(declarator));
}

/** Finds ERROR and MISSING nodes; a MISSING node inside a default value (`= {}`) is harmless. */
function syntaxProblems(root: Node): Node[] {
  const found: Node[] = [];
  const visit = (node: Node, inDefault: boolean): void => {
    if (node.isError) {
      found.push(node);
      return;
    }
    if (node.isMissing && !inDefault) found.push(node);
    const children = all(node);
    children.forEach((child, i) => {
      if (child.hasError || child.isMissing) visit(child, inDefault || node.fieldNameForChild(i) === 'default_value');
    });
  };
  if (root.hasError) visit(root, false);
  return found;
}

/**
 * An unknown export macro (`class VENDOR_API Name`) breaks the parse somewhere below the class,
 * so look for the pattern in the whole header: it names both the real line and the fix.
 */
function exportMacroAt(code: string): { line: number; macro: string } | undefined {
  const lines = code.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const macro = /^\s*(?:class|struct)\s+([A-Z_][A-Z0-9_]*)\s+[A-Za-z_]\w*\s*(?:final\s*)?[:{]/.exec(lines[i]!)?.[1];
    if (macro) return { line: i + 1, macro };
  }
  return undefined;
}

const GENERIC_FIX = 'make sure the header compiles; if a macro hides the syntax, add it to "visibilityMacros" in the config (--config).';

const SKIP_FIX = (name: string): string => `add "skip": { "${name}": "<reason>" } to the config (--config).`;

class IrBuilder {
  readonly aliases: IrAlias[] = [];
  readonly usings: IrUsing[] = [];
  readonly usingNamespaces: IrUsingNamespace[] = [];
  readonly enums: IrEnum[] = [];
  readonly constants: IrConstant[] = [];
  readonly structs: IrStruct[] = [];
  readonly classes: IrClass[] = [];
  readonly functions: IrFunction[] = [];
  readonly variables: IrVariable[] = [];
  readonly diagnostics: { file: string; line: number; message: string }[] = [];
  readonly unrecognized: Unrecognized[] = [];
  private file!: PreprocessedHeader;
  private lines: readonly string[] = [];

  constructor(readonly symbols: SymbolTable) {}

  readFile(file: PreprocessedHeader, root: Node): void {
    this.file = file;
    this.lines = file.text.split('\n');
    for (const problem of syntaxProblems(root)) {
      const line = problem.startPosition.row + 1;
      const snippet = collapse(problem.text).slice(0, 60);
      const message = problem.isMissing ? `syntax error: missing ${problem.type}` : `syntax error near "${snippet}"`;
      if (file.role === 'entry') {
        const macro = exportMacroAt(file.code);
        if (macro) {
          throw new CodegenError(
            `cannot parse the header: "${macro.macro}" between the class keyword and the class name looks like an export macro.`,
            file.path,
            macro.line,
            `add "${macro.macro}" to "visibilityMacros" in the config (--config), or give its definition in "defines" (e.g. "${macro.macro}": "").`,
          );
        }
        throw new CodegenError(`cannot parse the header: ${message}.`, file.path, line, GENERIC_FIX);
      }
      this.diagnostics.push({ file: file.path, line, message });
    }
    this.scope(root, '');
  }

  /** The header text of `node`'s lines as written (before preprocessing), whitespace collapsed. */
  private written(node: Node): string {
    const text = collapse(this.lines.slice(node.startPosition.row, node.endPosition.row + 1).join(' '));
    return text.length > 160 ? `${text.slice(0, 157)}...` : text;
  }

  /** The first macro named on `node`'s lines: what the declaration was written through. */
  private macroOf(node: Node): string | undefined {
    const first = node.startPosition.row + 1;
    const last = node.endPosition.row + 1;
    return this.file.uses.find((u) => u.line >= first && u.line <= last)?.text;
  }

  /** Records a namespace-scope line of an entry header that has no IR section. */
  private unrecognizedAt(node: Node, what: string, fix: string, name?: string): void {
    if (this.file.role !== 'entry') return;
    const entry: Unrecognized = { ...this.loc(node), text: this.written(node), what, fix, ...(name === undefined ? {} : { name }) };
    this.unrecognized.push(entry);
  }

  private loc(node: Node): { file: string; line: number } {
    return { file: this.file.path, line: node.startPosition.row + 1 };
  }

  private decl(node: Node, name: string, ns: string, docNode: Node = node): { name: string; namespace: string; qualifiedName: string; file: string; line: number; doc?: string } {
    const doc = docOf(docNode);
    const base = { name, namespace: ns, qualifiedName: qualify(ns, name), ...this.loc(node) };
    return doc === undefined ? base : { ...base, doc };
  }

  private scope(node: Node, ns: string): void {
    for (const child of named(node)) this.declaration(child, ns);
  }

  private declaration(node: Node, ns: string): void {
    switch (node.type) {
      case 'namespace_definition': {
        const nameNode = node.childForFieldName('name');
        // Anonymous namespaces are transparent: their names are usable from the enclosing one.
        const inner = nameNode ? qualify(ns, named(nameNode).length > 0 ? named(nameNode).map((n) => n.text).join('::') : nameNode.text) : ns;
        for (let s = inner; s !== ns && s !== ''; s = parentScope(s)) this.symbols.define(s, { kind: 'namespace' });
        this.scope(node.childForFieldName('body') ?? node, inner);
        return;
      }
      case 'linkage_specification':
        this.scope(node.childForFieldName('body') ?? node, ns);
        return;
      case 'declaration_list':
        this.scope(node, ns);
        return;
      case 'alias_declaration': {
        const name = collapse(node.childForFieldName('name')?.text ?? '');
        const typeNode = node.childForFieldName('type');
        if (!name || !typeNode) return;
        this.aliases.push({ ...this.decl(node, name, ns), target: typeOfDescriptor(typeNode) });
        this.symbols.define(qualify(ns, name), { kind: 'alias' });
        return;
      }
      case 'type_definition':
        this.typedef(node, ns);
        return;
      case 'using_declaration': {
        const target = named(node).find((c) => c.type === 'qualified_identifier' || c.type === 'identifier');
        if (!target) return;
        const text = collapse(target.text).replace(/\s/g, '');
        if (hasToken(node, 'namespace')) {
          const resolved = this.symbols.lookup(text, ns)?.qualified ?? text.replace(/^::/, '');
          this.usingNamespaces.push({ namespace: ns, target: resolved, ...this.loc(node) });
          this.symbols.addUsingNamespace(ns, resolved);
          return;
        }
        const resolved = this.symbols.lookup(text, ns)?.qualified ?? text.replace(/^::/, '');
        this.usings.push({ namespace: ns, target: resolved, ...this.loc(node) });
        const name = text.slice(text.lastIndexOf('::') + 2);
        this.symbols.define(qualify(ns, name), { kind: 'using', target: resolved });
        return;
      }
      case 'enum_specifier':
        this.enumSpecifier(node, ns, node);
        return;
      case 'struct_specifier':
      case 'class_specifier':
        this.record(node, ns, node, undefined);
        return;
      case 'declaration':
        this.namespaceDeclaration(node, ns);
        return;
      case 'function_definition':
        this.freeFunction(node, ns);
        return;
      case 'namespace_alias_definition': {
        // `namespace x = y;` only matters to name lookup.
        const alias = collapse(node.childForFieldName('name')?.text ?? '');
        const target = named(node).find((c) => c !== node.childForFieldName('name'));
        if (alias && target) this.symbols.define(qualify(ns, alias), { kind: 'using', target: this.symbols.lookup(collapse(target.text), ns)?.qualified ?? collapse(target.text) });
        return;
      }
      // Declarations that introduce no name, and comments.
      case 'static_assert_declaration':
      case 'comment':
        return;
      case 'template_declaration': {
        const inner = named(node).find((c) => c.type !== 'template_parameter_list');
        const name = inner ? this.declaredName(inner) : undefined;
        const qualifiedName = name === undefined ? undefined : qualify(ns, name);
        this.unrecognizedAt(node, 'a template (no single C signature or layout)', qualifiedName ? SKIP_FIX(qualifiedName) : GENERIC_FIX, qualifiedName);
        return;
      }
      case 'union_specifier': {
        const name = collapse(node.childForFieldName('name')?.text ?? '');
        this.unrecognizedAt(node, 'a union (no shape in the bindings contract)', name ? SKIP_FIX(qualify(ns, name)) : GENERIC_FIX, name ? qualify(ns, name) : undefined);
        return;
      }
      case 'expression_statement': {
        const call = named(node)[0];
        // A lone `;` declares nothing.
        if (!call) return;
        const macro = call.type === 'call_expression' ? collapse(call.childForFieldName('function')?.text ?? '') : '';
        if (/^[A-Za-z_]\w*$/.test(macro)) {
          this.unrecognizedAt(
            node,
            `a call of ${macro}(…), a macro whose #define the codegen did not read`,
            `add the folder of the header that defines ${macro} to "includeDirs" (--include <dir>), or define it in "defines" in the config (--config), e.g. "${macro}(...)": "" to drop these lines.`,
          );
          return;
        }
        this.unrecognizedAt(node, 'an expression at namespace scope', GENERIC_FIX);
        return;
      }
      default: {
        const name = node.childForFieldName('name');
        const qualifiedName = name ? qualify(ns, collapse(name.text)) : undefined;
        this.unrecognizedAt(node, `a ${node.type.replace(/_/g, ' ')} the codegen does not read`, qualifiedName ? SKIP_FIX(qualifiedName) : GENERIC_FIX, qualifiedName);
        return;
      }
    }
  }

  /** The name a declaration inside a template declares (`Foo` of `template <class T> struct Foo`). */
  private declaredName(node: Node): string | undefined {
    const own = node.childForFieldName('name');
    if (own) return collapse(own.text);
    const declarator = node.childForFieldName('declarator');
    if (declarator) return unwrapDeclarator(declarator).name;
    const type = node.childForFieldName('type');
    return type?.childForFieldName('name') ? collapse(type.childForFieldName('name')!.text) : undefined;
  }

  private typedef(node: Node, ns: string): void {
    const typeNode = node.childForFieldName('type');
    for (const d of node.childrenForFieldName('declarator').filter((c): c is Node => c !== null)) {
      const info = unwrapDeclarator(d);
      if (!info.name || !typeNode) continue;
      if ((typeNode.type === 'struct_specifier' || typeNode.type === 'class_specifier') && typeNode.childForFieldName('body')) {
        this.record(typeNode, ns, node, info.name);
        continue;
      }
      if (typeNode.type === 'enum_specifier' && typeNode.childForFieldName('body')) {
        this.enumSpecifier(typeNode, ns, node, info.name);
        continue;
      }
      this.aliases.push({ ...this.decl(node, info.name, ns), target: makeType(typeNode, node, info) });
      this.symbols.define(qualify(ns, info.name), { kind: 'alias' });
    }
  }

  private enumSpecifier(node: Node, ns: string, docNode: Node, typedefName?: string): void {
    const body = node.childForFieldName('body');
    const name = typedefName ?? collapse(node.childForFieldName('name')?.text ?? '');
    if (!body && name) {
      const qualifiedName = qualify(ns, name);
      if (!this.symbols.get(qualifiedName)) this.symbols.define(qualifiedName, { kind: 'enum' });
      this.unrecognizedAt(
        node,
        `enum ${qualifiedName} declared without its enumerators`,
        `add the folder of the header that lists them to "includeDirs" (--include <dir>), describe ${qualifiedName} in "typeMap", or ${SKIP_FIX(qualifiedName)}`,
        qualifiedName,
      );
      return;
    }
    if (!body || !name) return;
    const scoped = hasToken(node, 'class') || hasToken(node, 'struct');
    const qualifiedName = qualify(ns, name);
    this.symbols.define(qualifiedName, { kind: 'enum' });
    const enumerators: IrEnumerator[] = [];
    let next = 0n;
    for (const e of named(body).filter((c) => c.type === 'enumerator')) {
      const eName = collapse(e.childForFieldName('name')?.text ?? '');
      const valueNode = e.childForFieldName('value');
      let value = next;
      if (valueNode) {
        const v = evaluate(valueNode, qualifiedName, this.symbols);
        const int = integerOf(v);
        if (int === undefined) {
          throw new CodegenError(
            `cannot compute the value of enumerator ${qualifiedName}::${eName} (${v.kind === 'unevaluated' ? v.reason : 'not an integer'}).`,
            this.file.path,
            e.startPosition.row + 1,
            'make the value a constant expression over literals and names the codegen can see: add the header that defines them to "includeDirs" (--include <dir>), or a macro it uses to "defines".',
          );
        }
        value = int;
      }
      next = value + 1n;
      const doc = docOf(e);
      enumerators.push(doc === undefined ? { name: eName, value: value.toString(), explicit: valueNode !== null } : { name: eName, value: value.toString(), explicit: valueNode !== null, doc });
      const entry = { kind: 'enumerator', enum: qualifiedName, value } as const;
      this.symbols.define(qualify(qualifiedName, eName), entry);
      if (!scoped) this.symbols.define(qualify(ns, eName), entry);
    }
    const baseNode = node.childForFieldName('base');
    const irEnum: Mutable<IrEnum> = { ...this.decl(node, name, ns, docNode), scoped, enumerators };
    if (baseNode) irEnum.underlying = makeType(baseNode, baseNode, undefined);
    this.enums.push(irEnum);
  }

  private fieldsAndMethods(body: Node, qualifiedName: string, className: string, defaultAccess: IrMethod['access']): { fields: IrField[]; methods: IrMethod[] } {
    const fields: IrField[] = [];
    const methods: IrMethod[] = [];
    let access = defaultAccess;
    for (const member of named(body)) {
      if (member.type === 'access_specifier') {
        access = collapse(member.text).replace(':', '') as IrMethod['access'];
        continue;
      }
      if (member.type === 'template_declaration') {
        const inner = named(member).find((c) => c.type === 'declaration' || c.type === 'field_declaration' || c.type === 'function_definition');
        if (inner) {
          const method = this.method(inner, qualifiedName, className, access);
          if (method) methods.push({ ...method, template: true });
        }
        continue;
      }
      if (member.type !== 'field_declaration' && member.type !== 'declaration' && member.type !== 'function_definition') continue;
      const method = this.method(member, qualifiedName, className, access);
      if (method) {
        methods.push(method);
        continue;
      }
      if (member.type !== 'field_declaration') continue;
      const typeNode = member.childForFieldName('type');
      if (typeNode && (typeNode.type === 'enum_specifier' || typeNode.type === 'struct_specifier' || typeNode.type === 'class_specifier') && typeNode.childForFieldName('body')) continue;
      if (all(member).some((c) => c.type === 'storage_class_specifier' && c.text === 'static')) continue;
      const defaultNode = member.childForFieldName('default_value');
      for (const d of member.childrenForFieldName('declarator').filter((c): c is Node => c !== null)) {
        const info = unwrapDeclarator(d);
        if (!info.name) continue;
        const field: Mutable<IrField> = { name: info.name, type: makeType(typeNode, member, info), ...this.loc(member) };
        const size = info.arraySizes[0];
        if (size) {
          const n = integerOf(evaluate(size, qualifiedName, this.symbols));
          if (n !== undefined) field.arraySize = Number(n);
        }
        const valueNode = defaultNode ?? info.value;
        if (valueNode) field.default = evaluate(valueNode, qualifiedName, this.symbols);
        const doc = docOf(member);
        if (doc !== undefined) field.doc = doc;
        fields.push(field);
      }
    }
    return { fields, methods };
  }

  private method(node: Node, qualifiedName: string, className: string, access: IrMethod['access']): IrMethod | undefined {
    const declarator = node.childForFieldName('declarator');
    const info = unwrapDeclarator(declarator);
    if (!info.func) return undefined;
    const nameNode = info.func.childForFieldName('declarator');
    const rawName = collapse(nameNode?.text ?? '');
    let kind: IrMethod['kind'] = 'method';
    if (nameNode?.type === 'destructor_name') kind = 'destructor';
    else if (nameNode?.type === 'operator_name' || rawName.startsWith('operator')) kind = 'operator';
    else if (rawName === className) kind = 'constructor';
    const params = this.params(info.func.childForFieldName('parameters'), qualifiedName);
    const method: Mutable<IrMethod> = { name: rawName.replace(/\s+/g, ''), kind, access, params, ...this.loc(node) };
    const typeNode = node.childForFieldName('type');
    if (kind === 'method' || kind === 'operator') method.returnType = makeType(typeNode, node, { ...info, pointer: info.pointer, arraySizes: [] });
    if (all(info.func).some((c) => c.type === 'type_qualifier' && c.text === 'const')) method.const = true;
    if (all(node).some((c) => c.type === 'storage_class_specifier' && c.text === 'static')) method.static = true;
    if (all(node).some((c) => c.type === 'virtual' || (c.type === 'virtual_function_specifier' && c.text === 'virtual'))) method.virtual = true;
    if (all(node).some((c) => c.type === 'delete_method_clause')) method.deleted = true;
    const doc = docOf(node);
    if (doc !== undefined) method.doc = doc;
    return method;
  }

  private params(list: Node | null, scope: string): IrParam[] {
    const params: IrParam[] = [];
    named(list).forEach((p, index) => {
      if (p.type !== 'parameter_declaration' && p.type !== 'optional_parameter_declaration') return;
      const typeNode = p.childForFieldName('type');
      const info = unwrapDeclarator(p.childForFieldName('declarator'));
      if (typeNode?.text === 'void' && !info.pointer && !info.name && named(list).length === 1) return;
      const type = makeType(typeNode, p, info);
      const out = (info.reference === 'lvalue' || (info.pointer > 0 && !type.const)) && !type.const;
      const param: Mutable<IrParam> = { name: info.name ?? `arg${index}`, type, direction: out ? 'out' : 'in' };
      const defaultNode = p.childForFieldName('default_value');
      if (defaultNode) param.default = evaluate(defaultNode, scope, this.symbols);
      params.push(param);
    });
    return params;
  }

  private record(node: Node, ns: string, docNode: Node, typedefName?: string): void {
    const name = typedefName ?? collapse(node.childForFieldName('name')?.text ?? '');
    if (!name || name.includes('<')) return;
    const body = node.childForFieldName('body');
    const qualifiedName = qualify(ns, name);
    const isClass = node.type === 'class_specifier';
    if (!body) {
      if (!this.symbols.get(qualifiedName)) this.symbols.define(qualifiedName, { kind: 'class' });
      if (!this.classes.some((c) => c.qualifiedName === qualifiedName) && !this.structs.some((s) => s.qualifiedName === qualifiedName)) {
        this.classes.push({ ...this.decl(node, name, ns, docNode), forward: true, methods: [], members: [] });
      }
      return;
    }
    const { fields, methods } = this.fieldsAndMethods(body, qualifiedName, name, isClass ? 'private' : 'public');
    // A forward declaration seen earlier is replaced by the definition.
    const forward = this.classes.findIndex((c) => c.qualifiedName === qualifiedName && c.forward);
    if (forward >= 0) this.classes.splice(forward, 1);
    if (isClass || methods.length > 0) {
      this.classes.push({ ...this.decl(node, name, ns, docNode), forward: false, methods, members: fields });
      this.symbols.define(qualifiedName, { kind: 'class' });
    } else {
      this.structs.push({ ...this.decl(node, name, ns, docNode), fields });
      this.symbols.define(qualifiedName, { kind: 'struct' });
    }
  }

  private namespaceDeclaration(node: Node, ns: string): void {
    const typeNode = node.childForFieldName('type');
    if (typeNode && (typeNode.type === 'enum_specifier' || typeNode.type === 'struct_specifier' || typeNode.type === 'class_specifier')) {
      if (typeNode.type === 'enum_specifier') this.enumSpecifier(typeNode, ns, node);
      else this.record(typeNode, ns, node, undefined);
    }
    if (typeNode?.type === 'union_specifier') this.declaration(typeNode, ns);
    const qualifiers = all(node).filter((c) => c.type === 'type_qualifier').map((c) => c.text);
    const isConstant = qualifiers.includes('const') || qualifiers.includes('constexpr');
    const macro = this.macroOf(node);
    for (const d of node.childrenForFieldName('declarator').filter((c): c is Node => c !== null)) {
      const info = unwrapDeclarator(d);
      if (!info.name) continue;
      if (info.func) {
        const returnType = makeType(typeNode, node, info);
        this.functions.push({ ...this.decl(node, info.name, ns), returnType, params: this.params(info.func.childForFieldName('parameters'), ns) });
        continue;
      }
      const type = makeType(typeNode, node, info);
      // `static const T name(args);` constructs an object: a variable, not a constant with a value.
      if (!isConstant || !info.value || info.value.type === 'argument_list') {
        const variable: Mutable<IrVariable> = { ...this.decl(node, info.name, ns), type };
        if (info.value) variable.initializer = collapse(info.value.text);
        if (macro !== undefined) variable.macro = macro;
        this.variables.push(variable);
        continue;
      }
      const value = evaluate(info.value, ns, this.symbols);
      const constant: Mutable<IrConstant> = { ...this.decl(node, info.name, ns), type, value };
      if (info.arraySizes.length > 0) constant.array = true;
      if (macro !== undefined) constant.macro = macro;
      this.constants.push(constant);
      this.symbols.define(qualify(ns, info.name), { kind: 'constant', value });
    }
  }

  /** An inline function defined at namespace scope: a free function like a declared one. */
  private freeFunction(node: Node, ns: string): void {
    const info = unwrapDeclarator(node.childForFieldName('declarator'));
    if (!info.name || !info.func) {
      this.unrecognizedAt(node, 'a function definition the codegen cannot read', GENERIC_FIX);
      return;
    }
    const returnType = makeType(node.childForFieldName('type'), node, info);
    this.functions.push({ ...this.decl(node, info.name, ns), returnType, params: this.params(info.func.childForFieldName('parameters'), ns) });
  }
}

/** Registers type-map stand-ins so names from headers the codegen cannot see still resolve. */
function defineTypeMap(symbols: SymbolTable, typeMap: Readonly<Record<string, TypeMapEntry>>): void {
  for (const [name, entry] of Object.entries(typeMap)) {
    for (let s = parentScope(name); s !== ''; s = parentScope(s)) symbols.define(s, { kind: 'namespace' });
    if (typeof entry === 'string') {
      symbols.define(name, { kind: 'alias' });
      continue;
    }
    symbols.define(name, { kind: 'enum' });
    for (const [enumerator, value] of Object.entries(entry.values)) {
      const e = { kind: 'enumerator', enum: name, value: BigInt(value) } as const;
      symbols.define(qualify(name, enumerator), e);
      symbols.define(qualify(parentScope(name), enumerator), e);
    }
  }
}

/** Parses every preprocessed header (dependencies first) into the IR. */
export function buildIr(parser: Parser, headers: PreprocessedHeaders, typeMap: Readonly<Record<string, TypeMapEntry>>): ParsedHeaders {
  const symbols = new SymbolTable();
  defineTypeMap(symbols, typeMap);
  const builder = new IrBuilder(symbols);
  for (const file of headers.files) {
    const tree = parser.parse(file.code);
    if (!tree) throw new CodegenError('tree-sitter returned no tree.', file.path, 0, 'report this as a codegen bug.');
    try {
      builder.readFile(file, tree.rootNode);
    } finally {
      tree.delete();
    }
  }
  const ir: ParsedIr = {
    irVersion: IR_VERSION,
    inputs: headers.files.map((f) => ({ path: f.path, sha256: f.sha256, role: f.role })),
    unresolvedIncludes: headers.unresolvedIncludes,
    diagnostics: builder.diagnostics,
    macros: headers.macros.map((m) => ({
      name: m.name,
      file: m.file,
      line: m.line,
      ...(m.params ? { params: [...m.params, ...(m.variadic ? [m.variadic === '__VA_ARGS__' ? '...' : `${m.variadic}...`] : [])] } : {}),
      body: m.body.map((t) => t.text).join(''),
    })),
    aliases: builder.aliases,
    usings: builder.usings,
    usingNamespaces: builder.usingNamespaces,
    enums: builder.enums,
    constants: [...builder.constants, ...macroConstants(headers.macros, headers.files)],
    structs: builder.structs,
    classes: builder.classes,
    functions: builder.functions,
    variables: builder.variables,
  };
  const lines = new Map(headers.files.map((f) => [f.path, f.text.split('\n')]));
  return { ir, symbols, unrecognized: builder.unrecognized, writtenLine: (file, line) => collapse(lines.get(file)?.[line - 1] ?? '') };
}
