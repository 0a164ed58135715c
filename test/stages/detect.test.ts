import { describe, expect, it } from 'vitest';
import type { Detection } from '../../models/detection.ts';
import { detectFrames, type DetectedFrame, type FrameDetector } from '../../stages/detect.ts';
import type { Frame } from '../../streams/frame.ts';
import { collect, framesFrom } from '../helpers/iterables.ts';

function blankFrame(index: number): Frame {
  return { index, ptsSeconds: index / 5, width: 2, height: 2, pixels: new Uint8Array(12) };
}

/** A detector whose answers the test releases by hand, in any order; each answer names its frame. */
class HandDetector implements FrameDetector {
  readonly waiting = new Map<number, () => void>();
  maxInFlight = 0;

  detect(frame: Frame): Promise<Detection[]> {
    return new Promise((resolve) => {
      this.waiting.set(frame.index, () => {
        this.waiting.delete(frame.index);
        resolve([{ cocoClass: 'person', score: frame.index / 100, box: { x: 0, y: 0, width: 1, height: 1 } }]);
      });
      this.maxInFlight = Math.max(this.maxInFlight, this.waiting.size);
    });
  }

  /** Answers the frame with the highest index first: the newest frames finish before the oldest. */
  answerNewestFirst() {
    for (const index of [...this.waiting.keys()].sort((a, b) => b - a)) this.waiting.get(index)!();
  }
}

/** Consumes `output` while answering the detector newest-first, until `count` frames have come out. */
async function collectAnsweringNewestFirst(detector: HandDetector, output: AsyncIterable<DetectedFrame>, count: number): Promise<DetectedFrame[]> {
  const results: DetectedFrame[] = [];
  const consumer = (async () => {
    for await (const item of output) results.push(item);
  })();
  while (results.length < count) {
    await new Promise((resolve) => setImmediate(resolve));
    detector.answerNewestFirst();
  }
  await consumer;
  return results;
}

describe('detectFrames with a hand-driven detector', () => {
  it('yields frames in order even when later frames finish first', async () => {
    const detector = new HandDetector();
    const results = await collectAnsweringNewestFirst(detector, detectFrames({ detector, framesInFlight: 3 }, framesFrom(Array.from({ length: 10 }, (_, i) => blankFrame(i)))), 10);
    expect(results.map((r) => r.frame.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // Each frame kept its own detections, not a neighbour's.
    expect(results.every((r) => r.detections[0]!.score === r.frame.index / 100)).toBe(true);
    expect(detector.maxInFlight).toBe(3);
  });

  it('gives the detector only the frames the gate lets through; the others keep their place, marked skipped, without detections', async () => {
    const detector = new HandDetector();
    const asked: number[] = [];
    const gate = { shouldDetect: (frame: Frame) => (asked.push(frame.index), frame.index % 3 === 0) };
    const results = await collectAnsweringNewestFirst(detector, detectFrames({ detector, framesInFlight: 2, gate }, framesFrom(Array.from({ length: 7 }, (_, i) => blankFrame(i)))), 7);
    // The gate saw every frame once, in stream order; frames 0, 3 and 6 went to the detector.
    expect(asked).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(results.map((r) => [r.frame.index, r.skipped ?? false, r.detections.length])).toEqual([
      [0, false, 1], [1, true, 0], [2, true, 0], [3, false, 1], [4, true, 0], [5, true, 0], [6, false, 1],
    ]);
  });

  it('never has more than framesInFlight frames at the detector, and pulls no frame it cannot start', async () => {
    let pulled = 0;
    const detector = new HandDetector();
    const output = detectFrames({ detector, framesInFlight: 2 }, framesFrom(Array.from({ length: 20 }, (_, i) => blankFrame(i)), (count) => (pulled = count)));
    const first = output.next();
    await new Promise((resolve) => setImmediate(resolve));
    // Nothing answered yet: two frames are at the detector and the decoder has not been asked for a third.
    expect(detector.waiting.size).toBe(2);
    expect(pulled).toBe(2);
    detector.answerNewestFirst();
    expect((await first).value?.frame.index).toBe(0);
    await output.return(undefined);
    expect(detector.maxInFlight).toBe(2);
  });

  it('stops the source when the consumer stops', async () => {
    let sourceClosed = false;
    async function* source() {
      try {
        for (let i = 0; ; i++) yield blankFrame(i);
      } finally {
        sourceClosed = true;
      }
    }
    const instant: FrameDetector = { detect: async () => [] };
    for await (const item of detectFrames({ detector: instant, framesInFlight: 2 }, source())) if (item.frame.index === 4) break;
    expect(sourceClosed).toBe(true);
  });

  it('reports a failed frame in its place in the order', async () => {
    const failOnThree: FrameDetector = {
      detect: async (frame) => {
        if (frame.index === 3) throw new Error('detection failed on frame 3');
        return [];
      },
    };
    const seen: number[] = [];
    const consume = async () => {
      for await (const item of detectFrames({ detector: failOnThree, framesInFlight: 4 }, framesFrom(Array.from({ length: 8 }, (_, i) => blankFrame(i))))) seen.push(item.frame.index);
    };
    await expect(consume()).rejects.toThrow('detection failed on frame 3');
    expect(seen).toEqual([0, 1, 2]);
  });

  it('ends cleanly on an empty source', async () => {
    expect(await collect(detectFrames({ detector: new HandDetector(), framesInFlight: 2 }, framesFrom<Frame>([])))).toEqual([]);
  });
});
