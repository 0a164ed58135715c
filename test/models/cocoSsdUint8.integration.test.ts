/**
 * The uint8-quantised bundled weights (models/quantiseWeights.ts) through the real detector, offline, on real frames
 * whose content was checked by eye (the same frames as cocoSsd.integration.test.ts). How its counts compare with the
 * float32 weights' on the labelled clips: docs/frugality.md.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DETECTION_LIMITS, loadCocoSsd, type Detector } from '../../models/cocoSsd.ts';
import { bottomCentre } from '../../models/detection.ts';
import { decodeFrameAt } from '../helpers/frames.ts';
import { FOOTAGE } from '../helpers/paths.ts';

const COUNTING_SCORE = 0.5;
let detector: Detector;

beforeAll(async () => {
  detector = await loadCocoSsd({ backend: 'auto', ...DETECTION_LIMITS, weights: 'uint8' });
});

afterAll(() => detector?.dispose());

describe('coco-ssd with the uint8-quantised bundled weights', () => {
  it('says which weights it loaded, checked by sha256', () => {
    expect(detector.description.model).toBe('coco-ssd lite_mobilenet_v2 (bundled, uint8-quantised weights, sha256 verified)');
  });

  it('finds the one person standing at the table in the indoor clip, where he stands, and no one in the empty room', async () => {
    // At 77 s a man in black stands at the table, his feet at about x 0.57, y 0.85 (hand-measured); at 3 s the room is empty.
    const standing = await decodeFrameAt(FOOTAGE.indoor, 77);
    const people = (await detector.detect(standing.pixels, standing.width, standing.height)).filter((d) => d.cocoClass === 'person' && d.score >= COUNTING_SCORE);
    expect(people).toHaveLength(1);
    expect(Math.abs(bottomCentre(people[0]!.box).x - 0.57)).toBeLessThan(0.05);
    expect(bottomCentre(people[0]!.box).y).toBeGreaterThan(0.75);
    const empty = await decodeFrameAt(FOOTAGE.indoor, 3);
    expect((await detector.detect(empty.pixels, empty.width, empty.height)).filter((d) => d.score >= COUNTING_SCORE)).toEqual([]);
  });
});
