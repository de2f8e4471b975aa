import { type SourceFile, VariableDeclarationKind } from 'ts-morph';
import { structLayouts } from '../bind/c-abi.js';
import type { ApiModel } from '../bind/model.js';

/** abi.ts: what a loader and an ABI test need to know about the shim, without loading it. */
export function emitAbi(sf: SourceFile, api: ApiModel): void {
  sf.addVariableStatement({
    isExported: true,
    declarationKind: VariableDeclarationKind.Const,
    docs: ['Names of the shim functions a loader calls itself.'],
    declarations: [
      {
        name: 'SHIM_SYMBOLS',
        initializer: "{ lastError: 'dd_last_error', shimVersion: 'dd_shim_version', backendName: 'dd_backend_name', backendErrorDetail: 'dd_backend_error_detail' } as const",
      },
    ],
  });
  sf.addInterface({
    isExported: true,
    name: 'AbiField',
    properties: [
      { name: 'name', type: 'string', isReadonly: true },
      { name: 'offset', type: 'number', isReadonly: true },
      { name: 'offsetofSymbol', type: 'string', isReadonly: true, docs: ['Shim export returning offsetof() as the C compiler saw it.'] },
    ],
  });
  sf.addInterface({
    isExported: true,
    name: 'AbiStruct',
    properties: [
      { name: 'name', type: 'string', isReadonly: true },
      { name: 'size', type: 'number', isReadonly: true },
      { name: 'sizeofSymbol', type: 'string', isReadonly: true, docs: ['Shim export returning sizeof() as the C compiler saw it.'] },
      { name: 'fields', type: 'readonly AbiField[]', isReadonly: true },
    ],
  });
  sf.addVariableStatement({
    isExported: true,
    declarationKind: VariableDeclarationKind.Const,
    docs: [
      'Every C struct of the shim with its LP64 layout as the codegen computed it. An ABI test compares these with koffi.sizeof/offsetof and with the dd_abi_* exports of a built library.',
    ],
    declarations: [
      {
        name: 'ABI_LAYOUT',
        type: 'readonly AbiStruct[]',
        initializer: (w) => {
          w.write('[').newLine();
          w.indent(() => {
            for (const l of structLayouts(api.structs)) {
              const c = l.struct.cName;
              w.writeLine(`{ name: '${c}', size: ${l.size}, sizeofSymbol: 'dd_abi_sizeof_${c}', fields: [`);
              w.indent(() => {
                for (const f of l.fields) w.writeLine(`{ name: '${f.name}', offset: ${f.offset}, offsetofSymbol: 'dd_abi_offsetof_${c}_${f.name}' },`);
              });
              w.writeLine('] },');
            }
          });
          w.write(']');
        },
      },
    ],
  });
}
