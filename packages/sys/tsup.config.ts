import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  // The loader finds the package root from import.meta.url (ESM) or __dirname (CJS).
  shims: true,
  external: ['koffi'],
});
