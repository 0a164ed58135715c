/**
 * The drift baseline file: written whole, read back, refused when it is not one or has other bins, and a destination
 * checked before an analysis is spent on it.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkBaselineDestination, readDriftBaseline, writeDriftBaseline, type DriftBaseline } from '../../pipeline/driftBaseline.ts';
import { PathError } from '../../pipeline/fsProblems.ts';

const BASELINE: DriftBaseline = { source: 'calibration', description: 'veil eval gate.mp4', windows: 1, histograms: { score: [0, 1, 2, 3, 4, 5, 6, 7], size: [1, 2, 3, 4, 5, 6] } };

let folder: string;
afterEach(() => rmSync(folder, { recursive: true, force: true }));
const fileIn = () => path.join((folder = mkdtempSync(path.join(tmpdir(), 'veil-baseline-'))), 'gate.json');

describe('drift baseline file', () => {
  it('reads back what was written, with the bins it was made with, and reads a missing file as none', () => {
    const file = fileIn();
    expect(readDriftBaseline(file)).toBeUndefined();
    writeDriftBaseline(file, BASELINE);
    expect(readDriftBaseline(file)).toEqual(BASELINE);
    const stored = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    expect(stored).toMatchObject({ format: 'veil-drift-baseline', version: 1, scoreBinEdges: [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9], sizeBinEdges: [1 / 32, 1 / 16, 1 / 8, 1 / 4, 1 / 2] });
  });

  it('refuses a file that is not a baseline, and one made with other bins, saying which', () => {
    const file = fileIn();
    writeFileSync(file, '{"hello": 1}');
    expect(() => readDriftBaseline(file)).toThrow(`${file} is not a Veil drift baseline`);
    writeDriftBaseline(file, BASELINE);
    const stored = JSON.parse(readFileSync(file, 'utf8')) as { scoreBinEdges: number[] };
    writeFileSync(file, JSON.stringify({ ...stored, scoreBinEdges: [0.5] }));
    expect(() => readDriftBaseline(file)).toThrow(`${file} is a drift baseline made with other bins than this Veil's`);
  });

  it('says it is the folder that is missing when the file cannot be written there', () => {
    fileIn();
    const file = path.join(folder, 'no-such-folder', 'gate.json');
    expect(() => writeDriftBaseline(file, BASELINE)).toThrow(`${file} cannot be written: its folder ${path.join(folder, 'no-such-folder')} does not exist`);
  });
});

describe('a calibration baseline\'s destination, checked before the analysis', () => {
  it('refuses a missing folder, naming the folder', () => {
    fileIn();
    const file = path.join(folder, 'nodir', 'sub', 'b.json');
    expect(() => checkBaselineDestination(file, '--drift-baseline', false)).toThrow(new PathError(`--drift-baseline ${file}: the folder ${path.join(folder, 'nodir', 'sub')} does not exist: create it first (mkdir -p ${path.join(folder, 'nodir', 'sub')}), or choose a path in an existing folder`));
  });

  it('never replaces a file that is not a drift baseline, even when asked to replace', () => {
    const file = fileIn();
    writeFileSync(file, '{"clip": "gate.mp4", "lines": []}');
    for (const replace of [false, true]) expect(() => checkBaselineDestination(file, '--drift-baseline', replace)).toThrow(`--drift-baseline ${file} already exists and is not a Veil drift baseline`);
  });

  it('replaces an existing drift baseline only when asked to, and accepts a new file', () => {
    const file = fileIn();
    expect(() => checkBaselineDestination(file, '--drift-baseline', false)).not.toThrow();
    writeDriftBaseline(file, BASELINE);
    expect(() => checkBaselineDestination(file, '--drift-baseline', false)).toThrow(`--drift-baseline ${file} already holds a drift baseline (calibration: veil eval gate.mp4): add --replace-baseline to write over it, or name a new file`);
    expect(() => checkBaselineDestination(file, '--drift-baseline', true)).not.toThrow();
  });
});
