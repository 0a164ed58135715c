/**
 * A counting line's geometry on a slanted line, where every term of the crossing-point arithmetic matters (on a
 * horizontal line half of them multiply by zero), and the checks a line and the counter's options get where they
 * enter. Points are built from the line's own direction, so each expected value follows from the construction.
 */
import { describe, expect, it } from 'vitest';
import { countingLineSchema, LineCounter, lineCounterOptionsSchema, type CountingLine } from '../../stages/lines.ts';
import type { Point, TrackHandle } from '../../stages/track.ts';
import { boxStandingAt } from './trajectories.ts';

/**
 * From (0.1, 0.1) to (0.4, 0.5): length 0.5 (not 1, where dividing and multiplying by it agree), direction
 * u = (0.6, 0.8); n = (0.8, −0.6) points to its left-hand side. `along(s)` is s along it from `from`.
 */
const slanted: CountingLine = { name: 'ramp', from: [0.1, 0.1], to: [0.4, 0.5] };
const along = (s: number, offset: { x: number; y: number } = { x: 0, y: 0 }): Point => ({ x: 0.1 + 0.6 * s + offset.x, y: 0.1 + 0.8 * s + offset.y });
/** An oblique step: 0.06 to the left of the line and 0.03 along it, so the path is not perpendicular to the line. */
const step = { x: 0.06 * 0.8 + 0.03 * 0.6, y: 0.06 * -0.6 + 0.03 * 0.8 };

/**
 * One track seen twice, at `start` then `end` (born at `start`); returns the crossings the counter reports.
 * The path from start + 2·step to start − step meets the line at `along(s)`, two thirds of the way.
 */
function pathThrough(s: number, counter = new LineCounter([slanted], { segmentMargin: 0.02 }), reversed = false) {
  const crossingPoint = along(s);
  const left: Point = { x: crossingPoint.x + 2 * step.x, y: crossingPoint.y + 2 * step.y };
  const right: Point = { x: crossingPoint.x - step.x, y: crossingPoint.y - step.y };
  const [start, end] = reversed ? [right, left] : [left, right];
  const handle = Object.freeze(Object.create(null)) as TrackHandle;
  // The track's motion is the path's own direction (a counter counts a crossing only the way the track moves).
  const velocity: Point = { x: end.x - start.x, y: end.y - start.y };
  return [start, end].flatMap((point) =>
    counter.update({
      tracks: [{ handle, cocoClass: 'person', box: boxStandingAt(point.x, point.y), referencePoint: point, originReferencePoint: start, velocity }],
      ended: [],
    }),
  );
}

describe('a slanted line, crossed obliquely', () => {
  it('counts where the path meets the line: inside the segment and up to a 0.02 margin beyond either end', () => {
    // The path's ends project onto the line at s + 0.06 and s − 0.03: at s = 0.53 one of them is on the segment, at
    // s = −0.03 the other is, yet the crossing itself is 0.03 beyond an end, outside the margin.
    expect([-0.03, -0.01, 0.25, 0.51, 0.53].map((s) => pathThrough(s).length)).toEqual([0, 1, 1, 1, 0]);
  });

  it('counts left to right as forward and right to left as backward', () => {
    expect(pathThrough(0.25)).toEqual([{ line: 'ramp', cocoClass: 'person', direction: 'forward' }]);
    expect(pathThrough(0.25, undefined, true)).toEqual([{ line: 'ramp', cocoClass: 'person', direction: 'backward' }]);
  });

  it('judges the side by distance from the line, not from its ends: a point 0.01 from the line, inside the band, is on neither side', () => {
    const nearMiddle = along(0.25, { x: 0.01 * 0.8, y: 0.01 * -0.6 });
    const farSide = along(0.25, { x: -0.1 * 0.8, y: -0.1 * -0.6 });
    const counter = new LineCounter([slanted]);
    const handle = Object.freeze(Object.create(null)) as TrackHandle;
    const seen = (point: Point) =>
      counter.update({ tracks: [{ handle, cocoClass: 'car', box: boxStandingAt(point.x, point.y), referencePoint: point, originReferencePoint: nearMiddle, velocity: { x: farSide.x - nearMiddle.x, y: farSide.y - nearMiddle.y } }], ended: [] });
    // Born inside the band, it has no side yet: reaching the far side is not a crossing.
    expect([...seen(nearMiddle), ...seen(farSide)]).toEqual([]);
  });
});

describe('countingLineSchema and LineCounter', () => {
  it('accept a line exactly 0.01 long, the shortest with a usable direction, and refuse one shorter', () => {
    const shortest: CountingLine = { name: 'gate', from: [0, 0.5], to: [0.01, 0.5] };
    expect(countingLineSchema.safeParse(shortest).success).toBe(true);
    expect(() => new LineCounter([shortest])).not.toThrow();
    expect(countingLineSchema.safeParse({ ...shortest, to: [0.0099, 0.5] }).success).toBe(false);
    expect(() => new LineCounter([{ ...shortest, to: [0.0099, 0.5] }])).toThrow(RangeError);
  });

  it('say which line, where its ends are, what is wrong and what to do, on the `to` field', () => {
    const parsed = countingLineSchema.safeParse({ name: 'gate', from: [0.3, 0.3], to: [0.3, 0.3] });
    expect(parsed.error?.issues.map((issue) => [issue.path, issue.message])).toEqual([
      [
        ['to'],
        'counting line "gate": from [0.3, 0.3] and to [0.3, 0.3] are the same point; a line needs two points at least ' +
          '0.01 apart (normalised) to have a direction — move one of its ends',
      ],
    ]);
    expect(() => new LineCounter([{ name: 'gate', from: [0.3, 0.3], to: [0.305, 0.3] }])).toThrow(
      'counting line "gate": from [0.3, 0.3] and to [0.305, 0.3] are almost the same point; a line needs two points at least 0.01 apart',
    );
  });
});

describe('lineCounterOptionsSchema', () => {
  it('takes a hysteresis band and a segment margin from 0 to 0.2, defaulting to 0.015 and 0 (half-lines tile a line)', () => {
    expect(lineCounterOptionsSchema.parse({})).toEqual({ hysteresisBand: 0.015, segmentMargin: 0 });
    for (const value of [0, 0.1, 0.2]) {
      expect(lineCounterOptionsSchema.safeParse({ hysteresisBand: value, segmentMargin: value }).success).toBe(true);
    }
    for (const value of [-0.01, 0.21]) {
      expect(lineCounterOptionsSchema.safeParse({ hysteresisBand: value }).success).toBe(false);
      expect(lineCounterOptionsSchema.safeParse({ segmentMargin: value }).success).toBe(false);
    }
  });
});
