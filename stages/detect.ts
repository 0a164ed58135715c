/**
 * The detect stage: runs the detector on each frame, up to `framesInFlight` at once (one per detector worker), and
 * yields results in frame order — the tracker downstream needs time to run forwards.
 *
 * A worker that finishes is given the next frame at once, even while an older frame is still being detected
 * elsewhere: waiting for the oldest first would leave that worker idle. Finished results wait for their turn, at most
 * `framesInFlight` of them, so memory stays bounded; and a new frame is pulled only for a free worker, so a slow
 * detector slows the decoder instead of queueing frames.
 */
import type { Detection } from '../models/detection.ts';
import type { Frame } from '../streams/frame.ts';

export interface FrameDetector {
  detect(frame: Frame): Promise<Detection[]>;
}

export interface DetectOptions {
  detector: FrameDetector;
  /** Frames being detected at once: one per detector worker keeps every worker busy. */
  framesInFlight: number;
}

export interface DetectedFrame {
  frame: Frame;
  detections: Detection[];
}

interface Pending {
  result: Promise<DetectedFrame>;
  /** Resolves (never rejects) once `result` has settled. */
  settled: Promise<void>;
  done: boolean;
}

export async function* detectFrames({ detector, framesInFlight }: DetectOptions, frames: AsyncIterable<Frame>): AsyncGenerator<DetectedFrame> {
  const pending: Pending[] = [];
  const source = frames[Symbol.asyncIterator]();
  let sourceDone = false;
  const detecting = () => pending.filter((item) => !item.done).length;
  try {
    for (;;) {
      while (!sourceDone && detecting() < framesInFlight && pending.length < 2 * framesInFlight) {
        const next = await source.next();
        if (next.done) {
          sourceDone = true;
          break;
        }
        const frame = next.value;
        const result = detector.detect(frame).then((detections) => ({ frame, detections }));
        const item: Pending = { result, settled: Promise.resolve(), done: false };
        // Awaited in order below; this only marks completion and stops a failure being reported as unhandled meanwhile.
        item.settled = result.then(
          () => void (item.done = true),
          () => void (item.done = true),
        );
        pending.push(item);
      }
      const oldest = pending[0];
      if (!oldest) return;
      if (oldest.done) {
        pending.shift();
        yield await oldest.result;
      } else {
        // Wake for whichever finishes first: the oldest (to yield it) or another (to give its worker a new frame).
        await Promise.race(pending.filter((item) => !item.done).map((item) => item.settled));
      }
    }
  } finally {
    await source.return?.();
  }
}
