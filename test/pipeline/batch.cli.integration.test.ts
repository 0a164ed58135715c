/**
 * `veil batch` as a user runs it: `node pipeline/veil.mjs batch CLIP ...` in a fresh HOME/TMPDIR/state/cwd, on short
 * excerpts of real footage (6 s at 2 frames/s keeps each run to a few seconds on two cores).
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NATIVE_INSTALL_COMMAND } from '../../models/backend.ts';
import { COUNTED_CLASSES } from '../../models/detection.ts';
import { FFMPEG_MISSING_HELP, locateFfmpeg } from '../../streams/ffmpegBinary.ts';
import { reportSchema, type Report } from '../../streams/report.ts';
import { packageInstalled } from '../helpers/packages.ts';
import { FOOTAGE } from '../helpers/paths.ts';
import { chartMarks, chartTexts, svgElements } from '../helpers/chartMarks.ts';
import { unlistedLeaves } from '../helpers/reportShape.ts';
import { createSandbox, listFiles, runVeil, STACK_FRAME_LINE, writtenFiles, writtenFolders, type Sandbox, type VeilRun } from '../helpers/veilCli.ts';

const EXCERPT = ['--duration', '6', '--fps', '2'];
const REPORT_FILES = ['report.csv', 'report.json', 'report.png', 'report.svg'];

let sandbox: Sandbox;

beforeEach(async () => {
  sandbox = await createSandbox();
});

afterEach(() => sandbox.remove());

/** The run's report.json, checked against the report format's leaf paths (calibration, private and withheld alike). */
async function readReport(outDir: string): Promise<Report> {
  const json: unknown = JSON.parse(await readFile(path.join(outDir, 'report.json'), 'utf8'));
  expect(unlistedLeaves(json), `fields of ${outDir}/report.json that docs/report.md does not list`).toEqual([]);
  return reportSchema.parse(json);
}

/** A failure a person can act on: the exit code, one `veil batch:` line saying what, no stack, no report, no folder left. */
async function expectCleanFailure(run: VeilRun, exitCode: number, message: string | RegExp) {
  expect(run.exitCode, run.stderr).toBe(exitCode);
  const errorLine = run.stderr.split('\n').find((line) => line.startsWith('veil batch: '));
  expect(errorLine, run.stderr).toBeDefined();
  expect(errorLine).toMatch(message);
  expect(run.stderr).not.toMatch(STACK_FRAME_LINE);
  expect(run.stdout).not.toMatch(STACK_FRAME_LINE);
  expect(run.stderr).not.toMatch(/node:internal|\.ts:\d+/);
  expect(run.stdout).not.toContain('Veil report');
  expect(await writtenFiles(sandbox)).toEqual([]);
  expect(await writtenFolders(sandbox), 'folders the failed run made and left empty').toEqual([]);
}

/** Writes a file for veil to read into the sandbox's inputs folder; returns its absolute path. */
async function input(name: string, content: string | Uint8Array) {
  const file = path.join(sandbox.inputs, name);
  await writeFile(file, content);
  return file;
}

/** Occupancy of a category in a zone over the windows: the mean of the windows' means and the largest peak. */
function occupancy(report: Report, zone: string, category: 'person' | 'vehicle') {
  const stats = report.windows.map((w) => w.zones[zone]?.classes[category]);
  if (stats.some((s) => s === undefined)) throw new Error(`a window lacks zone ${zone} / ${category}`);
  return {
    mean: stats.reduce((sum, s) => sum + s!.meanOccupancy!, 0) / stats.length,
    peak: Math.max(...stats.map((s) => s!.peakOccupancy!)),
  };
}

function crossings(report: Report, line: string, category: 'person' | 'vehicle') {
  const counts = report.windows.map((w) => w.lines[line]?.classes[category] ?? { forward: 0, backward: 0 });
  return { forward: counts.reduce((sum, c) => sum + c.forward, 0), backward: counts.reduce((sum, c) => sum + c.backward, 0) };
}

describe('veil batch on real footage', () => {
  it('counts the cars coming towards the camera on the overpass (calibration, --epsilon off)', async () => {
    // The road seen from the overpass: a zone over both lanes and a line drawn left to right across the middle, so a
    // car driving towards the camera (down the frame) crosses it forward.
    const config = {
      zones: [{ name: 'road', polygon: [[0.3, 0], [0.85, 0], [0.85, 1], [0, 1]] }],
      lines: [{ name: 'across', from: [0, 0.5], to: [1, 0.5] }],
    };
    const configFile = await input('overpass.json', JSON.stringify(config));
    const run = await runVeil(['batch', FOOTAGE.overpass, ...EXCERPT, '--window', '2', '--config', configFile, '--epsilon', 'off', '--out', 'report'], sandbox);
    expect(run.exitCode, run.stderr).toBe(0);
    // No --model and no detector.model: the tier is the recorded clip's default, which nobody forced.
    expect(run.stderr).toContain('default for a recorded clip: lite_mobilenet_v2');
    expect(run.stderr).not.toContain('forced by');

    const outDir = path.join(sandbox.cwd, 'report');
    expect(await listFiles(outDir)).toEqual(REPORT_FILES);
    const report = await readReport(outDir);
    expect(report.private).toBe(false);
    expect(report.clip.input).toBe(FOOTAGE.overpass);
    expect(report.clip.durationSeconds).toBeCloseTo(28.33, 1);
    expect(report.settings).toMatchObject({ fps: 2, maxWidth: 640, classes: COUNTED_CLASSES, ...config });
    expect(report.settings.releases).toEqual([
      { statistic: 'crossings', windowSeconds: 2 },
      { statistic: 'peakOccupancy', windowSeconds: 2 },
      { statistic: 'meanOccupancy', windowSeconds: 2 },
    ]);
    expect(report.settings.detector.workers).toBeGreaterThanOrEqual(1);
    expect(report.settings.detector.model).toContain('sha256 verified');
    expect(report.framesAnalysed).toBe(12);
    // A calibration report carries the detector's work. At 2 frames/s the motion gate cannot skip: a detection at
    // least every 0.8 s (its minimum rate, 1.25/s) leaves no frame between two 0.5 s apart to skip.
    expect(report.inferences).toEqual({ run: 12, skipped: 0 });
    expect(run.stdout).toContain('detector ran on 12 of 12 frames; the motion gate skipped none');
    expect(report.windows.map((w) => [w.startSeconds, w.endSeconds, w.status, w.clock])).toEqual([
      [0, 2, 'released', 'clip'],
      [2, 4, 'released', 'clip'],
      [4, 6, 'released', 'clip'],
    ]);
    for (const window of report.windows) {
      expect(window.privacy).toMatchObject({ private: false, mechanism: 'none' });
      // Released per category (people, vehicles) by default; calibration values are exact object-frame means.
      expect(Object.keys(window.zones.road!.classes)).toEqual(['person', 'vehicle']);
      expect(Number.isInteger(window.zones.road!.classes.vehicle!.meanOccupancy! * window.windowSeconds * 2)).toBe(true);
    }
    // Plausible, from looking at the frames: one to four cars on the road at a time in these 6 s, all driving
    // towards the camera, nobody on foot.
    const vehicles = occupancy(report, 'road', 'vehicle');
    expect(vehicles.mean).toBeGreaterThan(0.5);
    expect(vehicles.mean).toBeLessThan(4);
    expect(vehicles.peak).toBeGreaterThanOrEqual(1);
    expect(vehicles.peak).toBeLessThanOrEqual(5);
    const across = crossings(report, 'across', 'vehicle');
    expect(across.forward).toBeGreaterThanOrEqual(1);
    expect(across.forward).toBeLessThanOrEqual(5);
    expect(across.backward).toBe(0);
    expect(occupancy(report, 'road', 'person').peak).toBe(0);

    expect(run.stdout).toContain('NOT PRIVATE');
    expect(run.stdout).toContain(`written: ${path.join(outDir, 'report.json')}`);
    expect(run.stderr).toMatch(/detector: coco-ssd .* worker thread/);
  });

  it('counts the one person at the table in the indoor clip, and no vehicle', async () => {
    // From 76 s to 82 s one man stands at the table (checked frame by frame).
    const run = await runVeil(['batch', FOOTAGE.indoor, '--start', '76', ...EXCERPT, '--epsilon', 'off', '--out', 'out'], sandbox);
    expect(run.exitCode, run.stderr).toBe(0);
    const report = await readReport(path.join(sandbox.cwd, 'out'));
    expect(report.framesAnalysed).toBe(12);
    expect(report.windows).toHaveLength(1);
    const people = occupancy(report, 'frame', 'person');
    expect(people.peak).toBe(1);
    expect(people.mean).toBeGreaterThan(0.5);
    expect(people.mean).toBeLessThanOrEqual(1);
    expect(occupancy(report, 'frame', 'vehicle').peak).toBe(0);
  });

  it('with the default ε writes a private report: noised windows with their privacy terms', async () => {
    const placed = ['--camera', 'overpass', '--recorded-at', '2026-11-29T08:00:00Z', '--new-ledger'];
    const run = await runVeil(['batch', FOOTAGE.overpass, ...EXCERPT, '--window', '3', ...placed, '--out', 'out'], sandbox);
    expect(run.exitCode, run.stderr).toBe(0);
    const report = await readReport(path.join(sandbox.cwd, 'out'));
    expect(report.private).toBe(true);
    // Exact inference counts follow how much the footage moved: the terminal gets them, a private report does not.
    expect(report.inferences).toBeUndefined();
    expect(run.stdout).toMatch(/detector ran on \d+ of \d+ frames/);
    expect(report.clip).toMatchObject({ camera: 'overpass', recordedAt: '2026-11-29T08:00:00.000Z', startSeconds: 0 });
    expect(run.stdout).toContain('(camera overpass, recording from 2026-11-29T08:00:00.000Z)');
    expect(report.windows).toHaveLength(2);
    for (const window of report.windows) {
      expect(window.status).toBe('released');
      expect(window.privacy.private).toBe(true);
      expect(window.privacy.mechanism).toBe('discrete-laplace');
      expect(window.privacy.epsilon).toBeGreaterThan(0);
      expect(Object.keys(window.privacy.statistics).sort()).toEqual(['meanOccupancy', 'peakOccupancy']);
      expect(window.privacy.statistics.peakOccupancy!.standardDeviation).toBeGreaterThan(0);
      expect(window.privacy.budget.epsilonSpent).toBeGreaterThan(0);
    }
    expect(run.stdout).not.toContain('NOT PRIVATE');
    expect(run.stderr).toMatch(/footage placed as camera overpass from 2026-11-29T08:00:00\.000Z \(--recorded-at\)/);
    // Besides the report, a private run keeps only its spending, in the privacy ledger under XDG_STATE_HOME.
    const outsideReport = (await writtenFiles(sandbox)).filter((file) => !file.startsWith(path.join('work', 'out', 'report.')));
    expect(outsideReport.length).toBeGreaterThan(0);
    for (const file of outsideReport) expect(file).toMatch(/^state\/veil\/privacy-ledger/);
  });
});

describe('veil batch: the summary says which figures are within the noise', () => {
  it('on the bundled sample (people, no vehicles) with a line: every figure ± its s.d., "within the noise" exactly where the noise could explain it', async () => {
    const config = await input('campus.yaml', 'zones:\n  - { name: campus, polygon: [[0, 0], [1, 0], [1, 1], [0, 1]] }\nlines:\n  - { name: path, from: [0, 0.6], to: [1, 0.6] }\n');
    const run = await runVeil(['batch', '--config', config, '--window', '6', '--fps', '2', '--new-ledger', '--out', 'out'], sandbox);
    expect(run.exitCode, run.stderr).toBe(0);
    const report = await readReport(path.join(sandbox.cwd, 'out'));
    const windows = report.windows.filter((window) => window.status === 'released');
    expect(windows).toHaveLength(4);
    const n = windows.length;
    const sd = (statistic: 'crossings' | 'meanOccupancy' | 'peakOccupancy') => windows[0]!.privacy.statistics[statistic]!.standardDeviation;
    // The rule the summary states: |value| < 2 s.d.; the largest of n windows < (2 + ln n / √2) s.d.
    const marked = (value: number, standardDeviation: number, band = 2) => (Math.abs(value) < band * standardDeviation ? ' (within the noise)' : '');
    const figure = (value: number, standardDeviation: number, decimals = 0) => `${Math.max(0, Number(value.toFixed(decimals)))} ± ${Number(standardDeviation.toPrecision(2))}`;
    const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);
    for (const [category, label] of [['person', 'people'], ['vehicle', 'vehicles']] as const) {
      // A total of n windows has s.d. √n times one window's; a mean of n equal windows 1/√n times.
      const [forward, backward] = (['forward', 'backward'] as const).map((direction) => sum(windows.map((window) => window.lines.path!.classes[category]![direction])));
      const totalSd = sd('crossings') * Math.sqrt(n);
      expect(run.stdout).toContain(`line path, ${label}: forward ${figure(forward!, totalSd)}${marked(forward!, totalSd)}, backward ${figure(backward!, totalSd)}${marked(backward!, totalSd)} (4 windows of 6 s)`);
      const cells = windows.map((window) => window.zones.campus!.classes[category]!);
      const mean = sum(cells.map((cell) => cell.meanOccupancy!)) / n;
      const meanSd = sd('meanOccupancy') / Math.sqrt(n);
      const peaks = cells.map((cell) => cell.peakOccupancy!);
      const peaksMean = sum(peaks) / n;
      const peaksMeanSd = sd('peakOccupancy') / Math.sqrt(n);
      const largest = Math.max(...peaks);
      expect(run.stdout).toContain(
        `zone campus, ${label}: mean ${figure(mean, meanSd, 1)}${marked(mean, meanSd)} over the clip; ` +
          `peak per 6 s: mean ${figure(peaksMean, peaksMeanSd, 1)}${marked(peaksMean, peaksMeanSd)}, largest ${figure(largest, sd('peakOccupancy'))}${marked(largest, sd('peakOccupancy'), 2 + Math.log(n) / Math.SQRT2)} at `,
      );
    }
    expect(run.stdout).toContain('"within the noise": less than 2 s.d. from 0 (the largest of n windows or hours: 2 + ln n / √2 s.d.), so there may be none at all');
  });
});

describe('veil batch: the chart draws the summary\'s judgement', () => {
  it('on the bundled sample (people, no vehicles): every point noise alone could explain is hollow, every other solid', async () => {
    const run = await runVeil(['batch', '--fps', '2', '--new-ledger', '--out', 'out'], sandbox);
    expect(run.exitCode, run.stderr).toBe(0);
    const report = await readReport(path.join(sandbox.cwd, 'out'));
    const svg = await readFile(path.join(sandbox.cwd, 'out', 'report.svg'), 'utf8');
    const windows = report.windows.filter((window) => window.status === 'released');
    expect(windows).toHaveLength(4);
    const marks = chartMarks(svg);
    // The rule the summary states (docs/report.md): a value less than 2 s.d. from 0 could be noise alone.
    const withinNoise = (value: number, standardDeviation: number) => Math.abs(value) < 2 * standardDeviation;
    let hollow = 0;
    for (const window of windows) {
      const { person, vehicle } = window.zones.frame!.classes;
      const sd = window.privacy.statistics;
      for (const [series, value, standardDeviation] of [
        ['frame mean', person!.meanOccupancy!, sd.meanOccupancy!.standardDeviation],
        ['frame peak', person!.peakOccupancy!, sd.peakOccupancy!.standardDeviation],
        // Vehicles per zone: the mean of the vehicle category, the only vehicle statistic drawn.
        ['frame', vehicle!.meanOccupancy!, sd.meanOccupancy!.standardDeviation],
      ] as const) {
        const drawn = marks.filter((mark) => mark.series === series && mark.windowStartSeconds === window.startSeconds);
        expect(drawn, `${series} at ${window.startSeconds} s`).toHaveLength(1);
        expect(drawn[0]!.classes.includes('within-noise'), `${series} at ${window.startSeconds} s: ${value} ± ${standardDeviation}`).toBe(withinNoise(value, standardDeviation));
        if (withinNoise(value, standardDeviation)) hollow += 1;
      }
    }
    expect(marks).toHaveLength(3 * windows.length);
    expect(chartTexts(svg).includes('hollow: within the noise')).toBe(hollow > 0);
  });
});

describe('veil batch: a window the clip covers only in part', () => {
  it('a 6 s excerpt in the default 60 s windows: JSON, CSV and summary say it covers 6 s; it is noised and charged as a whole window', async () => {
    const run = await runVeil(['batch', FOOTAGE.overpass, '--duration', '6', '--fps', '2', '--camera', 'overpass', '--recorded-at', '2026-11-29T08:00:00Z', '--new-ledger', '--out', 'out'], sandbox);
    expect(run.exitCode, run.stderr).toBe(0);
    const report = await readReport(path.join(sandbox.cwd, 'out'));
    expect(report.windows).toHaveLength(1);
    const [window] = report.windows;
    expect(window).toMatchObject({ startSeconds: 0, endSeconds: 6, windowSeconds: 60, coveredSeconds: 6, status: 'released' });
    // A whole window's terms (docs/privacy.md): ε 1 per visit, reach ρ 0 + 3 s of coasting touches ⌈3/60⌉ + 1 = 2
    // windows, mean and peak occupancy half each: ε 1 × 0.5 / 2 = 0.25 per statistic, 0.5 for the window. Discrete
    // Laplace of scale b = 1/0.25 = 4 on the peak (a count): s.d. √(2e^(−1/b)) / (1 − e^(−1/b)).
    for (const statistic of ['meanOccupancy', 'peakOccupancy'] as const) expect(window!.privacy.statistics[statistic]!.epsilon).toBe(0.25);
    const decay = Math.exp(-1 / 4);
    expect(window!.privacy.statistics.peakOccupancy!.standardDeviation).toBeCloseTo(Math.sqrt(2 * decay) / (1 - decay), 9);
    expect(window!.privacy.epsilon).toBe(0.5);
    expect(window!.privacy.budget.epsilonSpent).toBe(0.5);
    const [header, ...rows] = (await readFile(path.join(sandbox.cwd, 'out', 'report.csv'), 'utf8')).trim().split('\n');
    expect(header!.split(',').slice(0, 4)).toEqual(['window_start_s', 'window_end_s', 'window_s', 'covered_s']);
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(row.split(',').slice(0, 4)).toEqual(['0', '6', '60', '6']);
    expect(run.stdout).toContain('released peak occupancy and mean occupancy per 60 s (1 window; 1 partial, where the clip starts or ends: 6 of its 60 s from 08:00:00Z)');
  });

  it('a 6 s excerpt from 10 s in, crossings per 900 s: the chart hatches the one bar\'s window and labels it "6 of 900 s"; the header says the footage analysed starts at 08:00:10', async () => {
    const config = await input('overpass.yaml', 'lines:\n  - { name: gate, from: [0, 0.625], to: [1, 0.625] }\n');
    const placed = ['--camera', 'overpass', '--recorded-at', '2026-11-29T08:00:00Z', '--new-ledger'];
    const run = await runVeil(['batch', FOOTAGE.overpass, '--start', '10', '--duration', '6', '--fps', '2', '--config', config, ...placed, '--out', 'out'], sandbox);
    expect(run.exitCode, run.stderr).toBe(0);
    const report = await readReport(path.join(sandbox.cwd, 'out'));
    expect(report.windows).toHaveLength(1);
    const [window] = report.windows;
    expect(window).toMatchObject({ startSeconds: 10, endSeconds: 16, windowSeconds: 900, status: 'released' });
    const elements = svgElements(await readFile(path.join(sandbox.cwd, 'out', 'report.svg'), 'utf8'));
    const ofWindow = (name: string) => elements.filter((element) => element.classes.includes(name) && element.attributes['data-window-start'] === '10');
    expect(ofWindow('partial')).toHaveLength(1);
    expect(ofWindow('partial-label').map((element) => element.text)).toEqual([`${window!.endSeconds - window!.startSeconds} of ${window!.windowSeconds} s`]);
    expect(elements.map((element) => element.text)).toContain('hatched: partial');
    // Its time on the axis is the footage's own, 10 s after 08:00:00Z, not the minute it falls in.
    expect(elements.map((element) => element.text)).toContain('08:00:10Z');
    // The two bars drawn (forward, backward) are that window's.
    expect(elements.filter((element) => element.attributes['data-series']?.startsWith('gate ')).map((element) => element.attributes['data-window-start'])).toEqual(['10', '10']);
    // The header places the footage analysed, 10 s after the recording's start, in the summary as in report.json.
    expect(report.clip).toMatchObject({ recordedAt: '2026-11-29T08:00:00.000Z', startSeconds: 10 });
    expect(run.stdout).toContain('Veil report — traffic_overpass_cars-trucks_320x240.avi (camera overpass, analysed from 2026-11-29T08:00:10.000Z, 10 s into the recording from 2026-11-29T08:00:00.000Z)');
  });
});

describe('veil batch: the budget belongs to the footage', () => {
  const PLACED = ['--camera', 'overpass', '--recorded-at', '2026-11-29T08:00:00Z'];

  it('withholds a re-run, a re-encoded copy and a trimmed copy placed at the same time, and refuses changed settings', async () => {
    const first = await runVeil(['batch', FOOTAGE.overpass, ...EXCERPT, '--window', '3', ...PLACED, '--new-ledger', '--out', 'first'], sandbox);
    expect(first.exitCode, first.stderr).toBe(0);
    expect((await readReport(path.join(sandbox.cwd, 'first'))).windows.map((w) => w.status)).toEqual(['released', 'released']);

    const overwrite = await runVeil(['batch', FOOTAGE.overpass, ...EXCERPT, '--window', '3', ...PLACED, '--out', 'first'], sandbox);
    expect(overwrite.exitCode).toBe(2);
    expect(overwrite.stderr).toMatch(/--out .*first already holds a report: a new run would replace it/);
    const again = await runVeil(['batch', FOOTAGE.overpass, ...EXCERPT, '--window', '3', ...PLACED, '--out', 'again'], sandbox);
    expect(again.exitCode, again.stderr).toBe(0);
    const repeated = await readReport(path.join(sandbox.cwd, 'again'));
    expect(repeated.windows.map((w) => [w.status, w.withheldReason])).toEqual([['withheld', 'span budget spent'], ['withheld', 'span budget spent']]);
    expect(repeated.windows.every((w) => Object.keys(w.zones).length === 0 && Object.keys(w.lines).length === 0)).toBe(true);

    // The same 6 s re-encoded into another container: other bytes, the same frames at the same time.
    const ffmpeg = await locateFfmpeg();
    const encode = (args: string[], file: string) => promisify(execFile)(ffmpeg.path, ['-v', 'error', ...args, '-i', FOOTAGE.overpass, '-c:v', 'mpeg4', '-y', path.join(sandbox.inputs, file)]);
    await encode(['-t', '6'], 'copy.mp4');
    const copy = await runVeil(['batch', path.join(sandbox.inputs, 'copy.mp4'), '--fps', '2', '--window', '3', ...PLACED, '--out', 'copy'], sandbox);
    expect(copy.exitCode, copy.stderr).toBe(0);
    expect((await readReport(path.join(sandbox.cwd, 'copy'))).windows.map((w) => w.status)).toEqual(['withheld', 'withheld']);
    // Seconds 2–6, placed 2 s later: its first window [2, 5) lies over both released ones and is withheld.
    await encode(['-ss', '2', '-t', '4'], 'trimmed.mp4');
    const trimmed = await runVeil(['batch', path.join(sandbox.inputs, 'trimmed.mp4'), '--fps', '2', '--window', '3', '--camera', 'overpass', '--recorded-at', '2026-11-29T08:00:02Z', '--out', 'trimmed'], sandbox);
    expect(trimmed.exitCode, trimmed.stderr).toBe(0);
    expect((await readReport(path.join(sandbox.cwd, 'trimmed'))).windows[0]).toMatchObject({ startSeconds: 0, endSeconds: 3, status: 'withheld', withheldReason: 'span budget spent' });

    const changed = await runVeil(['batch', FOOTAGE.overpass, ...EXCERPT, '--window', '3', ...PLACED, '--epsilon', '0.5', '--out', 'changed'], sandbox);
    expect(changed.exitCode).toBe(1);
    expect(changed.stderr).toMatch(/camera "overpass".*epsilon.*--accept-policy-change "REASON"/s);
    const accepted = await runVeil(['batch', FOOTAGE.overpass, '--start', '20', ...EXCERPT, '--window', '3', ...PLACED, '--epsilon', '0.5', '--accept-policy-change', 'test', '--out', 'accepted'], sandbox);
    expect(accepted.exitCode, accepted.stderr).toBe(0);
    expect(accepted.stderr).toMatch(/privacy policy change accepted/);
  });
});

describe('veil batch refuses bad input with a clear error', () => {
  it('a clip that does not exist: exit 1 before anything starts', async () => {
    const run = await runVeil(['batch', 'holiday.mp4', '--epsilon', 'off'], sandbox);
    await expectCleanFailure(run, 1, `clip not found: holiday.mp4. Check the path (relative paths start from ${sandbox.cwd}).`);
  });

  it('a text file named .mp4: exit 1, "not a video"', async () => {
    const clip = await input('clip.mp4', 'this is a shopping list, not a video\n');
    const run = await runVeil(['batch', clip, ...EXCERPT, '--epsilon', 'off', '--out', 'out'], sandbox);
    await expectCleanFailure(run, 1, /clip\.mp4 is not a video ffmpeg can read .*Check that it is a video file/);
  });

  it('a failed run removes the --out and state folders it made while they are empty, never one that was there or holds a file', async () => {
    const clip = await input('clip.mp4', 'this is a shopping list, not a video\n');
    const notVideo = /clip\.mp4 is not a video ffmpeg can read/;
    // Made by the run, two levels deep: both go.
    await expectCleanFailure(await runVeil(['batch', clip, ...EXCERPT, '--epsilon', 'off', '--out', 'new/report'], sandbox), 1, notVideo);
    // There before the run, empty: it stays.
    await mkdir(path.join(sandbox.cwd, 'mine'));
    expect((await runVeil(['batch', clip, ...EXCERPT, '--epsilon', 'off', '--out', 'mine'], sandbox)).exitCode).toBe(1);
    expect(await writtenFolders(sandbox)).toEqual(['work/mine']);
    // A private run made its state folder and a ledger in it before the clip failed: the ledger's folder stays,
    // the empty report folder goes.
    const privateRun = ['--camera', 'yard', '--recorded-at', '2026-11-29T08:00:00Z', '--new-ledger', '--state-dir', 'fresh/state', '--out', 'fresh/report'];
    expect((await runVeil(['batch', clip, ...EXCERPT, ...privateRun], sandbox)).exitCode).toBe(1);
    expect(await writtenFolders(sandbox)).toEqual(['work/fresh', 'work/fresh/state', 'work/mine']);
    expect(await listFiles(path.join(sandbox.cwd, 'fresh', 'state'))).toContain('privacy-ledger');
  });

  it('a truncated video: exit 1, "truncated or damaged", and no report from half a clip', async () => {
    const whole = await readFile(FOOTAGE.indoor);
    // The first 1/40 of the indoor clip: about 3 s of video, less than the 6 s asked for.
    const clip = await input('cut.mp4', whole.subarray(0, Math.floor(whole.length / 40)));
    const run = await runVeil(['batch', clip, ...EXCERPT, '--epsilon', 'off', '--out', 'out'], sandbox);
    await expectCleanFailure(run, 1, /cut\.mp4 is truncated or damaged .*Re-copy or re-export the clip/);
  });

  it('a start past the end of the clip: exit 1, saying how long the clip is, and no empty report', async () => {
    // The overpass clip lasts 28.33 s (its container says so; ../shared/footage/README.md).
    const run = await runVeil(['batch', FOOTAGE.overpass, '--start', '500', '--epsilon', 'off', '--out', 'out'], sandbox);
    await expectCleanFailure(run, 1, /traffic_overpass_cars-trucks_320x240\.avi is 28\.3 s long: there is nothing to decode from 500 s on/);
  });

  it('a config with a coordinate outside 0–1: exit 2, naming the field, the value and the rule', async () => {
    const config = await input('site.yaml', 'zones:\n  - name: door\n    polygon: [[0.1, 0.1], [1.5, 0.1], [0.5, 0.9]]\n');
    const run = await runVeil(['batch', FOOTAGE.overpass, '--config', config, '--epsilon', 'off'], sandbox);
    await expectCleanFailure(run, 2, `config ${config} (with flags) has an invalid setting:`);
    expect(run.stderr).toMatch(/zones\[0\]\.polygon\[1\]\[0\]: coordinates are normalised: use 0–1 .*\(got 1\.5\)/);
  });

  it('a period cap that cannot pay for one window: exit 2, naming the field and the fix, no ledger started', async () => {
    const config = await input('site.yaml', 'privacy: { epsilon: 1, epsilonPerPeriod: 0.1, periodSeconds: 86400 }\n');
    const run = await runVeil(['batch', FOOTAGE.overpass, '--config', config, '--camera', 'overpass', '--recorded-at', '2026-11-29T08:00:00Z', '--new-ledger'], sandbox);
    await expectCleanFailure(run, 2, /privacy\.epsilonPerPeriod: .*raise epsilonPerPeriod to at least .*\(got 0\.1\)/);
  });

  it('private footage it cannot place in time: exit 2, naming the flags that fix it', async () => {
    // The overpass AVI has no creation time.
    const run = await runVeil(['batch', FOOTAGE.overpass, '--new-ledger'], sandbox);
    await expectCleanFailure(run, 2, /pass --camera ID .* and --recorded-at ISO-TIME .*--epsilon off/);
  });

  it('a private run with no ledger yet: exit 2, asking for --new-ledger', async () => {
    const run = await runVeil(['batch', FOOTAGE.overpass, '--camera', 'overpass', '--recorded-at', '2026-11-29T08:00:00Z'], sandbox);
    await expectCleanFailure(run, 2, /the state directory \(\$XDG_STATE_HOME\/veil\) .*: no privacy ledger at .*--new-ledger/);
  });

  it('a config that is not valid YAML: exit 2', async () => {
    const config = await input('site.yaml', 'zones: [[[\n');
    const run = await runVeil(['batch', FOOTAGE.overpass, '--config', config, '--epsilon', 'off'], sandbox);
    await expectCleanFailure(run, 2, `config file ${config} is not valid YAML`);
  });

  it('a config file that does not exist: exit 2', async () => {
    const run = await runVeil(['batch', FOOTAGE.overpass, '--config', 'nowhere.yaml', '--epsilon', 'off'], sandbox);
    await expectCleanFailure(run, 2, 'config file nowhere.yaml could not be read (no such file)');
  });

  it('a flag value that is not a number, and an unknown flag: exit 2', async () => {
    await expectCleanFailure(await runVeil(['batch', FOOTAGE.overpass, '--fps', 'fast'], sandbox), 2, '--fps fast: expected frames per second, e.g. 5');
    await expectCleanFailure(await runVeil(['batch', FOOTAGE.overpass, '--colour', 'red'], sandbox), 2, /--colour.*See `veil batch --help`/);
  });

  it.skipIf(packageInstalled('@tensorflow/tfjs-node'))('a forced --backend tensorflow that is not installed: exit 1, naming the install command', async () => {
    const run = await runVeil(['batch', FOOTAGE.overpass, ...EXCERPT, '--backend', 'tensorflow', '--epsilon', 'off'], sandbox);
    await expectCleanFailure(run, 1, `--backend tensorflow is not usable here: not installed (to add it: ${NATIVE_INSTALL_COMMAND.tensorflow})`);
  });

  it('FFMPEG_PATH pointing at a file that is not executable: exit 1 with the install help', async () => {
    const notFfmpeg = await input('ffmpeg', 'not a program\n');
    const run = await runVeil(['batch', FOOTAGE.overpass, ...EXCERPT, '--epsilon', 'off'], sandbox, { env: { FFMPEG_PATH: notFfmpeg } });
    expect(run.stderr).toContain(FFMPEG_MISSING_HELP);
    await expectCleanFailure(run, 1, `FFMPEG_PATH points to ${notFfmpeg}, which is not an executable file.`);
  });
});

describe('veil batch --help', () => {
  it('prints the usage with every flag and exits 0', async () => {
    const run = await runVeil(['batch', '--help'], sandbox);
    expect(run.exitCode).toBe(0);
    for (const flag of ['--out', '--epsilon', '--fps', '--window', '--config', '--backend', '--duration', '--ffmpeg']) expect(run.stdout).toContain(flag);
  });
});
