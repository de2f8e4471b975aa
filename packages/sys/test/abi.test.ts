// The C compiler's view of every shim struct (dd_abi_* exports of the built library) must equal
// koffi's view (the generated koffi.struct declarations) and the codegen's computed layout.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { ABI_LAYOUT, declareNativeTypes, loadNativeBindings } from '../src/index.js';

const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
const library = loadNativeBindings().backend.library!;
const lib = koffi.load(library);
const types = declareNativeTypes(koffi) as unknown as Record<string, import('koffi').TypeObject>;

function abiValue(symbol: string): number {
  return Number(lib.func(`size_t ${symbol}(void)`)());
}

describe('ABI of the shim structs', () => {
  it('covers every struct koffi declares', () => {
    // The opaque handles (the engine, the completion queue) have no layout.
    const declared = Object.keys(types).filter((name) => name !== 'dd_LlmDataDist' && name !== 'dd_CompletionQueue').sort();
    expect(ABI_LAYOUT.map((s) => s.name).sort()).toEqual(declared);
  });

  for (const struct of ABI_LAYOUT) {
    it(`${struct.name}: sizeof and every offsetof agree between g++, koffi and the codegen`, () => {
      const type = types[struct.name]!;
      expect(abiValue(struct.sizeofSymbol)).toBe(struct.size);
      expect(koffi.sizeof(type)).toBe(struct.size);
      for (const field of struct.fields) {
        expect({ field: field.name, offset: abiValue(field.offsetofSymbol) }).toEqual({ field: field.name, offset: field.offset });
        expect({ field: field.name, offset: koffi.offsetof(type, field.name) }).toEqual({ field: field.name, offset: field.offset });
      }
    });
  }
});
