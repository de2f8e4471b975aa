import { defineConfig } from 'vitest/config';

// Tests compile C++ and run tsc on a shared 2-core machine: generous bounds, never timing assertions.
export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
