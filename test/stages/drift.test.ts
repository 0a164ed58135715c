/**
 * The drift stage's arithmetic: bins, one contribution per track, and the population stability index, each against
 * values computed here by hand from the formula PSI = Σ (a − e)·ln(a/e) (Yurdakul 2018).
 */
import { describe, expect, it } from 'vitest';
import type { Box } from '../../models/detection.ts';
import { binIndex, boxSize, DRIFT_HISTOGRAM_SENSITIVITY, populationStabilityIndex, SCORE_BIN_EDGES, SIZE_BIN_EDGES, sumHistograms, TrackDriftAccumulator, type DriftHistograms, type TrackSighting } from '../../stages/drift.ts';
import type { TrackHandle } from '../../stages/track.ts';

const handle = () => Object.freeze(Object.create(null)) as TrackHandle;
/** A square box of side `side` (normalised), so its size √(w·h) is `side`. */
const square = (side: number): Box => ({ x: 0.1, y: 0.1, width: side, height: side });

describe('bins', () => {
  it('puts a value on an edge into the bin above it, and splits scores at tenths from 0.3 and sizes at octaves', () => {
    expect(SCORE_BIN_EDGES).toHaveLength(7);
    expect(binIndex(SCORE_BIN_EDGES, 0.29)).toBe(0);
    expect(binIndex(SCORE_BIN_EDGES, 0.3)).toBe(1);
    expect(binIndex(SCORE_BIN_EDGES, 0.65)).toBe(4);
    expect(binIndex(SCORE_BIN_EDGES, 1)).toBe(7);
    expect(binIndex(SIZE_BIN_EDGES, 0.01)).toBe(0);
    expect(binIndex(SIZE_BIN_EDGES, 1 / 32)).toBe(1);
    expect(binIndex(SIZE_BIN_EDGES, 0.3)).toBe(4);
    expect(binIndex(SIZE_BIN_EDGES, 0.9)).toBe(5);
  });

  it('measures a box by √(width·height): a 0.2 × 0.05 box is as big as a 0.1 square', () => {
    expect(boxSize({ x: 0, y: 0, width: 0.2, height: 0.05 })).toBeCloseTo(0.1, 12);
  });
});

describe('TrackDriftAccumulator: one contribution per track', () => {
  it('adds a track once, when it ends, at the bins of its median score and median size', () => {
    const drift = new TrackDriftAccumulator(3600);
    const track = handle();
    // Scores sorted: 0.55 0.58 0.62 0.91 0.95 → median 0.62, bin [0.6, 0.7) = 4. Sizes sorted: 0.04 0.05 0.2 0.3 0.3
    // → median 0.2, bin [1/8, 1/4) = 3.
    const seen: Array<[number, number]> = [[0.95, 0.04], [0.55, 0.3], [0.62, 0.05], [0.91, 0.2], [0.58, 0.3]];
    seen.forEach(([score, side], frame) => expect(drift.add(10 + frame, [{ handle: track, box: square(side), score }], [])).toEqual([]));
    // Nothing is counted while the track lives: its first window closes empty, but closes all the same.
    expect(drift.closeIfEnded(3600)).toEqual([{ startSeconds: 0, endSeconds: 3600, windowSeconds: 3600, histograms: { score: [0, 0, 0, 0, 0, 0, 0, 0], size: [0, 0, 0, 0, 0, 0] } }]);
    drift.add(3700, [], [track]);
    const [window] = drift.closeIfEnded(7200);
    expect(window).toEqual({ startSeconds: 3600, endSeconds: 7200, windowSeconds: 3600, histograms: { score: [0, 0, 0, 0, 1, 0, 0, 0], size: [0, 0, 0, 1, 0, 0] } });
  });

  it('takes the lower median of an even number of sightings', () => {
    const drift = new TrackDriftAccumulator(60);
    const track = handle();
    // 0.35 and 0.85: the lower median is 0.35 (bin 1); sizes 0.01 and 0.6: 0.01 (bin 0).
    drift.add(1, [{ handle: track, box: square(0.6), score: 0.85 }], []);
    drift.add(2, [{ handle: track, box: square(0.01), score: 0.35 }], [track]);
    expect(drift.closeIfEnded(60)[0]!.histograms).toEqual({ score: [0, 1, 0, 0, 0, 0, 0, 0], size: [1, 0, 0, 0, 0, 0] });
  });

  it('is closed by the first frame past its end, and ignores tracks it never saw', () => {
    const drift = new TrackDriftAccumulator(60);
    const track = handle();
    drift.add(59, [{ handle: track, box: square(0.1), score: 0.7 }], [track, handle()]);
    const closed = drift.add(61, [], []);
    expect(closed.map((window) => [window.startSeconds, window.histograms.score.reduce((a, b) => a + b)])).toEqual([[0, 1]]);
  });

  it('hands out every window that analysed a frame, and only those', () => {
    const drift = new TrackDriftAccumulator(60);
    drift.add(10, [], []);
    drift.add(200, [], []);
    expect(drift.closeIfEnded(1000).map((window) => window.startSeconds)).toEqual([180]);
    expect(drift.closeIfEnded(2000)).toEqual([]);
  });

  it('ends every live track at the end of the input', () => {
    const drift = new TrackDriftAccumulator(60);
    const [first, second] = [handle(), handle()];
    drift.add(30, [{ handle: first, box: square(0.3), score: 0.95 }], []);
    // The frame at 70 s closes [0, 60), empty: the first track ends in [60, 120).
    expect(drift.add(70, [{ handle: second, box: square(0.01), score: 0.45 }], [first]).map((window) => window.histograms.score.reduce((a, b) => a + b))).toEqual([0]);
    // Both in [60, 120): the first (0.95 → bin 7, 0.3 → bin 4), the second at the end (0.45 → bin 2, 0.01 → bin 0).
    expect(drift.finish(80)).toEqual([{ startSeconds: 60, endSeconds: 120, windowSeconds: 60, histograms: { score: [0, 0, 1, 0, 0, 0, 0, 1], size: [1, 0, 0, 0, 1, 0] } }]);
    expect(drift.finish(90)).toEqual([]);
  });

  it('opens a window at the end of the input for tracks still alive after the last one closed', () => {
    const drift = new TrackDriftAccumulator(60);
    const track = handle();
    drift.add(30, [{ handle: track, box: square(0.3), score: 0.95 }], []);
    expect(drift.closeIfEnded(60)).toHaveLength(1);
    // The clip ends at 130 s: the track ends there, in [120, 180).
    expect(drift.finish(130)).toEqual([{ startSeconds: 120, endSeconds: 180, windowSeconds: 60, histograms: { score: [0, 0, 0, 0, 0, 0, 0, 1], size: [0, 0, 0, 0, 1, 0] } }]);
  });

  it('refuses a window that is not a positive, finite length', () => {
    for (const length of [0, -60, Infinity, Number.NaN]) expect(() => new TrackDriftAccumulator(length)).toThrow(`drift.windowSeconds must be a positive number of seconds, got ${length}`);
  });

  it('changes the histograms by exactly one count in each when any one track is removed (L1 = 2, L2² = 2)', () => {
    // Random scenes of 12 tracks with random lives, scores and sizes; each track removed in turn.
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let scene = 0; scene < 50; scene++) {
      const tracks = Array.from({ length: 12 }, () => ({ handle: handle(), from: Math.floor(random() * 50), frames: 1 + Math.floor(random() * 30) }));
      const sightingOf = (track: (typeof tracks)[number]): TrackSighting => ({ handle: track.handle, box: square(0.01 + random() * 0.9), score: 0.2 + random() * 0.8 });
      const frames = Array.from({ length: 100 }, (_, frame) => ({
        sightings: tracks.filter((track) => frame >= track.from && frame < track.from + track.frames).map(sightingOf),
        ended: tracks.filter((track) => frame === track.from + track.frames).map((track) => track.handle),
      }));
      const histogramsWithout = (left: TrackHandle | undefined): DriftHistograms => {
        const drift = new TrackDriftAccumulator(1000);
        frames.forEach(({ sightings, ended }, frame) => drift.add(frame, sightings.filter((s) => s.handle !== left), ended));
        return drift.closeIfEnded(1000)[0]?.histograms ?? { score: new Array(8).fill(0), size: new Array(6).fill(0) };
      };
      const all = histogramsWithout(undefined);
      for (const track of tracks) {
        const without = histogramsWithout(track.handle);
        const changes = [...all.score.map((count, bin) => count - without.score[bin]!), ...all.size.map((count, bin) => count - without.size[bin]!)];
        expect(changes.reduce((sum, change) => sum + Math.abs(change), 0)).toBe(DRIFT_HISTOGRAM_SENSITIVITY.l1);
        expect(changes.reduce((sum, change) => sum + change * change, 0)).toBe(DRIFT_HISTOGRAM_SENSITIVITY.l2Squared);
      }
    }
  });
});

describe('sumHistograms', () => {
  it('adds bin by bin, starting from empty histograms', () => {
    const a = { score: [1, 2, 3, 4, 5, 6, 7, 8], size: [1, 0, 2, 0, 3, 0] };
    const b = { score: [0, -1, 0, 1, 0, 1, 0, 1], size: [5, 5, 5, 5, 5, 5] };
    expect(sumHistograms([a, b])).toEqual({ score: [1, 1, 3, 5, 5, 7, 7, 9], size: [6, 5, 7, 5, 8, 5] });
    expect(sumHistograms([])).toEqual({ score: [0, 0, 0, 0, 0, 0, 0, 0], size: [0, 0, 0, 0, 0, 0] });
  });
});

describe('populationStabilityIndex', () => {
  it('is Σ (a − e)·ln(a/e) over the bins\' shares', () => {
    // e = (0.5, 0.3, 0.2), a = (0.3, 0.3, 0.4): (0.3 − 0.5)·ln(0.3/0.5) + 0 + (0.4 − 0.2)·ln(0.4/0.2).
    const byHand = -0.2 * Math.log(0.6) + 0.2 * Math.log(2);
    expect(populationStabilityIndex([50, 30, 20], [30, 30, 40])).toBeCloseTo(byHand, 12);
    expect(byHand).toBeCloseTo(0.2408, 4);
  });

  it('is 0 for equal shares, whatever the totals, and symmetric', () => {
    expect(populationStabilityIndex([1, 2, 3], [100, 200, 300])).toBeCloseTo(0, 14);
    expect(populationStabilityIndex([50, 30, 20], [30, 30, 40])).toBeCloseTo(populationStabilityIndex([30, 30, 40], [50, 30, 20])!, 14);
  });

  it('raises an empty bin\'s share to the floor (1 %) instead of dividing by zero', () => {
    // e = (1, 0) → (1, 0.01); a = (0.5, 0.5): (0.5 − 1)·ln(0.5) + (0.5 − 0.01)·ln(0.5/0.01).
    expect(populationStabilityIndex([10, 0], [5, 5])).toBeCloseTo(-0.5 * Math.log(0.5) + 0.49 * Math.log(50), 12);
    // With the usual 10⁻⁴ floor the same shift reads far larger: (0.5 − 10⁻⁴)·ln(0.5/10⁻⁴).
    expect(populationStabilityIndex([10, 0], [5, 5], 1e-4)).toBeCloseTo(-0.5 * Math.log(0.5) + (0.5 - 1e-4) * Math.log(0.5 / 1e-4), 12);
  });

  it('counts a bin that noise took below zero as empty', () => {
    expect(populationStabilityIndex([10, 20, 30], [-3, 10, 10])).toBeCloseTo(populationStabilityIndex([10, 20, 30], [0, 10, 10])!, 14);
  });

  it('has no value for a histogram that holds nothing, and refuses bins that differ', () => {
    expect(populationStabilityIndex([1, 2], [0, -4])).toBeUndefined();
    expect(populationStabilityIndex([0, 0], [1, 2])).toBeUndefined();
    expect(() => populationStabilityIndex([1, 2, 3], [1, 2])).toThrow('the baseline has 3 bins and the window 2');
  });
});
