/**
 * The detect stage: runs the detector on each frame, up to `framesInFlight` at once (one per detector worker), and
 * yields results in frame order — the tracker downstream needs time to run forwards.
 *
 * A worker that finishes is given the next frame at once, even while an older frame is still being detected
 * elsewhere: waiting for the oldest first would leave that worker idle. Finished results wait for their turn, at most
 * `framesInFlight` of them, so memory stays bounded; and a new frame is pulled only for a free worker, so a slow
 * detector slows the decoder instead of queueing frames.
 *
 * With a `gate` (stages/motion.ts), a frame it declines skips the detector: it takes its place in the order at once,
 * marked `skipped`, with no detections and no worker, and goes on to the drop stage like every other frame.
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
  /** Decides, per frame in stream order, whether the detector looks at it; without one, it looks at every frame. */
  gate?: { shouldDetect(frame: Frame): boolean };
}

export interface DetectedFrame {
  frame: Frame;
  detections: Detection[];
  /** The gate kept the detector away: the picture had not changed since the last detected frame. */
  skipped?: true;
}

interface Pending {
  result: Promise<DetectedFrame>;
  /** Resolves (never rejects) once `result` has settled. */
  settled: Promise<void>;
  done: boolean;
}

export async function* detectFrames({ detector, framesInFlight, gate }: DetectOptions, frames: AsyncIterable<Frame>): AsyncGenerator<DetectedFrame> {
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
        if (gate && !gate.shouldDetect(frame)) {
          pending.push({ result: Promise.resolve({ frame, detections: [], skipped: true }), settled: Promise.resolve(), done: true });
          continue;
        }
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
