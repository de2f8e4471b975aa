import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Nothing here should come near these; they only bound a hung native backend.
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
