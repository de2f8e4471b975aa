import { defineConfig } from 'tsup';

// One executable ESM file: the decoder runs it, and spawns it again as the prompt process.
export default defineConfig({
  entry: ['src/main.ts'],
  format: ['esm'],
  sourcemap: true,
  clean: true,
  target: 'node20',
  external: ['@dd/core'],
});
