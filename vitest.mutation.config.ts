import { defineConfig } from 'vitest/config';

/**
 * The unit tests Stryker runs against each mutant (stryker.config.mjs): the tests of the modules that decide what
 * leaves the box, and nothing that starts a real detector, ffmpeg, a browser or a child process, which would make a
 * run of a few hundred mutants take hours. Those parts are covered by `npm test`; here only speed and kill power count.
 */
export default defineConfig({
  test: {
    include: [
      'test/stages/**/*.test.ts',
      'test/streams/feedAuth.test.ts',
      'test/streams/feedGate.test.ts',
      'test/streams/feedMessages.test.ts',
      'test/streams/report.test.ts',
    ],
    // Slow tests (real ffmpeg, the detector, Chromium, child processes) end in `.integration.test.ts`.
    exclude: ['**/*.integration.test.ts'],
    testTimeout: 60_000,
    // ledgerAccess.test.ts gives up root for its own process (process.setuid), which a worker thread may not do;
    // Stryker's runner sets pool 'threads' for the rest, this file keeps a child process of its own as under `npm test`.
    // `**` does not enter dot folders, so Stryker's sandbox (.stryker-tmp/sandbox-…) needs its own pattern.
    poolMatchGlobs: [
      ['**/test/stages/privacy/ledgerAccess.test.ts', 'forks'],
      ['**/.stryker-tmp/*/test/stages/privacy/ledgerAccess.test.ts', 'forks'],
    ],
  },
});
