/** The drift baseline file: written whole, read back, and refused with a fix when it is not one or has other bins. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readDriftBaseline, writeDriftBaseline, type DriftBaseline } from '../../pipeline/driftBaseline.ts';

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

  it('refuses a file that is not a baseline, and one made with other bins, saying how to make a new one', () => {
    const file = fileIn();
    writeFileSync(file, '{"hello": 1}');
    expect(() => readDriftBaseline(file)).toThrow(`${file} is not a Veil drift baseline: write one with \`veil eval CLIP --drift-baseline ${file}\``);
    writeDriftBaseline(file, BASELINE);
    const stored = JSON.parse(readFileSync(file, 'utf8')) as { scoreBinEdges: number[] };
    writeFileSync(file, JSON.stringify({ ...stored, scoreBinEdges: [0.5] }));
    expect(() => readDriftBaseline(file)).toThrow(`the drift baseline ${file} uses other bins than this Veil`);
  });

  it('names the file when it cannot be written', () => {
    const file = path.join(fileIn(), 'no-such-folder', 'gate.json');
    expect(() => writeDriftBaseline(file, BASELINE)).toThrow(`the drift baseline ${file} cannot be written (`);
  });
});
