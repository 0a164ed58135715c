import { describe, expect, it } from 'vitest';
import { readAhead } from '../../streams/readAhead.ts';

/** A source that records how far it has been read. */
function countingSource(total: number) {
  const state = { produced: 0 };
  async function* produce() {
    for (let i = 0; i < total; i++) {
      state.produced = i + 1;
      yield { index: i, pixels: new Uint8Array(3).fill(9) };
    }
  }
  return { state, source: produce() };
}

describe('readAhead', () => {
  it('delivers everything in order while staying at most `count` items ahead of the consumer', async () => {
    const { state, source } = countingSource(10);
    const seen: number[] = [];
    for await (const item of readAhead({ count: 1, discard: () => undefined }, source)) {
      await new Promise((resolve) => setTimeout(resolve, 1));
      expect(state.produced - item.index).toBeLessThanOrEqual(2);
      seen.push(item.index);
    }
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('hands what it read ahead to `discard` when the consumer stops early, so frames can be zero-filled', async () => {
    const { source } = countingSource(10);
    const discarded: Array<{ index: number; pixels: Uint8Array }> = [];
    for await (const item of readAhead({ count: 2, discard: (frame) => discarded.push(frame) }, source)) {
      if (item.index === 3) break;
    }
    expect(discarded.map((frame) => frame.index)).toEqual([4, 5]);
  });
});
