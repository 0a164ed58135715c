import { beforeAll, describe, expect, it } from 'vitest';
import type { Detection } from '../../models/detection.ts';
import { BlindDetectorWatch, describeBlindDetector, type BlindDetectorState } from '../../stages/blindDetector.ts';
import type { Frame } from '../../streams/frame.ts';
import { decodeExcerpt } from '../helpers/frames.ts';
import { FOOTAGE } from '../helpers/paths.ts';
import { boxStandingAt, detection } from './trajectories.ts';

/**
 * Runs the frames through a watch (10 s stretch) as the pipeline does — pictures on their way to the detector, then
 * what it found, `detectionsAt(index)` — and returns every change it reported.
 */
async function watchFrames(frames: Frame[], detectionsAt: (index: number) => Detection[]): Promise<BlindDetectorState[]> {
  const watch = new BlindDetectorWatch({ stretchSeconds: 10, scoreThreshold: 0.4 });
  async function* decoded() {
    yield* frames;
  }
  const changes: BlindDetectorState[] = [];
  for await (const frame of watch.pictures(decoded())) {
    const change = watch.observe({ index: frame.index, ptsSeconds: frame.ptsSeconds, detections: detectionsAt(frame.index) });
    if (change) changes.push(change);
  }
  return changes;
}

let traffic: Frame[];
beforeAll(async () => {
  // Real frames of moving traffic, 2 per second over 28 s.
  traffic = await decodeExcerpt(FOOTAGE.overpass, { fps: 2 });
});

describe('BlindDetectorWatch', () => {
  it('warns once when the detector finds nothing for a whole stretch while real traffic keeps the picture changing', async () => {
    const changes = await watchFrames(traffic, () => []);
    expect(changes).toHaveLength(1);
    const [blind] = changes;
    expect(blind?.blind).toBe(true);
    expect(blind?.sinceSeconds).toBeLessThan(1);
    expect(blind?.changingShare).toBeGreaterThanOrEqual(0.5);
    expect(describeBlindDetector(blind!, 'camera north')).toMatch(/camera north: .*almost nothing.*orientation.*zoom.*lighting/);
  });

  it('stays quiet while the detector finds something in one frame in five', async () => {
    const car = [detection(boxStandingAt(0.5, 0.6), 'car', 0.8)];
    expect(await watchFrames(traffic, (index) => (index % 5 === 0 ? car : []))).toEqual([]);
  });

  it('stays quiet on a still picture, where finding nothing is right (an empty car park at night)', async () => {
    const still = traffic.map((frame) => ({ ...frame, pixels: traffic[0]!.pixels }));
    expect(await watchFrames(still, () => [])).toEqual([]);
  });

  it('says when the detector sees again', async () => {
    const car = [detection(boxStandingAt(0.5, 0.6), 'car', 0.8)];
    const changes = await watchFrames(traffic, (index) => (index >= 44 ? car : []));
    expect(changes.map((state) => state.blind)).toEqual([true, false]);
    expect(describeBlindDetector(changes[1]!, 'camera north')).toMatch(/finds objects again/);
  });
});
