import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Model tests run real networks on a 2-core CPU: give them time, and run files one by one so
    // two test files never fight over the same cores (and tfjs engine state stays per file).
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    pool: 'forks',
  },
});
