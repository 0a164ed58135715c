/**
 * Exact non-negative rationals on BigInt, for the privacy stage's parameters: noise scales, ε and ρ. A float ε of
 * 0.1 is not 1/10, and Mironov (CCS 2012) shows what floating-point noise leaks; so every parameter that reaches a
 * sampler or the ledger is a ratio of integers, and rounding happens only where it is conservative.
 *
 *   const epsilon = rationalFromDecimal(0.1);        // { numerator: 1n, denominator: 10n }
 *   const scale = divide(rational(3n), epsilon);     // 30
 */

export interface Rational {
  readonly numerator: bigint;
  /** Always positive; numerator and denominator share no factor. */
  readonly denominator: bigint;
}

/** Euclid's algorithm; its only caller has already refused negative parts. */
function gcd(a: bigint, b: bigint): bigint {
  let [x, y] = [a, b];
  while (y !== 0n) [x, y] = [y, x % y];
  return x;
}

export function rational(numerator: bigint, denominator = 1n): Rational {
  if (denominator === 0n) throw new RangeError(`a rational needs a non-zero denominator (got ${numerator}/0)`);
  if (numerator < 0n || denominator < 0n) throw new RangeError(`the privacy stage uses non-negative rationals only (got ${numerator}/${denominator})`);
  const common = gcd(numerator, denominator);
  return { numerator: numerator / common, denominator: denominator / common };
}

export function add(a: Rational, b: Rational): Rational {
  return rational(a.numerator * b.denominator + b.numerator * a.denominator, a.denominator * b.denominator);
}

/** a − b; a negative result is a bug in the caller (costs and budgets never go below zero). */
export function subtract(a: Rational, b: Rational): Rational {
  return rational(a.numerator * b.denominator - b.numerator * a.denominator, a.denominator * b.denominator);
}

export function multiply(a: Rational, b: Rational): Rational {
  return rational(a.numerator * b.numerator, a.denominator * b.denominator);
}

export function divide(a: Rational, b: Rational): Rational {
  if (b.numerator === 0n) throw new RangeError('division of a privacy parameter by zero');
  return rational(a.numerator * b.denominator, a.denominator * b.numerator);
}

/** a < b, compared exactly by cross-multiplication. */
export function isLess(a: Rational, b: Rational): boolean {
  return a.numerator * b.denominator < b.numerator * a.denominator;
}

/** ⌈value⌉ */
export function ceiling(value: Rational): bigint {
  return (value.numerator + value.denominator - 1n) / value.denominator;
}

/** For display and logs only; never feed the result back into a sampler. */
export function toNumber(value: Rational): number {
  return Number(value.numerator) / Number(value.denominator);
}

const DECIMAL = /^(\d+)(?:\.(\d+))?(?:e([+-]?\d+))?$/;

/**
 * The rational a person meant by a decimal number: the shortest decimal that round-trips to the same double
 * (what `String(value)` prints), so `0.1` becomes exactly 1/10 rather than the double's 3602879701896397/2^55.
 */
export function rationalFromDecimal(value: number): Rational {
  // The pattern alone refuses what is not a finite non-negative number: NaN, Infinity and a leading '-' never match.
  const match = DECIMAL.exec(String(value));
  if (!match) throw new RangeError(`expected a finite non-negative number, got ${value}`);
  const [, whole, fraction = '', exponentText = '0'] = match;
  const exponent = Number(exponentText) - fraction.length;
  const digits = BigInt(`${whole}${fraction}`);
  return exponent >= 0 ? rational(digits * 10n ** BigInt(exponent)) : rational(digits, 10n ** BigInt(-exponent));
}

/**
 * The double `value` rounded onto the grid of 1/2^fractionBits, in the direction that is safe for its use: a noise
 * variance rounds up (more noise), a privacy cost down when it sets the noise, a budget up only when it was
 * computed from costs that were themselves rounded. Exact: scaling by a power of two loses nothing in binary.
 */
export function rationalFromDouble(value: number, fractionBits: number, rounding: 'up' | 'down'): Rational {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`expected a finite non-negative number, got ${value}`);
  const scaled = value * 2 ** fractionBits;
  return rational(BigInt(rounding === 'up' ? Math.ceil(scaled) : Math.floor(scaled)), 2n ** BigInt(fractionBits));
}
