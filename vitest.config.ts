import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'stages/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['node_modules/**', 'dist/**'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: 'forks',
    maxWorkers: 2,
    env: { RALLYCUT_PROGRESS: '0' },
    // Real PostgreSQL and s3rver, started once per run (test/services/).
    globalSetup: ['test/services/global-setup.ts'],
  },
});
