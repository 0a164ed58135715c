/**
 * The real detector (bundled coco-ssd lite weights, in this thread) on real frames whose content was checked by eye.
 * A detection counts here from score 0.5: what a person would call a clear sighting.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DETECTION_LIMITS, loadCocoSsd, type Detector } from '../../models/cocoSsd.ts';
import { bottomCentre } from '../../models/detection.ts';
import { contains, counted } from '../helpers/detections.ts';
import { decodeExcerpt, decodeFrameAt } from '../helpers/frames.ts';
import { FOOTAGE } from '../helpers/paths.ts';

const COUNTING_SCORE = 0.5;

let detector: Detector;

beforeAll(async () => {
  detector = await loadCocoSsd({ backend: 'auto', ...DETECTION_LIMITS });
});

afterAll(() => detector?.dispose());

describe('coco-ssd detector on real frames', () => {
  it('finds the one person standing at the table in the indoor clip, where he stands', async () => {
    // At 77 s a man in black stands at the table, centre-right; nobody else is in view.
    const frame = await decodeFrameAt(FOOTAGE.indoor, 77);
    const people = counted(await detector.detect(frame.pixels, frame.width, frame.height), 'person', COUNTING_SCORE);
    expect(people).toHaveLength(1);
    const [person] = people;
    // Hand-measured on the frame: his feet are at about x 0.57, y 0.85; his head at about y 0.1.
    expect(contains(person!.box, { x: 0.57, y: 0.5 })).toBe(true);
    expect(bottomCentre(person!.box).y).toBeGreaterThan(0.75);
    expect(person!.box.y).toBeLessThan(0.2);
  });

  it('finds no one in the empty room at the start of the indoor clip', async () => {
    const frame = await decodeFrameAt(FOOTAGE.indoor, 3);
    const detections = await detector.detect(frame.pixels, frame.width, frame.height);
    expect(counted(detections, 'person', COUNTING_SCORE)).toEqual([]);
    expect(counted(detections, 'vehicle', COUNTING_SCORE)).toEqual([]);
  });

  it('finds the four vehicles a person sees on the overpass frame at 23 s, each where it is', async () => {
    // Hand-labelled centres (normalised) of the four vehicles in view: a dark saloon close to the camera, a red
    // car, a silver car behind it and a white van at the far end of the road.
    const seen = [
      { what: 'dark saloon', x: 0.6, y: 0.65 },
      { what: 'red car', x: 0.55, y: 0.25 },
      { what: 'silver car', x: 0.63, y: 0.13 },
      { what: 'white van', x: 0.77, y: 0.08 },
    ];
    const frame = await decodeFrameAt(FOOTAGE.overpass, 23);
    const detections = await detector.detect(frame.pixels, frame.width, frame.height);
    const vehicles = counted(detections, 'vehicle', COUNTING_SCORE);
    expect(vehicles).toHaveLength(seen.length);
    for (const vehicle of seen) expect(vehicles.filter((v) => contains(v.box, vehicle)), vehicle.what).toHaveLength(1);
    expect(counted(detections, 'person', COUNTING_SCORE)).toEqual([]);
  });

  it('returns boxes normalised to the frame and scores in [minScore, 1], best first after NMS', async () => {
    const frame = await decodeFrameAt(FOOTAGE.overpass, 13);
    const detections = await detector.detect(frame.pixels, frame.width, frame.height);
    expect(detections.length).toBeGreaterThan(0);
    for (const { score, box } of detections) {
      expect(score).toBeGreaterThanOrEqual(DETECTION_LIMITS.minScore);
      expect(score).toBeLessThanOrEqual(1);
      expect(box.x).toBeGreaterThanOrEqual(0);
      expect(box.y).toBeGreaterThanOrEqual(0);
      expect(box.width).toBeGreaterThan(0);
      expect(box.height).toBeGreaterThan(0);
      expect(box.x + box.width).toBeLessThanOrEqual(1);
      expect(box.y + box.height).toBeLessThanOrEqual(1);
    }
    const scores = detections.map((d) => d.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
  });

  it('neither keeps nor changes the pixels it is given', async () => {
    const frame = await decodeFrameAt(FOOTAGE.indoor, 77);
    const before = frame.pixels.slice();
    await detector.detect(frame.pixels, frame.width, frame.height);
    expect(Buffer.from(frame.pixels).equals(Buffer.from(before))).toBe(true);
  });

  it('zeroes its int32 copy of the frame after each detection, reusing one buffer for frames of any size', async () => {
    const large = await decodeFrameAt(FOOTAGE.indoor, 77);
    const small = await decodeFrameAt(FOOTAGE.overpass, 23);
    expect(small.pixels.length).toBeLessThan(large.pixels.length);
    await detector.detect(large.pixels, large.width, large.height);
    const scratch = detector.inputScratch;
    expect(scratch.length).toBeGreaterThanOrEqual(large.pixels.length);
    expect(scratch.every((value) => value === 0)).toBe(true);
    await detector.detect(small.pixels, small.width, small.height);
    expect(detector.inputScratch).toBe(scratch);
    expect(scratch.every((value) => value === 0)).toBe(true);
  });

  it('zeroes its int32 copy of the frame when the detection fails too', async () => {
    const frame = await decodeFrameAt(FOOTAGE.indoor, 77);
    // Dimensions that do not match the bytes: the input tensor cannot be built.
    await expect(detector.detect(frame.pixels, frame.width, frame.height + 1)).rejects.toThrow();
    expect(detector.inputScratch.every((value) => value === 0)).toBe(true);
  });

  it('leaks no tensors: the tensor count after many detections is the count after the first', async () => {
    const frames = await decodeExcerpt(FOOTAGE.overpass, { startSeconds: 10, durationSeconds: 6, fps: 4 });
    expect(frames.length).toBeGreaterThanOrEqual(20);
    const [first, ...rest] = frames;
    await detector.detect(first!.pixels, first!.width, first!.height);
    const tensorsAfterFirst = tf.memory().numTensors;
    for (const frame of rest) await detector.detect(frame.pixels, frame.width, frame.height);
    expect(tf.memory().numTensors).toBe(tensorsAfterFirst);
  });
});
