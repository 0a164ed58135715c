/**
 * Noise scale: from one statistic's release cost (ε or ρ) and its sensitivity to the noise parameter, in the
 * statistic's integer unit, and the standard deviation that parameter gives.
 *
 *   discrete Laplace, ε:  scale b = Δ₁/ε; adding Lap_ℤ(b) to each coordinate of an integer vector of L1 sensitivity Δ₁
 *                         is ε-DP (CKS 2020, §2.2: the discrete Laplace's privacy loss is |x − x'|/b).
 *   discrete Gaussian, ρ: variance σ² = Δ₂²/(2ρ); adding N_ℤ(0, σ²) to each coordinate is ρ-zCDP for integer
 *                         vectors of L2 sensitivity Δ₂ (CKS 2020, Theorem 14).
 * Each statistic has its own share of the budget (stages/privacy/settings.ts), so each gets its own parameter.
 */
import { sampleDiscreteGaussian, sampleDiscreteLaplace } from './noise.ts';
import type { ReleaseCost } from './privacyLoss.ts';
import { divide, multiply, rational, toNumber, type Rational } from './rational.ts';
import type { StatisticSensitivity } from './sensitivity.ts';

export type NoiseMechanism = 'discrete-laplace' | 'discrete-gaussian';

/**
 * The noise parameter for one statistic: the discrete Laplace's scale Δ₁/ε or the discrete Gaussian's σ² = Δ₂²/(2ρ),
 * in the statistic's own unit. Throws a RangeError when the cost has nothing of the mechanism's currency.
 */
export function noiseParameter(mechanism: NoiseMechanism, sensitivity: StatisticSensitivity, cost: ReleaseCost): Rational {
  if (mechanism === 'discrete-laplace') {
    if (cost.pureEpsilon.numerator <= 0n) throw new RangeError('a discrete-Laplace release needs a positive ε');
    return divide(rational(BigInt(sensitivity.l1)), cost.pureEpsilon);
  }
  if (cost.zcdpRho.numerator <= 0n) throw new RangeError('a discrete-Gaussian release needs a positive zCDP ρ');
  return divide(rational(BigInt(sensitivity.l2Squared)), multiply(rational(2n), cost.zcdpRho));
}

/**
 * Standard deviation of one noise draw with the given parameter, in the parameter's unit. Discrete Laplace with scale
 * b: variance 2e^(−1/b) / (1 − e^(−1/b))² (the two-sided geometric distribution, p = e^(−1/b)); discrete Gaussian
 * with parameter σ²: variance just under σ² (CKS 2020, Proposition 19), so σ is quoted (an upper bound).
 */
export function noiseStandardDeviation(mechanism: NoiseMechanism, parameter: Rational): number {
  const value = toNumber(parameter);
  if (mechanism === 'discrete-gaussian') return Math.sqrt(value);
  const decay = Math.exp(-1 / value);
  return Math.sqrt(2 * decay) / (1 - decay);
}

/** One noise draw with the given parameter, exact (stages/privacy/noise.ts). */
export function sampleNoise(mechanism: NoiseMechanism, parameter: Rational): bigint {
  return mechanism === 'discrete-laplace' ? sampleDiscreteLaplace(parameter) : sampleDiscreteGaussian(parameter);
}
