/**
 * The detector on the cpu backend, whose input tensor is a view of the detector's one reused int32 buffer rather than
 * a copy: two detections that overlapped in time would read each other's frame. Its own file, because a tfjs backend
 * is chosen for the whole thread; two frames only, because the cpu backend takes seconds a frame.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DETECTION_LIMITS, loadCocoSsd, type Detector } from '../../models/cocoSsd.ts';
import type { Detection } from '../../models/detection.ts';
import { decodeFrameAt } from '../helpers/frames.ts';
import { FOOTAGE } from '../helpers/paths.ts';

let detector: Detector;

beforeAll(async () => {
  detector = await loadCocoSsd({ backend: 'cpu', ...DETECTION_LIMITS });
});

afterAll(() => detector?.dispose());

const clearlySeen = (detections: Detection[]) => new Set(detections.filter((d) => d.score >= 0.5).map((d) => d.cocoClass));

describe('coco-ssd detector on the cpu backend', () => {
  it('gives two detections started together each its own frame', async () => {
    // The overpass (cars, no person) and the man at the table (no car): a swapped or mixed input shows at once.
    // The larger frame goes first, so the second fits in the buffer the first is still being detected from.
    const overpass = await decodeFrameAt(FOOTAGE.overpass, 23);
    const indoor = await decodeFrameAt(FOOTAGE.indoor, 77, 320);
    expect(indoor.pixels.length).toBeLessThan(overpass.pixels.length);
    const [inOverpass, inIndoor] = await Promise.all([
      detector.detect(overpass.pixels, overpass.width, overpass.height),
      detector.detect(indoor.pixels, indoor.width, indoor.height),
    ]);
    expect([...clearlySeen(inIndoor)]).toEqual(['person']);
    expect(clearlySeen(inOverpass).has('car')).toBe(true);
    expect(clearlySeen(inOverpass).has('person')).toBe(false);
  });
});
