/**
 * Distributed discrete Gaussian noise (Kairouz, Liu & Steinke, "The Distributed Discrete Gaussian Mechanism for
 * Federated Learning with Secure Aggregation", ICML 2021): each of the n boxes of a district adds its own share of
 * the noise, N_ℤ(0, v) per value, so that the district total — the only thing secure aggregation reveals — carries
 * about the variance σ² of one central release, not n·σ² as when every box noises its own count in full.
 *
 *   const plan = planDistributedNoise({ sensitivity, cost, boxes: 10, dropoutsTolerated: 0, coordinates: 4 });
 *   const noised = counts.map((count, i) => count + noiseShares(plan)[i]);   // then mask (secureAggregationBox.ts)
 *
 * The guarantee (KLS 2021, Theorem 1). A sum of k independent N_ℤ(0, v) vectors in ℤ^d, v ≥ 1/4, is ρ'-zCDP for
 * L2 sensitivity Δ₂ with
 *     ρ' = Δ₂² / (2·k·v) + τ·d/2,        τ = 10 · Σ_{j=1}^{k−1} exp(−2π²·v·j/(j+1)),
 * the second term being what a sum of discrete Gaussians loses against one discrete Gaussian of variance k·v (it is
 * not one). The theorem's first form, ε² = Δ₂²/(k·v) + τ·d/2 with ρ' = ε²/2, gives τ·d/4; we charge the larger
 * τ·d/2, which also covers the form without the ½. τ is negligible
 * once v ≳ 1 (v = 1: τ ≈ 10·e^{−9.9}·(k−1); v = 10: below 10^{−40}) and large for tiny v, which is refused.
 *
 * Dropouts. A box whose input never arrives takes its noise share with it. The plan tolerates `dropoutsTolerated`
 * of them: every box adds v = σ²/(n − dropoutsTolerated), inflated so that the τ term fits, so any m ≥ n −
 * dropoutsTolerated inputs carry at least σ² and the sum is ρ-zCDP at the release's own ρ. With fewer inputs the
 * round is withheld (the boxes refuse to unmask: secureAggregationBox.ts), never released with less noise. With all
 * n present, the sum's variance is n·v = σ²·n/(n − dropoutsTolerated): 1.11 σ² for n = 10 tolerating one dropout.
 *
 * The ledger. Each box charges its camera's ledger the statistic's ordinary cost (the plan's ρ for that window),
 * before it masks, exactly as for a release of its own: the sum it takes part in is a ρ-zCDP release of a vector in
 * which one track changes that box's values by at most Δ₂. Against a coalition of c boxes that learns the sum and
 * subtracts its own noise, only the other boxes' noise is left: (m − c)·v; see docs/privacy.md.
 */
import { sampleDiscreteGaussian } from './noise.ts';
import type { ReleaseCost } from './privacyLoss.ts';
import { divide, multiply, rational, rationalFromDouble, toNumber, type Rational } from './rational.ts';
import type { StatisticSensitivity } from './sensitivity.ts';

// The inflation factor for the τ term is rounded up on a 2^-32 grid: more noise, never less.
const INFLATION_FRACTION_BITS = 32;
// KLS 2021, Theorem 1 holds for per-summand σ ≥ 1/2.
const MIN_BOX_VARIANCE = rational(1n, 4n);
// The τ term may take at most this fraction of the release's ρ; beyond it the boxes add too little noise each for
// the sum to behave like one discrete Gaussian, and more boxes (or a larger ε) make it worse, not better.
const MAX_TAU_FRACTION = 0.5;

export interface DistributedNoiseInput {
  /** The statistic's sensitivity over one window (its StatisticRelease in the release plan); l2Squared is used. */
  sensitivity: StatisticSensitivity;
  /** What one window's release of the statistic costs (StatisticRelease.cost); must be zCDP ρ (discrete Gaussian). */
  cost: ReleaseCost;
  /** n: boxes in the district's rounds. */
  boxes: number;
  /** How many boxes may drop out of a round before it is withheld. */
  dropoutsTolerated: number;
  /** d: values per box vector (τ·d/2 grows with it). */
  coordinates: number;
}

export interface DistributedNoisePlan {
  /** σ² = Δ₂²/(2ρ): the variance of one central release of the statistic, in its integer unit. */
  releaseVariance: Rational;
  /** v: the variance parameter of each box's N_ℤ(0, v) per value. */
  boxVariance: Rational;
  boxes: number;
  /** n − dropoutsTolerated: the fewest inputs a released sum may hold. */
  minimumInputs: number;
  coordinates: number;
}

/** τ of KLS 2021, Theorem 1, for `summands` discrete Gaussians of variance parameter `variance` each. */
export function sumOfGaussiansTau(variance: number, summands: number): number {
  let tau = 0;
  for (let j = 1; j < summands; j += 1) tau += 10 * Math.exp((-2 * Math.PI * Math.PI * variance * j) / (j + 1));
  return tau;
}

/**
 * The zCDP ρ' of a released sum of `inputs` box vectors of the plan, for L2 sensitivity² `l2Squared` (KLS 2021,
 * Theorem 1, with τ·d/2): what the sum guarantees, at most the release's ρ when inputs ≥ minimumInputs.
 */
export function sumZcdp(plan: DistributedNoisePlan, inputs: number, l2Squared: number): number {
  const variance = toNumber(plan.boxVariance);
  return l2Squared / (2 * inputs * variance) + (sumOfGaussiansTau(variance, inputs) * plan.coordinates) / 2;
}

/**
 * Each box's noise variance for a district. Throws a RangeError naming the field when the cost is not a discrete
 * Gaussian's ρ, the counts are not whole numbers, dropoutsTolerated leaves no box, or the boxes' shares would be too
 * small for the sum to be a near-Gaussian (v < 1/4 or the τ term over half of ρ): fewer boxes, a larger noise, or
 * the mechanism per box.
 */
export function planDistributedNoise(input: DistributedNoiseInput): DistributedNoisePlan {
  const { sensitivity, cost, boxes, dropoutsTolerated, coordinates } = input;
  if (cost.zcdpRho.numerator === 0n || cost.pureEpsilon.numerator !== 0n) {
    throw new RangeError('distributed noise needs the discrete Gaussian (privacy.mechanism: "discrete-gaussian"): a sum of discrete Laplace draws is not a discrete Laplace');
  }
  if (!Number.isInteger(boxes) || boxes < 1) throw new RangeError(`boxes must be a positive whole number, got ${boxes}`);
  if (!Number.isInteger(dropoutsTolerated) || dropoutsTolerated < 0 || dropoutsTolerated >= boxes) throw new RangeError(`dropoutsTolerated must be a whole number from 0 to ${boxes - 1}, got ${dropoutsTolerated}`);
  if (!Number.isInteger(coordinates) || coordinates < 1) throw new RangeError(`coordinates must be a positive whole number, got ${coordinates}`);
  const minimumInputs = boxes - dropoutsTolerated;
  const releaseVariance = divide(rational(BigInt(sensitivity.l2Squared)), multiply(rational(2n), cost.zcdpRho));
  const baseVariance = divide(releaseVariance, rational(BigInt(minimumInputs)));
  if (toNumber(baseVariance) < toNumber(MIN_BOX_VARIANCE)) {
    throw new RangeError(`each of ${minimumInputs} boxes would add noise of variance ${toNumber(baseVariance).toPrecision(3)}, below the 1/4 the sum-of-discrete-Gaussians bound needs: use fewer boxes per district or a smaller ε`);
  }
  // τ only falls as v grows and only grows with the number of summands: evaluated at the smallest v and the most
  // boxes, it bounds the τ term of every sum this plan can release.
  const rho = toNumber(cost.zcdpRho);
  const tauTerm = (sumOfGaussiansTau(toNumber(baseVariance), boxes) * coordinates) / 2;
  if (tauTerm > MAX_TAU_FRACTION * rho) {
    throw new RangeError(`${boxes} boxes each adding variance ${toNumber(baseVariance).toPrecision(3)} lose ${tauTerm.toPrecision(3)} of ρ = ${rho.toPrecision(3)} to the sum of discrete Gaussians: use fewer boxes per district or a smaller ε`);
  }
  const inflation = rationalFromDouble(rho / (rho - tauTerm), INFLATION_FRACTION_BITS, 'up');
  return { releaseVariance, boxVariance: multiply(baseVariance, inflation), boxes, minimumInputs, coordinates };
}

/** One box's noise shares: `plan.coordinates` exact N_ℤ(0, v) draws from node:crypto (stages/privacy/noise.ts). */
export function noiseShares(plan: DistributedNoisePlan): bigint[] {
  return Array.from({ length: plan.coordinates }, () => sampleDiscreteGaussian(plan.boxVariance));
}

/** The s.d. of the noise on each value of a sum of `inputs` boxes' vectors: √(inputs · v) (an upper bound, CKS 2020, Prop. 19). */
export function sumStandardDeviation(plan: DistributedNoisePlan, inputs: number): number {
  return Math.sqrt(inputs * toNumber(plan.boxVariance));
}
