import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Upper bounds against hangs, not timings: a two-process test on a loaded 2-core CI machine can
    // take several seconds to start its peer.
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
