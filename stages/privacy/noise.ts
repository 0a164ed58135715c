/**
 * Exact samplers for differential privacy, after Canonne, Kamath & Steinke, "The Discrete Gaussian for Differential
 * Privacy" (NeurIPS 2020), Algorithms 1–3. Every parameter is a rational (stages/privacy/rational.ts), every coin is a
 * uniform integer from node:crypto, and every step is integer arithmetic, so the output distribution is exactly the
 * one the privacy proof assumes; there is no floating-point rounding for an attacker to read (Mironov, CCS 2012).
 *
 *   sampleDiscreteLaplace(rational(5n, 2n));   // P(x) ∝ exp(-|x| / 2.5), x ∈ ℤ
 *   sampleDiscreteGaussian(rational(9n));      // P(x) ∝ exp(-x² / 18),   x ∈ ℤ
 *
 * The loops below all terminate with probability 1 and run a small expected number of times (CKS §5); none of
 * them has a data-dependent bound, and none needs one: their inputs are public noise parameters, not data.
 */
import { randomFillSync, randomInt } from 'node:crypto';
import { rational, type Rational } from './rational.ts';

// crypto.randomInt accepts ranges up to 2^48; larger ones are drawn from raw bytes by rejection.
const RANDOM_INT_MAX_RANGE = 2n ** 48n;
const ONE = rational(1n);

// Bytes for bounds beyond randomInt's range come from one pooled randomFillSync call per 4 KiB rather than one
// randomBytes call per draw (the per-call overhead dominated); each byte is still used once.
const BYTE_POOL = Buffer.alloc(4096);
let bytePoolOffset = BYTE_POOL.length;

function randomHex(byteCount: number): string {
  if (bytePoolOffset + byteCount > BYTE_POOL.length) {
    randomFillSync(BYTE_POOL);
    bytePoolOffset = 0;
  }
  bytePoolOffset += byteCount;
  return BYTE_POOL.toString('hex', bytePoolOffset - byteCount, bytePoolOffset);
}

/** A uniform integer in [0, upper), exactly, for any positive BigInt bound. */
export function uniformBelow(upper: bigint): bigint {
  if (upper <= 0n) throw new RangeError(`uniformBelow needs a positive bound, got ${upper}`);
  if (upper <= RANDOM_INT_MAX_RANGE) return BigInt(randomInt(Number(upper)));
  const bits = upper.toString(2).length;
  const byteCount = (bits + 7) >> 3;
  if (byteCount > BYTE_POOL.length) throw new RangeError(`uniformBelow: a bound of ${bits} bits is beyond any noise parameter Veil uses`);
  const excessBits = BigInt(byteCount * 8 - bits);
  // Rejection keeps it uniform: draw `bits` random bits, retry when the value lands at or above the bound
  // (probability < 1/2 per draw).
  for (;;) {
    const candidate = BigInt(`0x${randomHex(byteCount)}`) >> excessBits;
    if (candidate < upper) return candidate;
  }
}

/**
 * Bernoulli(exp(-γ)) for rational γ ≥ 0 (CKS Algorithm 1).
 * For γ ≤ 1: draw A_k ~ Bernoulli(γ/k) for k = 1, 2, … until the first A_k = 0; the stopping index K is odd with
 * probability exactly Σ_k (-γ)^k / k! = exp(-γ). For γ > 1: exp(-γ) = exp(-1)^⌊γ⌋ · exp(-(γ - ⌊γ⌋)), one
 * Bernoulli per factor, stopping at the first failure.
 */
export function sampleBernoulliExpMinus(gamma: Rational): boolean {
  const { numerator, denominator } = gamma;
  if (numerator <= denominator) {
    let k = 1n;
    while (uniformBelow(denominator * k) < numerator) k += 1n;
    return k % 2n === 1n;
  }
  const wholePart = numerator / denominator;
  for (let i = 0n; i < wholePart; i += 1n) {
    if (!sampleBernoulliExpMinus(ONE)) return false;
  }
  return sampleBernoulliExpMinus(rational(numerator - wholePart * denominator, denominator));
}


/**
 * Discrete Laplace (two-sided geometric) with scale t > 0: P(x) = (1 - e^{-1/t}) / (1 + e^{-1/t}) · e^{-|x|/t}
 * for x ∈ ℤ (CKS Algorithm 2, with their t/s = our scale's numerator/denominator).
 *
 *   1. U uniform in {0, …, n-1}, kept with probability exp(-U/n)      → U is the fractional part of X/n
 *   2. V ~ Geometric(1 - e^{-1}) by counting Bernoulli(e^{-1}) successes → V is the integer part
 *   3. X = U + n·V is Geometric(1 - e^{-1/n}); Y = ⌊X / d⌋ is Geometric(1 - e^{-d/n})
 *   4. a fair sign, rejecting "-0" so zero is not counted twice
 */
export function sampleDiscreteLaplace(scale: Rational): bigint {
  const { numerator: n, denominator: d } = scale;
  if (n === 0n) throw new RangeError('the discrete Laplace scale must be positive');
  for (;;) {
    const fractional = uniformBelow(n);
    if (!sampleBernoulliExpMinus(rational(fractional, n))) continue;
    let whole = 0n;
    while (sampleBernoulliExpMinus(ONE)) whole += 1n;
    const magnitude = (fractional + n * whole) / d;
    const negative = uniformBelow(2n) === 1n;
    if (negative && magnitude === 0n) continue;
    return negative ? -magnitude : magnitude;
  }
}

/**
 * ⌊√value⌋ for a non-negative BigInt, by Newton's method on integers. Exported for its test: a wrong root would not
 * bias the discrete Gaussian (CKS Algorithm 3 is exact for any Laplace scale t ≥ 1), only slow it down, so no
 * sampling test can see one.
 */
export function integerSquareRoot(value: bigint): bigint {
  if (value < 2n) return value;
  let estimate = value;
  let next = (estimate + 1n) / 2n;
  while (next < estimate) {
    estimate = next;
    next = (estimate + value / estimate) / 2n;
  }
  return estimate;
}

/**
 * Discrete Gaussian with variance parameter σ² > 0: P(x) ∝ exp(-x² / (2σ²)) for x ∈ ℤ (CKS Algorithm 3).
 * Rejection from a discrete Laplace of scale t = ⌊σ⌋ + 1: accept Y with probability
 * exp(-(|Y| - σ²/t)² / (2σ²)). With σ² = p/q that exponent is the rational (|Y|·q·t - p)² / (2·p·q·t²).
 * ⌊σ⌋ = ⌊√⌊p/q⌋⌋, since m² ≤ p/q ⇔ m² ≤ ⌊p/q⌋ for integer m.
 */
export function sampleDiscreteGaussian(variance: Rational): bigint {
  const { numerator: p, denominator: q } = variance;
  if (p === 0n) throw new RangeError('the discrete Gaussian variance must be positive');
  const t = integerSquareRoot(p / q) + 1n;
  const laplaceScale = rational(t);
  for (;;) {
    const candidate = sampleDiscreteLaplace(laplaceScale);
    const magnitude = candidate < 0n ? -candidate : candidate;
    const distance = magnitude * q * t - p;
    if (sampleBernoulliExpMinus(rational(distance * distance, 2n * p * q * t * t))) return candidate;
  }
}
