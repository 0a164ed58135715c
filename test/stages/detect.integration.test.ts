/** The detect stage with the real detector pool on real frames (see detect.test.ts for its ordering rules). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DETECTION_LIMITS } from '../../models/cocoSsd.ts';
import { startDetectorPool, type DetectorPool } from '../../models/detectorPool.ts';
import { detectFrames } from '../../stages/detect.ts';
import type { Frame } from '../../streams/frame.ts';
import { copyFrame, decodeExcerpt } from '../helpers/frames.ts';
import { collect, framesFrom } from '../helpers/iterables.ts';
import { FOOTAGE } from '../helpers/paths.ts';

describe('detectFrames with the real detector pool (2 workers) on real frames', () => {
  let pool: DetectorPool;
  let frames: Frame[];

  beforeAll(async () => {
    pool = await startDetectorPool({ backend: 'auto', ...DETECTION_LIMITS }, 2);
    // Two clips of different sizes interleaved (640×360 and 320×240), so the workers' frames take unequal times.
    const indoor = await decodeExcerpt(FOOTAGE.indoor, { startSeconds: 76, durationSeconds: 4, fps: 2 });
    const overpass = await decodeExcerpt(FOOTAGE.overpass, { startSeconds: 12, durationSeconds: 4, fps: 2 });
    frames = indoor.flatMap((frame, i) => [frame, overpass[i]!].filter(Boolean)).map((frame, index) => ({ ...frame, index }));
  });

  afterAll(() => pool?.close());

  it('keeps frame order with two frames in flight, and each frame gets its own detections', async () => {
    expect(pool.workerCount).toBe(2);
    // The reference: the same frames through the same pool one at a time.
    const oneAtATime = await collect(detectFrames({ detector: pool, framesInFlight: 1 }, framesFrom(frames.map(copyFrame))));
    const inFlight = await collect(detectFrames({ detector: pool, framesInFlight: 2 }, framesFrom(frames.map(copyFrame))));
    expect(inFlight.map((r) => r.frame.index)).toEqual(frames.map((f) => f.index));
    expect(inFlight.map((r) => r.detections)).toEqual(oneAtATime.map((r) => r.detections));
    // The pairs are not trivially alike: the people frames and the traffic frames see different things.
    const classesSeen = inFlight.map((r) => new Set(r.detections.filter((d) => d.score >= 0.5).map((d) => d.cocoClass)));
    expect(classesSeen.filter((_, i) => frames[i]!.width === 640).every((classes) => classes.has('person') && !classes.has('car'))).toBe(true);
    expect(classesSeen.filter((_, i) => frames[i]!.width === 320).every((classes) => classes.has('car') && !classes.has('person'))).toBe(true);
  });
});
