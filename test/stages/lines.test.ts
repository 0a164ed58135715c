import { describe, expect, it } from 'vitest';
import type { CountedClass } from '../../models/detection.ts';
import {
  countingLineSchema,
  LineCounter,
  MAX_CROSSINGS_PER_TRACK_PER_LINE,
  type CountingLine,
} from '../../stages/lines.ts';
import { Tracker, type Point, type TrackHandle, type TrackedObject } from '../../stages/track.ts';
import { boxStandingAt, countCrossings, detection, sampleFrames, straightLine, type Trajectory } from './trajectories.ts';

/** The acceptance clip's line: horizontal, drawn left to right, so moving down the frame is forward. */
const horizontal: CountingLine = { name: 'road', from: [0.1, 0.6], to: [0.9, 0.6] };

const newHandle = () => Object.freeze(Object.create(null)) as TrackHandle;

/**
 * Feeds one hand-made track along `path` (one point per frame) to the counter; returns the crossings. Its motion
 * coming into each frame is the step that brought it there (per frame; only the sign across a line matters).
 */
function walk(counter: LineCounter, path: [number, number][], cocoClass: CountedClass = 'person') {
  const handle = newHandle();
  const [originX, originY] = path[0] ?? [0, 0];
  const originReferencePoint: Point = { x: originX, y: originY };
  return path.flatMap(([x, y], index) => {
    const [previousX, previousY] = path[index - 1] ?? [x, y];
    const tracked: TrackedObject = {
      handle,
      cocoClass,
      box: boxStandingAt(x, y),
      referencePoint: { x, y },
      velocity: { x: x - previousX, y: y - previousY },
      originReferencePoint,
    };
    return counter.update({ tracks: [tracked], ended: [] });
  });
}

describe('LineCounter', () => {
  it('counts a downward crossing of a left-to-right line as forward, with the class', () => {
    expect(walk(new LineCounter([horizontal]), [[0.5, 0.4], [0.5, 0.5], [0.5, 0.7], [0.5, 0.8]], 'car')).toEqual([
      { line: 'road', cocoClass: 'car', direction: 'forward' },
    ]);
  });

  it('counts an upward crossing as backward, and swapping the ends swaps the directions', () => {
    const upwards: [number, number][] = [[0.5, 0.8], [0.5, 0.65], [0.5, 0.55], [0.5, 0.4]];
    expect(walk(new LineCounter([horizontal]), upwards).map((c) => c.direction)).toEqual(['backward']);
    const reversed: CountingLine = { ...horizontal, from: horizontal.to, to: horizontal.from };
    expect(walk(new LineCounter([reversed]), upwards).map((c) => c.direction)).toEqual(['forward']);
  });

  it('follows the same convention on a vertical line: walking down it, forward goes right to left', () => {
    const vertical: CountingLine = { name: 'door', from: [0.5, 0.1], to: [0.5, 0.9] };
    expect(walk(new LineCounter([vertical]), [[0.7, 0.5], [0.3, 0.5]]).map((c) => c.direction)).toEqual(['forward']);
    expect(walk(new LineCounter([vertical]), [[0.3, 0.5], [0.7, 0.5]]).map((c) => c.direction)).toEqual(['backward']);
  });

  it('does not count jitter inside the hysteresis band, nor a point that stops on the line', () => {
    const onTheLine: [number, number][] = [[0.5, 0.5], [0.5, 0.59], [0.5, 0.61], [0.5, 0.595], [0.5, 0.612], [0.5, 0.6]];
    expect(walk(new LineCounter([horizontal]), onTheLine)).toEqual([]);
  });

  it('counts a track once per line however often it jitters back and forth across it', () => {
    const jittering: [number, number][] = [[0.5, 0.4]];
    for (let i = 0; i < 10; i++) jittering.push([0.5, i % 2 === 0 ? 0.65 : 0.55]);
    expect(walk(new LineCounter([horizontal]), jittering)).toHaveLength(MAX_CROSSINGS_PER_TRACK_PER_LINE);
  });

  it('counts only crossings through the segment, give or take the margin when one is set', () => {
    const crossingAt = (x: number, segmentMargin?: number) =>
      walk(new LineCounter([horizontal], { segmentMargin }), [[x, 0.5], [x, 0.7]]).length;
    expect(crossingAt(0.11)).toBe(1);
    expect(crossingAt(0.89)).toBe(1);
    expect(crossingAt(0.09)).toBe(0);
    expect(crossingAt(0.09, 0.02)).toBe(1);
    expect(crossingAt(0.05, 0.02)).toBe(0);
    expect(crossingAt(0.95, 0.02)).toBe(0);
  });

  it('places the crossing on the real path, not on the chord across the hysteresis band (issue 11\'s two paths)', () => {
    // Runs along the line inside the band and meets it at x = 0.5 + 0.45·(0.01/0.01 … ) ≈ 0.963: past the end (0.9).
    expect(walk(new LineCounter([horizontal]), [[0.5, 0.58], [0.95, 0.59], [0.99, 0.62]])).toEqual([]);
    // Creeps along inside the band from x = 0 and meets the line at x = 0.5, inside the segment: forward.
    expect(walk(new LineCounter([horizontal]), [[0.0, 0.584], [0.25, 0.59], [0.5, 0.595], [0.5, 0.7]])).toEqual([
      { line: 'road', cocoClass: 'person', direction: 'forward' },
    ]);
  });

  it('counts a crossing near the shared end of two half-lines on exactly one of them, however they are drawn', () => {
    const full: CountingLine = { name: 'full', from: [0.1, 0.6], to: [0.9, 0.6] };
    const halves = (reverseLeft: boolean, reverseRight: boolean): CountingLine[] => [
      reverseLeft ? { name: 'left', from: [0.5, 0.6], to: [0.1, 0.6] } : { name: 'left', from: [0.1, 0.6], to: [0.5, 0.6] },
      reverseRight ? { name: 'right', from: [0.9, 0.6], to: [0.5, 0.6] } : { name: 'right', from: [0.5, 0.6], to: [0.9, 0.6] },
    ];
    // Crossings spread over the full line, many of them within a box width of the shared end (x = 0.5).
    const xs = [0.15, 0.3, 0.47, 0.49, 0.499, 0.501, 0.51, 0.53, 0.7, 0.85];
    for (const [reverseLeft, reverseRight] of [[false, false], [true, false], [false, true], [true, true]] as const) {
      for (const upwards of [false, true]) {
        const counter = new LineCounter([full, ...halves(reverseLeft, reverseRight)]);
        const crossings = xs.flatMap((x) => walk(counter, upwards ? [[x + 0.01, 0.7], [x, 0.5]] : [[x - 0.01, 0.5], [x, 0.7]]));
        const on = (name: string) => crossings.filter((c) => c.line === name).length;
        expect(on('full')).toBe(xs.length);
        expect(on('left') + on('right')).toBe(on('full'));
      }
    }
  });

  it('does not count a track that jumps across the line against its own motion (an identity switch)', () => {
    // Born below the line on a car driving down, the track jumps back up onto the car behind it (above the line),
    // then follows that car down across the line: the jump is not a backward crossing, the follower's crossing counts.
    const counter = new LineCounter([horizontal]);
    const handle = newHandle();
    const at = (y: number, vy: number): TrackedObject => ({
      handle,
      cocoClass: 'car',
      box: boxStandingAt(0.5, y),
      referencePoint: { x: 0.5, y },
      velocity: { x: 0, y: vy },
      originReferencePoint: { x: 0.5, y: 0.7 },
    });
    const crossings = [at(0.72, 0.2), at(0.75, 0.2), at(0.5, 0.2), at(0.55, 0.1), at(0.65, 0.1)].flatMap((tracked) =>
      counter.update({ tracks: [tracked], ended: [] }),
    );
    expect(crossings).toEqual([{ line: 'road', cocoClass: 'car', direction: 'forward' }]);
  });

  it('counts the tracks that reached the line: each once, in the band on the segment or across it, none beside it or short of it', () => {
    // The line is y = 0.6 from x 0.1 to 0.9; the band is ± 0.015 (the default).
    const counter = new LineCounter([horizontal]);
    walk(counter, [[0.5, 0.4], [0.5, 0.7], [0.5, 0.5], [0.5, 0.7]]); // crosses, and back, and again: one track, 1
    walk(counter, [[0.3, 0.4], [0.3, 0.59], [0.3, 0.4]]); // into the band on the segment, never across: 2
    walk(counter, [[0.95, 0.4], [0.95, 0.595], [0.95, 0.4]]); // into the band beyond the segment's end: not counted
    walk(counter, [[0.05, 0.4], [0.05, 0.8]]); // across the line's extension, outside the segment: not counted
    walk(counter, [[0.5, 0.1], [0.5, 0.2], [0.5, 0.3]]); // heading for the segment, stopping short of the band: not counted
    expect(counter.tracksReaching()).toEqual({ road: 2 });
  });

  it('does not count a track that dips across the line inside the band and comes back out on its own side', () => {
    // 0.61 is past the line (y = 0.6) but inside the band (± 0.015); back at 0.4 the track is where it started.
    expect(walk(new LineCounter([horizontal]), [[0.5, 0.4], [0.5, 0.61], [0.5, 0.4]])).toEqual([]);
  });

  it('does not count a track born inside the band that leaves it on one side: it was never seen on the other', () => {
    expect(walk(new LineCounter([horizontal]), [[0.5, 0.595], [0.5, 0.605], [0.5, 0.7]])).toEqual([]);
  });

  it('does not count a step across the line while the track moves along it (its motion takes it to neither side)', () => {
    const counter = new LineCounter([horizontal]);
    const handle = newHandle();
    const at = (y: number): TrackedObject => ({
      handle,
      cocoClass: 'car',
      box: boxStandingAt(0.5, y),
      referencePoint: { x: 0.5, y },
      velocity: { x: 0.1, y: 0 },
      originReferencePoint: { x: 0.5, y: 0.4 },
    });
    expect([at(0.4), at(0.5), at(0.7)].flatMap((tracked) => counter.update({ tracks: [tracked], ended: [] }))).toEqual([]);
  });

  it('uses where the crossing happened, not where the track ended up', () => {
    // Crosses inside the segment, then walks off past its end: counted. Crosses outside, then walks under it: not.
    expect(walk(new LineCounter([horizontal]), [[0.8, 0.5], [0.85, 0.7], [0.99, 0.75]])).toHaveLength(1);
    expect(walk(new LineCounter([horizontal]), [[0.99, 0.5], [0.97, 0.7], [0.8, 0.75]])).toHaveLength(0);
  });

  it('counts a crossing made while the track was still tentative, from its origin', () => {
    const counter = new LineCounter([horizontal]);
    const handle = newHandle();
    const seenFirstBelowTheLine: TrackedObject = {
      handle,
      cocoClass: 'car',
      box: boxStandingAt(0.5, 0.7),
      referencePoint: { x: 0.5, y: 0.7 },
      velocity: { x: 0, y: 0.2 },
      originReferencePoint: { x: 0.5, y: 0.5 },
    };
    expect(counter.update({ tracks: [seenFirstBelowTheLine], ended: [] })).toHaveLength(1);
  });

  it('keeps lines independent and forgets ended tracks', () => {
    const second: CountingLine = { name: 'second', from: [0.1, 0.8], to: [0.9, 0.8] };
    const counter = new LineCounter([horizontal, second]);
    const crossings = walk(counter, [[0.5, 0.5], [0.5, 0.7], [0.5, 0.9]]);
    expect(crossings.map((c) => c.line)).toEqual(['road', 'second']);
    expect(counter.tracksRemembered).toBe(1);

    const handle = newHandle();
    const point = { x: 0.2, y: 0.2 };
    const tracked = { handle, cocoClass: 'person' as const, box: boxStandingAt(0.2, 0.2), referencePoint: point, velocity: { x: 0, y: 0 } };
    counter.update({ tracks: [{ ...tracked, originReferencePoint: point }], ended: [] });
    expect(counter.tracksRemembered).toBe(2);
    counter.update({ tracks: [], ended: [handle] });
    expect(counter.tracksRemembered).toBe(1);
  });

  it('refuses a zero-length line, naming it', () => {
    expect(() => new LineCounter([{ name: 'gate', from: [0.3, 0.3], to: [0.3, 0.3] }])).toThrow(
      /counting line "gate".*same point/,
    );
  });

  it('rejects a zero-length or too short line when the configuration is parsed, naming it', () => {
    const parsed = countingLineSchema.safeParse({ name: 'gate', from: [0.3, 0.3], to: [0.301, 0.3] });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toMatch(/counting line "gate".*almost the same point/);
    expect(countingLineSchema.safeParse(horizontal).success).toBe(true);
  });

  it('refuses two lines with the same name', () => {
    expect(() => new LineCounter([horizontal, horizontal])).toThrow(/"road" is defined twice/);
  });
});

describe('LineCounter on tracker output (synthetic trajectories)', () => {
  const counter = () => new LineCounter([horizontal]);

  it('counts one car driving down through the line at 5 and 10 fps', () => {
    for (const fps of [5, 10]) {
      const frames = sampleFrames([straightLine([0.5, 0.2], [0, 0.2])], fps, 3);
      expect(countCrossings(frames, counter())).toEqual([{ line: 'road', cocoClass: 'car', direction: 'forward' }]);
    }
  });

  it('counts a 2 fps car that jumps 15 % of the frame per step once', () => {
    const frames = sampleFrames([straightLine([0.4, 0.1], [0, 0.3])], 2, 3);
    expect(countCrossings(frames, counter())).toHaveLength(1);
  });

  it('counts two cars crossing side by side as two', () => {
    const frames = sampleFrames([straightLine([0.4, 0.3], [0, 0.2]), straightLine([0.5, 0.3], [0, 0.2])], 5, 3);
    expect(countCrossings(frames, counter())).toHaveLength(2);
  });

  it('counts crossings in both directions', () => {
    const down = straightLine([0.3, 0.3], [0, 0.15], 'person');
    const up = straightLine([0.7, 0.9], [0, -0.15], 'person');
    const directions = countCrossings(sampleFrames([down, up], 5, 4), counter()).map((c) => c.direction);
    expect(directions.sort()).toEqual(['backward', 'forward']);
  });

  it('counts once a person who dawdles on the line with detector jitter', () => {
    const dawdling: Trajectory = (t) => {
      const y = t < 1 ? 0.45 + 0.15 * t : t < 4 ? 0.6 + 0.012 * Math.sin(t * 17) : 0.6 + 0.15 * (t - 4);
      return detection(boxStandingAt(0.5, y), 'person');
    };
    expect(countCrossings(sampleFrames([dawdling], 10, 5), counter())).toHaveLength(1);
  });

  it('counts a 2 fps car that leaves the frame across a line 0.04 above the bottom edge, which no detection shows it crossing', () => {
    // Bottom centre at 0.55, 0.85, then (clipped by the frame) gone: the line at 0.96 is crossed on the way out.
    const nearEdge: CountingLine = { name: 'exit', from: [0, 0.96], to: [1, 0.96] };
    const car: Trajectory = (t) => (t < 1.2 ? detection(boxStandingAt(0.5, 0.55 + 0.3 * t, 0.15, 0.2)) : undefined);
    expect(countCrossings(sampleFrames([car], 2, 4), new LineCounter([nearEdge]))).toEqual([
      { line: 'exit', cocoClass: 'car', direction: 'forward' },
    ]);
  });

  it('does not count a track that merely ends short of a line (lost, not gone out of the frame)', () => {
    const car: Trajectory = (t) => (t < 1.2 ? detection(boxStandingAt(0.5, 0.3 + 0.1 * t)) : undefined);
    expect(countCrossings(sampleFrames([car], 5, 6), counter())).toEqual([]);
  });

  it('counts once a car lost for a few frames right at the line, then found again', () => {
    const car = straightLine([0.5, 0.3], [0, 0.2]);
    const hidden: Trajectory = (t) => (t > 1.2 && t < 1.8 ? undefined : car(t));
    const crossings = countCrossings(sampleFrames([hidden], 5, 3), counter(), new Tracker({ maxLostSeconds: 1 }));
    expect(crossings).toHaveLength(1);
  });
});
