import { defineConfig } from 'vitest/config';

/** Slow tests (real ffmpeg, the detector, Chromium, child processes, servers) end in `.integration.test.ts`. */
const INTEGRATION_TESTS = 'test/**/*.integration.test.ts';

export default defineConfig({
  test: {
    // Real detectors, real ffmpeg and a real browser: seconds per test, not milliseconds.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Two cores: run files one or two at a time so inference-heavy tests don't starve each other.
    maxWorkers: 2,
    minWorkers: 1,
    // `npm run test:unit` runs the first project alone; `npm test` runs both.
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: [INTEGRATION_TESTS] } },
      { extends: true, test: { name: 'integration', include: [INTEGRATION_TESTS] } },
    ],
  },
});
