// The loader's order and its messages when there is nothing to load or the wrong thing to load.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { NativeLibraryError, SHIM_VERSION, libraryArch, libraryCandidates, loadNativeBindings } from '../src/index.js';

const saved = { path: process.env.DD_LIBRARY_PATH, backend: process.env.DD_BACKEND };
afterEach(() => {
  for (const [key, value] of [['DD_LIBRARY_PATH', saved.path], ['DD_BACKEND', saved.backend]] as const) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
});

function messageOf(f: () => unknown): string {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(NativeLibraryError);
    return (error as Error).message;
  }
  throw new Error('expected a NativeLibraryError');
}

describe('loadNativeBindings', () => {
  it('looks in DD_LIBRARY_PATH first, alone', () => {
    process.env.DD_LIBRARY_PATH = '/nowhere/libdd_llm_datadist.so';
    expect(libraryCandidates().map((c) => c.source)).toEqual(['DD_LIBRARY_PATH']);
    const message = messageOf(() => loadNativeBindings());
    expect(message).toContain('/nowhere/libdd_llm_datadist.so (DD_LIBRARY_PATH): not found');
    expect(message).toContain("backend 'host'");
    expect(message).toMatch(/build-native\.mjs --backend host/);
  });

  it('without a build, lists every path tried, the backend asked for and the build command', () => {
    delete process.env.DD_LIBRARY_PATH;
    process.env.DD_BACKEND = 'cann';
    const message = messageOf(() => loadNativeBindings());
    expect(message).toContain(`No native LLM-DataDist library for backend 'cann' on linux-${process.arch}`);
    expect(message).toMatch(/native\/build\/cann\/libdd_llm_datadist\.so \(package build\): not found/);
    expect(message).toContain(`prebuilds/linux-${process.arch}-cann/libdd_llm_datadist.so (package prebuild): not found`);
    expect(message).toMatch(/build-native\.mjs --backend cann/);
  });

  it('rejects an unknown backend name', () => {
    process.env.DD_BACKEND = 'gpu';
    expect(messageOf(() => loadNativeBindings())).toMatch(/DD_BACKEND=gpu is not a backend/);
  });

  it('refuses a library built from another shim version and says how to rebuild', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dd-loader-'));
    writeFileSync(join(dir, 'stale.c'), 'const char *dd_shim_version(void) { return "0.0.1+000000000000"; }\n');
    execFileSync('cc', ['-shared', '-fPIC', '-o', join(dir, 'libstale.so'), join(dir, 'stale.c')]);
    const message = messageOf(() => loadNativeBindings({ library: join(dir, 'libstale.so') }));
    expect(message).toContain('was built from shim 0.0.1+000000000000');
    expect(message).toContain(`expects shim ${SHIM_VERSION}`);
    expect(message).toMatch(/Rebuild it: node .*build-native\.mjs/);
  });

  it('passes over a library built for another CPU and says which CPU it was built for', () => {
    // The first 20 bytes of an ELF header are all the loader reads to tell the CPU.
    const elfHeader = (machine: number): Buffer => {
      const header = Buffer.alloc(64);
      header.writeUInt32BE(0x7f454c46, 0);
      header[4] = 2; // 64-bit
      header[5] = 1; // little-endian
      header.writeUInt16LE(machine, 18);
      return header;
    };
    const dir = mkdtempSync(join(tmpdir(), 'dd-loader-'));
    const other = process.arch === 'arm64' ? { machine: 0x3e, arch: 'x64' } : { machine: 0xb7, arch: 'arm64' };
    writeFileSync(join(dir, 'other.so'), elfHeader(other.machine));
    expect(libraryArch(join(dir, 'other.so'))).toBe(other.arch);
    expect(libraryArch(join(dir, 'missing.so'))).toBeUndefined();
    const message = messageOf(() => loadNativeBindings({ library: join(dir, 'other.so') }));
    expect(message).toContain(`on linux-${process.arch}`);
    expect(message).toContain(`other.so (options.library): built for ${other.arch}, not ${process.arch}`);
  });

  it('says when a file is not a loadable library', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dd-loader-'));
    writeFileSync(join(dir, 'garbage.so'), 'not an ELF file');
    expect(messageOf(() => loadNativeBindings({ library: join(dir, 'garbage.so') }))).toMatch(/Could not load .*garbage\.so \(options\.library\)/);
  });

  it('loads the package build by default and reports what it loaded', () => {
    delete process.env.DD_LIBRARY_PATH;
    delete process.env.DD_BACKEND;
    const b = loadNativeBindings();
    expect(b.backend).toMatchObject({ name: 'host', shimVersion: SHIM_VERSION });
    expect(b.backend.library).toMatch(/native\/build\/host\/libdd_llm_datadist\.so$/);
    expect(loadNativeBindings()).toBe(b);
  });
});
