/**
 * Noise calibration: from a release's cost (ε or ρ) and the window's sensitivity to each statistic's noise
 * parameter, in that statistic's integer unit.
 *
 * All three statistics get the same noise level in object units, which is what splitting the cost across them in
 * proportion to their sensitivities amounts to:
 *   discrete Laplace, ε:  scale b = Δ₁/ε with Δ₁ the window's whole L1 sensitivity; adding Lap_ℤ(b) to each
 *                         coordinate is ε-DP (CKS 2020, §2.2: the discrete Laplace's privacy loss is |x − x'|/b).
 *   discrete Gaussian, ρ: variance σ² = Δ₂²/(2ρ); adding N_ℤ(0, σ²) to each coordinate is ρ-zCDP for integer
 *                         vectors of L2 sensitivity Δ₂ (CKS 2020, Theorem 14).
 * Mean occupancy is released in 1/100 objects, so its scale is 100·b (variance 100²·σ²) in its own steps.
 */
import type { NoiseMechanism } from './settings.ts';
import { sampleDiscreteGaussian, sampleDiscreteLaplace } from './noise.ts';
import { divide, multiply, rational, toNumber, type Rational } from './rational.ts';
import { combinedSensitivity, MEAN_OCCUPANCY_STEPS_PER_OBJECT, type ReleaseSensitivity } from './sensitivity.ts';
import type { ReleaseCost } from './privacyLoss.ts';

export interface NoiseCalibration {
  /** Noise parameter (Laplace scale or Gaussian variance) for mean occupancy, in 1/100 objects. */
  meanOccupancySteps: Rational;
  /** Noise parameter for peak occupancy and for crossing counts, in objects. */
  objects: Rational;
  /** Draws one noise value for a statistic with the given parameter. */
  sample(parameter: Rational): bigint;
}

/**
 * The noise's standard deviation in objects, for people reading a release (never used to sample). Discrete Laplace
 * with scale b: variance 2e^(−1/b) / (1 − e^(−1/b))²; discrete Gaussian with parameter σ²: variance just under σ²
 * (CKS 2020, Proposition 19), so σ is quoted.
 */
export function noiseStandardDeviation(mechanism: NoiseMechanism, calibration: NoiseCalibration): number {
  const parameter = toNumber(calibration.objects);
  if (mechanism === 'discrete-gaussian') return Math.sqrt(parameter);
  const decay = Math.exp(-1 / parameter);
  return Math.sqrt((2 * decay) / (1 - decay) ** 2);
}

export function calibrateNoise(mechanism: NoiseMechanism, cost: ReleaseCost, sensitivity: ReleaseSensitivity): NoiseCalibration {
  const combined = combinedSensitivity(sensitivity);
  const steps = rational(BigInt(MEAN_OCCUPANCY_STEPS_PER_OBJECT));
  if (mechanism === 'discrete-laplace') {
    const scale = divide(combined.l1, cost.pureEpsilon);
    return { meanOccupancySteps: multiply(scale, steps), objects: scale, sample: sampleDiscreteLaplace };
  }
  const variance = divide(combined.l2Squared, multiply(rational(2n), cost.zcdpRho));
  return { meanOccupancySteps: multiply(variance, multiply(steps, steps)), objects: variance, sample: sampleDiscreteGaussian };
}
