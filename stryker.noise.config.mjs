// @ts-check
import base from './stryker.config.mjs';

/**
 * Mutation testing of the exact samplers, stages/privacy/noise.ts, against their own tests only
 * (vitest.noise-mutation.config.ts): `npm run test:mutation` runs it after stryker.config.mjs.
 * docs/mutation-testing.md says why it is apart and how long it takes.
 *
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export default {
  ...base,
  mutate: ['stages/privacy/noise.ts'],
  vitest: { configFile: 'vitest.noise-mutation.config.ts' },
  htmlReporter: { fileName: 'reports/mutation-noise/index.html' },
  jsonReporter: { fileName: 'reports/mutation-noise/mutation.json' },
  // A mutant that breaks a sampler's loop spins for ever; the χ² tests of a sound one take seconds, not a minute.
  timeoutMS: 20_000,
};
