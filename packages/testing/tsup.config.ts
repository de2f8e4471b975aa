import { defineConfig } from 'tsup';

export default defineConfig({
  // The conformance suite is its own entry so that the main entry never imports vitest.
  entry: { index: 'src/index.ts', conformance: 'src/conformance/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
});
