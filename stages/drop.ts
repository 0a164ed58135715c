/**
 * The drop stage: where frames die. As soon as the detector has returned, the frame's pixel buffer is zero-filled
 * and detached from the frame, and only its time and detections go on. Nothing downstream can reach a pixel: the
 * type that leaves this stage has no field for one.
 *
 * With `buffers`, the zero-filled buffer goes back to the decoder's pool to carry a later frame (streams/frameBuffers.ts)
 * instead of waiting for the garbage collector; it is zero-filled all the same.
 */
import type { FrameBuffers } from '../streams/frameBuffers.ts';
import type { AnalysedFrame } from '../streams/frame.ts';
import type { DetectedFrame } from './detect.ts';

const NO_PIXELS = new Uint8Array(0);

/** A frame the motion gate kept from the detector dies here too, the same way. */
export function dropFrame({ frame, detections, skipped }: DetectedFrame, buffers?: FrameBuffers): AnalysedFrame {
  // The pool zero-fills what it is given: the bytes are cleared either way, once.
  if (buffers) buffers.give(frame.pixels);
  else frame.pixels.fill(0);
  frame.pixels = NO_PIXELS;
  return { index: frame.index, ptsSeconds: frame.ptsSeconds, detections, ...(skipped ? { skipped } : {}) };
}

export async function* dropFrames(detected: AsyncIterable<DetectedFrame>, buffers?: FrameBuffers): AsyncGenerator<AnalysedFrame> {
  for await (const item of detected) yield dropFrame(item, buffers);
}
