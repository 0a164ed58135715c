/**
 * Acceptance against hand counts, through `veil eval` as an operator runs it, with the default model and settings
 * (only the analysis rate chosen, within the ≤ 10 fps the issue allows).
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { REPO_ROOT } from '../helpers/paths.ts';
import { createSandbox, runVeil, type Sandbox } from '../helpers/veilCli.ts';

const LABELS_DIR = path.resolve(REPO_ROOT, '../shared/labels');

const evalOutput = z.object({
  lines: z.array(z.object({ line: z.string(), category: z.string(), expected: z.number(), counted: z.number(), forward: z.number(), backward: z.number(), tolerance: z.number(), withinTolerance: z.boolean() })),
  instants: z.array(z.object({ t: z.number(), category: z.string(), expected: z.number(), counted: z.number() })),
  allLinesWithinTolerance: z.boolean(),
});

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
  });

  it('sees the one person at most labelled instants of the indoor clip', async () => {
    const run = await runVeil(['eval', '--labels', path.join(LABELS_DIR, 'pedestrians_indoor.json'), '--fps', '2', '--json'], sandbox);
    expect(run.exitCode, run.stderr).toBe(0);
    const result = evalOutput.parse(JSON.parse(run.stdout));
    expect(result.instants).toHaveLength(6);
    const correct = result.instants.filter((instant) => instant.counted === instant.expected);
    expect(correct.length).toBeGreaterThanOrEqual(5);
  });

  it('rejects a labels file without lines or frames, naming the problem', async () => {
    const run = await runVeil(['eval', '--labels', path.join(REPO_ROOT, 'package.json')], sandbox);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/labels file .*package\.json.*lines.*frames/s);
  });
});
