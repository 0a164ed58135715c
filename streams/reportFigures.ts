/**
 * The figures a person reads off a report's released windows — one zone's or line's count per window, a total over
 * the clip, an hour's or a day's total, a mean, the largest window — each with the standard deviation of *that*
 * figure (stages/privacy/figures.ts). The summary (pipeline/summary.ts) and the chart (reportChart.ts) both read
 * them from here, so what is printed and what is drawn agree.
 *
 *   const series = seriesOf(report, 'crossings');                       // one per window length, e.g. 900 s
 *   const forward = crossingsReading('gate', ['vehicle'], 'forward');
 *   totalOver(series[0].windows, forward);                              // { value: 412, standardDeviation: 5.7 }
 *   periodTotals(series[0].windows, forward, 3600);                     // hourly totals, each with its own s.d.
 *
 * Values are summed as released (unbiased, possibly negative); only a finished figure is clamped, for display.
 */
import { figure, scaleFigure, sumFigures, type Figure } from '../stages/privacy/figures.ts';
import type { Statistic } from '../stages/privacy/settings.ts';
import type { ReleasedClass, ReleasedWindow } from '../stages/released.ts';

/** The windows released at one window length, in time order (withheld ones included: they mark gaps). */
export interface ReleaseSeries {
  windowSeconds: number;
  /** The statistics released at this length, in the order the report's settings list them. */
  statistics: Statistic[];
  windows: ReleasedWindow[];
}

interface ReleasesOwner {
  settings: { releases: ReadonlyArray<{ statistic: Statistic; windowSeconds: number }> };
  windows: readonly ReleasedWindow[];
}

/** The report's series, one per window length, shortest first; with `statistic`, only those releasing it. */
export function seriesOf(report: ReleasesOwner, statistic?: Statistic): ReleaseSeries[] {
  const lengths = [...new Set(report.settings.releases.map((release) => release.windowSeconds))].sort((a, b) => a - b);
  return lengths
    .map((windowSeconds) => ({
      windowSeconds,
      statistics: report.settings.releases.filter((release) => release.windowSeconds === windowSeconds).map((release) => release.statistic),
      windows: report.windows.filter((window) => window.windowSeconds === windowSeconds).sort((a, b) => a.startSeconds - b.startSeconds),
    }))
    .filter((series) => statistic === undefined || series.statistics.includes(statistic));
}

/** Ends within a microsecond of a window's bounds are its bounds (clip seconds are sums of frame intervals). */
const COVERAGE_TOLERANCE_SECONDS = 1e-6;

/**
 * The seconds of footage a window covers, endSeconds − startSeconds, to the millisecond. Less than windowSeconds when
 * the clip, or the excerpt of it, starts or ends inside the window: its values then describe only those seconds (a
 * mean over them, a peak or a count in them), while its noise and its charge to the budget are a whole window's.
 */
export function coveredSeconds(window: Pick<ReleasedWindow, 'startSeconds' | 'endSeconds'>): number {
  return Number((window.endSeconds - window.startSeconds).toFixed(3));
}

/** Whether a window covers less footage than its length (see coveredSeconds). */
export function isPartial(window: Pick<ReleasedWindow, 'startSeconds' | 'endSeconds' | 'windowSeconds'>): boolean {
  return window.endSeconds - window.startSeconds < window.windowSeconds - COVERAGE_TOLERANCE_SECONDS;
}

/** One figure per window: undefined when the window was withheld or does not hold the value. */
export type Reading = (window: ReleasedWindow) => Figure | undefined;

/**
 * Crossings of `line` in one direction, summed over `classes` (e.g. the COCO vehicle classes when each class was
 * released on its own): each class is its own noise draw, so the sum's s.d. is √(Σσ²).
 */
export function crossingsReading(line: string, classes: readonly ReleasedClass[], direction: 'forward' | 'backward'): Reading {
  return (window) => {
    const cells = window.lines[line]?.classes;
    const values = cells && classes.map((name) => cells[name]?.[direction]);
    if (!values || values.some((value) => value === undefined)) return undefined;
    return sumFigures(values.map((value) => figure(value!, window.privacy.statistics.crossings)));
  };
}

/**
 * Mean occupancy of `zone`, summed over `classes`. A sum of peaks is not the peak of a sum (each class peaks in
 * its own frame), so the peak is read one class at a time: see peakReading.
 */
export function meanOccupancyReading(zone: string, classes: readonly ReleasedClass[]): Reading {
  return (window) => {
    const cells = window.zones[zone]?.classes;
    const values = cells && classes.map((name) => cells[name]?.meanOccupancy);
    if (!values || values.some((value) => value === undefined)) return undefined;
    return sumFigures(values.map((value) => figure(value!, window.privacy.statistics.meanOccupancy)));
  };
}

/** The largest number of `className` present in `zone` in one analysed frame of the window. */
export function peakReading(zone: string, className: ReleasedClass): Reading {
  return (window) => {
    const value = window.zones[zone]?.classes[className]?.peakOccupancy;
    return value === undefined ? undefined : figure(value, window.privacy.statistics.peakOccupancy);
  };
}

/** A sum over windows, and how many windows went into it. */
export interface Total extends Figure {
  windowCount: number;
}

/** The sum of a reading over the windows that hold it (withheld windows add nothing: say so where it is shown). */
export function totalOver(windows: readonly ReleasedWindow[], reading: Reading): Total {
  const figures = windows.map(reading).filter((item) => item !== undefined);
  return { ...sumFigures(figures), windowCount: figures.length };
}

/**
 * The mean over the windows that hold the reading, each weighted by its length (a clip's last window may be
 * short): Σ wᵢxᵢ / Σ wᵢ, s.d. √(Σ wᵢ²σᵢ²) / Σ wᵢ. Undefined when no window holds it.
 */
export function timeWeightedMean(windows: readonly ReleasedWindow[], reading: Reading): Figure | undefined {
  const held = windows.flatMap((window) => {
    const item = reading(window);
    return item ? [{ item, seconds: window.endSeconds - window.startSeconds }] : [];
  });
  const totalSeconds = held.reduce((sum, { seconds }) => sum + seconds, 0);
  if (held.length === 0 || totalSeconds <= 0) return undefined;
  return sumFigures(held.map(({ item, seconds }) => scaleFigure(item, seconds / totalSeconds)));
}

/**
 * The window with the largest released value and that value's figure. Its s.d. is the one window's; note that
 * picking the largest of several noised values favours upward noise when windows are close, so the figure tells
 * the busiest window's level, not a bound on it.
 */
export function largestWindow(windows: readonly ReleasedWindow[], reading: Reading): { window: ReleasedWindow; figure: Figure } | undefined {
  let largest: { window: ReleasedWindow; figure: Figure } | undefined;
  for (const window of windows) {
    const item = reading(window);
    if (item && (!largest || item.value > largest.figure.value)) largest = { window, figure: item };
  }
  return largest;
}

/** A total over one period (an hour, a day) of the clip. */
export interface PeriodTotal extends Total {
  startSeconds: number;
  endSeconds: number;
  /** Every second of the period is covered by a released window holding the reading. */
  complete: boolean;
}

/**
 * Totals per period of `periodSeconds` counted from the clock's 0 (the clip's start; a window belongs to the
 * period its start falls in), in time order, each the sum of its own windows with its own s.d. A period whose
 * windows were partly withheld, or that the clip ends inside, is not `complete`.
 */
export function periodTotals(windows: readonly ReleasedWindow[], reading: Reading, periodSeconds: number): PeriodTotal[] {
  const periods = new Map<number, ReleasedWindow[]>();
  for (const window of windows) {
    const index = Math.floor(window.startSeconds / periodSeconds);
    periods.set(index, [...(periods.get(index) ?? []), window]);
  }
  return [...periods.entries()]
    .sort(([a], [b]) => a - b)
    .map(([index, members]) => {
      const startSeconds = index * periodSeconds;
      const covered = members.filter((window) => reading(window) !== undefined).reduce((sum, window) => sum + (window.endSeconds - window.startSeconds), 0);
      return { startSeconds, endSeconds: startSeconds + periodSeconds, complete: covered >= periodSeconds, ...totalOver(members, reading) };
    });
}

/** Seconds as h:mm:ss, or m:ss under an hour. */
function clipTime(seconds: number): string {
  const whole = Math.round(seconds);
  const minutesSeconds = `${String(Math.floor((whole % 3600) / 60)).padStart(whole >= 3600 ? 2 : 1, '0')}:${String(whole % 60).padStart(2, '0')}`;
  return whole >= 3600 ? `${Math.floor(whole / 3600)}:${minutesSeconds}` : minutesSeconds;
}

/**
 * A time in a report as its reader's clock: UTC for live windows (`clock: "wall"`, Unix seconds) and for placed
 * footage (clip seconds after `recordedAt`), clip time (m:ss) otherwise. To the second when `toTheSecond` (windows
 * shorter than a minute would otherwise all read the same), else to the minute.
 */
export function clockLabel(seconds: number, clock: ReleasedWindow['clock'], recordedAt: string | undefined, toTheSecond: boolean): string {
  const unixSeconds = clock === 'wall' ? seconds : recordedAt ? Date.parse(recordedAt) / 1000 + seconds : undefined;
  if (unixSeconds === undefined) return clipTime(seconds);
  return `${new Date(unixSeconds * 1000).toISOString().slice(11, toTheSecond ? 19 : 16)}Z`;
}
