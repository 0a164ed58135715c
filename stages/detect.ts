/**
 * The detect stage: runs the detector on each frame, up to `framesInFlight` at once (one per detector worker), and
 * yields results in frame order — the tracker downstream needs time to run forwards. It pulls a new frame only when
 * a worker is free, so a slow detector slows the decoder instead of queueing frames.
 */
import type { Detection } from '../models/detection.ts';
import type { Frame } from '../streams/frame.ts';

export interface FrameDetector {
  detect(frame: Frame): Promise<Detection[]>;
}

export interface DetectedFrame {
  frame: Frame;
  detections: Detection[];
}

export async function* detectFrames(frames: AsyncIterable<Frame>, detector: FrameDetector, framesInFlight: number): AsyncGenerator<DetectedFrame> {
  const inFlight: Array<Promise<DetectedFrame>> = [];
  const source = frames[Symbol.asyncIterator]();
  let sourceDone = false;
  try {
    for (;;) {
      while (!sourceDone && inFlight.length < framesInFlight) {
        const next = await source.next();
        if (next.done) sourceDone = true;
        else {
          const frame = next.value;
          const detected = detector.detect(frame).then((detections) => ({ frame, detections }));
          // Awaited in order below; this only stops a failure from being reported as unhandled meanwhile.
          detected.catch(() => undefined);
          inFlight.push(detected);
        }
      }
      const oldest = inFlight.shift();
      if (!oldest) return;
      yield await oldest;
    }
  } finally {
    await source.return?.();
  }
}
