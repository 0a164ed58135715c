import { defineConfig } from 'vitest/config';
import mutation from './vitest.mutation.config.ts';

/**
 * What judges a mutant of stages/privacy/noise.ts (stryker.noise.config.mjs): the samplers' own exact tests (χ²
 * against the true distributions, moments, refusals), and not every test that happens to draw noise through the
 * release stage. Those draw thousands of windows each and know nothing a sampler test does not; run against each of
 * noise.ts's mutants they made the run take an hour instead of minutes.
 */
export default defineConfig({ test: { ...mutation.test, include: ['test/stages/privacy/noise.test.ts'] } });
