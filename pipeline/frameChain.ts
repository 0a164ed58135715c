/**
 * The frame chain, the one place where frames meet the detector and die:
 *
 *   frame source ─▶ read ahead ─▶ motion gate ─▶ detect (worker pool, in order) ─▶ drop (pixels zero-filled) ─▶ AnalysedFrame
 *                                      └─ still picture: skipped, no worker ──────────▶ drop (the same way)
 *
 * A frame source is anything that yields decoded frames: a recorded clip's decoder (`decodeFrames`), a live
 * camera's drop-oldest queue (`LatestFrameQueue.drain()`), frames already in memory (the bench). `veil batch`,
 * `veil eval`, `veil run` and `npm run bench` all analyse through this chain, so a new kind of source, or a fix to
 * the chain, is made here once.
 */
import { detectFrames, type FrameDetector } from '../stages/detect.ts';
import { dropFrames } from '../stages/drop.ts';
import type { MotionGate } from '../stages/motion.ts';
import type { FrameBuffers } from '../streams/frameBuffers.ts';
import type { AnalysedFrame, Frame } from '../streams/frame.ts';
import { readAhead } from '../streams/readAhead.ts';

export type FrameSource = AsyncIterable<Frame>;

export interface FrameChainOptions {
  detector: FrameDetector;
  /** Frames detected at once: the pool's worker count keeps every worker busy. */
  framesInFlight: number;
  /**
   * Frames decoded ahead of a free detector worker. 1 for a recorded clip hides ffmpeg's hand-over time (see
   * streams/readAhead.ts); 0 for a live camera, whose queue already holds the freshest frames and must not hold more.
   */
  readAheadFrames: number;
  /** Skips the detector on frames whose picture has not changed (stages/motion.ts); absent: every frame is detected. */
  motionGate?: MotionGate;
  /**
   * The pool the source takes its pixel buffers from (streams/frameBuffers.ts): each dead frame's buffer, zero-filled,
   * goes back there. Absent: dead frames' buffers are zero-filled and left to the garbage collector.
   */
  buffers?: FrameBuffers;
}

/**
 * Frames in, detections out, no pixel past the end. Stopping early stops the source (its ffmpeg is killed). When the
 * chain ends, the motion gate's last picture (its block means) is zero-filled too.
 */
export async function* analyseFrames(options: FrameChainOptions, source: FrameSource): AsyncGenerator<AnalysedFrame> {
  // A frame read ahead for a consumer that stopped early still holds pixels: they are cleared, not left behind.
  const discard = (frame: Frame) => (options.buffers ? options.buffers.give(frame.pixels) : frame.pixels.fill(0));
  const ahead = readAhead({ count: options.readAheadFrames, discard }, source);
  const detected = detectFrames({ detector: options.detector, framesInFlight: options.framesInFlight, gate: options.motionGate }, ahead);
  try {
    yield* dropFrames(detected, options.buffers);
  } finally {
    options.motionGate?.close();
  }
}
