/**
 * What one tracked object can add to a counting line's counts. The privacy stage takes
 * `MAX_CROSSINGS_PER_TRACK_PER_LINE` as the sensitivity of a crossing count, so these tests hold the counter to it by
 * behaviour, on tracker output, rather than reading the constant back.
 */
import { describe, expect, it } from 'vitest';
import { LineCounter, MAX_CROSSINGS_PER_TRACK_PER_LINE, type CountingLine } from '../../stages/lines.ts';
import { Tracker } from '../../stages/track.ts';
import { boxStandingAt, countCrossings, detection, sampleFrames, straightLine, type Trajectory } from './trajectories.ts';

/** Horizontal, from x = 0.1 to x = 0.9 at y = 0.6. */
const road: CountingLine = { name: 'road', from: [0.1, 0.6], to: [0.9, 0.6] };
const kerb: CountingLine = { name: 'kerb', from: [0.1, 0.75], to: [0.9, 0.75] };

/** Someone pacing up and down between y = 0.45 and y = 0.9 (across both lines) at x, a full lap every 4 s. */
function pacing(x: number): Trajectory {
  return (t) => detection(boxStandingAt(x, 0.675 - 0.225 * Math.cos((2 * Math.PI * t) / 4)), 'person');
}

const perLine = (crossings: { line: string }[], line: string) => crossings.filter((c) => c.line === line).length;

describe('one object adds at most MAX_CROSSINGS_PER_TRACK_PER_LINE to each line', () => {
  it('however many times it walks back and forth across two lines', () => {
    // 30 s of pacing: 7 laps, so 15 trips across each line, each of them a crossing if counted naively.
    const crossings = countCrossings(sampleFrames([pacing(0.5)], 5, 30), new LineCounter([road, kerb]), new Tracker());
    for (const line of ['road', 'kerb']) {
      expect(perLine(crossings, line)).toBeGreaterThanOrEqual(1);
      expect(perLine(crossings, line)).toBeLessThanOrEqual(MAX_CROSSINGS_PER_TRACK_PER_LINE);
    }
  });

  it('per object: two people pacing side by side add one bound each', () => {
    const crossings = countCrossings(sampleFrames([pacing(0.3), pacing(0.7)], 5, 30), new LineCounter([road]), new Tracker());
    expect(perLine(crossings, 'road')).toBeGreaterThanOrEqual(2);
    expect(perLine(crossings, 'road')).toBeLessThanOrEqual(2 * MAX_CROSSINGS_PER_TRACK_PER_LINE);
  });
});

describe('the segment margin', () => {
  /** Crossings by one car driving straight down through y = 0.6 at x. */
  const crossingsAt = (x: number, counter = new LineCounter([road])) =>
    countCrossings(sampleFrames([straightLine([x, 0.4], [0, 0.2])], 5, 2), counter).length;

  it('is the same at the `to` end as at the `from` end: with a 0.02 margin 0.01 outside either end counts, 0.03 outside does not', () => {
    const margin = () => new LineCounter([road], { segmentMargin: 0.02 });
    // x = 0.09 and x = 0.91 are both 0.01 beyond an end.
    expect([crossingsAt(0.09, margin()), crossingsAt(0.91, margin())]).toEqual([1, 1]);
    expect([crossingsAt(0.07, margin()), crossingsAt(0.93, margin())]).toEqual([0, 0]);
  });

  it('is 0 by default, so half-lines tile a line: 0.01 outside either end does not count, 0.01 inside does', () => {
    expect([crossingsAt(0.09), crossingsAt(0.91)]).toEqual([0, 0]);
    expect([crossingsAt(0.11), crossingsAt(0.89)]).toEqual([1, 1]);
  });

  it('follows a configured margin at both ends', () => {
    const wide = () => new LineCounter([road], { segmentMargin: 0.05 });
    expect([crossingsAt(0.06, wide()), crossingsAt(0.94, wide())]).toEqual([1, 1]);
    expect([crossingsAt(0.04, wide()), crossingsAt(0.96, wide())]).toEqual([0, 0]);
  });
});
