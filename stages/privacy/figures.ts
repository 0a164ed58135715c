/**
 * Figures a person reads, made from released values: a class, a total of classes, a direction, a sum of windows —
 * each with the standard deviation of *that* figure. Released noise draws are independent, so the variance of a sum
 * is the sum of the variances (Var(ΣXᵢ) = ΣVar(Xᵢ) for independent Xᵢ): a total of n values each ±σ is ±σ√n.
 *
 *   const hour = sumFigures(windows.map((w) => figure(w.lines.gate.classes.vehicle.forward, w.privacy.statistics.crossings)));
 *   formatFigure(hour);   // "412 ± 2.7"
 *
 * Values are summed as released (unbiased, possibly negative); only the finished figure is clamped for display.
 */

export interface Figure {
  /** The noised value or sum, unbiased (may be negative). */
  value: number;
  /** Standard deviation of its noise, in the value's unit; 0 when nothing was noised. */
  standardDeviation: number;
}

/** One released value with the s.d. its statistic's terms state (undefined terms: nothing was noised). */
export function figure(value: number, terms: { standardDeviation: number } | undefined): Figure {
  return { value, standardDeviation: terms?.standardDeviation ?? 0 };
}

/** The sum of independent figures: values add, variances add. */
export function sumFigures(figures: Iterable<Figure>): Figure {
  let value = 0;
  let variance = 0;
  for (const item of figures) {
    value += item.value;
    variance += item.standardDeviation ** 2;
  }
  return { value, standardDeviation: Math.sqrt(variance) };
}

/** A figure scaled by a constant (a mean of n windows is the sum scaled by 1/n; a density is a count per m²). */
export function scaleFigure(item: Figure, factor: number): Figure {
  return { value: item.value * factor, standardDeviation: item.standardDeviation * Math.abs(factor) };
}

/** What to show: the value rounded and clamped at 0 (a count can't be negative), after all summing. */
export function displayValue(item: Figure, decimals = 0): number {
  return Math.max(0, Number(item.value.toFixed(decimals)));
}

/** A single noised value of a true 0 lies within ± 2 s.d. about 95 % of the time (the summary's stated interval). */
export const NOISE_BAND_STANDARD_DEVIATIONS = 2;

/**
 * Whether a figure could be noise alone, its true value 0: |value| < 2 s.d. (a Laplace draw passes 2σ either way
 * with probability e^(−2√2) ≈ 5.9 %, a Gaussian one 4.6 %). A figure that is the largest of `among` figures (the
 * busiest window, the peak hour) reads high by chance, so its band widens to 2 + ln(among)/√2 s.d.: by the union
 * bound with the Laplace tail P(X ≥ kσ) = ½·e^(−k√2) (scale σ/√2; the Gaussian's tail is lighter from k = 2 on, and
 * the discrete mechanisms follow their continuous ones at the scales Veil uses), the largest of `among` values of
 * pure noise passes it no more often than one value passes +2 s.d. Never true of an exact figure (s.d. 0).
 */
export function withinNoise(item: Figure, among = 1): boolean {
  const band = NOISE_BAND_STANDARD_DEVIATIONS + Math.log(Math.max(1, among)) / Math.SQRT2;
  return item.standardDeviation > 0 && Math.abs(item.value) < band * item.standardDeviation;
}

/** "412 ± 2.7" (1 s.d.), or the bare value when nothing was noised. */
export function formatFigure(item: Figure, decimals = 0): string {
  const shown = displayValue(item, decimals);
  return item.standardDeviation > 0 ? `${shown} ± ${Number(item.standardDeviation.toPrecision(2))}` : String(shown);
}
