import { describe, expect, it } from 'vitest';
import { intersectionOverUnion, type Box, type CountedClass, type Detection } from '../../models/detection.ts';
import { suppressOverlaps } from '../../models/nms.ts';

const box = (x: number, y: number, width: number, height: number): Box => ({ x, y, width, height });
const detection = (cocoClass: CountedClass, score: number, at: Box): Detection => ({ cocoClass, score, box: at });

describe('intersectionOverUnion', () => {
  it('is 1 for the same box, 0 for disjoint or edge-touching boxes, and symmetric', () => {
    expect(intersectionOverUnion(box(0.1, 0.1, 0.2, 0.2), box(0.1, 0.1, 0.2, 0.2))).toBeCloseTo(1, 12);
    expect(intersectionOverUnion(box(0, 0, 0.2, 0.2), box(0.5, 0.5, 0.2, 0.2))).toBe(0);
    expect(intersectionOverUnion(box(0, 0, 0.2, 0.2), box(0.2, 0, 0.2, 0.2))).toBe(0);
    const a = box(0, 0, 0.4, 0.2);
    const b = box(0.2, 0, 0.4, 0.2);
    // Overlap 0.2×0.2 = 0.04; union 0.08 + 0.08 - 0.04 = 0.12.
    expect(intersectionOverUnion(a, b)).toBeCloseTo(1 / 3, 12);
    expect(intersectionOverUnion(b, a)).toBeCloseTo(1 / 3, 12);
  });
});

describe('suppressOverlaps', () => {
  it('keeps the best of overlapping boxes of one category: car and truck on one vehicle are one object', () => {
    const kept = suppressOverlaps(
      [detection('truck', 0.6, box(0.1, 0.1, 0.3, 0.3)), detection('car', 0.8, box(0.11, 0.1, 0.3, 0.3)), detection('car', 0.7, box(0.6, 0.6, 0.2, 0.2))],
      0.5,
    );
    expect(kept.map((d) => [d.cocoClass, d.score])).toEqual([['car', 0.8], ['car', 0.7]]);
  });

  it('keeps a person and the bicycle under them: different categories never suppress each other', () => {
    const kept = suppressOverlaps([detection('person', 0.9, box(0.4, 0.2, 0.1, 0.5)), detection('bicycle', 0.6, box(0.4, 0.3, 0.1, 0.4))], 0.5);
    expect(kept.map((d) => d.cocoClass)).toEqual(['person', 'bicycle']);
  });

  it('keeps two people side by side whose boxes overlap less than the threshold', () => {
    const left = detection('person', 0.9, box(0.4, 0.2, 0.1, 0.5));
    const right = detection('person', 0.4, box(0.47, 0.2, 0.1, 0.5));
    expect(intersectionOverUnion(left.box, right.box)).toBeLessThan(0.5);
    expect(suppressOverlaps([right, left], 0.5)).toEqual([left, right]);
  });

  it('does not reorder or change its input', () => {
    const input = [detection('car', 0.2, box(0, 0, 0.1, 0.1)), detection('car', 0.9, box(0.5, 0.5, 0.1, 0.1))];
    const copy = structuredClone(input);
    suppressOverlaps(input, 0.5);
    expect(input).toEqual(copy);
  });
});
