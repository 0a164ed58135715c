/**
 * The distributed-noise plan: each box's share of one release's variance, the sum's zCDP by Kairouz, Liu & Steinke
 * (ICML 2021), Theorem 1, and the settings it refuses. Expected values are worked out by hand in each test.
 */
import { describe, expect, it } from 'vitest';
import { planDistributedNoise, sumOfGaussiansTau, sumStandardDeviation, sumZcdp } from '../../../stages/privacy/distributedNoise.ts';
import { rational } from '../../../stages/privacy/rational.ts';

const BOX_COUNT = 10;
const COORDINATES = 16;
// Δ₂² = 1 and ρ = 1/200: one central release has σ² = Δ₂²/(2ρ) = 100, σ = 10.
const SENSITIVITY = { l1: 1, l2Squared: 1 };
const COST = { pureEpsilon: rational(0n), zcdpRho: rational(1n, 200n) };

describe('distributed noise plan', () => {
  it('gives each of n boxes σ²/n, or σ²/(n − dropouts tolerated) so that the survivors still carry σ²', () => {
    const plan = planDistributedNoise({ sensitivity: SENSITIVITY, cost: COST, boxes: BOX_COUNT, dropoutsTolerated: 0, coordinates: COORDINATES });
    expect(plan.releaseVariance).toEqual(rational(100n));
    expect(plan.boxVariance).toEqual(rational(10n));
    const tolerant = planDistributedNoise({ sensitivity: SENSITIVITY, cost: COST, boxes: BOX_COUNT, dropoutsTolerated: 1, coordinates: COORDINATES });
    expect(tolerant.boxVariance).toEqual(rational(100n, 9n));
    expect(tolerant.minimumInputs).toBe(9);
    // All ten present: √(10 · 100/9) = 10.54, 5 % above one release's σ.
    expect(sumStandardDeviation(tolerant, 10)).toBeCloseTo(Math.sqrt(1000 / 9), 12);
  });

  it('states the sum\'s zCDP by KLS 2021 Theorem 1: ρ of one release plus a τ term that is negligible at v = 10', () => {
    const plan = planDistributedNoise({ sensitivity: SENSITIVITY, cost: COST, boxes: BOX_COUNT, dropoutsTolerated: 0, coordinates: COORDINATES });
    // τ = 10 Σ_{j=1}^{9} exp(−2π²·10·j/(j+1)); j/(j+1) is smallest at j = 1, so the largest of the nine terms is
    // 10·exp(−π²·10) ≈ 1.4e−42 and τ lies between it and nine times it.
    const largestTerm = 10 * Math.exp(-(Math.PI ** 2) * 10);
    expect(sumOfGaussiansTau(10, 10)).toBeGreaterThan(largestTerm);
    expect(sumOfGaussiansTau(10, 10)).toBeLessThan(9 * largestTerm);
    expect(sumZcdp(plan, 10, 1)).toBeCloseTo(1 / 200, 15);
  });

  it('inflates each box\'s share when the τ term is not negligible, so the sum still fits the release\'s ρ', () => {
    // σ² = 10 over 10 boxes: v₀ = 1, τ = 10 Σ exp(−2π² j/(j+1)) ≈ 10·(e^{−9.87} + …) is no longer tiny against ρ.
    const cost = { pureEpsilon: rational(0n), zcdpRho: rational(1n, 20n) };
    const plan = planDistributedNoise({ sensitivity: SENSITIVITY, cost, boxes: 10, dropoutsTolerated: 0, coordinates: 4 });
    expect(Number(plan.boxVariance.numerator) / Number(plan.boxVariance.denominator)).toBeGreaterThan(1);
    expect(sumZcdp(plan, 10, 1)).toBeLessThanOrEqual(1 / 20);
  });

  it('refuses the Laplace, shares below variance 1/4, and tolerating every box', () => {
    const laplace = { pureEpsilon: rational(1n), zcdpRho: rational(0n) };
    expect(() => planDistributedNoise({ sensitivity: SENSITIVITY, cost: laplace, boxes: 3, dropoutsTolerated: 0, coordinates: 1 })).toThrow('distributed noise needs the discrete Gaussian');
    const cheap = { pureEpsilon: rational(0n), zcdpRho: rational(1n) };
    expect(() => planDistributedNoise({ sensitivity: SENSITIVITY, cost: cheap, boxes: 10, dropoutsTolerated: 0, coordinates: 1 })).toThrow('below the 1/4 the sum-of-discrete-Gaussians bound needs');
    expect(() => planDistributedNoise({ sensitivity: SENSITIVITY, cost: COST, boxes: 3, dropoutsTolerated: 3, coordinates: 1 })).toThrow('dropoutsTolerated must be a whole number from 0 to 2');
  });
});
