/** Exact rationals, checked against fractions worked out by hand. */
import { describe, expect, it } from 'vitest';
import {
  add,
  ceiling,
  divide,
  isLess,
  multiply,
  rational,
  rationalFromDecimal,
  rationalFromDouble,
  subtract,
  toNumber,
} from '../../../stages/privacy/rational.ts';

const fraction = (numerator: bigint, denominator: bigint) => ({ numerator, denominator });

describe('rational', () => {
  it('reduces to lowest terms: 6/4 = 3/2, 0/5 = 0/1, 7/1 stays', () => {
    expect(rational(6n, 4n)).toEqual(fraction(3n, 2n));
    expect(rational(0n, 5n)).toEqual(fraction(0n, 1n));
    expect(rational(7n)).toEqual(fraction(7n, 1n));
    expect(rational(35n, 14n)).toEqual(fraction(5n, 2n));
  });

  it('refuses a zero denominator and negative parts, saying which', () => {
    expect(() => rational(1n, 0n)).toThrow(/non-zero denominator \(got 1\/0\)/);
    expect(() => rational(-1n, 2n)).toThrow(/non-negative rationals only \(got -1\/2\)/);
    expect(() => rational(1n, -2n)).toThrow(/non-negative rationals only \(got 1\/-2\)/);
  });
});

describe('arithmetic', () => {
  it('adds, subtracts, multiplies and divides exactly', () => {
    expect(add(rational(1n, 6n), rational(1n, 3n))).toEqual(fraction(1n, 2n));
    expect(subtract(rational(3n, 4n), rational(1n, 6n))).toEqual(fraction(7n, 12n));
    expect(multiply(rational(2n, 3n), rational(9n, 4n))).toEqual(fraction(3n, 2n));
    expect(divide(rational(2n, 3n), rational(4n, 9n))).toEqual(fraction(3n, 2n));
  });

  it('refuses to divide by zero', () => {
    expect(() => divide(rational(1n), rational(0n))).toThrow(/division .* by zero/);
  });

  it('compares strictly: 1/3 < 1/2, not 1/2 < 1/3, not 2/4 < 1/2', () => {
    expect(isLess(rational(1n, 3n), rational(1n, 2n))).toBe(true);
    expect(isLess(rational(1n, 2n), rational(1n, 3n))).toBe(false);
    expect(isLess(rational(2n, 4n), rational(1n, 2n))).toBe(false);
  });

  it('rounds up to a whole number: ⌈7/2⌉ = 4, ⌈6/2⌉ = 3, ⌈1/3⌉ = 1, ⌈0⌉ = 0', () => {
    expect([ceiling(rational(7n, 2n)), ceiling(rational(6n, 2n)), ceiling(rational(1n, 3n)), ceiling(rational(0n))]).toEqual([4n, 3n, 1n, 0n]);
  });

  it('converts to a number for display: 3/8 = 0.375', () => {
    expect(toNumber(rational(3n, 8n))).toBe(0.375);
  });
});

describe('rationalFromDecimal', () => {
  it('gives the fraction a person meant: 0.1 = 1/10, 2.5 = 5/2, 120 = 120, 1e-7 = 1/10⁷, 2.5e21 = 25·10²⁰, 1.25e-3 = 1/800', () => {
    expect(rationalFromDecimal(0.1)).toEqual(fraction(1n, 10n));
    expect(rationalFromDecimal(2.5)).toEqual(fraction(5n, 2n));
    expect(rationalFromDecimal(120)).toEqual(fraction(120n, 1n));
    expect(rationalFromDecimal(1e-7)).toEqual(fraction(1n, 10_000_000n));
    expect(rationalFromDecimal(2.5e21)).toEqual(fraction(2_500_000_000_000_000_000_000n, 1n));
    expect(rationalFromDecimal(1.25e-3)).toEqual(fraction(1n, 800n));
    expect(rationalFromDecimal(0)).toEqual(fraction(0n, 1n));
  });

  it('reads −0 as 0 (String(−0) is "0")', () => {
    expect(rationalFromDecimal(-0)).toEqual(fraction(0n, 1n));
  });

  it.each([-0.5, -3, -1e-7, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])('refuses %f, saying what it expected', (value) => {
    expect(() => rationalFromDecimal(value)).toThrow(new RangeError(`expected a finite non-negative number, got ${value}`));
  });
});

describe('rationalFromDouble', () => {
  it('rounds onto the grid of 1/2^bits in the direction asked: 0.1 on sixteenths is 2/16 up, 1/16 down', () => {
    expect(rationalFromDouble(0.1, 4, 'up')).toEqual(fraction(1n, 8n));
    expect(rationalFromDouble(0.1, 4, 'down')).toEqual(fraction(1n, 16n));
  });

  it('keeps a value already on the grid exactly: 0.75 on quarters is 3/4 both ways, 0 is 0', () => {
    expect(rationalFromDouble(0.75, 2, 'up')).toEqual(fraction(3n, 4n));
    expect(rationalFromDouble(0.75, 2, 'down')).toEqual(fraction(3n, 4n));
    expect(rationalFromDouble(0, 8, 'up')).toEqual(fraction(0n, 1n));
  });

  it.each([-0.5, Number.NaN, Number.POSITIVE_INFINITY])('refuses %f', (value) => {
    expect(() => rationalFromDouble(value, 8, 'up')).toThrow(/expected a finite non-negative number/);
  });
});
