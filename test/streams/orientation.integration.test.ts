import { describe, expect, it } from 'vitest';
import { decodeFrames } from '../../streams/ffmpegFrames.ts';
import type { Frame } from '../../streams/frame.ts';
import { orientationSchema, type Orientation } from '../../streams/orientation.ts';
import { testFfmpeg } from '../helpers/frames.ts';
import { FOOTAGE } from '../helpers/paths.ts';

/** The overpass clip's frame at 5 s, turned by ffmpeg as `orientation` says. */
async function frameAt5s(orientation?: Orientation): Promise<Frame> {
  const source = decodeFrames({ ffmpeg: await testFfmpeg(), input: FOOTAGE.overpass, fps: 1, maxWidth: 640, startSeconds: 5, durationSeconds: 1, orientation });
  for await (const frame of source) {
    await source.return(undefined);
    return frame;
  }
  throw new Error('no frame decoded');
}

/** Mean absolute difference (0–255) between `turned` and `upright` read through `map` (turned x, y → upright x, y). */
function meanDifference(turned: Frame, upright: Frame, map: (x: number, y: number) => [number, number]): number {
  let sum = 0;
  let count = 0;
  for (let y = 0; y < turned.height; y += 7) {
    for (let x = 0; x < turned.width; x += 7) {
      const [ux, uy] = map(x, y);
      for (let c = 0; c < 3; c++) sum += Math.abs(turned.pixels[(y * turned.width + x) * 3 + c]! - upright.pixels[(uy * upright.width + ux) * 3 + c]!);
      count += 3;
    }
  }
  return sum / count;
}

describe('orientation (turned inside ffmpeg before detection)', () => {
  it('turns a frame a quarter clockwise: 240 × 320, and the upright frame\'s left column is its top row', async () => {
    const upright = await frameAt5s();
    const turned = await frameAt5s('rotate-90-clockwise');
    expect([upright.width, upright.height]).toEqual([320, 240]);
    expect([turned.width, turned.height]).toEqual([240, 320]);
    // Clockwise: turned (x, y) shows upright (y, H − 1 − x).
    expect(meanDifference(turned, upright, (x, y) => [y, upright.height - 1 - x])).toBeLessThan(3);
    // ...and not anticlockwise, which would be a mirror image of it.
    expect(meanDifference(turned, upright, (x, y) => [upright.width - 1 - y, x])).toBeGreaterThan(10);
  });

  it('mirrors and turns half round with the same picture in the same place as the formulas say', async () => {
    const upright = await frameAt5s();
    const w = upright.width - 1;
    const h = upright.height - 1;
    expect(meanDifference(await frameAt5s('flip-horizontal'), upright, (x, y) => [w - x, y])).toBeLessThan(3);
    expect(meanDifference(await frameAt5s('flip-vertical'), upright, (x, y) => [x, h - y])).toBeLessThan(3);
    expect(meanDifference(await frameAt5s('rotate-180'), upright, (x, y) => [w - x, h - y])).toBeLessThan(3);
    expect(meanDifference(await frameAt5s('upright'), upright, (x, y) => [x, y])).toBe(0);
  });

  it('refuses an orientation it does not know, listing the ones it does', () => {
    const parsed = orientationSchema.safeParse('sideways');
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toMatch(/rotate-90-clockwise.*flip-vertical/);
  });
});
