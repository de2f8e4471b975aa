import { type SourceFile, VariableDeclarationKind, type WriterFunction } from 'ts-morph';
import type { ApiModel, ClassModel, ConstantGroup, EnumModel, FunctionGroupModel, MethodModel, ParamModel, StructModel } from '../bind/model.js';
import {
  bindingName,
  bindingsInterface,
  defaultExpression,
  functionResultType,
  groupInterface,
  groupStatusType,
  handleType,
  hexLiteral,
  inParams,
  isBigScalar,
  isOptional,
  namedResult,
  rangeNote,
  resultType,
  tsString,
  tsType,
} from './ts-types.js';
import { scalarOf } from '../bind/c-abi.js';

function constObject(entries: readonly (readonly [string, string])[]): WriterFunction {
  return (w) => {
    w.write('{').newLine();
    w.indent(() => {
      for (const [key, value] of entries) w.writeLine(`${key}: ${value},`);
    });
    w.write('} as const');
  };
}

function addEnum(sf: SourceFile, e: EnumModel): void {
  sf.addVariableStatement({
    isExported: true,
    declarationKind: VariableDeclarationKind.Const,
    docs: [`${e.qualifiedName}${e.doc ? `: ${e.doc}` : ''}`],
    declarations: [{ name: e.name, initializer: constObject(e.members.map((m) => [m.name, String(m.value)] as const)) }],
  });
  sf.addTypeAlias({ isExported: true, name: e.name, type: `(typeof ${e.name})[keyof typeof ${e.name}]` });
}

function addDataTypeBits(sf: SourceFile, api: ApiModel): void {
  const dt = api.dataType;
  if (!dt) return;
  const name = dt.enum.name;
  sf.addVariableStatement({
    isExported: true,
    declarationKind: VariableDeclarationKind.Const,
    docs: ['Bits per element (ge::GetSizeByDataType; sub-byte types are < 8). A type not listed has no size and is rejected.'],
    declarations: [
      {
        name: 'DATA_TYPE_ELEMENT_BITS',
        type: `Readonly<Partial<Record<${name}, number>>>`,
        initializer: (w) => {
          w.write('{').newLine();
          w.indent(() => {
            for (const m of dt.enum.members) {
              const bits = dt.bits.get(m.name);
              if (bits !== undefined) w.writeLine(`[${name}.${m.name}]: ${bits},`);
            }
          });
          w.write('}');
        },
      },
    ],
  });
}

function addStatusGroup(sf: SourceFile, g: ConstantGroup): void {
  sf.addVariableStatement({
    isExported: true,
    declarationKind: VariableDeclarationKind.Const,
    docs: ['Status codes by name (the headers\' `Status` constants), in numeric order.'],
    declarations: [{ name: g.name, initializer: constObject(g.members.map((m) => [m.name, hexLiteral(BigInt(m.value))] as const)) }],
  });
  sf.addTypeAlias({ isExported: true, name: 'StatusName', type: `keyof typeof ${g.name}` });
  sf.addVariableStatement({
    isExported: true,
    declarationKind: VariableDeclarationKind.Const,
    docs: ['Every status code: name, value and the one-line meaning from its header comment.'],
    declarations: [
      {
        name: 'STATUS_TABLE',
        type: 'readonly { readonly name: StatusName; readonly value: number; readonly meaning: string }[]',
        initializer: (w) => {
          w.write('[').newLine();
          w.indent(() => {
            for (const m of g.members) w.writeLine(`{ name: ${tsString(m.name)}, value: ${hexLiteral(BigInt(m.value))}, meaning: ${tsString(m.doc ?? '')} },`);
          });
          w.write(']');
        },
      },
    ],
  });
}

function addGroup(sf: SourceFile, g: ConstantGroup): void {
  const value = (v: bigint | string): string => (typeof v === 'string' ? tsString(v) : String(v));
  sf.addVariableStatement({
    isExported: true,
    declarationKind: VariableDeclarationKind.Const,
    declarations: [
      {
        name: g.name,
        initializer: (w) => {
          w.write('{').newLine();
          w.indent(() => {
            for (const m of g.members) {
              if (m.doc) w.writeLine(`/** ${m.doc.replace(/\*\//g, '* /')} */`);
              w.writeLine(`${m.name}: ${value(m.value)},`);
            }
          });
          w.write('} as const');
        },
      },
    ],
  });
}

function addStruct(sf: SourceFile, s: StructModel, api: ApiModel): void {
  const docs = [`${s.qualifiedName}${s.doc ? `: ${s.doc}` : ''}`];
  if (s.reservedOnly) {
    sf.addTypeAlias({ isExported: true, name: s.name, type: 'Record<string, never>', docs: [`${docs[0]} It has only reserved bytes, so the bindings carry nothing.`] });
    return;
  }
  sf.addInterface({
    isExported: true,
    name: s.name,
    docs,
    properties: s.fields.map((f) => {
      const note = rangeNote(f.type);
      const doc = [f.doc, note].filter((x): x is string => x !== undefined).join(' ');
      return { name: f.name, type: tsType(f.type), ...(doc ? { docs: [doc] } : {}) };
    }),
  });
  sf.addFunction({
    isExported: true,
    name: `make${s.name}`,
    docs: [`A ${s.name} with the header's default member values, overridden by \`init\`.`],
    parameters: [{ name: 'init', type: `Partial<${s.name}>`, initializer: '{}' }],
    returnType: s.name,
    statements: (w) => {
      w.write('return {').newLine();
      w.indent(() => {
        for (const f of s.fields) {
          w.writeLine(`${f.name}: ${defaultExpression(f.type, f.default, api, { what: `field ${s.name}.${f.name}`, file: f.file, line: f.line })},`);
        }
        w.writeLine('...init,');
      });
      w.write('};');
    },
  });
}

function addNamedResults(sf: SourceFile, c: ClassModel, done: Set<string>): void {
  for (const m of c.methods) {
    const named = namedResult(m);
    if (!named || done.has(named.name)) continue;
    done.add(named.name);
    const capacity = named.param.capacityFrom ? `One element per element of \`${named.param.capacityFrom}\`, in order.` : 'Out-vector of the call.';
    sf.addInterface({
      isExported: true,
      name: named.name,
      properties: [
        { name: 'status', type: 'Status' },
        { name: named.param.name, type: tsType(named.param.type), docs: [capacity] },
      ],
    });
  }
}

function methodDocs(m: MethodModel): string[] {
  return m.doc ? [m.doc] : [];
}

function addBindings(sf: SourceFile, c: ClassModel): void {
  const handle = handleType(c);
  const params = (ps: readonly ParamModel[]): { name: string; type: string; hasQuestionToken: boolean }[] =>
    ps.map((p) => ({ name: p.name, type: tsType(p.type), hasQuestionToken: isOptional(p) }));
  const methods = [
    {
      name: bindingName(c, 'create'),
      docs: [`Constructs a ${c.qualifiedName}; \`handle\` is 0 when status is not success.`],
      parameters: params(c.constructorParams),
      returnType: `{ status: Status; handle: ${handle} }`,
    },
    { name: bindingName(c, 'destroy'), docs: ['Destroys the native object; the handle must not be used again.'], parameters: [{ name: 'self', type: handle, hasQuestionToken: false }], returnType: 'void' },
  ];
  for (const m of c.methods) {
    const ps = [{ name: 'self', type: handle, hasQuestionToken: false }, ...params(inParams(m))];
    methods.push({ name: bindingName(c, m.name), docs: methodDocs(m), parameters: ps, returnType: resultType(m) });
    if (m.async) {
      methods.push({ name: bindingName(c, `${m.name}Async`), docs: [`${m.name} on a worker thread (koffi async), for calls that wait on the network.`], parameters: ps, returnType: `Promise<${resultType(m)}>` });
    }
  }
  sf.addInterface({
    isExported: true,
    name: bindingsInterface(c),
    docs: [
      `One function per bound method of ${c.qualifiedName}, named Class_Method, taking the handle first. Parameters keep their C++ names; defaulted parameters are optional and take the header's defaults. Out-parameters come back in a result object next to the status.`,
    ],
    methods,
  });
}

function addFunctionBindings(sf: SourceFile, g: FunctionGroupModel): void {
  sf.addInterface({
    isExported: true,
    name: groupInterface(g),
    docs: [
      `The free functions of group ${g.name}, one per C function and of the same name. Parameters keep their C names; addresses (void *) are bigints; out-pointers come back in a result object next to the ${groupStatusType(g)}, which is returned unchanged.`,
    ],
    methods: g.functions.map((f) => ({
      name: f.name,
      docs: f.doc ? [f.doc] : [],
      parameters: f.params.filter((p) => p.direction === 'in').map((p) => ({ name: p.name, type: tsType(p.type) })),
      returnType: functionResultType(g, f),
    })),
  });
}

/** api.ts: every type, constant and the bindings interface; no runtime dependency. */
export function emitApi(sf: SourceFile, api: ApiModel): void {
  sf.addTypeAlias({ isExported: true, name: 'Status', type: 'number', docs: ['ge::Status: 0 on success, otherwise an LLM status code.'] });
  for (const g of api.functionGroups) {
    sf.addTypeAlias({
      isExported: true,
      name: groupStatusType(g),
      type: 'number',
      docs: [`${g.statusType}: ${g.success.name} (${g.success.value}) on success, otherwise a code of ${g.statusGroup.name}.`],
    });
  }
  for (const c of api.classes) {
    sf.addTypeAlias({
      isExported: true,
      name: handleType(c),
      type: `bigint & { readonly __brand: '${handleType(c)}' }`,
      docs: [`Opaque handle of a native ${c.qualifiedName}. Never forge one.`],
    });
  }
  for (const e of api.enums) addEnum(sf, e);
  addDataTypeBits(sf, api);
  addStatusGroup(sf, api.statusGroup);
  for (const g of api.groups.filter((x) => x !== api.statusGroup)) addGroup(sf, g);
  for (const s of api.singles) {
    const scalar = scalarOf(s.type);
    const value = typeof s.value === 'string' ? tsString(s.value) : scalar && isBigScalar(scalar) ? `${s.value}n` : String(s.value);
    sf.addVariableStatement({
      isExported: true,
      declarationKind: VariableDeclarationKind.Const,
      ...(s.doc ? { docs: [s.doc] } : {}),
      declarations: [{ name: s.name, initializer: value }],
    });
  }
  for (const s of api.structs) addStruct(sf, s, api);
  const done = new Set<string>();
  for (const c of api.classes) addNamedResults(sf, c, done);
  for (const c of api.classes) addBindings(sf, c);
  for (const g of api.functionGroups) addFunctionBindings(sf, g);
}
