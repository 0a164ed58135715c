/**
 * The CenterNet tier, loaded offline from the installed @vladmandic/human package, on real frames of the shared
 * footage whose content was checked by eye (the same frames as cocoSsd.integration.test.ts). A detection counts here
 * at Veil's default threshold, 0.4, on the scale CenterNet's scores are mapped to (models/centerNet.ts).
 */
import { createHash } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CENTERNET_COUNTING_SCORE, CENTERNET_MODEL_DIR, CENTERNET_MODEL_JSON, CENTERNET_SHA256, calibratedScore, loadCenterNet } from '../../models/centerNet.ts';
import { DETECTION_LIMITS, type Detector } from '../../models/cocoSsd.ts';
import { bottomCentre } from '../../models/detection.ts';
import { contains, counted } from '../helpers/detections.ts';
import { folderModelHandler } from '../../models/weights.ts';
import { decodeFrameAt } from '../helpers/frames.ts';
import { FOOTAGE } from '../helpers/paths.ts';

const COUNTING_SCORE = 0.4;
let detector: Detector;

beforeAll(async () => {
  detector = await loadCenterNet({ backend: 'auto', ...DETECTION_LIMITS });
});

afterAll(() => detector?.dispose());

describe('the CenterNet tier', () => {
  it('loads from the installed package, offline, checked by sha256', async () => {
    expect(detector.description.model).toBe('CenterNet MobileNetV3 512×512 (from @vladmandic/human, sha256 verified)');
    expect(CENTERNET_MODEL_DIR).toContain(path.join('node_modules', '@vladmandic', 'human', 'models'));
    // The checksum list names the JSON and every shard it lists, and each sum is that of the installed file.
    const model = JSON.parse(await readFile(path.join(CENTERNET_MODEL_DIR, CENTERNET_MODEL_JSON), 'utf8')) as { weightsManifest: Array<{ paths: string[] }> };
    expect(Object.keys(CENTERNET_SHA256).sort()).toEqual([CENTERNET_MODEL_JSON, ...model.weightsManifest.flatMap((group) => group.paths)].sort());
    for (const [name, expected] of Object.entries(CENTERNET_SHA256)) {
      expect(createHash('sha256').update(await readFile(path.join(CENTERNET_MODEL_DIR, name))).digest('hex'), name).toBe(expected);
    }
  });

  it('refuses a copy of the model whose weights were changed by one bit', async () => {
    const copy = await mkdtemp(path.join(os.tmpdir(), 'veil-centernet-'));
    try {
      await cp(CENTERNET_MODEL_DIR, copy, { recursive: true });
      const shard = path.join(copy, 'centernet.bin');
      const bytes = await readFile(shard);
      bytes[1000] = bytes[1000]! ^ 0x01;
      await writeFile(shard, bytes);
      await expect(folderModelHandler(copy, CENTERNET_SHA256, CENTERNET_MODEL_JSON).load()).rejects.toThrow(`model file ${shard} is corrupt`);
    } finally {
      await rm(copy, { recursive: true, force: true });
    }
  });

  it('finds the one person standing at the table in the indoor clip, where he stands, and no one in the empty room', async () => {
    // At 77 s a man in black stands at the table; hand-measured, his feet are at about x 0.57, y 0.85.
    const standing = await decodeFrameAt(FOOTAGE.indoor, 77);
    const people = counted(await detector.detect(standing.pixels, standing.width, standing.height), 'person', COUNTING_SCORE);
    expect(people).toHaveLength(1);
    expect(contains(people[0]!.box, { x: 0.57, y: 0.5 })).toBe(true);
    expect(bottomCentre(people[0]!.box).y).toBeGreaterThan(0.75);
    const empty = await decodeFrameAt(FOOTAGE.indoor, 3);
    const inEmptyRoom = await detector.detect(empty.pixels, empty.width, empty.height);
    expect([...counted(inEmptyRoom, 'person', COUNTING_SCORE), ...counted(inEmptyRoom, 'vehicle', COUNTING_SCORE)]).toEqual([]);
  });

  it('finds the vehicles a person sees on the overpass frame at 23 s, each where it is, and no person', async () => {
    // Hand-labelled centres (normalised) of the four vehicles in view (cocoSsd.integration.test.ts).
    const seen = [
      { what: 'dark saloon', x: 0.6, y: 0.65 },
      { what: 'red car', x: 0.55, y: 0.25 },
      { what: 'silver car', x: 0.63, y: 0.13 },
      { what: 'white van', x: 0.77, y: 0.08 },
    ];
    const frame = await decodeFrameAt(FOOTAGE.overpass, 23);
    const detections = await detector.detect(frame.pixels, frame.width, frame.height);
    const vehicles = counted(detections, 'vehicle', COUNTING_SCORE);
    // Every vehicle found is one a person sees there, and at most one box each.
    for (const vehicle of vehicles) expect(seen.some((s) => contains(vehicle.box, s)), JSON.stringify(vehicle.box)).toBe(true);
    for (const vehicle of seen) expect(vehicles.filter((v) => contains(v.box, vehicle)).length, vehicle.what).toBeLessThanOrEqual(1);
    expect(vehicles.length).toBeGreaterThanOrEqual(3);
    expect(counted(detections, 'person', COUNTING_SCORE)).toEqual([]);
  });

  it('leaks no tensors: the count after a few detections of different frames is the count after the first', async () => {
    const first = await decodeFrameAt(FOOTAGE.overpass, 10);
    await detector.detect(first.pixels, first.width, first.height);
    const tensorsAfterFirst = tf.memory().numTensors;
    for (const seconds of [12, 14, 16]) {
      const frame = await decodeFrameAt(FOOTAGE.overpass, seconds);
      await detector.detect(frame.pixels, frame.width, frame.height);
    }
    expect(tf.memory().numTensors).toBe(tensorsAfterFirst);
  });

  it('zeroes its float32 copy of the frame after each detection and when one fails', async () => {
    const frame = await decodeFrameAt(FOOTAGE.indoor, 77);
    await detector.detect(frame.pixels, frame.width, frame.height);
    expect(detector.inputScratch.length).toBeGreaterThanOrEqual(frame.pixels.length);
    expect(detector.inputScratch.every((value) => value === 0)).toBe(true);
    await expect(detector.detect(frame.pixels, frame.width, frame.height + 1)).rejects.toThrow();
    expect(detector.inputScratch.every((value) => value === 0)).toBe(true);
  });
});

describe('calibratedScore', () => {
  it('maps 0, the counting level and 1 to 0, 0.4 and 1, linearly between', () => {
    expect(calibratedScore(0)).toBe(0);
    expect(calibratedScore(CENTERNET_COUNTING_SCORE)).toBeCloseTo(0.4, 12);
    expect(calibratedScore(1)).toBe(1);
    expect(calibratedScore(CENTERNET_COUNTING_SCORE / 2)).toBeCloseTo(0.2, 12);
    expect(calibratedScore((CENTERNET_COUNTING_SCORE + 1) / 2)).toBeCloseTo(0.7, 12);
    expect(calibratedScore(-0.1)).toBe(0);
    expect(calibratedScore(1.2)).toBe(1);
  });
});
