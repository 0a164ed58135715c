import { describe, expect, it } from 'vitest';
import type { DetectedFrame } from '../../stages/detect.ts';
import { dropFrame, dropFrames } from '../../stages/drop.ts';
import type { Detection } from '../../models/detection.ts';
import type { Frame } from '../../streams/frame.ts';
import { FrameBuffers } from '../../streams/frameBuffers.ts';

const WIDTH = 4;
const HEIGHT = 3;
const seen: Detection[] = [{ cocoClass: 'person', score: 0.8, box: { x: 0.1, y: 0.2, width: 0.3, height: 0.4 } }];

/** A frame whose every byte is 7, so a byte the drop stage left alone cannot pass for one it cleared. */
function frameOfSevens(index: number): Frame {
  return { index, ptsSeconds: index / 5, width: WIDTH, height: HEIGHT, pixels: new Uint8Array(WIDTH * HEIGHT * 3).fill(7) };
}

describe('dropFrame', () => {
  it('zero-fills the pixel buffer it was given, detaches it, and passes on only time and detections', () => {
    const frame = frameOfSevens(3);
    const buffer = frame.pixels;
    const analysed = dropFrame({ frame, detections: seen });
    expect(buffer).toEqual(new Uint8Array(WIDTH * HEIGHT * 3));
    expect(frame.pixels).toHaveLength(0);
    expect(analysed).toStrictEqual({ index: 3, ptsSeconds: 0.6, detections: seen });
  });

  it('gives the zero-filled buffer back to the decoder’s pool when there is one, and detaches it all the same', () => {
    const buffers = new FrameBuffers(2);
    const frame = frameOfSevens(3);
    const buffer = frame.pixels;
    const analysed = dropFrame({ frame, detections: [], skipped: true }, buffers);
    expect(buffer).toEqual(new Uint8Array(WIDTH * HEIGHT * 3));
    expect(frame.pixels).toHaveLength(0);
    expect(buffers.take(WIDTH * HEIGHT * 3)).toBe(buffer);
    expect(analysed).toStrictEqual({ index: 3, ptsSeconds: 0.6, detections: [], skipped: true });
  });
});

describe('dropFrames', () => {
  it('zero-fills every frame of a stream, in order', async () => {
    const frames = [frameOfSevens(0), frameOfSevens(1)];
    const buffers = frames.map((frame) => frame.pixels);
    async function* detected(): AsyncGenerator<DetectedFrame> {
      for (const frame of frames) yield { frame, detections: [] };
    }
    const analysed = [];
    for await (const item of dropFrames(detected())) analysed.push(item);
    expect(analysed.map((item) => item.index)).toEqual([0, 1]);
    for (const buffer of buffers) expect(buffer.every((byte) => byte === 0)).toBe(true);
  });
});
