/**
 * Writing and naming a drift baseline as a new user does it, through the real CLI in its own process: `veil eval CLIP
 * --drift-baseline FILE` with no hand counts, a destination whose folder is missing, a destination that is someone's
 * other file, and `veil run` with a `drift.baseline` that is not a baseline. Only one run analyses footage (4 s at
 * 2 frames/s); every refusal comes before the detector loads.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDriftBaseline } from '../../pipeline/driftBaseline.ts';
import { FEED_TOKEN, writeSiteConfig } from '../helpers/liveVeil.ts';
import { FOOTAGE } from '../helpers/paths.ts';
import { createSandbox, runVeil, STACK_FRAME_LINE, type Sandbox } from '../helpers/veilCli.ts';

let sandbox: Sandbox;
/** Someone's hand counts: a JSON file Veil must never write over. */
let labelsFile: string;
const LABELS_TEXT = `${JSON.stringify({ clip: FOOTAGE.overpass, lines: [{ name: 'road', from: [0, 0.6], to: [1, 0.6], crossings: { vehicle: 9 } }] })}\n`;

beforeAll(async () => {
  sandbox = await createSandbox();
  labelsFile = path.join(sandbox.inputs, 'overpass-labels.json');
  writeFileSync(labelsFile, LABELS_TEXT);
});
afterAll(() => sandbox.remove());

describe('veil eval --drift-baseline', () => {
  it('says in --help how to write a baseline without hand counts', async () => {
    const help = await runVeil(['eval', '--help'], sandbox);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toContain('veil eval CLIP --drift-baseline FILE');
    expect(help.stdout).toContain('--replace-baseline');
  });

  it('writes a baseline from a recording with no --labels, prints its track count and warns that it is too few', async () => {
    const file = path.join(sandbox.inputs, 'overpass-baseline.json');
    const run = await runVeil(['eval', FOOTAGE.overpass, '--drift-baseline', file, '--duration', '4', '--fps', '2'], sandbox);
    expect(run.exitCode, run.stderr).toBe(0);
    const baseline = readDriftBaseline(file)!;
    expect(baseline.source).toBe('calibration');
    // Each track adds one count to the score histogram: the sum is the track count the command reports.
    const tracks = baseline.histograms.score.reduce((sum, count) => sum + count, 0);
    expect(run.stdout).toContain(`drift baseline written to ${file} (${tracks} tracks; no hand counts, so no comparison)`);
    // 4 s of road cannot hold the few hundred tracks docs/drift.md asks for.
    expect(run.stderr).toContain(`the drift baseline holds only ${tracks} tracks, fewer than the 300 docs/drift.md asks for`);

    // The same destination again: refused before any analysis, the baseline left as it was.
    const before = readFileSync(file, 'utf8');
    const again = await runVeil(['eval', FOOTAGE.overpass, '--drift-baseline', file, '--duration', '4', '--fps', '2'], sandbox);
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toContain(`--drift-baseline ${file} already holds a drift baseline`);
    expect(again.stderr).toContain('add --replace-baseline to write over it, or name a new file');
    expect(again.stderr).not.toMatch(/detector ready|analysing/);
    expect(readFileSync(file, 'utf8')).toBe(before);
  });

  it('refuses, before analysing, a folder that does not exist, naming the folder', async () => {
    const file = path.join(sandbox.inputs, 'nodir', 'sub', 'b.json');
    const run = await runVeil(['eval', FOOTAGE.overpass, '--drift-baseline', file, '--duration', '4', '--fps', '2'], sandbox);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain(`the folder ${path.dirname(file)} does not exist`);
    expect(run.stderr).not.toMatch(/detector ready|analysing/);
    expect(run.stderr).not.toMatch(STACK_FRAME_LINE);
  });

  it('never writes over a file that is not a drift baseline, even with --replace-baseline', async () => {
    const run = await runVeil(['eval', FOOTAGE.overpass, '--drift-baseline', labelsFile, '--replace-baseline', '--duration', '4', '--fps', '2'], sandbox);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain(`--drift-baseline ${labelsFile} already exists and is not a Veil drift baseline`);
    expect(readFileSync(labelsFile, 'utf8')).toBe(LABELS_TEXT);
  });
});

describe('veil run with drift.baseline naming a file that is not a baseline', () => {
  it('is a config error (exit 2) on cameras[i].drift.baseline that suggests a new file and leaves the file alone', async () => {
    const state = path.join(sandbox.inputs, 'state');
    mkdirSync(state);
    const configFile = await writeSiteConfig(sandbox.inputs, 'site.yaml', {
      stateDir: state,
      feed: { port: 0 },
      cameras: [
        { id: 'yard', source: { file: FOOTAGE.parkinglot, loop: true } },
        { id: 'road', source: { file: FOOTAGE.overpass, loop: true }, drift: { share: 0.2, baseline: labelsFile } },
      ],
    });
    const run = await runVeil(['run', '--config', configFile, '--new-ledger'], sandbox, { env: { VEIL_FEED_TOKEN: FEED_TOKEN } });
    expect(run.exitCode, run.stderr).toBe(2);
    expect(run.stderr).toContain(`config ${configFile}, cameras[1].drift.baseline (camera "road"): ${labelsFile} is not a Veil drift baseline`);
    expect(run.stderr).toContain(`write a drift baseline to a new file with \`veil eval RECORDING.mp4 --drift-baseline ${path.join(sandbox.inputs, 'road-drift-baseline.json')}\``);
    expect(run.stderr).not.toMatch(/remove|delete|overwrite/);
    expect(readFileSync(labelsFile, 'utf8')).toBe(LABELS_TEXT);
  });
});
