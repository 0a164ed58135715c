/**
 * From a statistic's cost and sensitivity to its noise parameter and standard deviation. Expected parameters are
 * worked by hand from b = Δ₁/ε and σ² = Δ₂²/(2ρ) (CKS 2020); expected deviations come from summing the distribution
 * itself, Σ x²·P(x), not from the closed form the code uses.
 */
import { describe, expect, it } from 'vitest';
import { noiseParameter, noiseStandardDeviation, sampleNoise } from '../../../stages/privacy/noiseScale.ts';
import { rational } from '../../../stages/privacy/rational.ts';

const sensitivity = { l1: 3, l2Squared: 5 };
const epsilonCost = (numerator: bigint, denominator: bigint) => ({ pureEpsilon: rational(numerator, denominator), zcdpRho: rational(0n) });
const rhoCost = (numerator: bigint, denominator: bigint) => ({ pureEpsilon: rational(0n), zcdpRho: rational(numerator, denominator) });

/** Variance of the discrete Laplace with scale b, summed term by term: P(x) = (1 − p)/(1 + p) · p^|x|, p = e^(−1/b). */
function laplaceVarianceBySum(scale: number): number {
  const p = Math.exp(-1 / scale);
  let variance = 0;
  for (let x = 1; x < 200 * scale; x++) variance += 2 * x * x * ((1 - p) / (1 + p)) * p ** x;
  return variance;
}

describe('noiseParameter', () => {
  it('is the discrete Laplace scale Δ₁/ε: Δ₁ = 3 at ε = 1/2 gives 6', () => {
    expect(noiseParameter('discrete-laplace', sensitivity, epsilonCost(1n, 2n))).toEqual(rational(6n));
  });

  it('is the discrete Gaussian variance Δ₂²/(2ρ): Δ₂² = 5 at ρ = 1/4 gives 10', () => {
    expect(noiseParameter('discrete-gaussian', sensitivity, rhoCost(1n, 4n))).toEqual(rational(10n));
  });

  it('reads only its own mechanism’s currency: ε for Laplace, ρ for the Gaussian', () => {
    const both = { pureEpsilon: rational(1n, 3n), zcdpRho: rational(1n, 8n) };
    expect(noiseParameter('discrete-laplace', sensitivity, both)).toEqual(rational(9n)); // 3 / (1/3)
    expect(noiseParameter('discrete-gaussian', sensitivity, both)).toEqual(rational(20n)); // 5 / (2 · 1/8)
  });

  it('refuses a cost with nothing of its mechanism’s currency, rather than dividing by zero', () => {
    expect(() => noiseParameter('discrete-laplace', sensitivity, rhoCost(1n, 2n))).toThrow(new RangeError('a discrete-Laplace release needs a positive ε'));
    expect(() => noiseParameter('discrete-gaussian', sensitivity, epsilonCost(1n, 2n))).toThrow(new RangeError('a discrete-Gaussian release needs a positive zCDP ρ'));
  });

  it('refuses a negative cost', () => {
    expect(() => noiseParameter('discrete-laplace', sensitivity, epsilonCost(-1n, 2n))).toThrow(RangeError);
    expect(() => noiseParameter('discrete-gaussian', sensitivity, rhoCost(-1n, 2n))).toThrow(RangeError);
  });
});

describe('noiseStandardDeviation', () => {
  it.each([1, 2.5, 10])('of the discrete Laplace with scale %d is √(Σ x²·P(x))', (scale) => {
    expect(noiseStandardDeviation('discrete-laplace', rational(BigInt(scale * 2), 2n))).toBeCloseTo(Math.sqrt(laplaceVarianceBySum(scale)), 9);
  });

  it('of the discrete Laplace with scale 1 is ≈ 1.357 (the figure docs/privacy.md quotes for crossings at ε = 1)', () => {
    expect(noiseStandardDeviation('discrete-laplace', rational(1n))).toBeCloseTo(1.357, 3);
  });

  it('of the discrete Gaussian is σ, quoted as the bound: σ² = 9/4 gives 1.5', () => {
    expect(noiseStandardDeviation('discrete-gaussian', rational(9n, 4n))).toBe(1.5);
  });
});

describe('sampleNoise', () => {
  /** Sample variance of n draws around the true mean 0. */
  const sampleVariance = (draw: () => bigint, n: number) => {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += Number(draw()) ** 2;
    return sum / n;
  };
  const DRAWS = 2000;

  it('draws the discrete Gaussian for the Gaussian: σ² = 100 gives a sample variance near 100, not a Laplace’s 20 000', () => {
    // Var of a sample variance of n Gaussian draws is 2σ⁴/n: here s.d. ≈ 3.2, so [70, 130] is over 9 s.d. wide.
    const variance = sampleVariance(() => sampleNoise('discrete-gaussian', rational(100n)), DRAWS);
    expect(variance).toBeGreaterThan(70);
    expect(variance).toBeLessThan(130);
  });

  it('draws the discrete Laplace for Laplace: scale 100 gives a sample variance near 2p/(1 − p)² ≈ 20 000, p = e^(−1/100)', () => {
    // Var of a sample variance of n Laplace draws is ≈ 5σ⁴/n (excess kurtosis 3): s.d. ≈ 5 %, so ±30 % is 6 s.d.
    const expected = laplaceVarianceBySum(100);
    expect(expected).toBeCloseTo(19_999.8, 0);
    const variance = sampleVariance(() => sampleNoise('discrete-laplace', rational(100n)), DRAWS);
    expect(variance).toBeGreaterThan(0.7 * expected);
    expect(variance).toBeLessThan(1.3 * expected);
  });
});
