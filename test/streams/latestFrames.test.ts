import { describe, expect, it } from 'vitest';
import type { Frame } from '../../streams/frame.ts';
import { LatestFrameQueue } from '../../streams/latestFrames.ts';

function frame(index: number): Frame {
  return { index, ptsSeconds: index / 5, width: 2, height: 2, pixels: new Uint8Array(12).fill(index + 1) };
}

describe('LatestFrameQueue (live cameras: bounded, drop oldest)', () => {
  it('never holds more than its capacity and drops the oldest, zero-filled and counted', async () => {
    let dropped = 0;
    const queue = new LatestFrameQueue(2, () => dropped++);
    const frames = [0, 1, 2, 3, 4].map(frame);
    for (const f of frames) queue.push(f);
    expect(queue.length).toBe(2);
    expect(dropped).toBe(3);
    for (const old of frames.slice(0, 3)) expect(old.pixels.every((byte) => byte === 0)).toBe(true);
    queue.end();
    const delivered: number[] = [];
    for await (const f of queue.drain()) delivered.push(f.index);
    expect(delivered).toEqual([3, 4]);
  });

  it('hands frames to a waiting consumer as they arrive, and stops once ended and empty', async () => {
    const queue = new LatestFrameQueue(1, () => undefined);
    const drained = (async () => {
      const seen: number[] = [];
      for await (const f of queue.drain()) seen.push(f.index);
      return seen;
    })();
    queue.push(frame(0));
    await new Promise((resolve) => setImmediate(resolve));
    queue.push(frame(1));
    queue.end();
    await expect(drained).resolves.toEqual([0, 1]);
  });

  it('zero-fills what is still queued when discarded, and what arrives after', () => {
    const queue = new LatestFrameQueue(2, () => undefined);
    const queued = frame(7);
    queue.push(queued);
    queue.discard();
    const late = frame(8);
    queue.push(late);
    expect(queued.pixels.every((byte) => byte === 0)).toBe(true);
    expect(late.pixels.every((byte) => byte === 0)).toBe(true);
    expect(queue.length).toBe(0);
  });

  it('refuses a capacity that is not a positive whole number', () => {
    expect(() => new LatestFrameQueue(0, () => undefined)).toThrow(/at least one frame/);
  });
});
