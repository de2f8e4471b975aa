export * from './generated/index.js';
export type { HostMemory } from './memory.js';
export type { Bindings, BackendInfo } from './bindings.js';
export {
  BACKEND_ENV,
  LIBRARY_PATH_ENV,
  NativeLibraryError,
  SHIPPED_ARCHES,
  libraryArch,
  libraryCandidates,
  platformTag,
  loadNativeBindings,
  type LoadOptions,
  type NativeBackend,
} from './loader.js';
