/**
 * Distributed discrete Gaussian noise through the real protocol: ten boxes each add their share of the noise, mask,
 * and the aggregator unmasks. Statistical checks at fixed sample sizes, no seeds (node:crypto draws fresh each run):
 *   - the district total's noise s.d. within 10 % of one release's σ (σ = 10 here; 3 200 values, so the s.d.'s own
 *     standard error is ≈ σ/√(2·3200) = 1.25 %: a correct implementation fails with probability < 1e-12), far from
 *     the √10·σ of boxes that each noise in full;
 *   - one box's masked vector against the uniform distribution on bytes, χ² at p < 1e-6 (Wilson–Hilferty).
 */
import { describe, expect, it } from 'vitest';
import { noiseShares, planDistributedNoise, sumOfGaussiansTau, sumStandardDeviation, sumZcdp } from '../../../stages/privacy/distributedNoise.ts';
import { rational } from '../../../stages/privacy/rational.ts';
import type { SecureAggregationParameters } from '../../../stages/privacy/secureAggregationMessages.ts';
import { runRoundInMemory } from './secureAggregationInMemory.ts';

const BOX_COUNT = 10;
const ROUNDS = 200;
const COORDINATES = 16;
// Δ₂² = 1 and ρ = 1/200: one central release has σ² = Δ₂²/(2ρ) = 100, σ = 10.
const SENSITIVITY = { l1: 1, l2Squared: 1 };
const COST = { pureEpsilon: rational(0n), zcdpRho: rational(1n, 200n) };
const RELEASE_SD = 10;
// z for a one-sided p of 1e-6.
const Z_ONE_IN_A_MILLION = 4.753;

/** χ² critical value for `degrees` degrees of freedom at the z above (Wilson & Hilferty 1931). */
function chiSquareCritical(degrees: number): number {
  const spread = 2 / (9 * degrees);
  return degrees * (1 - spread + Z_ONE_IN_A_MILLION * Math.sqrt(spread)) ** 3;
}

function chiSquareUniform(counts: number[]): number {
  const total = counts.reduce((sum, count) => sum + count, 0);
  const expected = total / counts.length;
  return counts.reduce((sum, count) => sum + (count - expected) ** 2 / expected, 0);
}

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

describe('distributed noise through secure aggregation, ten boxes', () => {
  it('the district total carries the noise of one release, and one box\'s masked vector looks uniform', async () => {
    const plan = planDistributedNoise({ sensitivity: SENSITIVITY, cost: COST, boxes: BOX_COUNT, dropoutsTolerated: 0, coordinates: COORDINATES });
    const boxes = Array.from({ length: BOX_COUNT }, (_, index) => `box-${index}`);
    const parameters: SecureAggregationParameters = { district: 'centre', boxes, threshold: 6, coordinates: COORDINATES, minimumInputs: plan.minimumInputs };
    // Box i counts i + coordinate: the true total of coordinate c is Σ_i (i + c) = 45 + 10c.
    const truth = Array.from({ length: COORDINATES }, (_, coordinate) => BigInt(45 + 10 * coordinate));
    const errors: number[] = [];
    const byteCounts = new Array<number>(256).fill(0);
    const topByteCounts = new Array<number>(256).fill(0);
    for (let round = 0; round < ROUNDS; round += 1) {
      const inputs = new Map(boxes.map((box, index) => {
        const shares = noiseShares(plan);
        return [box, shares.map((noise, coordinate) => BigInt(index + coordinate) + noise)];
      }));
      const { result, masked } = await runRoundInMemory(parameters, `w-${round}`, inputs);
      if (result.status !== 'released') throw new Error(`round ${round} was withheld: ${result.reason}`);
      result.sum.forEach((value, coordinate) => errors.push(Number(BigInt(value) - truth[coordinate]!)));
      const bytes = Buffer.from(masked.find((message) => message.box === 'box-3')!.values, 'base64');
      for (const [offset, byte] of bytes.entries()) {
        byteCounts[byte]! += 1;
        if (offset % 8 === 0) topByteCounts[byte]! += 1;
      }
    }
    const mean = errors.reduce((sum, error) => sum + error, 0) / errors.length;
    const sd = Math.sqrt(errors.reduce((sum, error) => sum + (error - mean) ** 2, 0) / (errors.length - 1));
    expect(Math.abs(sd / RELEASE_SD - 1)).toBeLessThan(0.1);
    // Each box noising in full would give √10·σ ≈ 31.6.
    expect(sd).toBeLessThan(Math.sqrt(BOX_COUNT) * RELEASE_SD / 2);
    expect(chiSquareUniform(byteCounts)).toBeLessThan(chiSquareCritical(255));
    // The most significant byte is where an unmasked count (0x00 or 0xff) would show at once.
    expect(chiSquareUniform(topByteCounts)).toBeLessThan(chiSquareCritical(255));
  }, 120_000);
});
