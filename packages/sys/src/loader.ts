import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Bindings } from './bindings.js';
import { SHIM_VERSION, createNativeBindings } from './generated/native.js';
import { openCompletionQueue } from './completion-queue.js';
import { attachHostMemory } from './native-memory.js';

/** Backends a native library can be built for. */
export type NativeBackend = 'host' | 'cann';

export interface LoadOptions {
  /** Path of the shared library to load; overrides `DD_LIBRARY_PATH` and the package's build. */
  readonly library?: string;
  /** Which backend's build to look for when no explicit library is given; default `DD_BACKEND` or 'host'. */
  readonly backend?: NativeBackend;
}

/** Environment variable naming the native library file to load. */
export const LIBRARY_PATH_ENV = 'DD_LIBRARY_PATH';
/** Environment variable choosing the backend whose build is looked up ('host' or 'cann'). */
export const BACKEND_ENV = 'DD_BACKEND';

const LIBRARY_FILE = 'libdd_llm_datadist.so';

/** The CPUs this package ships prebuilds for (see `cpu` in package.json). */
export const SHIPPED_ARCHES: readonly string[] = ['x64', 'arm64'];

/** `linux-x64`, `linux-arm64`: the platform a library must be built for to load here. */
export function platformTag(): string {
  return `${process.platform}-${process.arch}`;
}

// ELF e_machine values of the CPUs Node runs on here.
const ELF_MACHINES: Readonly<Record<number, string>> = { 0x3e: 'x64', 0xb7: 'arm64' };

/** The CPU an ELF shared library was built for ('x64', 'arm64', 'machine 0x…'), or undefined if it is not ELF. */
export function libraryArch(path: string): string | undefined {
  const header = Buffer.alloc(20);
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    if (readSync(fd, header, 0, header.length, 0) < header.length) return undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  if (header.readUInt32BE(0) !== 0x7f454c46) return undefined;
  const machine = header[5] === 2 ? header.readUInt16BE(18) : header.readUInt16LE(18);
  return ELF_MACHINES[machine] ?? `machine 0x${machine.toString(16)}`;
}

/** No native library could be found or loaded; the message says what was tried and how to build. */
export class NativeLibraryError extends Error {
  readonly tried: readonly string[];
  readonly backend: NativeBackend;
  constructor(message: string, tried: readonly string[], backend: NativeBackend, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NativeLibraryError';
    this.tried = tried;
    this.backend = backend;
  }
}

function packageRoot(): string {
  // dist/index.js and src/loader.ts both sit one level below the package root.
  const here = typeof __dirname === 'string' ? __dirname : dirname(fileURLToPath(import.meta.url));
  return resolve(here, '..');
}

function requireFromHere(): NodeRequire {
  return createRequire(typeof __filename === 'string' ? __filename : fileURLToPath(import.meta.url));
}

function backendFrom(options: LoadOptions): NativeBackend {
  const asked = options.backend ?? process.env[BACKEND_ENV] ?? 'host';
  if (asked !== 'host' && asked !== 'cann') {
    throw new NativeLibraryError(
      `${BACKEND_ENV}=${asked} is not a backend; use 'host' (our native backend) or 'cann' (Ascend's libllm_datadist.so)`,
      [],
      'host',
    );
  }
  return asked;
}

/** Where a library for `backend` is looked for, in order, with the reason each place is tried. */
export function libraryCandidates(options: LoadOptions = {}): { path: string; source: string }[] {
  const backend = backendFrom(options);
  const root = packageRoot();
  const candidates: { path: string; source: string }[] = [];
  if (options.library) candidates.push({ path: resolve(options.library), source: 'options.library' });
  else if (process.env[LIBRARY_PATH_ENV]) {
    candidates.push({ path: resolve(process.env[LIBRARY_PATH_ENV]), source: LIBRARY_PATH_ENV });
  } else {
    candidates.push({ path: join(root, 'native', 'build', backend, LIBRARY_FILE), source: 'package build' });
    candidates.push({
      path: join(root, 'prebuilds', `${platformTag()}-${backend}`, LIBRARY_FILE),
      source: 'package prebuild',
    });
  }
  return candidates;
}

const loaded = new Map<string, Bindings>();

/**
 * Loads the native LLM-DataDist library and returns Bindings over it. The lookup order is:
 * `options.library`, else the file named by `DD_LIBRARY_PATH`, else the package's own build
 * (`native/build/<backend>/`), else its prebuild. Loading happens only here, never at import.
 * The same library is loaded once per process; later calls return the same object.
 */
export function loadNativeBindings(options: LoadOptions = {}): Bindings {
  const backend = backendFrom(options);
  const candidates = libraryCandidates(options);
  const tried = candidates.map((c) => `${c.path} (${c.source})`);
  // Why each candidate was passed over: missing, or built for another CPU.
  const passedOver = candidates.map((c) => {
    if (!existsSync(c.path)) return 'not found';
    const arch = libraryArch(c.path);
    return arch === undefined || arch === process.arch ? undefined : `built for ${arch}, not ${process.arch}`;
  });
  const found = candidates.find((_c, i) => passedOver[i] === undefined);
  if (!found) {
    const shipped = SHIPPED_ARCHES.includes(process.arch)
      ? ''
      : ` This package ships prebuilds for linux-${SHIPPED_ARCHES.join(' and linux-')} only; build from source here.`;
    throw new NativeLibraryError(
      [
        `No native LLM-DataDist library for backend '${backend}' on ${platformTag()}.${shipped} Tried:`,
        ...tried.map((t, i) => `  - ${t}: ${passedOver[i]}`),
        `Build it with: node ${join(packageRoot(), 'scripts', 'build-native.mjs')} --backend ${backend}`,
        `(in the dd repository: npx -y pnpm@12.4.2 --filter @dd/sys build), or set ${LIBRARY_PATH_ENV} to the library file.`,
      ].join('\n'),
      tried,
      backend,
    );
  }
  const cached = loaded.get(found.path);
  if (cached) return cached;

  const koffi = requireFromHere()('koffi') as typeof import('koffi');
  let lib: ReturnType<typeof koffi.load>;
  try {
    lib = koffi.load(found.path);
  } catch (cause) {
    throw new NativeLibraryError(
      `Could not load ${found.path} (${found.source}) on ${platformTag()}: ${(cause as Error).message}`,
      tried,
      backend,
      { cause },
    );
  }
  const version = readShimVersion(lib);
  if (version !== SHIM_VERSION) {
    lib.unload();
    throw new NativeLibraryError(
      [
        `${found.path} (${found.source}) was built from shim ${version ?? '(no dd_shim_version export)'},`,
        `but this @dd/sys expects shim ${SHIM_VERSION}. Rebuild it: node ${join(packageRoot(), 'scripts', 'build-native.mjs')} --backend ${backend}`,
      ].join(' '),
      tried,
      backend,
    );
  }
  const backendName = lib.func('const char *dd_backend_name(void)')() as string;
  // The generated bindings keep lastError() themselves: an …Async call fails on another thread,
  // where the shim's thread-local last error cannot be read from JavaScript.
  const bindings: Bindings = Object.assign(createNativeBindings(koffi, lib, openCompletionQueue), attachHostMemory(koffi), {
    backend: Object.freeze({ name: backendName, library: found.path, shimVersion: version }),
  });
  loaded.set(found.path, bindings);
  return bindings;
}

function readShimVersion(lib: { func(signature: string): (...args: unknown[]) => unknown }): string | undefined {
  try {
    return lib.func('const char *dd_shim_version(void)')() as string;
  } catch {
    return undefined;
  }
}
