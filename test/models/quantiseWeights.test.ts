import { describe, expect, it } from 'vitest';
import { quantiseUint8 } from '../../models/quantiseWeights.ts';

describe('quantiseUint8', () => {
  it('maps [-1, 1] onto 256 levels with 0 exactly a level, each value within half a step of where it was', () => {
    const values = new Float32Array([-1, -0.25, 0, 0.5, 1]);
    const { levels, min, scale } = quantiseUint8(values);
    // Range 2 over 255 steps; 0 sits at level round(1 / (2/255)) = round(127.5) = 128, so min = −128 · 2/255.
    expect(scale).toBeCloseTo(2 / 255, 12);
    expect(min).toBeCloseTo((-128 * 2) / 255, 12);
    expect(levels[2]).toBe(128);
    expect(min + levels[2]! * scale).toBe(0);
    values.forEach((value, index) => expect(Math.abs(min + levels[index]! * scale - value)).toBeLessThanOrEqual(scale / 2 + 1e-7));
  });

  it('keeps 0 in the range of an all-positive tensor, so that a zero weight stays zero', () => {
    const { levels, min, scale } = quantiseUint8(new Float32Array([0.5, 1.5]));
    // The range is [0, 1.5]: min 0, 1.5 / 255 a step; 0.5 is level round(85) = 85.
    expect(Math.abs(min)).toBe(0);
    expect(scale).toBeCloseTo(1.5 / 255, 12);
    expect([...levels]).toEqual([85, 255]);
  });

  it('gives an all-zero tensor level 0, min 0 and a step of 1', () => {
    const { levels, min, scale } = quantiseUint8(new Float32Array([0, 0, 0]));
    expect([...levels, min, scale]).toEqual([0, 0, 0, 0, 1]);
  });
});
