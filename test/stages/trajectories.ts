/** Synthetic detections and trajectories shared by the tracker and counting-line tests. */
import type { Box, CountedClass, Detection } from '../../models/detection.ts';
import type { AnalysedFrame } from '../../streams/frame.ts';
import { LineCounter, type LineCrossing } from '../../stages/lines.ts';
import { Tracker, type TrackerUpdate } from '../../stages/track.ts';

/** A box whose bottom centre (where it meets the ground) is at (x, bottomY). */
export function boxStandingAt(x: number, bottomY: number, width = 0.08, height = 0.12): Box {
  return { x: x - width / 2, y: bottomY - height, width, height };
}

export function detection(box: Box, cocoClass: CountedClass = 'car', score = 0.9): Detection {
  return { cocoClass, score, box };
}

/** One object's detections over time: `at(t)` gives its detection at `t` seconds, or nothing (missed). */
export type Trajectory = (tSeconds: number) => Detection | undefined;

/** An object moving in a straight line at constant speed, its bottom centre at `start` when t = 0. */
export function straightLine(
  start: [number, number],
  velocityPerSecond: [number, number],
  cocoClass: CountedClass = 'car',
): Trajectory {
  return (t) =>
    detection(boxStandingAt(start[0] + velocityPerSecond[0] * t, start[1] + velocityPerSecond[1] * t), cocoClass);
}

/** Frames sampled at `fps` from 0 to `durationSeconds`, each holding every trajectory's detection at that time. */
export function sampleFrames(trajectories: Trajectory[], fps: number, durationSeconds: number): AnalysedFrame[] {
  const frames: AnalysedFrame[] = [];
  for (let index = 0; index * (1 / fps) <= durationSeconds + 1e-9; index++) {
    const ptsSeconds = index / fps;
    const detections = trajectories.map((at) => at(ptsSeconds)).filter((d): d is Detection => d !== undefined);
    frames.push({ index, ptsSeconds, detections });
  }
  return frames;
}

/** Runs frames through a tracker (a fresh one by default); returns each frame's update. */
export function track(frames: AnalysedFrame[], tracker = new Tracker()): TrackerUpdate[] {
  return frames.map((frame) => tracker.update(frame));
}

/** Runs frames through a tracker (a fresh one by default) and `counter`; returns every crossing, in order. */
export function countCrossings(frames: AnalysedFrame[], counter: LineCounter, tracker = new Tracker()): LineCrossing[] {
  return track(frames, tracker).flatMap((update) => counter.update(update));
}

/** A deterministic pseudo-random source (mulberry32), so noisy trajectories are the same on every run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
