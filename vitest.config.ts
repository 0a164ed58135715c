import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Real detectors, real ffmpeg and a real browser: seconds per test, not milliseconds.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Two cores: run files one or two at a time so inference-heavy tests don't starve each other.
    maxWorkers: 2,
    minWorkers: 1,
  },
});
