/**
 * Acceptance against hand counts, through `veil eval` as an operator runs it, with the default model and settings
 * (only the analysis rate chosen, within the ≤ 10 fps the issue allows).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { REPO_ROOT } from '../helpers/paths.ts';
import { createSandbox, runVeil, type Sandbox } from '../helpers/veilCli.ts';

const LABELS_DIR = path.resolve(REPO_ROOT, '../shared/labels');
const CASES_DIR = path.resolve(REPO_ROOT, '../shared/cases');
const OWN_LABELS_DIR = path.resolve(REPO_ROOT, 'test/fixtures/labels');
const OVERPASS_CLIP = path.resolve(REPO_ROOT, '../shared/footage/traffic_overpass_cars-trucks_320x240.avi');

const evalOutput = z.object({
  lines: z.array(
    z.object({
      line: z.string(),
      category: z.string(),
      expected: z.number(),
      counted: z.number(),
      forward: z.number(),
      backward: z.number(),
      tolerance: z.number(),
      withinTolerance: z.boolean(),
      expectedDirection: z.enum(['forward', 'backward']).optional(),
      againstExpectedDirection: z.number().optional(),
    }),
  ),
  instants: z.array(z.object({ t: z.number(), category: z.string(), expected: z.number(), counted: z.number() })),
  allLinesWithinTolerance: z.boolean(),
  tracksConfirmed: z.number(),
  inferences: z.object({ run: z.number(), skipped: z.number() }),
  fragmentation: z.array(z.object({ line: z.string(), tracksReaching: z.number(), labelledCrossings: z.number(), tracksPerCrossing: z.number().optional() })),
  visitFragmentation: z.array(z.object({ category: z.string(), tracksConfirmed: z.number(), labelledVisits: z.number(), tracksPerVisit: z.number().optional() })),
});

async function evaluate(args: string[]) {
  const run = await runVeil(['eval', ...args, '--json'], sandbox);
  expect(run.exitCode, run.stderr).toBe(0);
  return evalOutput.parse(JSON.parse(run.stdout));
}

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await createSandbox();
});
afterAll(async () => {
  await sandbox.remove();
});

describe('veil eval against hand counts', () => {
  it('counts the overpass vehicles inside 27 ± 2 at 10 fps, all moving down the frame (forward)', async () => {
    const run = await runVeil(['eval', '--labels', path.join(LABELS_DIR, 'traffic_overpass.json'), '--fps', '10', '--json'], sandbox);
    expect(run.exitCode, run.stderr).toBe(0);
    const result = evalOutput.parse(JSON.parse(run.stdout));
    const [line] = result.lines;
    expect(line).toMatchObject({ line: 'overpass-y0.625', category: 'vehicle', expected: 27, tolerance: 2 });
    expect(Math.abs(line!.counted - 27)).toBeLessThanOrEqual(2);
    // The line is drawn left to right, so traffic moving down the frame crosses forward.
    expect(line!.backward).toBeLessThanOrEqual(1);
    expect(result.allLinesWithinTolerance).toBe(true);
  }, 300_000);

  it('sees the one person at most labelled instants of the indoor clip', async () => {
    const run = await runVeil(['eval', '--labels', path.join(LABELS_DIR, 'pedestrians_indoor.json'), '--fps', '2', '--json'], sandbox);
    expect(run.exitCode, run.stderr).toBe(0);
    const result = evalOutput.parse(JSON.parse(run.stdout));
    expect(result.instants).toHaveLength(6);
    const correct = result.instants.filter((instant) => instant.counted === instant.expected);
    expect(correct.length).toBeGreaterThanOrEqual(5);
  }, 300_000);

  it('follows each of the six people who came into view on the indoor clip as one track each, give or take two split stays (tracks per visit, 2 fps)', async () => {
    const result = await evaluate(['--labels', path.join(OWN_LABELS_DIR, 'pedestrians_indoor_visits.json'), '--fps', '2']);
    const [people] = result.visitFragmentation;
    expect(people).toMatchObject({ category: 'person', labelledVisits: 6 });
    // Every visit found, and at most two of the six stays split in two (people standing still with their backs to the
    // camera score below 0.4 for seconds at a time, longer than the tracker's 3 s coast; measured: 8 at 2 and 5 fps).
    expect(people!.tracksConfirmed).toBeGreaterThanOrEqual(6);
    expect(people!.tracksConfirmed).toBeLessThanOrEqual(8);
    expect(people!.tracksPerVisit).toBeCloseTo(people!.tracksConfirmed / 6, 10);
  }, 300_000);

  it('counts each lane once, in the direction the traffic moves, with the halves adding up to the whole line, however the lines are drawn (5 fps)', async () => {
    const result = await evaluate(['--labels', path.join(OWN_LABELS_DIR, 'overpass_lines_drawn_both_ways.json'), OVERPASS_CLIP, '--fps', '5']);
    const counted = (name: string) => result.lines.find((line) => line.line === name)!;
    for (const line of result.lines) {
      expect(line.withinTolerance, `${line.line}: ${line.counted} for ${line.expected} ± ${line.tolerance}`).toBe(true);
      expect(line.againstExpectedDirection, `${line.line}: crossings against the one-way traffic`).toBe(0);
    }
    for (const drawn of ['ltr', 'rtl']) {
      const halves = counted(`left-${drawn}`).counted + counted(`right-${drawn}`).counted;
      expect(Math.abs(halves - counted(`full-${drawn}`).counted)).toBeLessThanOrEqual(1);
    }
    // Track fragmentation is reported per line: every vehicle that crossed reached the line as (about) one track.
    const full = result.fragmentation.find((f) => f.line === 'full-ltr')!;
    expect(full.labelledCrossings).toBe(27);
    expect(full.tracksPerCrossing).toBeGreaterThan(0.9);
    expect(full.tracksPerCrossing).toBeLessThan(1.2);
  }, 300_000);

  it.each([
    ['vehicles that leave the frame across a line 6 px above its bottom edge (5 fps)', path.join(CASES_DIR, 'overpass_cropped-line-near-bottom.json'), '5'],
    // At 2 fps a car is seen once or twice below mid-frame before it leaves: a new track must follow its own car, not
    // the one in the next lane (its motion gate is the spread of how cars moved there, docs/counting-lines.md).
    ['vehicles that leave the frame across a line 6 px above its bottom edge (2 fps)', path.join(CASES_DIR, 'overpass_cropped-line-near-bottom.json'), '2'],
    ['the overpass at 2 fps (a box with many cameras runs each one slowly)', path.join(LABELS_DIR, 'traffic_overpass.json'), '2'],
  ])('counts %s inside 27 ± 2, nothing backward', async (_, labels, fps) => {
    const [line] = (await evaluate(['--labels', labels, '--fps', fps])).lines;
    expect(Math.abs(line!.counted - 27), `counted ${line!.counted}`).toBeLessThanOrEqual(2);
    expect(line!.backward).toBe(0);
  }, 300_000);

  it('counts the people in a busy scene (5 to 9 walkers) within one at every labelled instant (2 fps)', async () => {
    const result = await evaluate(['--labels', path.join(OWN_LABELS_DIR, 'campus_people.json'), '--fps', '2']);
    expect(result.instants).toHaveLength(6);
    for (const instant of result.instants) {
      expect(Math.abs(instant.counted - instant.expected), `t=${instant.t}: counted ${instant.counted} for ${instant.expected}`).toBeLessThanOrEqual(1);
    }
  }, 300_000);

  it('counts the people in the busy scene within one at five of its six instants at 5 fps, walkers the detector misses for a frame included', async () => {
    // At 5 fps walkers drop below the detector's lowest score for a frame at a time: occupancy counts a confirmed
    // track through a frame or two it is missed. The sixth instant (t = 22 s, 7 people) is short by three whom the
    // detector scores below 0.4 there: one first seen 0.2 s before (not yet confirmed), one half out of the frame at
    // its right edge, one standing beside another since 20.4 s (docs/eval.md).
    const result = await evaluate(['--labels', path.join(OWN_LABELS_DIR, 'campus_people.json'), '--fps', '5']);
    expect(result.instants).toHaveLength(6);
    const within = result.instants.filter((instant) => Math.abs(instant.counted - instant.expected) <= 1);
    expect(within.length, result.instants.map((i) => `t=${i.t}: ${i.counted} for ${i.expected}`).join('; ')).toBeGreaterThanOrEqual(5);
  }, 300_000);

  it('warns that a camera turned on its side cannot be seen, and counts it once told its orientation (2 fps)', async () => {
    // The overpass as a camera mounted a quarter turn anticlockwise films it: the traffic runs across the picture.
    const sideways = path.join(sandbox.inputs, 'overpass-sideways.mp4');
    await promisify(execFile)('ffmpeg', ['-v', 'error', '-i', OVERPASS_CLIP, '-vf', 'transpose=cclock', '-c:v', 'libx264', '-crf', '18', sideways]);
    const labels = path.join(LABELS_DIR, 'traffic_overpass.json');

    const blind = await runVeil(['eval', '--labels', labels, sideways, '--fps', '2', '--json'], sandbox);
    expect(blind.stderr).toMatch(/WARN.*almost nothing.*orientation/);
    expect(evalOutput.parse(JSON.parse(blind.stdout)).lines[0]!.counted).toBeLessThan(10);

    // The labelled line is drawn on the upright picture, which is what the detector, zones and lines see.
    const upright = await evaluate(['--labels', labels, sideways, '--fps', '2', '--orientation', 'rotate-90-clockwise']);
    expect(Math.abs(upright.lines[0]!.counted - 27)).toBeLessThanOrEqual(2);
  }, 300_000);

  it('counts the same with the motion gate on as off on the indoor clip, running the detector on far fewer frames (5 fps)', async () => {
    // The first 60 s: visitors at the table (labelled at 10 s and 30 s) and the empty room between them (50 s).
    const labels = ['--labels', path.join(LABELS_DIR, 'pedestrians_indoor.json'), '--fps', '5', '--duration', '60'];
    const off = await evaluate([...labels, '--motion-gate', 'off']);
    const on = await evaluate([...labels, '--motion-gate', 'on']);
    // 60 s at 5 frames/s: 300 frames, every one detected with the gate off.
    expect(off.inferences).toEqual({ run: 300, skipped: 0 });
    expect(on.inferences.run + on.inferences.skipped).toBe(300);
    expect(on.inferences.skipped).toBeGreaterThan(50);
    expect(on.instants.map((instant) => [instant.t, instant.counted])).toEqual(off.instants.map((instant) => [instant.t, instant.counted]));
  }, 600_000);

  it('on an excerpt, shows the whole-clip line counts as not comparable instead of failing, and skips instants outside it', async () => {
    // 2 s of a 28.3 s clip: 27 labelled crossings over the whole clip cannot be held against what 2 s hold.
    const lines = await runVeil(['eval', '--labels', path.join(LABELS_DIR, 'traffic_overpass.json'), '--fps', '1', '--duration', '2'], sandbox);
    expect(lines.exitCode, lines.stderr).toBe(0);
    expect(lines.stdout).toContain('hand count 27 ± 2, not comparable: the labels count the whole clip (28.3 s), the excerpt is 2 s (0–2 s)');
    expect(lines.stdout).not.toContain('OUTSIDE TOLERANCE');
    // The labels name no expected direction: the line says which way forward is (stages/lines.ts's convention).
    expect(lines.stdout).toMatch(/\(forward \d+, backward \d+; forward = from left to right, walking from→to\)/);
    expect(lines.stderr).toContain('the labels count the whole clip');
    // 8–12 s of the indoor clip holds the instant at 10 s only; 30, 50, 90, 110 and 130 s are outside it.
    const instants = await runVeil(['eval', '--labels', path.join(LABELS_DIR, 'pedestrians_indoor.json'), '--fps', '1', '--start', '8', '--duration', '4', '--json'], sandbox);
    expect(instants.exitCode, instants.stderr).toBe(0);
    const result = JSON.parse(instants.stdout) as { instants: Array<{ t: number }>; instantsOutsideExcerpt: number[] };
    expect(result.instants.map((instant) => instant.t)).toEqual([10]);
    expect(result.instantsOutsideExcerpt).toEqual([30, 50, 90, 110, 130]);
  });

  it('rejects a labels file without lines or frames, naming the problem', async () => {
    const run = await runVeil(['eval', '--labels', path.join(REPO_ROOT, 'package.json')], sandbox);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/labels file .*package\.json.*lines.*frames/s);
  });
});
