import { beforeAll, describe, expect, it } from 'vitest';
import { MotionGate, motionGateSchema } from '../../stages/motion.ts';
import type { Frame } from '../../streams/frame.ts';
import { copyFrame, decodeExcerpt } from '../helpers/frames.ts';
import { FOOTAGE } from '../helpers/paths.ts';

/** The frames of `frames` the gate sends to the detector, by index. */
function detectedIndices(gate: MotionGate, frames: Frame[]): number[] {
  return frames.filter((frame) => gate.shouldDetect(frame)).map((frame) => frame.index);
}

/** `frame` with the pixels of the rectangle [x0, x1) × [y0, y1) made `levels` grey levels brighter. */
function brightened(frame: Frame, [x0, y0, x1, y1]: [number, number, number, number], levels: number): Frame {
  const copy = copyFrame(frame);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) for (let c = 0; c < 3; c++) copy.pixels[(y * frame.width + x) * 3 + c]! += levels;
  return copy;
}

let emptyLot: Frame[];
let carLeaving: Frame[];
let cyclist: Frame[];
beforeAll(async () => {
  // The parking lot at 5 frames/s: 15–21 s nothing in view (checked by eye); 0–3 s a white car drives off; 10–13 s a
  // cyclist crosses the far side, about 10 × 20 px at 640 px wide.
  emptyLot = await decodeExcerpt(FOOTAGE.parkinglot, { startSeconds: 15, durationSeconds: 6, fps: 5 });
  carLeaving = await decodeExcerpt(FOOTAGE.parkinglot, { durationSeconds: 3, fps: 5 });
  cyclist = await decodeExcerpt(FOOTAGE.parkinglot, { startSeconds: 10, durationSeconds: 3, fps: 5 });
});

describe('MotionGate on real footage', () => {
  it('skips the detector on a still stretch, running it only as often as minDetectorFps demands', () => {
    const gate = new MotionGate({ thresholdLevels: 6, minDetectorFps: 1.25 });
    expect(emptyLot).toHaveLength(30);
    // At 5 frames/s and at least 1.25 detections/s, the detector must look every 0.8 s = every 4th frame: the first
    // frame, then 4, 8, … 28, and nothing else while nothing moves.
    expect(detectedIndices(gate, emptyLot)).toEqual([0, 4, 8, 12, 16, 20, 24, 28]);
    expect(gate.counts).toEqual({ run: 8, skipped: 22 });
  });

  it('runs the detector on every frame while a car drives off', () => {
    expect(detectedIndices(new MotionGate(), carLeaving)).toEqual(carLeaving.map((frame) => frame.index));
  });

  it('runs the detector on the frames in which a small, distant cyclist moves, never missing two in a row', () => {
    const detected = detectedIndices(new MotionGate(), cyclist);
    // Far away, the cyclist moves less than a block's worth in some 0.2 s steps: such a frame is skipped, and the
    // change adds up against the last detected frame until the next one runs.
    const gaps = detected.slice(1).map((index, i) => index - detected[i]!);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(2);
    expect(detected.length).toBeGreaterThanOrEqual(cyclist.length - 2);
  });

  it('runs the detector at once on the first frame that moves after a still stretch', () => {
    const gate = new MotionGate();
    // The empty lot, then the cyclist: the cyclist's first frame differs from the empty lot where the cyclist is.
    const frames = [...emptyLot.slice(0, 3), ...cyclist.slice(0, 1)].map((frame, index) => ({ ...frame, index, ptsSeconds: index / 5 }));
    expect(detectedIndices(gate, frames)).toEqual([0, 3]);
  });

  it('counts a change of one block by thresholdLevels as motion, and a smaller one as stillness', () => {
    const [still] = emptyLot;
    // 640 × 360 in 32 × 18 blocks of 20 × 20 px: brightening block (10, 5) brightens its mean by exactly that much.
    expect([still!.width, still!.height]).toEqual([640, 360]);
    const block: [number, number, number, number] = [200, 100, 220, 120];
    const run = (levels: number) => {
      const gate = new MotionGate({ thresholdLevels: 6 });
      return detectedIndices(gate, [still!, { ...brightened(still!, block, levels), index: 1, ptsSeconds: 0.2 }]);
    };
    expect(run(6)).toEqual([0, 1]);
    expect(run(5)).toEqual([0]);
  });

  it('sends every frame to the detector when it is off', () => {
    const gate = new MotionGate({ enabled: false });
    expect(detectedIndices(gate, emptyLot)).toHaveLength(emptyLot.length);
    expect(gate.counts).toEqual({ run: 30, skipped: 0 });
  });

  it('starts afresh after close(): the next frame is always detected', () => {
    const gate = new MotionGate();
    detectedIndices(gate, emptyLot.slice(0, 2));
    gate.close();
    expect(gate.shouldDetect(emptyLot[2]!)).toBe(true);
  });
});

describe('motionGateSchema', () => {
  it('refuses a minimum detector rate that would leave the tracker without a detection for more than 0.8 s', () => {
    expect(() => motionGateSchema.parse({ minDetectorFps: 1 })).toThrow(/at least 1\.25.*0\.8 s/);
  });
});
