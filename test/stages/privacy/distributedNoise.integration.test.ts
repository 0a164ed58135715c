/**
 * Distributed discrete Gaussian noise through the real protocol: ten boxes each add their share of the noise, mask,
 * and the aggregator unmasks. Statistical checks at fixed sample sizes, no seeds (node:crypto draws fresh each run):
 *   - the district total's noise s.d. within 10 % of one release's σ (σ = 10 here; 3 200 values, so the s.d.'s own
 *     standard error is ≈ σ/√(2·3200) = 1.25 %: a correct implementation fails with probability < 1e-12), far from
 *     the √10·σ of boxes that each noise in full;
 *   - one box's masked vector against the uniform distribution on bytes, χ² at p < 1e-6 (Wilson–Hilferty).
 */
import { describe, expect, it } from 'vitest';
import { noiseShares, planDistributedNoise } from '../../../stages/privacy/distributedNoise.ts';
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
