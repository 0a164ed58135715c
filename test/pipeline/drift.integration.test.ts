/**
 * The drift score on real footage: the overpass clip's first 14 s through the real detector, clean, blurred and
 * darkened by ffmpeg into a temporary folder. The clean excerpt's baseline is written by `veil eval --drift-baseline`
 * (the CLI, in its own process); each degraded run's drift score against it must pass the significant-shift level.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DETECTION_LIMITS } from '../../models/cocoSsd.ts';
import { startDetectorPool, type DetectorPool } from '../../models/detectorPool.ts';
import { driftIndices, type DriftHistograms } from '../../stages/drift.ts';
import { WHOLE_FRAME_ZONE } from '../../stages/zones.ts';
import { runBatch } from '../../pipeline/batch.ts';
import { readDriftBaseline } from '../../pipeline/driftBaseline.ts';
import { testFfmpeg } from '../helpers/frames.ts';
import { FOOTAGE, REPO_ROOT } from '../helpers/paths.ts';
import { createSandbox, runVeil, type Sandbox } from '../helpers/veilCli.ts';

const LABELS = path.resolve(REPO_ROOT, '../shared/labels/traffic_overpass.json');

const EXCERPT_SECONDS = 14;
const FPS = 3;

let detector: DetectorPool;
let sandbox: Sandbox;
let folder: string;
const histograms: Record<'clean' | 'blurred' | 'darkened', DriftHistograms | undefined> = { clean: undefined, blurred: undefined, darkened: undefined };

/** The excerpt re-encoded through an ffmpeg filter (or none), as a camera with that fault would send it. */
async function degraded(name: string, filter: string | undefined): Promise<string> {
  const ffmpeg = await testFfmpeg();
  const output = path.join(folder, `${name}.mkv`);
  execFileSync(ffmpeg.path, ['-v', 'error', '-y', '-i', FOOTAGE.overpass, '-t', String(EXCERPT_SECONDS), ...(filter ? ['-vf', filter] : []), '-an', '-c:v', 'ffv1', output]);
  return output;
}

async function driftOf(input: string): Promise<DriftHistograms> {
  const outcome = await runBatch({
    input,
    ffmpeg: await testFfmpeg(),
    detector,
    analysis: { fps: FPS, maxWidth: 640, zones: [WHOLE_FRAME_ZONE], lines: [], classes: ['person', 'bicycle', 'car', 'motorcycle', 'bus', 'truck'], windowLengths: [60], scoreThreshold: 0.4, motionGate: { enabled: false, thresholdLevels: 6, minDetectorFps: 1.25 }, driftWindowSeconds: 60 },
    release: (aggregate) => aggregate,
  });
  return outcome.drift!;
}

beforeAll(async () => {
  sandbox = await createSandbox();
  folder = sandbox.inputs;
  const baselineFile = path.join(sandbox.inputs, 'baseline.json');
  const evaluated = await runVeil(['eval', '--labels', LABELS, await degraded('clean', undefined), '--fps', String(FPS), '--motion-gate', 'off', '--drift-baseline', baselineFile], sandbox);
  // Exit code 3: the excerpt holds half the labelled crossings, so the line is outside its tolerance; that is fine here.
  expect(evaluated.exitCode, evaluated.stderr).toBe(3);
  const baseline = readDriftBaseline(baselineFile)!;
  expect(baseline).toMatchObject({ source: 'calibration', windows: 1 });
  histograms.clean = baseline.histograms;
  detector = await startDetectorPool({ backend: 'auto', ...DETECTION_LIMITS }, 2);
  histograms.blurred = await driftOf(await degraded('blurred', 'boxblur=2:1'));
  histograms.darkened = await driftOf(await degraded('darkened', 'eq=brightness=-0.4'));
}, 600_000);

afterAll(async () => {
  await detector?.close();
  await sandbox?.remove();
});

/** The share of a histogram's tracks whose median score is below 0.5 (bins [0, 0.3), [0.3, 0.4), [0.4, 0.5)). */
const lowScoreShare = (histograms: DriftHistograms) => histograms.score.slice(0, 3).reduce((a, b) => a + b, 0) / histograms.score.reduce((a, b) => a + b, 0);

describe('drift on real footage', () => {
  it('counts each confirmed track once in each histogram', () => {
    const clean = histograms.clean!;
    const tracks = clean.score.reduce((a, b) => a + b, 0);
    // The excerpt holds about a dozen cars and vans (by eye); each confirmed track is one count per histogram.
    expect(tracks).toBeGreaterThanOrEqual(8);
    expect(clean.size.reduce((a, b) => a + b, 0)).toBe(tracks);
  });

  it('rises above the significant-shift level when the picture is blurred or darkened', () => {
    const clean = histograms.clean!;
    expect(driftIndices(clean, clean)).toEqual({ score: 0, size: 0 });
    for (const fault of ['blurred', 'darkened'] as const) {
      const faulty = histograms[fault]!;
      const index = driftIndices(clean, faulty);
      expect(Math.max(index.score!, index.size!), fault).toBeGreaterThan(0.25);
      // And for the reason one expects: the detector is less sure of what it still finds.
      expect(lowScoreShare(faulty), fault).toBeGreaterThan(lowScoreShare(clean));
    }
  });
});
