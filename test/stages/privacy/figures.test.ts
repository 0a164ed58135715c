/**
 * Figures people read: sums of independent released values carry √(Σσ²), and only the finished figure is clamped.
 * Expected values are worked out by hand beside each assertion.
 */
import { describe, expect, it } from 'vitest';
import { displayValue, figure, formatFigure, scaleFigure, sumFigures } from '../../../stages/privacy/figures.ts';

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
