/**
 * Privacy loss arithmetic against values worked out by hand from the formulas' sources, never from the code:
 *   ρ-zCDP ⇒ (ρ + 2·√(ρ·ln(1/δ)), δ)-DP (Bun & Steinke 2016, Proposition 1.3), with ln(10⁶) = 6·ln 10.
 */
import { describe, expect, it } from 'vitest';
import {
  addCosts,
  composedEpsilon,
  epsilonToZcdp,
  fitsBudget,
  NO_COST,
  scaleCost,
  zcdpToEpsilon,
  type ReleaseCost,
} from '../../../stages/privacy/privacyLoss.ts';
import { rational } from '../../../stages/privacy/rational.ts';

/** ln(1/δ) for δ = 10⁻⁶, written as 6·ln 10 so it does not share a Math.log call with the code under test. */
const LN_INVERSE_MICRO = 6 * Math.LN10;
const cost = (pureEpsilon: [bigint, bigint], zcdpRho: [bigint, bigint]): ReleaseCost => ({
  pureEpsilon: rational(...pureEpsilon),
  zcdpRho: rational(...zcdpRho),
});

describe('zcdpToEpsilon', () => {
  it('converts ρ = 0.1 at δ = 10⁻⁶ to 0.1 + 2·√(0.1·ln 10⁶) ≈ 2.4508', () => {
    const byHand = 0.1 + 2 * Math.sqrt(0.1 * LN_INVERSE_MICRO);
    expect(byHand).toBeCloseTo(2.4508, 4);
    expect(zcdpToEpsilon(0.1, 1e-6)).toBeCloseTo(byHand, 12);
  });

  it('grows with ρ and as δ shrinks: ρ = 1/2 at δ = 10⁻⁹ is 0.5 + 2·√(0.5·9·ln 10) ≈ 6.938', () => {
    const byHand = 0.5 + 2 * Math.sqrt(0.5 * 9 * Math.LN10);
    expect(byHand).toBeCloseTo(6.938, 3);
    expect(zcdpToEpsilon(0.5, 1e-9)).toBeCloseTo(byHand, 12);
  });
});

describe('epsilonToZcdp', () => {
  it('gives the ρ whose conversion is exactly ε: ρ + 2·√(ρ·ln 10⁶) = 1 for ε = 1, δ = 10⁻⁶', () => {
    const rho = epsilonToZcdp(1, 1e-6);
    expect(rho + 2 * Math.sqrt(rho * LN_INVERSE_MICRO)).toBeCloseTo(1, 12);
    // The positive root of ρ + 2√(ρL) = ε by the quadratic formula in √ρ: (√(L + 1) − √L)² ≈ 0.01747.
    expect(rho).toBeCloseTo(0.01747, 5);
  });

  it('keeps its precision when ε ≪ ln(1/δ), where √(L + ε) − √L cancels: ρ ≈ ε²/(4L)', () => {
    const epsilon = 1e-9;
    expect(epsilonToZcdp(epsilon, 1e-6) / ((epsilon * epsilon) / (4 * LN_INVERSE_MICRO))).toBeCloseTo(1, 6);
  });
});

describe('adding and scaling costs', () => {
  it('adds each currency exactly, apart from the other', () => {
    expect(addCosts(cost([1n, 3n], [1n, 6n]), cost([1n, 6n], [1n, 3n]))).toEqual(cost([1n, 2n], [1n, 2n]));
    expect(addCosts(NO_COST, cost([2n, 7n], [0n, 1n]))).toEqual(cost([2n, 7n], [0n, 1n]));
  });

  it('scales a cost by a whole number of releases exactly: 6 × (1/6, 1/12) = (1, 1/2)', () => {
    expect(scaleCost(cost([1n, 6n], [1n, 12n]), 6n)).toEqual(cost([1n, 1n], [1n, 2n]));
  });
});

describe('composedEpsilon', () => {
  it('is the plain sum with δ = 0 when only pure ε was spent', () => {
    expect(composedEpsilon(cost([3n, 4n], [0n, 1n]), 1e-6)).toEqual({ epsilon: 0.75, delta: 0 });
  });

  it('adds the pure ε to the converted ρ, and spends δ, when some ρ was spent', () => {
    const composed = composedEpsilon(cost([1n, 4n], [1n, 10n]), 1e-6);
    expect(composed.epsilon).toBeCloseTo(0.25 + 0.1 + 2 * Math.sqrt(0.1 * LN_INVERSE_MICRO), 12);
    expect(composed.delta).toBe(1e-6);
  });
});

describe('fitsBudget', () => {
  it('compares pure ε exactly: 1/10 + 2/10 fits a budget of 3/10, which 0.1 + 0.2 in floating point would not', () => {
    expect(0.1 + 0.2 > 0.3).toBe(true);
    const spent = addCosts(cost([1n, 10n], [0n, 1n]), cost([2n, 10n], [0n, 1n]));
    expect(fitsBudget(spent, rational(3n, 10n), 1e-6)).toBe(true);
    expect(fitsBudget(addCosts(spent, cost([1n, 1_000_000n], [0n, 1n])), rational(3n, 10n), 1e-6)).toBe(false);
  });

  it('refuses pure ε over the budget by 10⁻²⁰, which no double can tell from the budget itself', () => {
    const over = cost([3n * 10n ** 19n + 1n, 10n ** 20n], [0n, 1n]);
    expect(Number(over.pureEpsilon.numerator) / Number(over.pureEpsilon.denominator)).toBe(0.3);
    expect(fitsBudget(over, rational(3n, 10n), 1e-6)).toBe(false);
  });

  it('judges spent ρ by its (ε, δ) conversion: ρ = 0.1 (≈ 2.45079) fits 2.4508 and not 2.4507', () => {
    const spent = cost([0n, 1n], [1n, 10n]);
    expect(fitsBudget(spent, rational(24_508n, 10_000n), 1e-6)).toBe(true);
    expect(fitsBudget(spent, rational(24_507n, 10_000n), 1e-6)).toBe(false);
  });

  it('adds pure ε and converted ρ against one budget', () => {
    // 0.25 + 2.45079 = 2.70079: inside 2.7008, outside 2.7007.
    const spent = cost([1n, 4n], [1n, 10n]);
    expect(fitsBudget(spent, rational(27_008n, 10_000n), 1e-6)).toBe(true);
    expect(fitsBudget(spent, rational(27_007n, 10_000n), 1e-6)).toBe(false);
  });
});
