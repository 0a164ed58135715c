import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openLedger, type Ledger } from '../../stages/privacy/ledger.ts';
import { renderChartSvg } from '../../streams/reportChart.ts';
import { reportCsv, reportSchema, writeReport, type Report } from '../../streams/report.ts';
import { reportSink } from '../../streams/sinks/reportSink.ts';
import { objectPaths, withExtraKey, type Json } from '../helpers/extraKeys.ts';
import { occupancy, releaseClip, vehicleCrossings, type WindowSpan } from '../helpers/releasedReport.ts';
import { chartMarks, chartTexts, svgElements } from '../helpers/chartMarks.ts';
import { leafPaths, unlistedLeaves } from '../helpers/reportShape.ts';

let dir: string;
let ledger: Ledger;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'veil-report-'));
  ledger = openLedger(path.join(dir, 'ledger'), { createIfMissing: true });
});

afterEach(async () => {
  ledger.close();
  await rm(dir, { recursive: true, force: true });
});

/** Truth per window: 2.5 people on average (peak 4) in 'door'; one car forward over 'gate' per 30 s, none backward. */
const exact = ({ startSeconds, endSeconds }: WindowSpan) => ({
  zones: { door: occupancy({ meanOccupancy: 2.5, peakOccupancy: 4 }) },
  lines: { gate: vehicleCrossings(Math.round((endSeconds - startSeconds) / 30), 0) },
});

const zones = [{ name: 'door', areaSquareMetres: 12 }];

/** 30 min at the defaults: crossings per 900 s (2 windows), occupancy per 60 s (30 windows). */
function privateReport(): Report {
  return releaseClip({ privacy: { epsilon: 1 }, zones, lines: ['gate'], durationSeconds: 1800, exact, ledger });
}

/** Calibration (exact values): occupancy per 60 s and crossings per 90 s over 150 s, so the last windows are short. */
function calibrationReport(): Report {
  const releases = [
    { statistic: 'meanOccupancy', windowSeconds: 60, share: 0.25 },
    { statistic: 'peakOccupancy', windowSeconds: 60, share: 0.25 },
    { statistic: 'crossings', windowSeconds: 90, share: 0.5 },
  ];
  return releaseClip({ privacy: { epsilon: 'off', releases }, zones, lines: ['gate'], durationSeconds: 150, exact });
}

describe('writeReport', () => {
  it('writes report.json, .csv, .svg and .png into the folder (creating it), and returns their paths', async () => {
    const outDir = path.join(dir, 'nested', 'out');
    const report = privateReport();
    const { files } = await writeReport(outDir, report);
    expect(files).toEqual(['report.json', 'report.csv', 'report.svg', 'report.png'].map((name) => path.join(outDir, name)));
    expect(JSON.parse(await readFile(files[0]!, 'utf8'))).toEqual(report);
    const png = await sharp(files[3]!).metadata();
    expect(png.format).toBe('png');
    expect(png.width).toBe(960);
  });

  it('accepts the private report as released, including negative noised values, and places the footage', async () => {
    const report = privateReport();
    expect(report.clip).toEqual({ input: '/clips/overpass.mp4', durationSeconds: 1800, camera: 'overpass-1', recordedAt: '2025-11-29T08:00:00.000Z' });
    expect(report.settings.releases).toEqual([
      { statistic: 'crossings', windowSeconds: 900 },
      { statistic: 'peakOccupancy', windowSeconds: 60 },
      { statistic: 'meanOccupancy', windowSeconds: 60 },
    ]);
    const negative = structuredClone(report);
    negative.windows.find((w) => w.windowSeconds === 900)!.lines.gate!.classes.vehicle!.backward = -4;
    await expect(writeReport(path.join(dir, 'out'), negative)).resolves.toBeDefined();
  });

  it('refuses a report whose window carries anything beyond the released aggregates, and writes nothing', async () => {
    const leaky = privateReport();
    (leaky.windows[0] as unknown as Record<string, unknown>).boxes = [{ x: 0.1, y: 0.2, width: 0.1, height: 0.3 }];
    await expect(writeReport(path.join(dir, 'out'), leaky)).rejects.toThrow(/boxes/);
    await expect(access(path.join(dir, 'out'))).rejects.toThrow(/ENOENT/);
  });

  it('refuses extra keys in settings and clip, a per-class statistic with extra fields and a fractional count', async () => {
    const report = privateReport();
    const withWindow = structuredClone(report);
    (withWindow.settings as unknown as Record<string, unknown>).windowSeconds = 60;
    await expect(writeReport(dir, withWindow)).rejects.toThrow(/windowSeconds/);
    const withHash = structuredClone(report);
    (withHash.clip as unknown as Record<string, unknown>).sha256 = 'ab';
    await expect(writeReport(dir, withHash)).rejects.toThrow(/sha256/);
    const withTrack = structuredClone(report);
    (withTrack.windows.find((w) => w.windowSeconds === 60)!.zones.door!.classes.person as unknown as Record<string, unknown>).trackIds = [3, 8];
    await expect(writeReport(dir, withTrack)).rejects.toThrow(/trackIds/);
    const fractional = structuredClone(report);
    fractional.windows.find((w) => w.windowSeconds === 900)!.lines.gate!.classes.vehicle!.forward = 2.5;
    await expect(writeReport(dir, fractional)).rejects.toThrow();
  });
});

describe('the report schema: inference counts and the recording time', () => {
  const inferences = { run: 120, skipped: 3480 };

  it('refuses exact inference counts in a private report, at `inferences`, saying why', () => {
    const result = reportSchema.safeParse({ ...privateReport(), inferences });
    expect(result.success).toBe(false);
    expect(result.error!.issues.map(({ path, message }) => ({ path, message }))).toEqual([
      { path: ['inferences'], message: 'a private report must not carry exact inference counts' },
    ]);
  });

  it('accepts them in a calibration report, and a private report without them', () => {
    expect(reportSchema.safeParse({ ...calibrationReport(), inferences }).success).toBe(true);
    expect(reportSchema.safeParse(privateReport()).success).toBe(true);
  });

  it('accepts a recording time with a UTC offset (--recorded-at as a camera writes it) and refuses one without a zone', () => {
    const report = privateReport();
    const at = (recordedAt: string) => reportSchema.safeParse({ ...report, clip: { ...report.clip, recordedAt } }).success;
    expect(at('2025-11-29T09:00:00+01:00')).toBe(true);
    expect(at('2025-11-29T08:00:00Z')).toBe(true);
    expect(at('2025-11-29 08:00')).toBe(false);
  });
});

describe('the written files end with one newline (POSIX text files: `cat`, `wc -l` and diff read them whole)', () => {
  it('report.json and report.csv', async () => {
    const { files } = await writeReport(path.join(dir, 'out'), calibrationReport());
    for (const file of files.slice(0, 2)) {
      const text = await readFile(file!, 'utf8');
      expect([text.at(-1), text.at(-2)]).not.toContain(undefined);
      expect(text.at(-1)).toBe('\n');
      expect(text.at(-2)).not.toBe('\n');
    }
  });
});

describe('report.json has only the leaves the report format lists (issue 12, item 4)', () => {
  /** Writes the report and reads back the file as written, before any schema could drop a field. */
  const written = async (name: string, report: Report): Promise<unknown> => {
    const { files } = await writeReport(path.join(dir, name), report);
    return JSON.parse(await readFile(files[0]!, 'utf8'));
  };

  it('for a private report, a withheld one (the same footage again) and a calibration one', async () => {
    const released = await written('private', privateReport());
    const withheld = await written('withheld', privateReport());
    const calibration = await written('calibration', calibrationReport());
    // The cases are what they claim to be: the second run's every window is withheld, the first's none.
    const statuses = (json: unknown) => new Set((json as Report).windows.map((w) => w.status));
    expect([statuses(released), statuses(withheld)]).toEqual([new Set(['released']), new Set(['withheld'])]);
    expect((calibration as Report).private).toBe(false);
    for (const json of [released, withheld, calibration]) expect(unlistedLeaves(json)).toEqual([]);
    // A withheld window holds its reason and terms, and no value at all.
    expect(leafPaths(withheld).filter((leaf) => /^windows\[\]\.(zones|lines)/.test(leaf))).toEqual([]);
    expect(leafPaths(withheld)).toContain('windows[].withheldReason');
  });

  it('names a leaf the format does not list: a box inside a class, a frame time on a window', () => {
    const leaky = structuredClone(privateReport()) as unknown as { windows: Array<Record<string, unknown> & { zones: Record<string, { classes: Record<string, Record<string, unknown>> }> }> };
    leaky.windows[0]!.frameTimes = [0.5, 1];
    const occupancyWindow = leaky.windows.find((w) => Object.keys(w.zones).length > 0)!;
    occupancyWindow.zones.door!.classes.person!.boxes = [{ x: 0.1, y: 0.2 }];
    expect(unlistedLeaves(leaky).sort()).toEqual(['windows[].frameTimes[]', 'windows[].zones.*.classes.*.boxes[].x', 'windows[].zones.*.classes.*.boxes[].y']);
  });
});

describe('the report schema refuses an extra key at every level (issue 12)', () => {
  it.each([
    ['a private report', () => privateReport()],
    ['a calibration report', () => calibrationReport()],
  ])('%s: a "boxes" key is refused in every object, from the report down to a class’s statistics', (_, make) => {
    const report = make() as unknown as Json;
    expect(reportSchema.safeParse(report).success).toBe(true);
    const paths = objectPaths(report).map((path) => path.join('.'));
    // The walk reaches every level: clip, settings and its detector, a release, a zone, a window's privacy terms.
    expect(paths).toEqual(expect.arrayContaining(['', 'clip', 'settings', 'settings.detector', 'settings.releases.0', 'settings.zones.0', 'settings.lines.0', 'windows.0.privacy.budget']));
    expect(paths.some((path) => /^windows\.\d+\.zones\.door\.classes\.person$/.test(path))).toBe(true);
    expect(paths.some((path) => /^windows\.\d+\.lines\.gate\.classes\.vehicle$/.test(path))).toBe(true);
    expect(paths.some((path) => /^windows\.\d+\.privacy\.statistics\.\w+$/.test(path))).toBe(true);
    const accepted = objectPaths(report).filter((path) => reportSchema.safeParse(withExtraKey(report, path, 'boxes', [{ x: 0.1, y: 0.2 }])).success);
    expect(accepted.map((path) => path.join('.'))).toEqual([]);
  });
});

describe('reportCsv', () => {
  const HEADER = 'window_start_s,window_end_s,window_s,covered_s,status,kind,name,class,statistic,direction,value,standard_deviation,epsilon,area_m2,withheld_reason';

  it('has one row per released value with its window length, and exact values with s.d. 0 in a calibration run', () => {
    const [header, ...rows] = reportCsv(calibrationReport().windows).trim().split('\n');
    expect(header).toBe(HEADER);
    const zoneRows = (start: number, end: number) => [
      `${start},${end},60,${end - start},released,zone,door,person,mean_occupancy,,2.5,0,0,12,`,
      `${start},${end},60,${end - start},released,zone,door,person,peak_occupancy,,4,0,0,12,`,
      `${start},${end},60,${end - start},released,zone,door,vehicle,mean_occupancy,,0,0,0,12,`,
      `${start},${end},60,${end - start},released,zone,door,vehicle,peak_occupancy,,0,0,0,12,`,
    ];
    const lineRows = (start: number, end: number, forward: number) => [
      `${start},${end},90,${end - start},released,line,gate,person,crossings,forward,0,0,0,,`,
      `${start},${end},90,${end - start},released,line,gate,person,crossings,backward,0,0,0,,`,
      `${start},${end},90,${end - start},released,line,gate,vehicle,crossings,forward,${forward},0,0,,`,
      `${start},${end},90,${end - start},released,line,gate,vehicle,crossings,backward,0,0,0,,`,
    ];
    expect(new Set(rows)).toEqual(new Set([...zoneRows(0, 60), ...zoneRows(60, 120), ...zoneRows(120, 150), ...lineRows(0, 90, 3), ...lineRows(90, 150, 2)]));
    expect(rows).toHaveLength(20);
  });

  it('writes each private value as released, unclamped, beside the s.d. and ε its statistic states', () => {
    const report = privateReport();
    const rows = reportCsv(report.windows).trim().split('\n').slice(1).map((row) => row.split(','));
    expect(rows).toHaveLength(30 * 4 + 2 * 4);
    const statistics = { mean_occupancy: 'meanOccupancy', peak_occupancy: 'peakOccupancy', crossings: 'crossings' } as const;
    for (const [start, , length, , , kind, name, className, statisticName, direction, value, deviation, epsilon] of rows) {
      const window = report.windows.find((w) => String(w.startSeconds) === start && String(w.windowSeconds) === length)!;
      const statistic = statistics[statisticName as keyof typeof statistics];
      const cells = kind === 'zone' ? window.zones[name!]!.classes : window.lines[name!]!.classes;
      const cell = cells[className as 'person'] as Record<string, number>;
      expect(Number(value)).toBe(cell[kind === 'zone' ? statistic : direction!]);
      expect(Number(deviation)).toBe(window.privacy.statistics[statistic]!.standardDeviation);
      expect(Number(epsilon)).toBe(window.privacy.statistics[statistic]!.epsilon);
    }
  });

  it('writes a zone row only for a statistic the window releases (mean per 60 s, peak per 120 s)', () => {
    const releases = [
      { statistic: 'meanOccupancy', windowSeconds: 60, share: 0.5 },
      { statistic: 'peakOccupancy', windowSeconds: 120, share: 0.5 },
    ];
    const report = releaseClip({ privacy: { epsilon: 'off', releases }, zones, durationSeconds: 120, exact: (span) => ({ ...exact(span), lines: {} }) });
    const rows = reportCsv(report.windows).trim().split('\n').slice(1);
    // Two 60 s windows × 2 class groups with the mean, one 120 s window × 2 class groups with the peak: 6 rows.
    expect(new Set(rows)).toEqual(new Set([
      '0,60,60,60,released,zone,door,person,mean_occupancy,,2.5,0,0,12,',
      '0,60,60,60,released,zone,door,vehicle,mean_occupancy,,0,0,0,12,',
      '60,120,60,60,released,zone,door,person,mean_occupancy,,2.5,0,0,12,',
      '60,120,60,60,released,zone,door,vehicle,mean_occupancy,,0,0,0,12,',
      '0,120,120,120,released,zone,door,person,peak_occupancy,,4,0,0,12,',
      '0,120,120,120,released,zone,door,vehicle,peak_occupancy,,0,0,0,12,',
    ]));
    expect(rows).toHaveLength(6);
  });

  it('has one row per withheld window, with the reason', () => {
    expect(privateReport().windows.every((w) => w.status === 'released')).toBe(true);
    // The same footage again: its spans' budget is spent.
    const withheld = privateReport().windows.filter((w) => w.status === 'withheld');
    expect(withheld.length).toBeGreaterThan(0);
    const rows = reportCsv(withheld).trim().split('\n').slice(1);
    expect(rows).toEqual(withheld.map((w) => `${w.startSeconds},${w.endSeconds},${w.windowSeconds},${w.endSeconds - w.startSeconds},withheld,,,,,,,,0,,${w.withheldReason}`));
  });

  it('quotes a name holding a comma or a quote', () => {
    const window = calibrationReport().windows[0]!;
    window.zones = { 'hall, "north"': window.zones.door! };
    expect(reportCsv([window])).toContain('zone,"hall, ""north""",person');
  });
});

describe('the report chart', () => {
  it('says loudly that a calibration report is not private', () => {
    expect(renderChartSvg(calibrationReport())).toContain('NOT PRIVATE');
  });

  it('gives each window length its own panel, names the mechanism and ε, and states the interval drawn', () => {
    const svg = renderChartSvg(privateReport());
    expect(svg).not.toContain('NOT PRIVATE');
    expect(svg).toContain('Differentially private: discrete-laplace, ε = 1 per track visit');
    expect(svg).toContain('95% interval (± 1.96 s.d.)');
    expect(svg).toContain('People per zone, per 60 s window');
    expect(svg).toContain('Vehicles crossing each line, per 900 s window');
    // One whisker per bar (2 windows × forward, backward) and one band per unbroken run of mean occupancy.
    expect(svg.match(/class="interval"/g)!.length).toBeGreaterThanOrEqual(4);
    expect(svg.match(/class="band"/g)).toHaveLength(1);
  });

  it('draws negative values below a zero line instead of off the scale, and shades withheld windows', () => {
    const report = privateReport();
    for (const window of report.windows) if (window.windowSeconds === 900) window.lines.gate!.classes.vehicle!.backward = -30;
    report.windows.push({ ...report.windows.at(-1)!, startSeconds: 1800, endSeconds: 1860, windowSeconds: 60, status: 'withheld', withheldReason: 'span budget spent', zones: {}, lines: {} });
    const svg = renderChartSvg(report);
    expect(svg).toMatch(/class="zero"/);
    expect(svg.match(/class="withheld"/g)).toHaveLength(1);
    expect(svg).toContain('Shaded windows were withheld');
    // Every y coordinate stays inside the SVG.
    const height = Number(svg.match(/height="(\d+)"/)![1]);
    const ys = [...svg.matchAll(/ (?:y|cy|y1|y2)="(-?[\d.]+)"/g)].map((match) => Number(match[1]));
    expect(Math.min(...ys)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...ys)).toBeLessThanOrEqual(height);
  });

  it('draws a value noise alone could explain hollow, as the summary marks it, and a real one solid, with a legend saying so', () => {
    const report = privateReport();
    // No backward traffic at all: 0 is released as 0, within the noise whatever the s.d.; forward, 30 cars per window.
    for (const window of report.windows) if (window.windowSeconds === 900) window.lines.gate!.classes.vehicle!.backward = 0;
    const marks = chartMarks(renderChartSvg(report));
    // The summary's rule written out: |value| < 2 s.d. of that value (docs/report.md).
    const expected = (value: number, standardDeviation: number) => Math.abs(value) < 2 * standardDeviation;
    const cases = report.windows.flatMap((window) => {
      const terms = window.privacy.statistics;
      if (window.windowSeconds === 900) {
        const { forward, backward } = window.lines.gate!.classes.vehicle!;
        return [
          { series: 'gate forward', start: window.startSeconds, within: expected(forward, terms.crossings!.standardDeviation) },
          { series: 'gate backward', start: window.startSeconds, within: expected(backward, terms.crossings!.standardDeviation) },
        ];
      }
      const person = window.zones.door!.classes.person!;
      return [
        { series: 'door mean', start: window.startSeconds, within: expected(person.meanOccupancy!, terms.meanOccupancy!.standardDeviation) },
        { series: 'door peak', start: window.startSeconds, within: expected(person.peakOccupancy!, terms.peakOccupancy!.standardDeviation) },
      ];
    });
    expect(cases.filter((c) => c.series === 'gate forward').map((c) => c.within)).toEqual([false, false]);
    expect(cases.filter((c) => c.series === 'gate backward').map((c) => c.within)).toEqual([true, true]);
    for (const { series, start, within } of cases) {
      const drawn = marks.filter((mark) => mark.series === series && mark.windowStartSeconds === start);
      expect(drawn, `${series} at ${start} s`).toHaveLength(1);
      expect(drawn[0]!.classes.includes('within-noise'), `${series} at ${start} s`).toBe(within);
    }
    expect(marks).toHaveLength(cases.length);
    expect(chartTexts(renderChartSvg(report))).toEqual(expect.arrayContaining(['hollow: within the noise', '(< 2 s.d. from 0)']));
  });

  it('marks nothing as within the noise in a calibration report (exact values have no noise)', () => {
    const svg = renderChartSvg(calibrationReport());
    expect(chartMarks(svg).length).toBeGreaterThan(0);
    expect(chartMarks(svg).filter((mark) => mark.classes.includes('within-noise'))).toEqual([]);
    expect(chartTexts(svg)).not.toContain('hollow: within the noise');
  });

  it('hatches each window the clip covers only in part and labels the seconds it covers; a whole window is not marked', () => {
    // 1000 s: crossings per 900 s in [0, 900) and [900, 1000), occupancy per 60 s ending with [960, 1000).
    const report = releaseClip({ privacy: { epsilon: 1 }, zones, lines: ['gate'], durationSeconds: 1000, exact, ledger });
    const svg = renderChartSvg(report);
    const elements = svgElements(svg);
    const partial = report.windows.filter((window) => window.endSeconds - window.startSeconds < window.windowSeconds);
    expect(partial.map((window) => [window.startSeconds, window.endSeconds, window.windowSeconds])).toEqual([
      [960, 1000, 60],
      [900, 1000, 900],
    ]);
    for (const window of report.windows) {
      const at = (element: { attributes: Record<string, string> }) => element.attributes['data-window-start'] === String(window.startSeconds);
      const hatched = elements.filter((element) => element.classes.includes('partial') && at(element));
      const labels = elements.filter((element) => element.classes.includes('partial-label') && at(element)).map((element) => element.text);
      // Windows of the two series may start at the same second (0, 900): each panel marks its own.
      const isPartial = partial.includes(window);
      const sameStartPartial = partial.filter((other) => other.startSeconds === window.startSeconds).length;
      expect(hatched, `window ${window.startSeconds}–${window.endSeconds} of ${window.windowSeconds} s`).toHaveLength(sameStartPartial);
      if (isPartial) expect(labels).toContain(`${window.endSeconds - window.startSeconds} of ${window.windowSeconds} s`);
    }
    expect(chartTexts(svg)).toEqual(expect.arrayContaining(['hatched: partial', 'Hatched windows: the clip covers only part of them (e.g. 40 of 60 s); their values count those seconds only.']));
    const whole = renderChartSvg(privateReport());
    expect(svgElements(whole).filter((element) => element.classes.some((name) => name.startsWith('partial')))).toEqual([]);
    expect(chartTexts(whole)).not.toContain('hatched: partial');
  });

  it('escapes a clip name that looks like markup', () => {
    const svg = renderChartSvg({ ...calibrationReport(), clip: { input: '/clips/lobby<img src=x onerror=alert(1)>.mp4' } });
    expect(svg).not.toContain('<img');
    expect(svg).toContain('lobby&#60;img');
  });
});

describe('the report sink (streams/sinks/reportSink.ts)', () => {
  it('writes the windows it was handed, in order, with the run described as it stands at close', async () => {
    const report = releaseClip({ privacy: { epsilon: 1 }, zones: [{ name: 'door' }], lines: [], durationSeconds: 180, exact: () => ({ zones: { door: occupancy({ meanOccupancy: 1, peakOccupancy: 2 }) }, lines: {} }), ledger });
    const { windows, ...header } = report;
    let framesAnalysed = 0;
    const sink = reportSink(dir, () => ({ ...header, framesAnalysed }));
    for (const window of windows) sink.publish(window);
    framesAnalysed = 360;
    expect(sink.written).toBeUndefined();
    await sink.close();
    const written = JSON.parse(await readFile(path.join(dir, 'report.json'), 'utf8'));
    expect(written).toEqual({ ...report, framesAnalysed: 360 });
    expect(sink.written?.files.map((file) => path.basename(file))).toEqual(['report.json', 'report.csv', 'report.svg', 'report.png']);
  });
});
