import { describe, expect, it } from 'vitest';
import { CameraAnalysis } from '../../pipeline/analysis.ts';
import { WHOLE_FRAME_ZONE } from '../../stages/zones.ts';
import type { AnalysedFrame } from '../../streams/frame.ts';
import { boxStandingAt, detection } from '../stages/trajectories.ts';

const FPS = 5;
const person = detection(boxStandingAt(0.5, 0.8), 'person', 0.9);

function analysis() {
  return new CameraAnalysis({ zones: [WHOLE_FRAME_ZONE], lines: [{ name: 'door', from: [0, 0.5], to: [1, 0.5] }], classes: ['person'], windowLengths: [60], scoreThreshold: 0.4 }, 'clip');
}

/** 10 s of a person standing still, at 5 frames/s, the detector looking at every 4th frame as the gate has it. */
function standingStill(skippedAs: 'skipped' | 'nothing found'): AnalysedFrame[] {
  return Array.from({ length: 10 * FPS }, (_, index) => {
    const ptsSeconds = index / FPS;
    if (index % 4 === 0) return { index, ptsSeconds, detections: [person] };
    return skippedAs === 'skipped' ? { index, ptsSeconds, detections: [], skipped: true } : { index, ptsSeconds, detections: [] };
  });
}

describe('CameraAnalysis with frames the motion gate skipped', () => {
  it('holds a still person as one track, counted on every frame once confirmed, skipped frames included', () => {
    const camera = analysis();
    const counted = standingStill('skipped').map((frame) => camera.add(frame).occupancy.frame!.person);
    // Hits at frames 0 and 4, 0.8 s apart: confirmed at frame 4 (two hits at least minSecondsToConfirm = 0.5 s apart).
    expect(counted.slice(0, 4)).toEqual([0, 0, 0, 0]);
    expect(counted.slice(4)).toEqual(Array(10 * FPS - 4).fill(1));
    expect(camera.trackingSummary().tracksConfirmed).toBe(1);
  });

  it('is not the same as a frame where the detector found nothing: that ends a tentative track at once', () => {
    const camera = analysis();
    const counted = standingStill('nothing found').map((frame) => camera.add(frame).occupancy.frame!.person);
    // Each detection starts a tentative track that the next, empty, frame ends (ByteTrack): nobody is ever confirmed.
    expect(counted).toEqual(Array(10 * FPS).fill(0));
    expect(camera.trackingSummary().tracksConfirmed).toBe(0);
  });

  it('keeps a person who stood still through skipped frames as one track when they walk over the line', () => {
    const camera = analysis();
    const frames: AnalysedFrame[] = [];
    // Standing above the line (y = 0.4) for 2 s, the detector on every 4th frame; then walking down across it.
    for (let index = 0; index < 10; index++) {
      frames.push(index % 4 === 0 ? { index, ptsSeconds: index / FPS, detections: [detection(boxStandingAt(0.5, 0.4), 'person')] } : { index, ptsSeconds: index / FPS, detections: [], skipped: true });
    }
    for (let step = 1; step <= 10; step++) {
      const index = 9 + step;
      frames.push({ index, ptsSeconds: index / FPS, detections: [detection(boxStandingAt(0.5, 0.4 + 0.03 * step), 'person')] });
    }
    for (const frame of frames) expect(camera.add(frame).closed).toEqual([]);
    const [window] = camera.finish(4);
    const { forward, backward } = window!.lines.door!.person!;
    expect(forward + backward).toBe(1);
    // The track that stood still through the skipped frames is the one that crossed: no second track was started.
    expect(camera.trackingSummary().tracksConfirmed).toBe(1);
  });
});

describe('CameraAnalysis occupancy', () => {
  it('counts a person the detector misses in some frames as present, once confirmed, and for two frames after last seen', () => {
    const camera = analysis();
    // 5 frames/s for 6 s: seen at frames 0–2, then missed in every third frame (a walker scoring below 0.1 for a
    // moment), gone from 4 s on (frame 20; last seen at frame 19, 3.8 s).
    const frames: AnalysedFrame[] = Array.from({ length: 6 * FPS }, (_, index) => {
      const seen = index < 3 || (index < 20 && index % 3 !== 0);
      return { index, ptsSeconds: index / FPS, detections: seen ? [person] : [] };
    });
    const counted = frames.map((frame) => camera.add(frame).occupancy.frame!.person);
    // Confirmed at its third hit (frame 2); present at every frame to frame 19 and the two after it; then not.
    expect(counted).toEqual([0, 0, ...Array(18 + 2).fill(1), ...Array(6 * FPS - 22).fill(0)]);
    expect(camera.trackingSummary().tracksConfirmed).toBe(1);
  });
});

describe('CameraAnalysis drift histograms', () => {
  it('adds each confirmed track once, at the bins of the median score the tracker matched and of its median box size', () => {
    const camera = new CameraAnalysis({ zones: [WHOLE_FRAME_ZONE], lines: [], classes: ['person'], windowLengths: [60], scoreThreshold: 0.4, driftWindowSeconds: 60 }, 'clip');
    // One person standing for 2 s at 5 frames/s, the detector's scores cycling 0.95, 0.62, 0.45, 0.81, 0.66. The track
    // is confirmed at its third hit (frame 2) and counts its sightings from there: frames 2–9 score 0.45 0.81 0.66 0.95
    // 0.62 0.45 0.81 0.66, whose lower median (4th of 8 sorted) is 0.66 → bin [0.6, 0.7) = 4. The box is 0.08 × 0.12:
    // size √0.0096 = 0.098 → bin [1/16, 1/8) = 2.
    const scores = [0.95, 0.62, 0.45, 0.81, 0.66];
    const box = boxStandingAt(0.5, 0.8);
    for (let index = 0; index < 10; index++) camera.add({ index, ptsSeconds: index / FPS, detections: [detection(box, 'person', scores[index % 5]!)] });
    // Nobody for 4 s: past the 3 s coast the track ends, and adds its medians.
    for (let index = 10; index < 30; index++) expect(camera.add({ index, ptsSeconds: index / FPS, detections: [] }).driftClosed).toEqual([]);
    const [window] = camera.finishDrift(6);
    expect(window!.histograms.score).toEqual([0, 0, 0, 0, 1, 0, 0, 0]);
    expect(window!.histograms.size).toEqual([0, 0, 1, 0, 0, 0]);
  });
});
