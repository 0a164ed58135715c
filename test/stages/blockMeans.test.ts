import { describe, expect, it } from 'vitest';
import { greyBlockMeans } from '../../stages/blockMeans.ts';
import type { Frame } from '../../streams/frame.ts';

/** A 4 × 2 frame whose pixels are grey (R = G = B) at the given levels, row by row. */
function greyFrame(levels: number[][]): Frame {
  const height = levels.length;
  const width = levels[0]!.length;
  const pixels = new Uint8Array(width * height * 3);
  levels.flat().forEach((level, pixel) => pixels.fill(level, pixel * 3, pixel * 3 + 3));
  return { index: 0, ptsSeconds: 0, width, height, pixels };
}

const LEVELS = [
  [10, 20, 30, 40],
  [50, 60, 70, 80],
];

describe('greyBlockMeans', () => {
  it('averages every pixel of each block at step 1: (10 + 20 + 50 + 60) / 4 and (30 + 40 + 70 + 80) / 4', () => {
    expect([...greyBlockMeans(greyFrame(LEVELS), 2, 1, 1, new Float64Array(2))]).toEqual([35, 55]);
  });

  it('takes every step-th pixel each way: at step 2 only the first row’s pixels 0 and 2', () => {
    expect([...greyBlockMeans(greyFrame(LEVELS), 2, 1, 2, new Float64Array(2))]).toEqual([10, 30]);
  });

  it('puts pixel x in block column floor(x · columns / width) when the columns do not divide the width', () => {
    // 3 columns over 4 pixels: x = 0, 1 → 0; x = 2 → 1; x = 3 → 2. Two rows: block 0 of row 0, …
    const means = greyBlockMeans(greyFrame(LEVELS), 3, 2, 1, new Float64Array(6));
    expect([...means]).toEqual([15, 30, 40, 55, 70, 80]);
  });

  it('leaves a block no sampled pixel falls in at 0', () => {
    // Step 2 samples x = 0 and 2, which fall in columns 0 and 2 of 4.
    expect([...greyBlockMeans(greyFrame(LEVELS), 4, 1, 2, new Float32Array(4))]).toEqual([10, 0, 30, 0]);
  });

  it('averages the three channels: pure blue (0, 0, 255) is grey level 85', () => {
    const frame: Frame = { index: 0, ptsSeconds: 0, width: 1, height: 1, pixels: new Uint8Array([0, 0, 255]) };
    expect([...greyBlockMeans(frame, 1, 1, 1, new Float64Array(1))]).toEqual([85]);
  });

  it('overwrites what the grid held before', () => {
    const into = new Float64Array([999, 999]);
    expect([...greyBlockMeans(greyFrame(LEVELS), 2, 1, 1, into)]).toEqual([35, 55]);
  });

  it('refuses a grid of the wrong length', () => {
    expect(() => greyBlockMeans(greyFrame(LEVELS), 2, 2, 1, new Float64Array(3))).toThrow(/a 2 × 2 grid needs 4 cells, got 3/);
  });
});
