/**
 * The one-screen summary printed at the end of a batch run, from the released windows only, for its three readers:
 *   - a traffic engineer: per line, class and direction, the total over the clip, hourly totals and the peak hour
 *     when the clip spans more than an hour, daily totals and the average day when it spans more than a day;
 *   - a crowd manager: per zone, the mean occupancy over the clip and the busiest window's peak;
 *   - a data-protection officer: per statistic, what one track can change (sensitivity), the ε it cost and the
 *     noise's s.d., and what the footage's budget per event has left.
 * Every noised figure is printed with the s.d. of that figure (a sum of n windows: √n times one window's, see
 * stages/privacy/figures.ts), never bare (issue 8.6); totals sum the unbiased values and clamp only the result.
 */
import path from 'node:path';
import { classesOf } from '../models/detection.ts';
import { formatFigure, NOISE_BAND_STANDARD_DEVIATIONS, scaleFigure, sumFigures, withinNoise, type Figure } from '../stages/privacy/figures.ts';
import { describeProtectedEvent, type Statistic } from '../stages/privacy/settings.ts';
import { RELEASED_CLASSES, type ReleasedClass, type ReleasedWindow } from '../stages/released.ts';
import type { Report } from '../streams/report.ts';
import type { InferenceCounts } from '../stages/motion.ts';
import {
  clockLabel,
  coveredSeconds,
  crossingsReading,
  largestWindow,
  isPartial,
  meanOccupancyReading,
  peakReading,
  periodTotals,
  seriesOf,
  timeWeightedMean,
  totalOver,
  type PeriodTotal,
  type ReleaseSeries,
  type Total,
} from '../streams/reportFigures.ts';

const HOUR_SECONDS = 3600;
const DAY_SECONDS = 86_400;
/** More hourly totals than this do not fit one screen per direction; the CSV holds them all. */
const MAX_PERIODS_LISTED = 8;
const VEHICLE_CLASSES: readonly ReleasedClass[] = classesOf('vehicle');

/** A group of released classes read as one figure, e.g. "vehicles" = the vehicle category, or its classes summed. */
export interface ClassGroup {
  label: string;
  classes: ReleasedClass[];
}

export interface DirectionFigures {
  direction: 'forward' | 'backward';
  total: Total;
  /** Present when the clip spans more than an hour. */
  hours?: PeriodTotal[];
  /** The complete hour with the largest total. */
  peakHour?: PeriodTotal;
  /** Present when the clip spans more than a day. */
  days?: PeriodTotal[];
  /** Mean of the complete days' totals (average daily traffic). */
  averageDay?: Figure;
}

export interface LineFigures {
  line: string;
  group: ClassGroup;
  /** The crossings series the totals are read from (the one whose clip total has the smallest s.d.). */
  windowSeconds: number;
  /** Seconds of footage its released windows cover: less than their count × windowSeconds when one is partial. */
  coveredSeconds: number;
  directions: DirectionFigures[];
}

export interface ZoneFigures {
  zone: string;
  group: ClassGroup;
  /** Mean occupancy over the clip, and the windows' length it was read from. */
  mean?: { windowSeconds: number; figure: Figure };
  /**
   * Per-window peaks (one class; a category counts as one): their mean, and the largest released one. The largest
   * of many noised values reads high when windows are alike (it picks the largest noise); the mean does not.
   */
  peak?: { windowSeconds: number; windowCount: number; mean: Figure; largest: Figure; largestAt: number };
}

export interface StatisticTermsLine {
  statistic: Statistic;
  windowSeconds: number;
  epsilon: number;
  sensitivity: number;
  standardDeviation: number;
}

export interface SummaryFigures {
  lines: LineFigures[];
  zones: ZoneFigures[];
  /** The privacy terms of each released series, from its first released window. */
  terms: StatisticTermsLine[];
}

const CLASS_LABELS: Partial<Record<ReleasedClass, string>> = { person: 'people', vehicle: 'vehicles', bus: 'buses' };
const label = (name: ReleasedClass) => CLASS_LABELS[name] ?? `${name}s`;

/** The class groups released: each released class, plus the vehicles summed when each vehicle class is its own. */
function classGroups(windows: readonly ReleasedWindow[], cells: (window: ReleasedWindow) => Array<Record<string, unknown>>): ClassGroup[] {
  const present = new Set(windows.flatMap((window) => cells(window).flatMap((classes) => Object.keys(classes))));
  const released = RELEASED_CLASSES.filter((name) => present.has(name));
  const groups = released.map((name) => ({ label: label(name), classes: [name] }));
  const vehicleClasses = released.filter((name) => VEHICLE_CLASSES.includes(name));
  if (!present.has('vehicle') && vehicleClasses.length > 1) groups.push({ label: 'vehicles (all classes)', classes: vehicleClasses });
  return groups;
}

function byDirection(series: ReleaseSeries, line: string, group: ClassGroup, spanSeconds: number): DirectionFigures[] {
  return (['forward', 'backward'] as const).map((direction) => {
    const reading = crossingsReading(line, group.classes, direction);
    const figures: DirectionFigures = { direction, total: totalOver(series.windows, reading) };
    if (spanSeconds > HOUR_SECONDS) {
      figures.hours = periodTotals(series.windows, reading, HOUR_SECONDS);
      figures.peakHour = figures.hours.filter((hour) => hour.complete).reduce<PeriodTotal | undefined>((a, b) => (!a || b.value > a.value ? b : a), undefined);
    }
    if (spanSeconds > DAY_SECONDS) {
      figures.days = periodTotals(series.windows, reading, DAY_SECONDS);
      const complete = figures.days.filter((day) => day.complete);
      if (complete.length > 0) figures.averageDay = scaleFigure(sumFigures(complete), 1 / complete.length);
    }
    return figures;
  });
}

/**
 * Of the series releasing `statistic` (a camera may release crossings at two lengths), the one whose figure over the
 * whole clip has the smallest s.d.: a total of n windows has σ√n, a mean σ/√n. Judged on every window of the series,
 * withheld ones included, so a series is not preferred for having released less.
 */
function leastNoisy(series: ReleaseSeries[], statistic: Statistic, figure: 'total' | 'mean'): ReleaseSeries | undefined {
  const spread = (candidate: ReleaseSeries) => {
    const stated = candidate.windows.find((window) => window.status === 'released')?.privacy.statistics[statistic]?.standardDeviation ?? Infinity;
    return figure === 'total' ? stated * Math.sqrt(candidate.windows.length) : stated / Math.sqrt(candidate.windows.length);
  };
  return series.reduce<ReleaseSeries | undefined>((best, next) => (!best || spread(next) < spread(best) ? next : best), undefined);
}

/** Seconds of footage the released windows cover, to the millisecond (streams/reportFigures.ts, coveredSeconds). */
function releasedCoverage(windows: readonly ReleasedWindow[]): number {
  return Number(windows.filter((window) => window.status === 'released').reduce((sum, window) => sum + coveredSeconds(window), 0).toFixed(3));
}

/**
 * The figures the summary prints, each with its own s.d. Throws nothing; a statistic that was not released (or a
 * clip whose windows were all withheld) simply has no figure.
 */
export function summaryFigures(report: Report): SummaryFigures {
  const spanSeconds = Math.max(report.clip.durationSeconds ?? 0, ...report.windows.map((window) => window.endSeconds));
  const crossingSeries = seriesOf(report, 'crossings');
  const lineWindows = crossingSeries.flatMap((series) => series.windows);
  const series = leastNoisy(crossingSeries, 'crossings', 'total');
  const lines = series
    ? report.settings.lines.flatMap((line) =>
        classGroups(lineWindows, (window) => (window.lines[line.name] ? [window.lines[line.name]!.classes] : [])).map((group) => ({
          line: line.name,
          group,
          windowSeconds: series.windowSeconds,
          coveredSeconds: releasedCoverage(series.windows),
          directions: byDirection(series, line.name, group, spanSeconds),
        })),
      )
    : [];
  const meanSeries = seriesOf(report, 'meanOccupancy');
  const mean = leastNoisy(meanSeries, 'meanOccupancy', 'mean');
  const peakSeries = seriesOf(report, 'peakOccupancy');
  const zoneWindows = [...meanSeries, ...peakSeries].flatMap((series) => series.windows);
  const zones = report.settings.zones.flatMap((zone) =>
    classGroups(zoneWindows, (window) => (window.zones[zone.name] ? [window.zones[zone.name]!.classes] : []))
      .filter((group) => group.classes.length === 1)
      .map((group): ZoneFigures => {
        const figures: ZoneFigures = { zone: zone.name, group };
        const meanFigure = mean && timeWeightedMean(mean.windows, meanOccupancyReading(zone.name, group.classes));
        if (mean && meanFigure) figures.mean = { windowSeconds: mean.windowSeconds, figure: meanFigure };
        // The shortest peak series: a peak over a minute is what a crowd manager acts on.
        const peaks = peakSeries[0];
        const reading = peakReading(zone.name, group.classes[0]!);
        const largest = peaks && largestWindow(peaks.windows, reading);
        const typical = peaks && timeWeightedMean(peaks.windows, reading);
        if (largest && typical) {
          figures.peak = { windowSeconds: peaks.windowSeconds, windowCount: totalOver(peaks.windows, reading).windowCount, mean: typical, largest: largest.figure, largestAt: largest.window.startSeconds };
        }
        return figures;
      }),
  );
  const terms = seriesOf(report).flatMap((series) => {
    const released = series.windows.find((window) => window.status === 'released');
    return series.statistics.flatMap((statistic) => {
      const stated = released?.privacy.statistics[statistic];
      return stated ? [{ statistic, windowSeconds: series.windowSeconds, ...stated }] : [];
    });
  });
  return { lines, zones, terms };
}

const STATISTIC_NAMES: Record<Statistic, string> = { crossings: 'crossings', peakOccupancy: 'peak occupancy', meanOccupancy: 'mean occupancy' };

/** A clip second as the reader's clock (streams/reportFigures.ts), or the date alone for daily totals. */
function timeLabel(report: Report, seconds: number, precision: 'date' | 'minute' | 'second' = 'minute'): string {
  if (precision === 'date' && report.clip.recordedAt) return new Date(Date.parse(report.clip.recordedAt) + seconds * 1000).toISOString().slice(0, 10);
  return clockLabel(seconds, 'clip', report.clip.recordedAt, precision === 'second');
}

const rounded = (value: number) => String(Number(value.toPrecision(2)));

/**
 * A figure as printed: value ± s.d., and "(within the noise)" when it could be noise alone (withinNoise; `among`
 * when it is the largest of that many), so that noise on a street with no buses never reads as a bus.
 */
function shown(item: Figure, { decimals = 0, among = 1 }: { decimals?: number; among?: number } = {}): string {
  return `${formatFigure(item, decimals)}${withinNoise(item, among) ? ' (within the noise)' : ''}`;
}

const windowsText = (count: number) => `${count} window${count === 1 ? '' : 's'}`;

function periodLine(report: Report, what: string, periods: PeriodTotal[], withDate: boolean): string {
  const listed = periods.slice(0, MAX_PERIODS_LISTED).map((period) => `${timeLabel(report, period.startSeconds, withDate ? 'date' : 'minute')} ${shown(period)}${period.complete ? '' : ' (part)'}`);
  const more = periods.length > MAX_PERIODS_LISTED ? `, … ${periods.length - MAX_PERIODS_LISTED} more in report.csv` : '';
  return `      ${what}: ${listed.join(', ')}${more}`;
}

function privacyLines(report: Report, figures: SummaryFigures): string[] {
  if (!report.private) return ['  !!! NOT PRIVATE: calibration run (--epsilon off), exact counts. Do not publish this report. !!!'];
  const blocks = report.windows.map((window) => window.privacy);
  const first = blocks[0];
  if (!first) return [];
  const budgets = blocks.map((block) => block.budget);
  const spent = Math.max(...budgets.map((budget) => budget.epsilonSpent));
  const left = Math.min(...budgets.map((budget) => budget.epsilonLeft));
  const lines = [
    `  privacy: ${first.mechanism}${first.delta > 0 ? ` (δ = ${first.delta})` : ''}, ${describeProtectedEvent(first.budget.epsilonPerEvent, first.rhoSeconds, first.eventReachSeconds - first.rhoSeconds)}; ` +
      `on this footage an event has been charged up to ε ${rounded(spent)}, ${rounded(left)} left`,
  ];
  for (const terms of figures.terms) {
    lines.push(`    ${STATISTIC_NAMES[terms.statistic]} per ${terms.windowSeconds} s: one track changes a value by ≤ ${rounded(terms.sensitivity)}, ε ${rounded(terms.epsilon)}, noise ± ${rounded(terms.standardDeviation)} per value`);
  }
  return lines;
}

function lineSummary(report: Report, figures: LineFigures): string[] {
  const [forward, backward] = figures.directions;
  const fullSeconds = forward!.total.windowCount * figures.windowSeconds;
  const covering = figures.coveredSeconds < fullSeconds ? `, covering ${figures.coveredSeconds} s of footage` : '';
  const out = [`  line ${figures.line}, ${figures.group.label}: forward ${shown(forward!.total)}, backward ${shown(backward!.total)} (${windowsText(forward!.total.windowCount)} of ${figures.windowSeconds} s${covering})`];
  for (const direction of figures.directions) {
    if (direction.hours) {
      const completeHours = direction.hours.filter((hour) => hour.complete).length;
      const peak = direction.peakHour ? `; peak hour ${timeLabel(report, direction.peakHour.startSeconds)} ${shown(direction.peakHour, { among: completeHours })}` : '';
      out.push(periodLine(report, `hourly ${direction.direction}`, direction.hours, false) + peak);
    }
    if (direction.days) {
      const average = direction.averageDay ? `; average day ${shown(direction.averageDay)}` : '';
      out.push(periodLine(report, `daily ${direction.direction}`, direction.days, true) + average);
    }
  }
  return out;
}

function zoneSummary(report: Report, figures: ZoneFigures): string {
  const mean = figures.mean ? `mean ${shown(figures.mean.figure, { decimals: 1 })} over the clip` : 'no mean released';
  const { peak: peaks } = figures;
  const peak = !peaks
    ? ''
    : peaks.windowCount === 1
      ? `; peak ${shown(peaks.largest)}`
      : `; peak per ${peaks.windowSeconds} s: mean ${shown(peaks.mean, { decimals: 1 })}, largest ${shown(peaks.largest, { among: peaks.windowCount })} at ${timeLabel(report, peaks.largestAt, peaks.windowSeconds < 60 ? 'second' : 'minute')}`;
  return `  zone ${figures.zone}, ${figures.group.label}: ${mean}${peak}`;
}

/** One line on the detector's work: frames it ran on, and those the motion gate skipped as still. */
export function describeInferences({ run, skipped }: InferenceCounts): string {
  const frames = run + skipped;
  const saved = skipped === 0 ? 'the motion gate skipped none' : `the motion gate skipped ${skipped} whose picture had not changed (${(frames / Math.max(run, 1)).toFixed(2)}× fewer inferences)`;
  return `detector ran on ${run} of ${frames} frames; ${saved}`;
}

/**
 * The released windows of a series that cover only part of their length (the clip starts or ends inside them),
 * e.g. "; 1 partial, where the clip starts or ends: 6 of its 60 s from 00:00:00Z"; '' when there is none.
 */
function partialWindowsText(report: Report, windows: readonly ReleasedWindow[], windowSeconds: number): string {
  const partial = windows.filter((window) => window.status === 'released' && isPartial(window));
  if (partial.length === 0) return '';
  const covered = partial.map((window) => `${coveredSeconds(window)} of its ${windowSeconds} s from ${timeLabel(report, window.startSeconds, 'second')}`);
  return `; ${partial.length} partial, where the clip starts or ends: ${covered.join(', ')}`;
}

/**
 * When the analysed footage starts: the recording's start (--recorded-at), or for an excerpt (--start) that many
 * seconds later, saying both, e.g. "analysed from 2026-11-29T08:00:10.000Z, 10 s into the recording from
 * 2026-11-29T08:00:00.000Z".
 */
function placedFrom(recordedAt: string, startSeconds: number): string {
  if (startSeconds <= 0) return `recording from ${recordedAt}`;
  const analysedFrom = new Date(Date.parse(recordedAt) + startSeconds * 1000).toISOString();
  return `analysed from ${analysedFrom}, ${startSeconds} s into the recording from ${recordedAt}`;
}

/**
 * Prints the summary. `inferences`, when given, adds the detector's work (describeInferences): exact counts for the
 * operator's terminal, which a private report leaves out (docs/frugality.md).
 */
export function printSummary(report: Report, files: string[], out: NodeJS.WritableStream, inferences?: InferenceCounts): void {
  const figures = summaryFigures(report);
  const withheld = report.windows.filter((window) => window.status === 'withheld').length;
  const placed = report.clip.camera && report.clip.recordedAt ? ` (camera ${report.clip.camera}, ${placedFrom(report.clip.recordedAt, report.clip.startSeconds ?? 0)})` : '';
  const releasedIn = (windows: readonly ReleasedWindow[]) => windows.filter((window) => window.status === 'released').length;
  const series = seriesOf(report).map(
    (entry) => `${entry.statistics.map((statistic) => STATISTIC_NAMES[statistic]).join(' and ')} per ${entry.windowSeconds} s (${windowsText(releasedIn(entry.windows))}${partialWindowsText(report, entry.windows, entry.windowSeconds)})`,
  );
  const nothingReleased = report.windows.length > 0 && releasedIn(report.windows) === 0;
  const lines: string[] = [
    '',
    `Veil report — ${path.basename(report.clip.input)}${placed}`,
    nothingReleased
      ? `  ${report.framesAnalysed} frames analysed at ${report.settings.fps} frames/s; nothing released: this footage's privacy budget is already spent (a re-run, or a copy or excerpt of footage released before), so every window was withheld`
      : `  ${report.framesAnalysed} frames analysed at ${report.settings.fps} frames/s; released ${series.join(', ')}` +
        (withheld ? `; ${windowsText(withheld)} withheld (privacy budget spent) and left out of every total` : ''),
    ...(inferences ? [`  ${describeInferences(inferences)}`] : []),
    ...privacyLines(report, figures),
  ];
  if (report.private) {
    lines.push(
      '  each figure: value ± 1 s.d. of that figure (95% interval ≈ ± 2 s.d.); sums use the unbiased values, shown clamped at 0',
      `  "within the noise": less than ${NOISE_BAND_STANDARD_DEVIATIONS} s.d. from 0 (the largest of n windows or hours: ${NOISE_BAND_STANDARD_DEVIATIONS} + ln n / √2 s.d.), so there may be none at all`,
    );
  }
  for (const line of figures.lines) lines.push(...lineSummary(report, line));
  for (const zone of figures.zones) lines.push(zoneSummary(report, zone));
  lines.push(`  written: ${files.join(', ')}`, '');
  out.write(lines.join('\n'));
}
