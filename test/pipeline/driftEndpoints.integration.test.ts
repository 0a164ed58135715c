/**
 * What the drift monitor lets out, read the way an operator reads it: /healthz and /metrics of a real feed server on
 * 127.0.0.1, a real ledger in a temporary state folder. Exact histograms must never reach an endpoint: the histograms
 * shown are noised (two releases of the same exact window differ), and the metric is the PSI of exactly the
 * histograms shown, computed here from the formula Σ (a − e)·ln(a/e) with shares floored at 1 % (docs/drift.md).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { COUNTED_CLASSES } from '../../models/detection.ts';
import type { DriftHistograms, DriftWindow } from '../../stages/drift.ts';
import { writeDriftBaseline } from '../../pipeline/driftBaseline.ts';
import { DriftMonitor, driftSettingsSchema } from '../../pipeline/driftMonitor.ts';
import { createLogger } from '../../pipeline/log.ts';
import { openPrivacy, type CameraRelease } from '../../pipeline/privacySetup.ts';
import type { CameraStateRegistry } from '../../streams/cameraState.ts';
import type { VeilMetrics } from '../../streams/metrics.ts';
import { FEED_TOKEN, startTestFeed } from '../streams/feedFixtures.ts';
import { parsePrometheusText } from './prometheusText.ts';

const CAMERA = 'gate';
const HOUR = 3600;
/** A baseline as a calibration clip gives it: scores mostly high, boxes middling. */
const BASELINE: DriftHistograms = { score: [20, 40, 80, 160, 300, 500, 600, 300], size: [30, 200, 700, 600, 200, 20] };
/** An hour of a camera that still sees as it did: the baseline's shape, other totals. */
const STEADY: DriftHistograms = { score: [15, 30, 70, 140, 260, 420, 520, 245], size: [25, 170, 600, 500, 180, 25] };
/** An hour of a fogged lens: scores fall, small objects are lost. */
const FOGGED: DriftHistograms = { score: [300, 500, 450, 300, 150, 60, 30, 10], size: [0, 20, 300, 700, 500, 80] };

/** PSI by its formula, written here independently of stages/drift.ts: counts below 0 are 0, shares floored at 0.01. */
function psiByHand(expected: number[], actual: number[]): number {
  const shares = (counts: number[]) => {
    const clamped = counts.map((count) => (count > 0 ? count : 0));
    const total = clamped.reduce((a, b) => a + b, 0);
    return clamped.map((count) => Math.max(count / total, 0.01));
  };
  const e = shares(expected);
  const a = shares(actual);
  let sum = 0;
  for (let bin = 0; bin < e.length; bin++) sum += (a[bin]! - e[bin]!) * Math.log(a[bin]! / e[bin]!);
  return sum;
}

const folders: string[] = [];
const closing: Array<() => unknown> = [];
afterEach(async () => {
  for (const close of closing.splice(0).reverse()) await close();
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

interface Box {
  monitor: DriftMonitor;
  releaser: CameraRelease;
  url: string;
  stateDir: string;
  logLines: string[];
}

/** A box as `veil run` wires one camera with drift: its releaser, ledger, monitor, and the feed serving both. */
async function startBox(drift: Record<string, unknown>, stateDir = mkdtempSync(path.join(tmpdir(), 'veil-drift-box-'))): Promise<Box> {
  if (!folders.includes(stateDir)) folders.push(stateDir);
  const logLines: string[] = [];
  const log = createLogger('json', (line) => logLines.push(line));
  const settings = driftSettingsSchema.parse(drift);
  const privacy = openPrivacy({ stateDir, createLedger: true, log });
  closing.push(() => privacy.close());
  const releaser = privacy.releaserFor({ id: CAMERA, zones: [], lines: [{ name: 'door' }], classes: [...COUNTED_CLASSES], privacy: { epsilon: 1 }, drift: settings }, { clockOffsetSeconds: 0, monotonic: true });
  const started = await startTestFeed();
  closing.push(() => started.feed.close());
  const states: CameraStateRegistry = started.cameraStates;
  const metrics: VeilMetrics = started.metrics;
  states.set(CAMERA, 'streaming');
  const monitor = new DriftMonitor({ camera: CAMERA, settings, releaser, stateDir, states, metrics, log, where: 'config site.yaml, cameras[0]' });
  return { monitor, releaser, url: started.feed.url, stateDir, logLines };
}

const hour = (index: number, histograms: DriftHistograms): DriftWindow => ({ startSeconds: index * HOUR, endSeconds: (index + 1) * HOUR, windowSeconds: HOUR, histograms });

async function healthz(box: Box) {
  const response = await fetch(`${box.url}/healthz`, { headers: { authorization: `Bearer ${FEED_TOKEN}` } });
  const text = await response.text();
  const body = JSON.parse(text) as { cameras: Array<{ camera: string; drift?: { status: string; histograms?: DriftHistograms; psi?: { score: number; size: number }; warning?: string; note?: string } }> };
  return { text, drift: body.cameras.find((camera) => camera.camera === CAMERA)!.drift! };
}

async function metrics(box: Box) {
  const text = await (await fetch(`${box.url}/metrics`, { headers: { authorization: `Bearer ${FEED_TOKEN}` } })).text();
  const families = parsePrometheusText(text);
  const psi = (feature: string) => families.get('veil_drift_psi')?.samples.find((sample) => sample.labels.camera === CAMERA && sample.labels.feature === feature)?.value;
  const warning = families.get('veil_drift_warning')?.samples.find((sample) => sample.labels.camera === CAMERA)?.value;
  return { text, psi: { score: psi('score'), size: psi('size') }, warning };
}

/** A calibration baseline on disk, as `veil eval --drift-baseline` writes it. */
function calibrationBaseline(): string {
  const folder = mkdtempSync(path.join(tmpdir(), 'veil-drift-baseline-'));
  folders.push(folder);
  const file = path.join(folder, 'gate.json');
  writeDriftBaseline(file, { source: 'calibration', description: 'test clip', windows: 1, histograms: BASELINE });
  return file;
}

const exactly = (histograms: DriftHistograms) => JSON.stringify([...histograms.score, ...histograms.size]);

describe('drift monitor set-up', () => {
  it('refuses a drift window that is not a whole number of the camera\'s windows, and a named baseline that is missing', async () => {
    await expect(startBox({ share: 0.5, windowSeconds: 600 })).rejects.toThrow('config site.yaml, cameras[0].drift.windowSeconds (camera "gate"): 600 s is not a whole number of the camera\'s windows (900 s): use a multiple of all of them, e.g. 3600');
    await expect(startBox({ share: 0.5, baseline: '/nonexistent/gate.json' })).rejects.toThrow('config site.yaml, cameras[0].drift.baseline (camera "gate"): no file /nonexistent/gate.json: write it with `veil eval RECORDING.mp4 --drift-baseline /nonexistent/gate.json`');
  });
});

describe('drift on /healthz and /metrics', () => {
  it('shows noised histograms only, and a PSI that is the PSI of exactly those', async () => {
    const baseline = calibrationBaseline();
    const shown: DriftHistograms[] = [];
    for (let run = 0; run < 2; run++) {
      // Two boxes, each with its own ledger, releasing the same exact hour.
      const box = await startBox({ share: 0.5, baseline, minTracks: 1000 });
      box.monitor.add([hour(0, STEADY)]);
      box.monitor.publishEndedBy(HOUR);
      const health = await healthz(box);
      const metric = await metrics(box);
      const released = health.drift.histograms!;
      shown.push(released);
      expect(health.drift.status).toBe('released');
      // The metric and the PSI on /healthz are the PSI of the histograms /healthz shows, against the baseline.
      expect(metric.psi.score).toBeCloseTo(psiByHand(BASELINE.score, released.score), 12);
      expect(metric.psi.size).toBeCloseTo(psiByHand(BASELINE.size, released.size), 12);
      expect(health.drift.psi).toEqual({ score: metric.psi.score, size: metric.psi.size });
      // …and not the PSI of the exact counts, which noise on 14 bins (s.d. 5.6 each) moves well beyond 10⁻⁹.
      expect(Math.abs(metric.psi.score! - psiByHand(BASELINE.score, STEADY.score))).toBeGreaterThan(1e-9);
      // The exact histograms appear nowhere.
      expect(exactly(released)).not.toBe(exactly(STEADY));
      for (const text of [health.text, metric.text]) expect(text.replace(/\s/g, '')).not.toContain(exactly(STEADY).slice(1, -1));
      expect(metric.warning).toBe(0);
    }
    // Two releases of the same footage: two independent noise draws.
    expect(exactly(shown[0]!)).not.toBe(exactly(shown[1]!));
  });

  it('warns on /healthz, on /metrics and in the log when the PSI passes the threshold', async () => {
    const box = await startBox({ share: 0.5, baseline: calibrationBaseline(), threshold: 0.25 });
    box.monitor.add([hour(0, FOGGED)]);
    box.monitor.publishEndedBy(HOUR);
    const health = await healthz(box);
    expect(psiByHand(BASELINE.score, health.drift.histograms!.score)).toBeGreaterThan(0.25);
    expect(health.drift.warning).toMatch(/^drift: the detection scores \(PSI [\d.]+\) and box sizes \(PSI [\d.]+\) moved beyond 0\.25 from the baseline/);
    expect((await metrics(box)).warning).toBe(1);
    const logged = box.logLines.map((line) => JSON.parse(line) as { level: string; message: string });
    expect(logged.some((line) => line.level === 'warn' && line.message === health.drift.warning)).toBe(true);
    // The next hour is seen as before: the warning goes.
    box.monitor.add([hour(1, STEADY)]);
    box.monitor.publishEndedBy(2 * HOUR);
    expect((await healthz(box)).drift.warning).toBeUndefined();
    expect((await metrics(box)).warning).toBe(0);
  });

  it('builds its own baseline from released histograms when none is named, and gives no PSI until it has', async () => {
    const box = await startBox({ share: 0.5, baselineSeconds: 2 * HOUR, minTracks: 1000 });
    const released: DriftHistograms[] = [];
    for (let index = 0; index < 2; index++) {
      box.monitor.add([hour(index, STEADY)]);
      box.monitor.publishEndedBy((index + 1) * HOUR);
      const health = await healthz(box);
      expect(health.drift.note).toBe(`building the baseline from released windows: ${index + 1} of 2`);
      // The log says so too, in its message: a person reading the log sees why there is no score yet.
      expect(box.logLines.map((line) => (JSON.parse(line) as { message: string }).message)).toContain(`drift window released: building the baseline from released windows: ${index + 1} of 2`);
      expect(health.drift.psi).toBeUndefined();
      expect((await metrics(box)).psi.score).toBeUndefined();
      released.push(health.drift.histograms!);
    }
    // The baseline on disk is the sum of what was released, not of the exact counts.
    const stored = JSON.parse(readFileSync(path.join(box.stateDir, `drift-baseline-${CAMERA}.json`), 'utf8')) as { source: string; windows: number; histograms: DriftHistograms };
    const sum = (key: 'score' | 'size') => released[0]![key].map((count, bin) => count + released[1]![key][bin]!);
    expect(stored).toMatchObject({ source: 'released', windows: 2, histograms: { score: sum('score'), size: sum('size') } });
    box.monitor.add([hour(2, FOGGED)]);
    box.monitor.publishEndedBy(3 * HOUR);
    const third = await healthz(box);
    expect((await metrics(box)).psi.score).toBeCloseTo(psiByHand(sum('score'), third.drift.histograms!.score), 12);
  });

  it('gives no PSI for an hour with fewer tracks than minTracks, and none for an hour the ledger withholds', async () => {
    const box = await startBox({ share: 0.5, baseline: calibrationBaseline(), minTracks: 1000 });
    // The camera's own crossings of the hour, at the other half of ε.
    const none = { forward: 0, backward: 0 };
    for (let start = 0; start < HOUR; start += 900) {
      expect(box.releaser.release({ startSeconds: start, endSeconds: start + 900, windowSeconds: 900, clock: 'wall', framesAnalysed: 10, zones: {}, lines: { door: { person: none, vehicle: none } } }).status).toBe('released');
    }
    const quiet: DriftHistograms = { score: [0, 1, 2, 5, 8, 12, 10, 4], size: [0, 4, 20, 15, 3, 0] };
    box.monitor.add([hour(0, quiet)]);
    box.monitor.publishEndedBy(HOUR);
    const health = await healthz(box);
    expect(health.drift.note).toMatch(/^about -?\d+ tracks \(noised\): fewer than drift\.minTracks = 1000, too few for a drift score$/);
    expect((await metrics(box)).psi).toEqual({ score: undefined, size: undefined });
    // A second process on the same camera and ledger releases the same hour: crossings and drift spent its ε.
    const second = await startBox({ share: 0.5, baseline: calibrationBaseline() }, box.stateDir);
    second.monitor.add([hour(0, STEADY)]);
    second.monitor.publishEndedBy(HOUR);
    const withheld = await healthz(second);
    expect(withheld.drift).toMatchObject({ status: 'withheld', note: 'withheld: span budget spent' });
    expect(withheld.drift.histograms).toBeUndefined();
  });
});
