/**
 * The one copy of a frame's pixels a detector makes: its graph wants numbers wider than a byte (int32 for coco-ssd,
 * float32 for CenterNet), so each frame is widened into a buffer kept across frames (a 640×480 frame would otherwise
 * cost 3.7 MB of garbage each) and zero-filled after each detection, so no copy of the pixels outlives it. The
 * backend's own copy (wasm heap, native TensorFlow memory) is released when the graph's tensors are disposed, not
 * zeroed: Veil cannot reach it. The cpu backend keeps no copy: its input tensor is a view of this buffer.
 */
import type { Detection } from './detection.ts';

type WideArray = Int32Array | Float32Array;

export interface ScratchDetections<A extends WideArray> {
  /** The widened copy of the frame: all zeros whenever no detection runs. */
  readonly inputScratch: A;
  /** Detects in one packed RGB24 frame of `width` × `height`; calls run one after another, never overlapping. */
  detect(pixels: Uint8Array, width: number, height: number): Promise<Detection[]>;
}

/**
 * Runs `detectWidened` on each frame widened into a scratch buffer of `Wide` (Int32Array or Float32Array), one frame
 * at a time (the buffer is shared), zero-filling the buffer after each, whether the detection succeeded or threw.
 */
export function scratchDetections<A extends WideArray>(
  Wide: { new (length: number): A },
  detectWidened: (input: A, width: number, height: number) => Promise<Detection[]>,
): ScratchDetections<A> {
  let inputScratch = new Wide(0);
  // Detections that share the buffer must not overlap; in one thread they could not run in parallel anyway.
  let previousDetection: Promise<unknown> = Promise.resolve();

  async function detectOne(pixels: Uint8Array, width: number, height: number) {
    if (inputScratch.length < pixels.length) inputScratch = new Wide(pixels.length);
    const widened = inputScratch.subarray(0, pixels.length) as A;
    try {
      widened.set(pixels);
      return await detectWidened(widened, width, height);
    } finally {
      widened.fill(0);
    }
  }

  return {
    get inputScratch() {
      return inputScratch;
    },
    detect(pixels, width, height) {
      const detection = previousDetection.then(() => detectOne(pixels, width, height));
      previousDetection = detection.catch(() => undefined);
      return detection;
    },
  };
}
