import { describe, expect, it } from 'vitest';
import { FrameBuffers } from '../../streams/frameBuffers.ts';

const isZero = (pixels: Uint8Array) => pixels.every((byte) => byte === 0);

describe('FrameBuffers', () => {
  it('hands out a zero-filled buffer of the size asked for when it holds none', () => {
    const buffers = new FrameBuffers(2);
    const pixels = buffers.take(4 * 3 * 3);
    expect(pixels.byteLength).toBe(36);
    expect(isZero(pixels)).toBe(true);
  });

  it('zero-fills a buffer given back and hands the same buffer out again', () => {
    const buffers = new FrameBuffers(2);
    const pixels = buffers.take(36).fill(7);
    buffers.give(pixels);
    expect(isZero(pixels)).toBe(true);
    expect(buffers.available).toBe(1);
    expect(buffers.take(36)).toBe(pixels);
    expect(buffers.available).toBe(0);
  });

  it('keeps at most `capacity` buffers, and zero-fills the ones it does not keep too', () => {
    const buffers = new FrameBuffers(2);
    const given = [1, 2, 3].map((value) => new Uint8Array(36).fill(value));
    for (const pixels of given) buffers.give(pixels);
    expect(buffers.available).toBe(2);
    for (const pixels of given) expect(isZero(pixels)).toBe(true);
  });

  it('drops the buffers it holds when a frame of another size is asked for', () => {
    const buffers = new FrameBuffers(3);
    buffers.give(new Uint8Array(36));
    buffers.give(new Uint8Array(36));
    const larger = buffers.take(48);
    expect(larger.byteLength).toBe(48);
    expect(buffers.available).toBe(0);
  });

  it('ignores a buffer that was transferred away (a detector worker that died kept it)', () => {
    const buffers = new FrameBuffers(2);
    const pixels = new Uint8Array(36).fill(9);
    structuredClone(pixels.buffer, { transfer: [pixels.buffer] });
    expect(pixels.byteLength).toBe(0);
    buffers.give(pixels);
    expect(buffers.available).toBe(0);
  });

  it('refuses a capacity that is not a whole number of buffers', () => {
    expect(() => new FrameBuffers(0)).toThrow(/capacity must be a whole number of buffers, at least 1, got 0/);
    expect(() => new FrameBuffers(1.5)).toThrow(RangeError);
  });
});
