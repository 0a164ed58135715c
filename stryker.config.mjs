// @ts-check
/**
 * Mutation testing of the modules that decide what leaves the box: `npm run test:mutation`.
 * docs/mutation-testing.md says when to run it, how long it takes, and why each surviving mutant is harmless.
 *
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export default {
  mutate: [
    // The privacy room: exact rationals, privacy loss, sensitivity, ledger, settings, noise scale, figures, and the
    // fleet's distributed noise and secure aggregation (what each box sends). The samplers (noise.ts) are judged by
    // their own tests alone, in stryker.noise.config.mjs.
    'stages/privacy/*.ts',
    '!stages/privacy/noise.ts',
    // What a release is made of and the schema it leaves in.
    'stages/release.ts',
    'stages/released.ts',
    'streams/report.ts',
    // Drift histograms, released with noise beside the counts.
    'stages/drift.ts',
    'stages/driftRelease.ts',
    // The aggregates that are released: counting lines, zones, windows; and where frames die.
    'stages/lines.ts',
    'stages/zones.ts',
    'stages/window.ts',
    'stages/drop.ts',
    // The feed's gate: origin allow-list, bearer token, client cap.
    'streams/feedGate.ts',
  ],
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts' },
  checkers: ['typescript'],
  // The checker sees only the mutated modules, their tests and what those import (tsconfig.mutation.json).
  tsconfigFile: 'tsconfig.mutation.json',
  coverageAnalysis: 'perTest',
  // The sandbox copy needs the code and tests, not the model weights or the sample clip.
  ignorePatterns: ['models/weights', 'streams/sample', 'reports', 'out', '.veil', 'test-output'],
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  // Issue 12: at least 90 % on these modules; below that `npm run test:mutation` fails.
  thresholds: { high: 95, low: 90, break: 90 },
  // The samplers' χ² tests draw 100 000 samples; a mutant that makes a sampler loop for ever must time out, not hang.
  timeoutMS: 60_000,
};
