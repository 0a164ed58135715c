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

  it('states τ and the sum\'s zCDP where τ is not negligible: v = 1, three boxes, four coordinates', () => {
    // KLS 2021, Theorem 1: τ = 10 Σ_{j=1}^{n−1} exp(−2π² v j/(j+1)) = 10 (e^{−π²} + e^{−4π²/3}) for v = 1, n = 3,
    // and ρ' = Δ₂²/(2 n v) + τ d/2 = 1/6 + 2τ for Δ₂² = 1, d = 4.
    const tau = 10 * (Math.exp(-(Math.PI ** 2)) + Math.exp((-4 * Math.PI ** 2) / 3));
    expect(Math.abs(sumOfGaussiansTau(1, 3) - tau) / tau).toBeLessThan(1e-12);
    const plan = { releaseVariance: rational(3n), boxVariance: rational(1n), boxes: 3, minimumInputs: 3, coordinates: 4 };
    expect(Math.abs(sumZcdp(plan, 3, 1) - (1 / 6 + 2 * tau))).toBeLessThan(1e-15);
  });

  it('bounds the τ term by half of ρ: Δ₂² = 4, ρ = 2, two boxes of v = 1/2, where τ d/2 = 5 e^{−π²/2} d', () => {
    // τ = 10 e^{−2π²·(1/2)·(1/2)} = 10 e^{−π²/2} ≈ 0.0719 for the one pair; half of ρ is 1.
    const cost = { pureEpsilon: rational(0n), zcdpRho: rational(2n) };
    const plan = (coordinates: number) => planDistributedNoise({ sensitivity: { l1: 2, l2Squared: 4 }, cost, boxes: 2, dropoutsTolerated: 0, coordinates });
    const tauTerm = (coordinates: number) => 5 * Math.exp(-(Math.PI ** 2) / 2) * coordinates;
    expect(tauTerm(20)).toBeLessThan(1);
    expect(() => plan(20)).not.toThrow();
    expect(tauTerm(40)).toBeGreaterThan(1);
    expect(() => plan(40)).toThrow(
      `2 boxes each adding variance 0.500 lose ${tauTerm(40).toPrecision(3)} of ρ = 2.00 to the sum of discrete Gaussians: use fewer boxes per district or a smaller ε`,
    );
  });

  it('accepts shares of exactly variance 1/4: Δ₂² = 1, ρ = 1, two boxes, one coordinate', () => {
    // v = Δ₂²/(2ρ n) = 1/4; τ d/2 = 5 e^{−2π²·(1/4)·(1/2)} = 5 e^{−π²/4} ≈ 0.42, under half of ρ.
    const plan = planDistributedNoise({ sensitivity: SENSITIVITY, cost: { pureEpsilon: rational(0n), zcdpRho: rational(1n) }, boxes: 2, dropoutsTolerated: 0, coordinates: 1 });
    expect(plan.releaseVariance).toEqual(rational(1n, 2n));
  });

  it('refuses a cost that is not a discrete Gaussian\'s ρ alone, and counts that are not whole numbers in range', () => {
    const gaussianOnly = 'distributed noise needs the discrete Gaussian (privacy.mechanism: "discrete-gaussian"): a sum of discrete Laplace draws is not a discrete Laplace';
    const plan = (input: Partial<Parameters<typeof planDistributedNoise>[0]>) => () =>
      planDistributedNoise({ sensitivity: SENSITIVITY, cost: COST, boxes: 3, dropoutsTolerated: 0, coordinates: 1, ...input });
    expect(plan({ cost: { pureEpsilon: rational(1n), zcdpRho: rational(1n, 200n) } })).toThrow(gaussianOnly);
    expect(plan({ cost: { pureEpsilon: rational(0n), zcdpRho: rational(0n) } })).toThrow(gaussianOnly);
    expect(plan({ boxes: 1 })).not.toThrow();
    for (const boxes of [0, 2.5]) expect(plan({ boxes })).toThrow(`boxes must be a positive whole number, got ${boxes}`);
    for (const dropoutsTolerated of [-1, 0.5]) expect(plan({ dropoutsTolerated })).toThrow(`dropoutsTolerated must be a whole number from 0 to 2, got ${dropoutsTolerated}`);
    for (const coordinates of [0, 1.5]) expect(plan({ coordinates })).toThrow(`coordinates must be a positive whole number, got ${coordinates}`);
  });

  it('refuses the Laplace, shares below variance 1/4, and tolerating every box', () => {
    const laplace = { pureEpsilon: rational(1n), zcdpRho: rational(0n) };
    expect(() => planDistributedNoise({ sensitivity: SENSITIVITY, cost: laplace, boxes: 3, dropoutsTolerated: 0, coordinates: 1 })).toThrow('distributed noise needs the discrete Gaussian');
    const cheap = { pureEpsilon: rational(0n), zcdpRho: rational(1n) };
    expect(() => planDistributedNoise({ sensitivity: SENSITIVITY, cost: cheap, boxes: 10, dropoutsTolerated: 0, coordinates: 1 })).toThrow('below the 1/4 the sum-of-discrete-Gaussians bound needs');
    expect(() => planDistributedNoise({ sensitivity: SENSITIVITY, cost: COST, boxes: 3, dropoutsTolerated: 3, coordinates: 1 })).toThrow('dropoutsTolerated must be a whole number from 0 to 2');
  });
});
