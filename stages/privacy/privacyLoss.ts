/**
 * How privacy loss adds up: what one release costs, and what a set of releases cost together.
 *
 * Two currencies, one per mechanism, kept apart until the end:
 *   - pure ε (discrete Laplace): basic composition, ε_total = Σ ε_i (Dwork & Roth 2014, Thm 3.16).
 *   - ρ-zCDP (discrete Gaussian): ρ_total = Σ ρ_i (Bun & Steinke, TCC 2016, Lemma 2.3), and ρ-zCDP implies
 *     (ρ + 2·√(ρ·ln(1/δ)), δ)-DP for every δ > 0 (ibid., Proposition 1.3).
 * A mixture (a camera whose mechanism changed within one period) composes the two basically:
 *   ε_total = Σ ε_pure + ε(Σ ρ, δ),  δ_total = δ when any ρ was spent, else 0.
 *
 * Costs are exact rationals, so a day of 1/6-ε releases sums to exactly what the budget allows; only the ρ → ε
 * conversion is floating point (a square root and a logarithm, relative error ~1e-15), and it is never used to draw
 * noise, only to compare a total against a budget.
 */
import { add, isLess, rational, toNumber, type Rational } from './rational.ts';

export interface ReleaseCost {
  /** ε of pure ε-DP mechanisms (discrete Laplace). */
  pureEpsilon: Rational;
  /** ρ of zero-concentrated DP mechanisms (discrete Gaussian). */
  zcdpRho: Rational;
}

export const NO_COST: ReleaseCost = { pureEpsilon: rational(0n), zcdpRho: rational(0n) };

export function addCosts(a: ReleaseCost, b: ReleaseCost): ReleaseCost {
  return { pureEpsilon: add(a.pureEpsilon, b.pureEpsilon), zcdpRho: add(a.zcdpRho, b.zcdpRho) };
}

export function scaleCost(cost: ReleaseCost, times: bigint): ReleaseCost {
  return {
    pureEpsilon: rational(cost.pureEpsilon.numerator * times, cost.pureEpsilon.denominator),
    zcdpRho: rational(cost.zcdpRho.numerator * times, cost.zcdpRho.denominator),
  };
}

/** ε of ρ-zCDP at a given δ: ρ + 2·√(ρ·ln(1/δ)) (Bun & Steinke 2016, Proposition 1.3). */
export function zcdpToEpsilon(rho: number, delta: number): number {
  return rho + 2 * Math.sqrt(rho * Math.log(1 / delta));
}

/**
 * The largest ρ whose (ε, δ) conversion is at most ε: solving ε = ρ + 2√(ρL) with L = ln(1/δ) gives
 * √ρ = √(L + ε) − √L = ε / (√(L + ε) + √L); the second form avoids cancellation when ε ≪ L.
 */
export function epsilonToZcdp(epsilon: number, delta: number): number {
  const logInverseDelta = Math.log(1 / delta);
  const rootRho = epsilon / (Math.sqrt(logInverseDelta + epsilon) + Math.sqrt(logInverseDelta));
  return rootRho * rootRho;
}

/** The (ε, δ) that a total cost amounts to; δ is the conversion's, spent only if some ρ was. */
export function composedEpsilon(total: ReleaseCost, delta: number): { epsilon: number; delta: number } {
  if (total.zcdpRho.numerator === 0n) return { epsilon: toNumber(total.pureEpsilon), delta: 0 };
  return { epsilon: toNumber(total.pureEpsilon) + zcdpToEpsilon(toNumber(total.zcdpRho), delta), delta };
}

/** Whether a total cost stays within an ε budget; exact when only pure ε was spent. */
export function fitsBudget(total: ReleaseCost, epsilonBudget: Rational, delta: number): boolean {
  if (total.zcdpRho.numerator === 0n) return !isLess(epsilonBudget, total.pureEpsilon);
  return composedEpsilon(total, delta).epsilon <= toNumber(epsilonBudget);
}
