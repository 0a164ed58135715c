/**
 * The batch summary and the CSV: every figure they give carries the s.d. of that figure. Checked the way issue 8
 * asks: the same exact counts are released many times (each draw a fresh span of footage in a real ledger, so none
 * is withheld) and each figure's stated s.d. is compared with the spread of its values over the draws.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { printSummary, summaryFigures, type SummaryFigures } from '../../pipeline/summary.ts';
import type { Figure } from '../../stages/privacy/figures.ts';
import { openLedger, type Ledger } from '../../stages/privacy/ledger.ts';
import { reportCsv, type Report } from '../../streams/report.ts';
import { occupancy, releaseClip, vehicleCrossings, type WindowSpan } from '../helpers/releasedReport.ts';

/**
 * More than the 1000: the largest sample s.d. error the 10% bound must absorb is that of a single discrete
 * Laplace value (kurtosis 6), whose relative standard error is √((6 − 1) / 4n) = 3.5% at n = 1000 but 2.5% at
 * n = 2000, which puts 10% four standard errors out.
 */
const DRAWS = 2000;
const WINDOW_SECONDS = 900;
const CLIP_SECONDS = 2 * 3600;
/** Each draw's footage starts 10 days after the previous one's, far beyond any event's reach. */
const DRAW_SPACING_SECONDS = 10 * 86_400;
/** Crossings, mean and peak occupancy, all per 900 s so a draw is 8 releases (the figures' maths is the same at 60 s). */
const PRIVACY = {
  epsilon: 1,
  releases: [
    { statistic: 'crossings', windowSeconds: WINDOW_SECONDS, share: 0.5 },
    { statistic: 'meanOccupancy', windowSeconds: WINDOW_SECONDS, share: 0.25 },
    { statistic: 'peakOccupancy', windowSeconds: WINDOW_SECONDS, share: 0.25 },
  ],
};

/**
 * The truth: 100 vehicles forward per 900 s in the first hour, 50 in the second (so the peak hour is the first
 * whatever the noise), none backward, no people on the line; 3 people on average in the hall, peaking at 100 in
 * the fourth window and 2 in the others (so the busiest window is the fourth whatever the noise).
 */
function exact({ startSeconds }: WindowSpan) {
  const index = startSeconds / WINDOW_SECONDS;
  return {
    zones: { hall: occupancy({ meanOccupancy: 3, peakOccupancy: index === 3 ? 100 : 2 }) },
    lines: { gate: vehicleCrossings(index < 4 ? 100 : 50, 0) },
  };
}

let directory: string;
let ledger: Ledger;
let reports: Report[];

/** Every figure of the summary, by a name that says where it is printed. */
function figuresByName(figures: SummaryFigures): Map<string, Figure> {
  const named = new Map<string, Figure>();
  for (const line of figures.lines) {
    for (const direction of line.directions) {
      const at = `line ${line.line} ${line.group.label} ${direction.direction}`;
      named.set(`${at} total`, direction.total);
      direction.hours?.forEach((hour, index) => named.set(`${at} hour ${index}`, hour));
      if (line.group.label === 'vehicles' && direction.direction === 'forward') named.set(`${at} peak hour`, direction.peakHour!);
    }
  }
  for (const zone of figures.zones) {
    const at = `zone ${zone.zone} ${zone.group.label}`;
    named.set(`${at} mean`, zone.mean!.figure);
    named.set(`${at} mean of peaks`, zone.peak!.mean);
    if (zone.group.label === 'people') named.set(`${at} largest peak`, zone.peak!.largest);
  }
  return named;
}

function spread(values: readonly number[]): { mean: number; standardDeviation: number } {
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  return { mean, standardDeviation: Math.sqrt(values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (values.length - 1)) };
}

describe('summary figures over many private releases', () => {
  beforeAll(() => {
    // The ledger fsyncs every spend (16 000 here): on a RAM-backed folder, when there is one, that takes seconds.
    directory = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'veil-summary-'));
    ledger = openLedger(join(directory, 'ledger'), { createIfMissing: true });
    const start = Date.UTC(2025, 0, 1) / 1000;
    reports = Array.from({ length: DRAWS }, (_, draw) =>
      releaseClip({ privacy: PRIVACY, zones: [{ name: 'hall' }], lines: ['gate'], durationSeconds: CLIP_SECONDS, exact, ledger, recordedAtSeconds: start + draw * DRAW_SPACING_SECONDS }),
    );
  }, 600_000);

  afterAll(() => {
    ledger?.close();
    rmSync(directory, { recursive: true, force: true });
  });

  it('states for each figure an s.d. within 10% of its spread over the draws, and centres it on the truth', () => {
    expect(reports.every((report) => report.windows.every((window) => window.status === 'released'))).toBe(true);
    const draws = reports.map((report) => figuresByName(summaryFigures(report)));
    const names = [...draws[0]!.keys()];
    // 2 class groups × 2 directions × (total + 2 hours) + the peak hour, and 2 × (mean, mean of peaks) + 1 largest peak.
    expect(names).toHaveLength(2 * 2 * 3 + 1 + 2 * 2 + 1);
    // Independent expectations of the truth, from `exact` by hand: a total over 8 windows, an hour over 4.
    const truth: Record<string, number> = {
      'line gate vehicles forward total': 4 * 100 + 4 * 50,
      'line gate vehicles forward hour 0': 400,
      'line gate vehicles forward hour 1': 200,
      'line gate vehicles forward peak hour': 400,
      'line gate vehicles backward total': 0,
      'line gate people forward total': 0,
      'zone hall people mean': 3,
      'zone hall people mean of peaks': (100 + 7 * 2) / 8,
      'zone hall people largest peak': 100,
    };
    const misfits: string[] = [];
    for (const name of names) {
      const stated = draws.map((figures) => figures.get(name)!.standardDeviation);
      expect(new Set(stated).size, `${name}: the stated s.d. follows from the settings alone`).toBe(1);
      const observed = spread(draws.map((figures) => figures.get(name)!.value));
      const ratio = observed.standardDeviation / stated[0]!;
      if (Math.abs(ratio - 1) > 0.1) misfits.push(`${name}: stated ${stated[0]!.toFixed(3)}, observed ${observed.standardDeviation.toFixed(3)}`);
      if (name in truth) {
        const standardError = stated[0]! / Math.sqrt(DRAWS);
        expect(Math.abs(observed.mean - truth[name]!), `${name}: mean ${observed.mean} vs truth ${truth[name]}`).toBeLessThan(4 * standardError);
      }
    }
    expect(misfits).toEqual([]);
  });

  it('states for each CSV value an s.d. within 10% of its spread over the draws', () => {
    const rows = reports.map((report) => reportCsv(report.windows).trim().split('\n').slice(1).map((row) => row.split(',')));
    const misfits: string[] = [];
    // One value of each statistic, class and direction in the second window (whose truth is a plain 2 or 100 or 3).
    rows[0]!.forEach((row, index) => {
      if (row[0] !== String(WINDOW_SECONDS)) return;
      const stated = Number(row[11]);
      const observed = spread(rows.map((draw) => Number(draw[index]![10]))).standardDeviation;
      if (!(stated > 0) || Math.abs(observed / stated - 1) > 0.1) misfits.push(`${row.slice(5, 10).join(' ')}: stated ${stated}, observed ${observed.toFixed(3)}`);
    });
    expect(rows[0]!.filter((row) => row[0] === String(WINDOW_SECONDS))).toHaveLength(2 * 2 + 2 * 2);
    expect(misfits).toEqual([]);
  });

  it('prints every noised figure with its s.d., hourly totals and the peak hour, and the terms per statistic', () => {
    let printed = '';
    const sink = new Writable({ write: (chunk, _encoding, done) => ((printed += String(chunk)), done()) });
    printSummary(reports[0]!, ['out/report.json'], sink);
    const figures = summaryFigures(reports[0]!);
    const forward = figures.lines.find((line) => line.group.label === 'vehicles')!.directions[0]!;
    // s.d. of a total of 8 windows of crossings: √8 times one window's.
    expect(forward.total.standardDeviation).toBeCloseTo(Math.sqrt(8) * reports[0]!.windows[0]!.privacy.statistics.crossings!.standardDeviation, 9);
    expect(printed).toContain(`line gate, vehicles: forward ${Math.max(0, Math.round(forward.total.value))} ± ${Number(forward.total.standardDeviation.toPrecision(2))}`);
    expect(printed).toMatch(/hourly forward: 00:00Z \d+ ± [\d.]+, 01:00Z \d+ ± [\d.]+; peak hour 00:00Z \d+ ± [\d.]+/);
    expect(printed).toMatch(/crossings per 900 s: one track changes a value by ≤ 1, ε 0\.5, noise ± [\d.]+ per value/);
    // ρ = 0: what ε covers is said as it is (all crossings, occupancy for a moment in view), never "a visit of up to 0 s".
    expect(printed).toContain('ε = 1 per track (all its crossings; its occupancy in full for a moment in view + 1 s the tracker may coast');
    expect(printed).not.toContain('up to 0 s');
    expect(printed).toMatch(/zone hall, people: mean [\d.]+ ± [\d.]+( \(within the noise\))? over the clip; peak per 900 s: mean [\d.]+ ± [\d.]+( \(within the noise\))?, largest \d+ ± [\d.]+ at 00:45Z/);
    // No count is printed bare: every number after a figure's name is followed by its ±.
    const figureLines = printed.split('\n').filter((text) => /^ +(line|zone|hourly) /.test(text));
    expect(figureLines).toHaveLength(2 * 3 + 2);
    for (const line of figureLines) {
      expect(line.replace(/\d+(\.\d+)? ± [\d.]+/g, '').replace(/\d+ windows of \d+ s|per \d+ s|\d\d:\d\dZ/g, '')).not.toMatch(/\d/);
    }
  });
  it('says "within the noise" of the figures of nothing in most draws, and never of real traffic or a real crowd', () => {
    const printed = reports.map((report) => {
      let text = '';
      printSummary(report, ['out/report.json'], new Writable({ write: (chunk, _encoding, done) => ((text += String(chunk)), done()) }));
      return text;
    });
    const lineOf = (text: string, start: string) => text.split('\n').find((line) => line.startsWith(start))!;
    const share = (test: (text: string) => boolean) => printed.filter(test).length / printed.length;
    // Truth 0 (no person crosses, no vehicle goes backward): a total within ± 2 s.d. about 95 % of the time.
    expect(share((text) => /^ +line gate, people: forward \d+ ± [\d.]+ \(within the noise\)/.test(lineOf(text, '  line gate, people:')))).toBeGreaterThan(0.9);
    expect(share((text) => /backward \d+ ± [\d.]+ \(within the noise\)/.test(lineOf(text, '  line gate, vehicles:')))).toBeGreaterThan(0.9);
    // 600 vehicles forward, 400 in the peak hour, a peak of 100 people: far beyond the noise, never so marked.
    expect(share((text) => /forward \d+ ± [\d.]+ \(within/.test(lineOf(text, '  line gate, vehicles:')))).toBe(0);
    const vehiclesHourlyForward = (text: string) => {
      const lines = text.split('\n');
      return lines[lines.indexOf(lineOf(text, '  line gate, vehicles:')) + 1]!;
    };
    expect(printed.every((text) => /^ +hourly forward: .*; peak hour /.test(vehiclesHourlyForward(text)))).toBe(true);
    expect(share((text) => /peak hour \S+ \d+ ± [\d.]+ \(within/.test(vehiclesHourlyForward(text)))).toBe(0);
    // The peak of 100 has ± 11 or so and its band is 2 + ln 8 / √2 = 3.5 s.d.: below it only on a 5-s.d. draw.
    expect(share((text) => /largest \d+ ± [\d.]+ \(within/.test(lineOf(text, '  zone hall, people:')))).toBeLessThan(0.005);
  });
});

describe('summary periods', () => {
  /** 50 h of exact counts (calibration): 10 vehicles forward per 900 s on the first day, 20 after. */
  const report = releaseClip({
    privacy: { epsilon: 'off', releases: PRIVACY.releases },
    zones: [{ name: 'hall' }],
    lines: ['gate'],
    durationSeconds: 50 * 3600,
    exact: ({ startSeconds }) => ({ zones: { hall: occupancy({ meanOccupancy: 3, peakOccupancy: 5 }) }, lines: { gate: vehicleCrossings(startSeconds < 86_400 ? 10 : 20, 0) } }),
  });

  it('totals hours and days from the clip start, marks the partial day, and averages the complete days', () => {
    const forward = summaryFigures(report).lines.find((line) => line.group.label === 'vehicles')!.directions[0]!;
    // By hand: 4 windows an hour → 40 then 80 per hour; 96 windows a day → 960, 1920, then 2 h × 80 = 160.
    expect(forward.total).toEqual({ value: 96 * 10 + 104 * 20, standardDeviation: 0, windowCount: 200 });
    expect(forward.hours!.map((hour) => hour.value)).toEqual([...Array(24).fill(40), ...Array(26).fill(80)]);
    expect(forward.peakHour!.startSeconds).toBe(24 * 3600);
    expect(forward.days!.map(({ value, complete }) => ({ value, complete }))).toEqual([
      { value: 960, complete: true },
      { value: 1920, complete: true },
      { value: 160, complete: false },
    ]);
    expect(forward.averageDay).toEqual({ value: (960 + 1920) / 2, standardDeviation: 0 });
  });

  it('prints exact figures without ±, lists at most 8 hours and warns that the report is not private', () => {
    let printed = '';
    printSummary(report, ['out/report.json'], new Writable({ write: (chunk, _encoding, done) => ((printed += String(chunk)), done()) }));
    expect(printed).toContain('NOT PRIVATE');
    expect(printed).toContain('line gate, vehicles: forward 3040, backward 0 (200 windows of 900 s)');
    expect(printed).toContain('hourly forward: 0:00 40, 1:00:00 40, 2:00:00 40');
    expect(printed).toContain('… 42 more in report.csv; peak hour 24:00:00 80');
    expect(printed).toContain('daily forward: 0:00 960, 24:00:00 1920, 48:00:00 160 (part); average day 1440');
    expect(printed).toContain('zone hall, people: mean 3 over the clip; peak per 900 s: mean 5, largest 5 at 0:00');
    expect(printed).not.toContain('detector ran on');
  });

  it('adds the detector’s work when given it: frames run, frames the motion gate skipped, and how many times fewer', () => {
    let printed = '';
    printSummary(report, ['out/report.json'], new Writable({ write: (chunk, _encoding, done) => ((printed += String(chunk)), done()) }), { run: 40, skipped: 60 });
    // 100 frames for 40 inferences: 100 / 40 = 2.5 times fewer.
    expect(printed).toContain('detector ran on 40 of 100 frames; the motion gate skipped 60 whose picture had not changed (2.50× fewer inferences)');
  });
});

describe('a clip shorter than its windows', () => {
  it('names each partial window and the footage the line totals cover: 90 s in 60 s occupancy and 900 s crossings windows', () => {
    const report = releaseClip({
      privacy: { epsilon: 'off', releases: [{ statistic: 'crossings', windowSeconds: 900, share: 0.5 }, { statistic: 'meanOccupancy', windowSeconds: 60, share: 0.5 }] },
      zones: [{ name: 'hall' }],
      lines: ['gate'],
      durationSeconds: 90,
      exact: () => ({ zones: { hall: occupancy({ meanOccupancy: 3, peakOccupancy: 5 }) }, lines: { gate: vehicleCrossings(4, 0) } }),
    });
    let printed = '';
    printSummary(report, ['out/report.json'], new Writable({ write: (chunk, _encoding, done) => ((printed += String(chunk)), done()) }));
    // Windows [0, 60) and [60, 90) of 60 s, [0, 90) of 900 s: the second and the third are partial.
    expect(printed).toContain('crossings per 900 s (1 window; 1 partial, where the clip starts or ends: 90 of its 900 s from 0:00)');
    expect(printed).toContain('mean occupancy per 60 s (2 windows; 1 partial, where the clip starts or ends: 30 of its 60 s from 1:00)');
    expect(printed).toContain('line gate, vehicles: forward 4, backward 0 (1 window of 900 s, covering 90 s of footage)');
  });
});

describe('a vehicle total summed from separately released classes', () => {
  let classDirectory: string;
  let classLedger: Ledger;
  beforeAll(() => {
    classDirectory = mkdtempSync(join(tmpdir(), 'veil-summary-classes-'));
    classLedger = openLedger(join(classDirectory, 'ledger'), { createIfMissing: true });
  });
  afterAll(() => {
    classLedger.close();
    rmSync(classDirectory, { recursive: true, force: true });
  });

  it('sums the classes as released and carries √(classes × windows) times one value’s s.d.', () => {
    const classCounts = { person: 0, bicycle: 1, car: 6, motorcycle: 0, bus: 2, truck: 3 };
    const report = releaseClip({
      privacy: { epsilon: 1, breakdown: 'class', releases: [{ statistic: 'crossings', windowSeconds: WINDOW_SECONDS, share: 1 }] },
      lines: ['gate'],
      durationSeconds: CLIP_SECONDS,
      ledger: classLedger,
      exact: () => ({ zones: {}, lines: { gate: Object.fromEntries(Object.entries(classCounts).map(([name, forward]) => [name, { forward, backward: 0 }])) } }),
    });
    const vehicles = summaryFigures(report).lines.find((line) => line.group.label === 'vehicles (all classes)')!;
    expect(vehicles.group.classes).toEqual(['bicycle', 'car', 'motorcycle', 'bus', 'truck']);
    const forward = vehicles.directions[0]!;
    // By hand from the windows: every vehicle class's released forward count, summed over the 8 windows.
    let released = 0;
    for (const window of report.windows) for (const name of ['bicycle', 'car', 'motorcycle', 'bus', 'truck'] as const) released += window.lines.gate!.classes[name]!.forward;
    expect(forward.total.value).toBe(released);
    const perValue = report.windows[0]!.privacy.statistics.crossings!.standardDeviation;
    expect(forward.total.standardDeviation).toBeCloseTo(Math.sqrt(5 * 8) * perValue, 9);
    expect(forward.hours![0]!.standardDeviation).toBeCloseTo(Math.sqrt(5 * 4) * perValue, 9);
  });
});
