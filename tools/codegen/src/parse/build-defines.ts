/**
 * The macros a compiler defines before it reads a header, for the build the codegen assumes when
 * it evaluates `#if`/`#ifdef`: g++ compiling C++17 for Linux on a 64-bit (LP64) target, which is
 * how CANN's headers are consumed on x86_64 and aarch64 hosts and how the generated shim is
 * compiled. The library's own export switches (the macros a vendor defines only while building its
 * library) are not defined. The config's `defines` are merged over these; `null` removes one.
 */
export const BUILD_DEFINES: Readonly<Record<string, string>> = {
  __cplusplus: '201703L',
  __GNUC__: '12',
  __GNUC_MINOR__: '2',
  __GNUC_PATCHLEVEL__: '0',
  __GNUG__: '12',
  __linux__: '1',
  __linux: '1',
  linux: '1',
  __unix__: '1',
  __unix: '1',
  unix: '1',
  __ELF__: '1',
  __LP64__: '1',
  _LP64: '1',
  __CHAR_BIT__: '8',
  __SIZEOF_INT__: '4',
  __SIZEOF_LONG__: '8',
  __SIZEOF_LONG_LONG__: '8',
  __SIZEOF_POINTER__: '8',
  __SIZEOF_SIZE_T__: '8',
  __STDC_HOSTED__: '1',
  __ORDER_LITTLE_ENDIAN__: '1234',
  __ORDER_BIG_ENDIAN__: '4321',
  __BYTE_ORDER__: '__ORDER_LITTLE_ENDIAN__',
};

/** The define set of a run: the build's, with the config's merged over it. */
export function buildDefines(fromConfig: Readonly<Record<string, string | null>> | undefined): Map<string, string> {
  const defines = new Map(Object.entries(BUILD_DEFINES));
  for (const [name, value] of Object.entries(fromConfig ?? {})) {
    if (value === null) defines.delete(name);
    else defines.set(name, value);
  }
  return defines;
}
