/**
 * The frame chain with reused pixel buffers (streams/frameBuffers.ts), as `veil batch` runs it: real ffmpeg, the
 * real detector pool, real footage. A buffer handed out again while a frame still used it would change what the
 * detector sees; a buffer kept with pixels in it would break the privacy promise. Both are checked against the same
 * frames analysed with a new buffer for every frame.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DETECTION_LIMITS } from '../../models/cocoSsd.ts';
import { startDetectorPool, type DetectorPool } from '../../models/detectorPool.ts';
import { analyseFrames } from '../../pipeline/frameChain.ts';
import { decodeFrames } from '../../streams/ffmpegFrames.ts';
import { FrameBuffers } from '../../streams/frameBuffers.ts';
import type { AnalysedFrame } from '../../streams/frame.ts';
import { testFfmpeg } from '../helpers/frames.ts';
import { FOOTAGE } from '../helpers/paths.ts';

const WORKERS = 2;
const isZero = (pixels: Uint8Array) => pixels.every((byte) => byte === 0);

describe('reused frame buffers (real decoder, real detector pool, 2 workers)', () => {
  let pool: DetectorPool;

  beforeAll(async () => {
    pool = await startDetectorPool({ backend: 'auto', ...DETECTION_LIMITS }, WORKERS);
  });

  afterAll(() => pool?.close());

  /** 74–78 s of the indoor clip at 5 fps: people at the table, so every frame has detections to compare. */
  async function analyse(buffers?: FrameBuffers) {
    const handedOut: Uint8Array[] = [];
    async function* frames() {
      for await (const frame of decodeFrames({ ffmpeg: await testFfmpeg(), input: FOOTAGE.indoor, startSeconds: 74, durationSeconds: 4, fps: 5, maxWidth: 640, buffers })) {
        handedOut.push(frame.pixels);
        yield frame;
      }
    }
    const analysed: AnalysedFrame[] = [];
    for await (const frame of analyseFrames({ detector: pool, framesInFlight: WORKERS, readAheadFrames: 1, buffers }, frames())) analysed.push(frame);
    return { analysed, handedOut };
  }

  it('finds exactly what new buffers find, frame by frame, and leaves every buffer zero-filled or transferred away', async () => {
    const fresh = await analyse();
    const buffers = new FrameBuffers(1 + 1 + 1 + 2 * WORKERS);
    const reused = await analyse(buffers);

    expect(reused.analysed).toHaveLength(20);
    expect(fresh.analysed.some((frame) => frame.detections.length > 0)).toBe(true);
    expect(reused.analysed).toEqual(fresh.analysed);
    // Buffers came back from the workers to the pool, and what the pool holds is zeros.
    expect(buffers.available).toBeGreaterThan(0);
    const kept = Array.from({ length: buffers.available }, () => buffers.take(640 * 360 * 3));
    for (const pixels of kept) expect(isZero(pixels)).toBe(true);
    // Every buffer the decoder filled is now unreadable here (it went to a worker) or zero (it came back or was kept).
    for (const pixels of reused.handedOut) expect(pixels.byteLength === 0 || isZero(pixels)).toBe(true);
  });
});
