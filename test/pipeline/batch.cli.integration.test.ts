/**
 * `veil batch` as a user runs it: `node pipeline/veil.mjs batch CLIP ...` in a fresh HOME/TMPDIR/state/cwd, on short
 * excerpts of real footage (6 s at 2 frames/s keeps each run to a few seconds on two cores).
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NATIVE_INSTALL_COMMAND } from '../../models/backend.ts';
import { COCO_CLASS_CATEGORY, COUNTED_CLASSES } from '../../models/detection.ts';
import { FFMPEG_MISSING_HELP } from '../../streams/ffmpegBinary.ts';
import { reportSchema, type Report } from '../../streams/report.ts';
import { packageInstalled } from '../helpers/packages.ts';
import { FOOTAGE } from '../helpers/paths.ts';
import { createSandbox, listFiles, runVeil, STACK_FRAME_LINE, writtenFiles, type Sandbox, type VeilRun } from '../helpers/veilCli.ts';

const EXCERPT = ['--duration', '6', '--fps', '2'];
const REPORT_FILES = ['report.csv', 'report.json', 'report.png', 'report.svg'];

let sandbox: Sandbox;

beforeEach(async () => {
  sandbox = await createSandbox();
});

afterEach(() => sandbox.remove());

async function readReport(outDir: string): Promise<Report> {
  return reportSchema.parse(JSON.parse(await readFile(path.join(outDir, 'report.json'), 'utf8')));
}

/** A failure a person can act on: the exit code, one `veil batch:` line saying what, no stack, no report. */
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
    mean: stats.reduce((sum, s) => sum + s!.meanOccupancy, 0) / stats.length,
    peak: Math.max(...stats.map((s) => s!.peakOccupancy)),
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

    const outDir = path.join(sandbox.cwd, 'report');
    expect(await listFiles(outDir)).toEqual(REPORT_FILES);
    const report = await readReport(outDir);
    expect(report.private).toBe(false);
    expect(report.clip.input).toBe(FOOTAGE.overpass);
    expect(report.clip.durationSeconds).toBeCloseTo(28.33, 1);
    expect(report.settings).toMatchObject({ fps: 2, windowSeconds: 2, maxWidth: 640, classes: COUNTED_CLASSES, ...config });
    expect(report.settings.detector.workers).toBeGreaterThanOrEqual(1);
    expect(report.settings.detector.model).toContain('sha256 verified');
    expect(report.framesAnalysed).toBe(12);
    expect(report.windows.map((w) => [w.startSeconds, w.endSeconds, w.status, w.clock])).toEqual([
      [0, 2, 'released', 'clip'],
      [2, 4, 'released', 'clip'],
      [4, 6, 'released', 'clip'],
    ]);
    for (const window of report.windows) {
      expect(window.camera).toMatch(/^clip:sha256:[0-9a-f]{32}$/);
      expect(window.privacy).toMatchObject({ private: false, mechanism: 'none' });
      // Calibration is exact: the vehicle total is the sum of the vehicle classes.
      const road = window.zones.road!.classes;
      const vehicleClasses = COUNTED_CLASSES.filter((name) => COCO_CLASS_CATEGORY[name] === 'vehicle');
      expect(road.vehicle!.meanOccupancy).toBeCloseTo(vehicleClasses.reduce((sum, name) => sum + road[name]!.meanOccupancy, 0), 9);
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
    const run = await runVeil(['batch', FOOTAGE.overpass, ...EXCERPT, '--window', '3', '--out', 'out'], sandbox);
    expect(run.exitCode, run.stderr).toBe(0);
    const report = await readReport(path.join(sandbox.cwd, 'out'));
    expect(report.private).toBe(true);
    expect(report.windows).toHaveLength(2);
    for (const window of report.windows) {
      expect(window.privacy.private).toBe(true);
      expect(window.privacy.mechanism).not.toBe('none');
      expect(window.privacy.epsilon).toBeGreaterThan(0);
      expect(Object.keys(window.privacy.sensitivity).length).toBeGreaterThan(0);
      expect(window.privacy.budget.epsilonSpent).toBeGreaterThan(0);
    }
    expect(report.windows[1]!.privacy.budget.epsilonSpent).toBeGreaterThan(report.windows[0]!.privacy.budget.epsilonSpent);
    expect(run.stdout).not.toContain('NOT PRIVATE');
    expect(run.stdout).toMatch(/privacy: .*ε = /);
    // Besides the report, a private run keeps only its spending, in the privacy ledger under XDG_STATE_HOME.
    const outsideReport = (await writtenFiles(sandbox)).filter((file) => !file.startsWith(path.join('work', 'out', 'report.')));
    expect(outsideReport.length).toBeGreaterThan(0);
    for (const file of outsideReport) expect(file).toMatch(/^state\/veil\/privacy-ledger/);
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

  it('a privacy budget that cannot pay for one window: exit 2, naming the field and the fix, no ledger started', async () => {
    const config = await input('site.yaml', 'privacy: { epsilon: 1, epsilonPerPeriod: 0.5 }\n');
    const run = await runVeil(['batch', FOOTAGE.overpass, '--config', config], sandbox);
    await expectCleanFailure(run, 2, /privacy\.epsilonPerPeriod: .*raise epsilonPerPeriod to at least 1.*\(got 0\.5\)/);
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
