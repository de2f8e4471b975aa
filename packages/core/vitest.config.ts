import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // The docs example imports '@dd/core' as users do; run it on this package's source.
    alias: { '@dd/core': fileURLToPath(new URL('./src/index.ts', import.meta.url)) },
  },
  test: {
    include: ['test/**/*.test.ts'],
    // Upper bounds against hangs, not timings: on a loaded 2-core CI machine one `tsc --strict` or
    // two-process test can take several seconds.
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
