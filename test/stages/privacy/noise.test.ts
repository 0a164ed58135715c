/**
 * The samplers against their exact distributions, with real node:crypto randomness (no seed, so every run is a
 * fresh experiment). Each check is a hypothesis test at a fixed sample size:
 *   - χ² goodness of fit of the empirical histogram against the exact pmf, rejecting at p < 1e-6;
 *   - mean and second moment against theory, rejecting beyond 5 standard errors (two-sided ≈ 5.7e-7 by the CLT).
 * There are 26 such checks, so a correct sampler fails a run with probability below 3e-5 (union bound); a wrong
 * normalisation, an off-by-one in the scale or a biased coin shows up at far smaller p than that.
 */
import { describe, expect, it } from 'vitest';
import { integerSquareRoot, sampleBernoulliExpMinus, sampleDiscreteGaussian, sampleDiscreteLaplace, uniformBelow } from '../../../stages/privacy/noise.ts';
import { rational, type Rational } from '../../../stages/privacy/rational.ts';

const SAMPLES = 100_000;
const P_VALUE_THRESHOLD = 1e-6;
const STANDARD_ERRORS = 5;

/** ln Γ(a) for a half-integer a ≥ 1/2 (all a χ² test needs: a = dof/2), by Γ(a) = (a − 1)·Γ(a − 1), Γ(1) = 1, Γ(½) = √π. */
function logGamma(a: number): number {
  let result = Number.isInteger(a) ? 0 : 0.5 * Math.log(Math.PI);
  for (let k = Number.isInteger(a) ? 1 : 0.5; k < a; k += 1) result += Math.log(k);
  return result;
}

/** Upper regularised incomplete gamma Q(a, x): series below a + 1, Lentz's continued fraction above. */
function upperIncompleteGamma(a: number, x: number): number {
  if (x <= 0) return 1;
  const logPrefactor = a * Math.log(x) - x - logGamma(a);
  if (x < a + 1) {
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < 10_000 && Math.abs(term) > Math.abs(sum) * 1e-16; n++) {
      term *= x / (a + n);
      sum += term;
    }
    return 1 - sum * Math.exp(logPrefactor);
  }
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let fraction = d;
  for (let n = 1; n < 10_000; n++) {
    const an = -n * (n - a);
    b += 2;
    d = an * d + b;
    d = Math.abs(d) < tiny ? tiny : d;
    c = b + an / c;
    c = Math.abs(c) < tiny ? tiny : c;
    d = 1 / d;
    const step = d * c;
    fraction *= step;
    if (Math.abs(step - 1) < 1e-16) break;
  }
  return Math.exp(logPrefactor) * fraction;
}

/** P(χ²_dof ≥ statistic). */
function chiSquarePValue(statistic: number, degreesOfFreedom: number): number {
  return upperIncompleteGamma(degreesOfFreedom / 2, statistic / 2);
}

/** A symmetric pmf on ℤ, tabulated over the support where it is not negligible. */
interface SymmetricPmf {
  probability(x: number): number;
  /** |x| beyond which the mass is below 1e-30. */
  reach: number;
}

function discreteLaplacePmf(scale: number): SymmetricPmf {
  const ratio = Math.exp(-1 / scale);
  return { probability: (x) => ((1 - ratio) / (1 + ratio)) * ratio ** Math.abs(x), reach: Math.ceil(scale * 70) + 1 };
}

function discreteGaussianPmf(variance: number): SymmetricPmf {
  const reach = Math.ceil(Math.sqrt(variance) * 12) + 1;
  let normaliser = 0;
  for (let x = -reach; x <= reach; x++) normaliser += Math.exp((-x * x) / (2 * variance));
  return { probability: (x) => Math.exp((-x * x) / (2 * variance)) / normaliser, reach };
}

function moments(pmf: SymmetricPmf): { variance: number; fourth: number } {
  let variance = 0;
  let fourth = 0;
  for (let x = -pmf.reach; x <= pmf.reach; x++) {
    variance += x * x * pmf.probability(x);
    fourth += x ** 4 * pmf.probability(x);
  }
  return { variance, fourth };
}

/**
 * χ² against the pmf: one bin per value in [−m, m] and one for the rest, with m the largest such that every bin
 * expects at least 5 samples (the usual validity condition of the χ² approximation).
 */
function chiSquareTest(samples: readonly number[], pmf: SymmetricPmf): { pValue: number; bins: number } {
  const expected = (x: number) => samples.length * pmf.probability(x);
  let halfWidth = 0;
  while (expected(halfWidth + 1) >= 5) halfWidth += 1;
  const centralMass = () => {
    let mass = 0;
    for (let x = -halfWidth; x <= halfWidth; x++) mass += pmf.probability(x);
    return mass;
  };
  while (halfWidth > 0 && samples.length * (1 - centralMass()) < 5) halfWidth -= 1;
  const counts = new Map<number, number>();
  for (const value of samples) {
    const bin = Math.abs(value) <= halfWidth ? value : Infinity;
    counts.set(bin, (counts.get(bin) ?? 0) + 1);
  }
  let statistic = 0;
  for (let x = -halfWidth; x <= halfWidth; x++) statistic += ((counts.get(x) ?? 0) - expected(x)) ** 2 / expected(x);
  const tailExpected = samples.length * (1 - centralMass());
  const tailHasBin = tailExpected >= 5;
  if (tailHasBin) statistic += ((counts.get(Infinity) ?? 0) - tailExpected) ** 2 / tailExpected;
  const bins = 2 * halfWidth + 1 + (tailHasBin ? 1 : 0);
  return { pValue: chiSquarePValue(statistic, bins - 1), bins };
}

function expectMatchesPmf(draw: () => bigint, pmf: SymmetricPmf): void {
  const samples = Array.from({ length: SAMPLES }, () => Number(draw()));
  const { pValue, bins } = chiSquareTest(samples, pmf);
  expect(bins).toBeGreaterThanOrEqual(3);
  expect(pValue).toBeGreaterThan(P_VALUE_THRESHOLD);

  const { variance, fourth } = moments(pmf);
  const mean = samples.reduce((sum, x) => sum + x, 0) / SAMPLES;
  expect(Math.abs(mean)).toBeLessThan(STANDARD_ERRORS * Math.sqrt(variance / SAMPLES));
  // With the mean known to be 0, Σx²/n estimates the variance with standard error √((μ₄ − σ⁴)/n).
  const secondMoment = samples.reduce((sum, x) => sum + x * x, 0) / SAMPLES;
  expect(Math.abs(secondMoment - variance)).toBeLessThan(STANDARD_ERRORS * Math.sqrt((fourth - variance ** 2) / SAMPLES));
}

describe('the χ² helper itself', () => {
  it('gives textbook tail probabilities', () => {
    expect(chiSquarePValue(3.841, 1)).toBeCloseTo(0.05, 3);
    expect(chiSquarePValue(18.307, 10)).toBeCloseTo(0.05, 3);
    expect(chiSquarePValue(124.342, 100)).toBeCloseTo(0.05, 3);
  });
});

describe('uniformBelow', () => {
  it('is uniform beyond crypto.randomInt’s 2^48 range (the raw-bytes path)', () => {
    const third = 2n ** 60n;
    const counts = [0, 0, 0];
    // The low 4 bits too: a draw with too few random bits, shifted up to the bound's width, is uniform in its top
    // third but always even.
    const lowBits = Array<number>(16).fill(0);
    for (let i = 0; i < 30_000; i++) {
      const value = uniformBelow(3n * third);
      counts[Number(value / third)]! += 1;
      lowBits[Number(value % 16n)]! += 1;
    }
    const statistic = counts.reduce((sum, count) => sum + (count - 10_000) ** 2 / 10_000, 0);
    expect(chiSquarePValue(statistic, 2)).toBeGreaterThan(P_VALUE_THRESHOLD);
    const lowStatistic = lowBits.reduce((sum, count) => sum + (count - 30_000 / 16) ** 2 / (30_000 / 16), 0);
    expect(chiSquarePValue(lowStatistic, 15)).toBeGreaterThan(P_VALUE_THRESHOLD);
  });

  it('draws bounds up to its 4096-byte pool, and refuses a wider one with the width in bits', () => {
    // 2^32768 − 1 has 32768 bits, exactly 4096 bytes; 2^32768 has 32769 bits, 4097 bytes.
    expect(uniformBelow(2n ** 32_768n - 1n) < 2n ** 32_768n - 1n).toBe(true);
    expect(() => uniformBelow(2n ** 32_768n)).toThrow('uniformBelow: a bound of 32769 bits is beyond any noise parameter Veil uses');
  });

  it('refuses an empty range', () => {
    expect(() => uniformBelow(0n)).toThrow(/positive bound/);
  });
});

describe('Bernoulli(exp(−γ)) (CKS Algorithm 1)', () => {
  it('is always 1 for γ = 0', () => {
    expect(Array.from({ length: 1000 }, () => sampleBernoulliExpMinus(rational(0n))).every(Boolean)).toBe(true);
  });

  it.each([
    ['1/3', rational(1n, 3n)],
    ['1', rational(1n)],
    ['5/2', rational(5n, 2n)],
    ['7', rational(7n)],
  ])('succeeds with probability exp(−%s)', (_, gamma: Rational) => {
    const probability = Math.exp(-Number(gamma.numerator) / Number(gamma.denominator));
    let successes = 0;
    for (let i = 0; i < SAMPLES; i++) if (sampleBernoulliExpMinus(gamma)) successes += 1;
    const standardError = Math.sqrt((probability * (1 - probability)) / SAMPLES);
    expect(Math.abs(successes / SAMPLES - probability)).toBeLessThan(STANDARD_ERRORS * standardError);
  });
});

describe('discrete Laplace (CKS Algorithm 2)', () => {
  it.each([
    ['1/3 (mostly zeros: exercises the −0 rejection)', rational(1n, 3n)],
    ['5/2 (a scale that is not an integer)', rational(5n, 2n)],
    ['40 (a typical occupancy scale in 1/100 steps)', rational(40n)],
    ['(10^20 + 1)/10^18 ≈ 100 (a numerator beyond 2^48)', rational(10n ** 20n + 1n, 10n ** 18n)],
  ])('matches the exact pmf ∝ exp(−|x|/t) for t = %s', (_, scale: Rational) => {
    expectMatchesPmf(() => sampleDiscreteLaplace(scale), discreteLaplacePmf(Number(scale.numerator) / Number(scale.denominator)));
  });

  it('refuses a zero scale', () => {
    // Its own words, not uniformBelow's ("needs a positive bound"), which a zero scale would otherwise reach.
    expect(() => sampleDiscreteLaplace(rational(0n))).toThrow('the discrete Laplace scale must be positive');
  });
});

describe('discrete Gaussian (CKS Algorithm 3)', () => {
  // ⌊σ⌋ + 1 is the Laplace scale t; squares and their neighbours by hand, and 10³⁰ beyond any double's exact range.
  it.each([
    [0n, 0n], [1n, 1n], [2n, 1n], [3n, 1n], [4n, 2n], [8n, 2n], [9n, 3n], [99n, 9n], [100n, 10n],
    [10n ** 30n - 1n, 10n ** 15n - 1n], [10n ** 30n, 10n ** 15n],
  ])('takes ⌊√%s⌋ = %s for the Laplace scale', (value, root) => {
    expect(integerSquareRoot(value)).toBe(root);
  });

  it.each([
    ['1/2 (σ < 1)', rational(1n, 2n)],
    ['5/2 (⌊σ²⌋ = 2: the square root’s first Newton step)', rational(5n, 2n)],
    ['9', rational(9n)],
    ['1000/7 (a rational σ²)', rational(1000n, 7n)],
  ])('matches the exact pmf ∝ exp(−x²/2σ²) for σ² = %s', (_, variance: Rational) => {
    expectMatchesPmf(() => sampleDiscreteGaussian(variance), discreteGaussianPmf(Number(variance.numerator) / Number(variance.denominator)));
  });

  it('refuses a zero variance', () => {
    expect(() => sampleDiscreteGaussian(rational(0n))).toThrow('the discrete Gaussian variance must be positive');
  });
});
