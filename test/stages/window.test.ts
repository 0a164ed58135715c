import { describe, expect, it } from 'vitest';
import type { CountedClass } from '../../models/detection.ts';
import type { WindowAggregate } from '../../stages/aggregates.ts';
import type { LineCrossing as Crossing } from '../../stages/lines.ts';
import { WindowAccumulator } from '../../stages/window.ts';
import { zeroCounts, type ClassCounts } from '../../stages/zones.ts';

const ZONES = ['door', 'frame'];
const LINES = ['gate', 'road'];

function occupancy(perZone: Record<string, Partial<ClassCounts>>): Record<string, ClassCounts> {
  return Object.fromEntries(ZONES.map((zone) => [zone, { ...zeroCounts(), ...perZone[zone] }]));
}

const crossing = (line: string, cocoClass: CountedClass, direction: Crossing['direction']): Crossing => ({ line, cocoClass, direction });

/** Feeds frames (time, people in 'frame', crossings) and returns every window closed, the last one at `endSeconds`. */
function run(windowSeconds: number, frames: Array<[number, number, Crossing[]?]>, endSeconds: number): WindowAggregate[] {
  const accumulator = new WindowAccumulator(windowSeconds, ZONES, LINES, 'clip');
  const closed = frames.flatMap(([ptsSeconds, people, crossings]) => accumulator.add(ptsSeconds, occupancy({ frame: { person: people } }), crossings ?? []) ?? []);
  const last = accumulator.close(endSeconds);
  return last ? [...closed, last] : closed;
}

describe('WindowAccumulator', () => {
  it('cuts windows at multiples of the window length: [k·W, (k+1)·W), a frame exactly on a boundary opens the next', () => {
    const windows = run(10, [[0, 1], [5, 1], [9.999, 1], [10, 2], [19.5, 2], [20, 3]], 20.5);
    expect(windows.map((w) => [w.startSeconds, w.endSeconds, w.framesAnalysed])).toEqual([
      [0, 10, 3],
      [10, 20, 2],
      [20, 20.5, 1],
    ]);
  });

  it('closes a window only when a frame of a later window arrives', () => {
    const accumulator = new WindowAccumulator(10, ZONES, LINES, 'clip');
    expect(accumulator.add(1, occupancy({}), [])).toBeUndefined();
    expect(accumulator.add(9, occupancy({}), [])).toBeUndefined();
    const closed = accumulator.add(12, occupancy({}), []);
    expect(closed?.startSeconds).toBe(0);
    expect(closed?.framesAnalysed).toBe(2);
  });

  it('never claims time before the input starts (an excerpt from mid-clip), nor lets a window stall past its end live', () => {
    const excerpt = new WindowAccumulator(10, ZONES, LINES, 'clip', 25);
    excerpt.add(25, occupancy({}), []);
    const first = excerpt.add(31, occupancy({}), []);
    expect([first?.startSeconds, first?.endSeconds]).toEqual([25, 30]);

    const live = new WindowAccumulator(10, ZONES, LINES, 'wall');
    live.add(100, occupancy({}), []);
    expect(live.closeIfEnded(109.9)).toBeUndefined();
    expect(live.closeIfEnded(110)).toMatchObject({ startSeconds: 100, endSeconds: 110, framesAnalysed: 1 });
    expect(live.closeIfEnded(200)).toBeUndefined();
  });

  it('never reopens a closed window for a frame that arrives late, so no window is released twice', () => {
    const live = new WindowAccumulator(60, ZONES, LINES, 'wall');
    live.add(59.8, occupancy({}), []);
    expect(live.closeIfEnded(60.1)).toMatchObject({ startSeconds: 0, endSeconds: 60 });
    expect(live.add(59.9, occupancy({}), [])).toBeUndefined();
    expect(live.framesTooLate).toBe(1);
    live.add(60.2, occupancy({}), []);
    expect(live.close()).toMatchObject({ startSeconds: 60, framesAnalysed: 1 });
  });

  it('gives the mean over the window’s analysed frames and the peak of any one frame, per zone and class', () => {
    const accumulator = new WindowAccumulator(60, ZONES, LINES, 'clip');
    accumulator.add(0, occupancy({ door: { person: 1 }, frame: { person: 3, car: 2 } }), []);
    accumulator.add(1, occupancy({ door: { person: 0 }, frame: { person: 1, car: 0 } }), []);
    accumulator.add(2, occupancy({ door: { person: 2 }, frame: { person: 2, car: 1 } }), []);
    accumulator.add(3, occupancy({ door: { person: 1 }, frame: { person: 0, car: 0 } }), []);
    const window = accumulator.close(4)!;
    expect(window.zones.door!.person).toEqual({ meanOccupancy: 1, peakOccupancy: 2 });
    expect(window.zones.frame!.person).toEqual({ meanOccupancy: 1.5, peakOccupancy: 3 });
    expect(window.zones.frame!.car).toEqual({ meanOccupancy: 0.75, peakOccupancy: 2 });
    expect(window.zones.frame!.truck).toEqual({ meanOccupancy: 0, peakOccupancy: 0 });
  });

  it('lists every zone and every counted class, zeros included', () => {
    const [window] = run(60, [[0, 0]], 1);
    expect(Object.keys(window!.zones)).toEqual(ZONES);
    for (const zone of ZONES) expect(Object.keys(window!.zones[zone]!).sort()).toEqual(['bicycle', 'bus', 'car', 'motorcycle', 'person', 'truck']);
    expect(Object.keys(window!.lines)).toEqual(LINES);
  });

  it('ends the last, partial window at the clip’s end, not at the next boundary', () => {
    const windows = run(60, [[0, 1], [30, 1], [60, 1], [75.2, 1]], 75.4);
    expect(windows.map((w) => [w.startSeconds, w.endSeconds])).toEqual([
      [0, 60],
      [60, 75.4],
    ]);
  });

  it('never ends a window before its last frame, nor after its boundary', () => {
    expect(run(60, [[0, 1], [50, 1]], 40).at(-1)!.endSeconds).toBe(50);
    expect(run(60, [[0, 1], [50, 1]], 90).at(-1)!.endSeconds).toBe(60);
  });

  it('without an end time, closes at the boundary', () => {
    const accumulator = new WindowAccumulator(15, ZONES, LINES, 'wall');
    accumulator.add(31, occupancy({}), []);
    expect(accumulator.close()).toMatchObject({ startSeconds: 30, endSeconds: 45, clock: 'wall' });
    expect(accumulator.close()).toBeUndefined();
  });

  it('emits no window for a stretch without frames (a gap in the stream)', () => {
    const windows = run(10, [[1, 1], [2, 1], [45, 1]], 46);
    expect(windows.map((w) => w.startSeconds)).toEqual([0, 40]);
  });

  it('counts crossings per line, class and direction, in the window of the frame that reported them', () => {
    const windows = run(
      10,
      [
        [1, 0, [crossing('gate', 'person', 'forward'), crossing('road', 'car', 'forward')]],
        [2, 0, [crossing('gate', 'person', 'forward'), crossing('gate', 'person', 'backward')]],
        [11, 0, [crossing('road', 'truck', 'backward')]],
      ],
      12,
    );
    expect(windows[0]!.lines.gate!.person).toEqual({ forward: 2, backward: 1 });
    expect(windows[0]!.lines.road!.car).toEqual({ forward: 1, backward: 0 });
    expect(windows[0]!.lines.road!.truck).toEqual({ forward: 0, backward: 0 });
    expect(windows[1]!.lines.road!.truck).toEqual({ forward: 0, backward: 1 });
    expect(windows[1]!.lines.gate!.person).toEqual({ forward: 0, backward: 0 });
  });

  it('refuses a crossing on a line it was not told about', () => {
    const accumulator = new WindowAccumulator(10, ZONES, LINES, 'clip');
    expect(() => accumulator.add(1, occupancy({}), [crossing('bridge', 'person', 'forward')])).toThrow('crossing reported for unknown line "bridge"');
  });

  it('refuses a window length that is not positive', () => {
    for (const windowSeconds of [0, -5, Number.NaN]) {
      expect(() => new WindowAccumulator(windowSeconds, ZONES, LINES, 'clip')).toThrow(/window length must be positive/);
    }
  });

  it('aligns wall-clock windows to the epoch, so a 900 s window runs 08:00–08:15', () => {
    const eightOhSevenUtc = Date.UTC(2024, 4, 1, 8, 7, 0) / 1000;
    const accumulator = new WindowAccumulator(900, ZONES, LINES, 'wall');
    accumulator.add(eightOhSevenUtc, occupancy({}), []);
    const window = accumulator.close()!;
    expect(new Date(window.startSeconds * 1000).toISOString()).toBe('2024-05-01T08:00:00.000Z');
    expect(new Date(window.endSeconds * 1000).toISOString()).toBe('2024-05-01T08:15:00.000Z');
  });
});
