/**
 * Figures people read: sums of independent released values carry √(Σσ²), and only the finished figure is clamped.
 * Expected values are worked out by hand beside each assertion.
 */
import { describe, expect, it } from 'vitest';
import { displayValue, figure, formatFigure, scaleFigure, sumFigures, withinNoise } from '../../../stages/privacy/figures.ts';
import { noiseStandardDeviation, sampleNoise, type NoiseMechanism } from '../../../stages/privacy/noiseScale.ts';
import { rational } from '../../../stages/privacy/rational.ts';

describe('figures', () => {
  it('takes its s.d. from the statistic terms, and 0 when nothing was noised', () => {
    expect(figure(-3, { standardDeviation: 1.41 })).toEqual({ value: -3, standardDeviation: 1.41 });
    expect(figure(7, undefined)).toEqual({ value: 7, standardDeviation: 0 });
  });

  it('adds values as released (negatives included) and variances, not deviations', () => {
    // Four quarter-hours of one direction: 3 − 2 + 0 + 5 = 6; σ = √(4 · 1.5²) = 3, not 4 · 1.5 = 6.
    const hour = sumFigures([3, -2, 0, 5].map((value) => ({ value, standardDeviation: 1.5 })));
    expect(hour.value).toBe(6);
    expect(hour.standardDeviation).toBeCloseTo(3, 12);
    // Unequal terms: √(3² + 4²) = 5.
    expect(sumFigures([{ value: 1, standardDeviation: 3 }, { value: 1, standardDeviation: 4 }]).standardDeviation).toBeCloseTo(5, 12);
    expect(sumFigures([])).toEqual({ value: 0, standardDeviation: 0 });
  });

  it('scales value and s.d. by the same factor, the s.d. by its absolute value', () => {
    // A mean of 4 windows: (10 ± 2) / 4 = 2.5 ± 0.5.
    expect(scaleFigure({ value: 10, standardDeviation: 2 }, 1 / 4)).toEqual({ value: 2.5, standardDeviation: 0.5 });
    expect(scaleFigure({ value: 10, standardDeviation: 2 }, -1)).toEqual({ value: -10, standardDeviation: 2 });
  });

  it('clamps at 0 only for display, after summing', () => {
    const backward = sumFigures([-2, 1, -1].map((value) => ({ value, standardDeviation: 1 })));
    expect(backward.value).toBe(-2);
    expect(displayValue(backward)).toBe(0);
    expect(displayValue({ value: 2.345, standardDeviation: 0 }, 1)).toBe(2.3);
    expect(formatFigure(backward)).toBe('0 ± 1.7'); // √3 = 1.732… to two significant digits
    expect(formatFigure({ value: 412.4, standardDeviation: 2.7386 })).toBe('412 ± 2.7');
    expect(formatFigure({ value: 12, standardDeviation: 0 })).toBe('12');
  });
});

describe('withinNoise', () => {
  it('is |value| < 2 s.d. for one figure, 2 + ln n / √2 s.d. for the largest of n, and never for an exact figure', () => {
    expect(withinNoise({ value: 1.9, standardDeviation: 1 })).toBe(true);
    expect(withinNoise({ value: -1.9, standardDeviation: 1 })).toBe(true);
    expect(withinNoise({ value: 2, standardDeviation: 1 })).toBe(false);
    expect(withinNoise({ value: 0, standardDeviation: 0 })).toBe(false);
    // The largest of 4: 2 + ln 4 / √2 = 2 + 1.3863 / 1.4142 = 2.980 s.d.
    expect(withinNoise({ value: 2.97, standardDeviation: 1 }, 4)).toBe(true);
    expect(withinNoise({ value: 2.99, standardDeviation: 1 }, 4)).toBe(false);
    expect(withinNoise({ value: 29.7, standardDeviation: 10 }, 4)).toBe(true);
  });

  /** Draws of the real mechanisms at a noise of about ± 5.6 per value, as a crowd window at ε 0.25 has. */
  const PARAMETERS: Record<NoiseMechanism, ReturnType<typeof rational>> = { 'discrete-laplace': rational(4n), 'discrete-gaussian': rational(31n) };
  const DRAWS = 4000;

  it.each(Object.keys(PARAMETERS) as NoiseMechanism[])('%s: pure noise is called real about as often as the rule promises, one value or the largest of 4', (mechanism) => {
    const parameter = PARAMETERS[mechanism];
    const standardDeviation = noiseStandardDeviation(mechanism, parameter);
    const draw = () => Number(sampleNoise(mechanism, parameter));
    let singleOutside = 0;
    let largestOutside = 0;
    for (let index = 0; index < DRAWS; index += 1) {
      if (!withinNoise({ value: draw(), standardDeviation })) singleOutside += 1;
      const largest = Math.max(draw(), draw(), draw(), draw());
      if (!withinNoise({ value: largest, standardDeviation }, 4)) largestOutside += 1;
    }
    // One value passes ± 2σ with probability e^(−2√2) = 5.9 % (Laplace) or 4.6 % (Gaussian); the largest of 4 passes
    // its band no more often than one value passes +2σ: ½e^(−2√2) = 3.0 %. Allowance: 4 binomial standard errors.
    // The lower bounds (measured here: Gaussian 3.9 % and 0.6 %, each over 4 standard errors above them) show the bands
    // are not so wide that nothing is ever called real.
    const allowance = (p: number) => 4 * Math.sqrt((p * (1 - p)) / DRAWS);
    const twoSided = Math.exp(-2 * Math.SQRT2);
    expect(singleOutside / DRAWS).toBeLessThan(twoSided + allowance(twoSided));
    expect(singleOutside / DRAWS).toBeGreaterThan(0.025);
    expect(largestOutside / DRAWS).toBeLessThan(twoSided / 2 + allowance(twoSided / 2));
    expect(largestOutside / DRAWS).toBeGreaterThan(0.001);
  });
});
