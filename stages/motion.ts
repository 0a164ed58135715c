/**
 * Motion-gated inference: the detector is skipped while the picture has not changed since the last frame it looked
 * at, and runs at once when it has. A fixed camera spends long stretches on a still scene (an empty car park, a
 * lobby at night); there the detector would only find again what it found a moment ago.
 *
 *   frame ──▶ block means (MOTION_GRID_COLUMNS across, grey) ──▶ largest change of one block since the last
 *             detected frame ──▶ ≥ thresholdLevels, or the detector last ran too long ago: detect; else skip
 *
 * The comparison is with the last frame the detector saw, not with the previous frame, so a slow change (a car
 * creeping forward, a shadow lengthening) adds up until it runs the detector instead of hiding below the threshold
 * frame after frame.
 *
 * What a skipped frame means downstream: "nothing changed since the detector last looked", so what it found then
 * still holds; it is not "the detector found nothing" (see pipeline/analysis.ts). `minDetectorFps` bounds how stale
 * that can get: the tracker keeps matching a track's low-score detections for 1 s after it was last matched
 * (stages/track.ts, SHORT_LOSS_SECONDS), so the detector runs at least every 0.8 s and a track seen before a still
 * stretch is still matched, unaged, when the detector looks again.
 *
 * Privacy: the block means of the last detected frame are a picture MOTION_GRID_COLUMNS blocks wide (a person
 * covers a block or two). They live only in this object's memory, are zero-filled when the next detected frame
 * replaces them and by `close()`, and never leave the process.
 *
 * Example:
 *   const gate = new MotionGate({ thresholdLevels: 6, minDetectorFps: 1.25 });
 *   if (gate.shouldDetect(frame)) detections = await detector.detect(frame);
 *   gate.close();
 */
import { z } from 'zod';
import type { Frame } from '../streams/frame.ts';
import { greyBlockMeans } from './blockMeans.ts';

/**
 * Blocks across the picture (rows follow the aspect ratio): 20 px blocks at 640 px, 10 px at 320 px. A distant
 * walker (8 × 20 px at 640 px wide, the parking-lot clip) fills a good part of a block and moves its mean by tens of
 * levels; much coarser and such a walker drowns in its block.
 */
export const MOTION_GRID_COLUMNS = 32;

/** Every SAMPLE_STEP-th pixel each way is plenty for a block's mean, and keeps the measure far below a detection's cost. */
const SAMPLE_STEP = 2;

/** Frame times differ by a little float noise; a frame due at the bound is still "within" it. */
const TIME_TOLERANCE_SECONDS = 1e-3;

export const motionGateSchema = z.strictObject({
  /**
   * Whether the gate is on. Off: every frame goes to the detector.
   */
  enabled: z.boolean().default(true),
  /**
   * A block's mean grey level (0–255) must move this much since the last detected frame to count as motion.
   * Compression noise moves a still block's mean by about one level; a person or a car crossing it, by tens.
   */
  thresholdLevels: z.number().min(1, 'motionGate.thresholdLevels is a change of grey level (0–255), at least 1').max(64, 'motionGate.thresholdLevels above 64 would miss people in dark clothes on a dark floor').default(6),
  /**
   * The detector runs at least this often however still the scene (frames per second of stream time). At least
   * 1.25, so no more than 0.8 s passes between detections: the tracker matches a track's low-score detections for
   * 1 s after it was last matched (stages/track.ts), and a live camera's frame times are uneven.
   */
  minDetectorFps: z.number().min(1.25, 'motionGate.minDetectorFps must be at least 1.25: the tracker needs a detection at least every 0.8 s').max(30).default(1.25),
});
export type MotionGateOptions = z.input<typeof motionGateSchema>;
export type MotionGateSettings = z.output<typeof motionGateSchema>;

/** How many frames went to the detector and how many were skipped as still. */
export interface InferenceCounts {
  run: number;
  skipped: number;
}

export class MotionGate {
  readonly #settings: MotionGateSettings;
  /** Block means of the last detected frame; undefined before the first. */
  #reference: Float32Array | undefined;
  #current: Float32Array = new Float32Array(0);
  #lastDetectedSeconds = -Infinity;
  #previousSeconds: number | undefined;
  #counts: InferenceCounts = { run: 0, skipped: 0 };

  constructor(options: MotionGateOptions = {}) {
    this.#settings = motionGateSchema.parse(options);
  }

  /** Frames detected and skipped since the gate started. */
  get counts(): Readonly<InferenceCounts> {
    return this.#counts;
  }

  /**
   * Whether the detector must look at `frame`: the first frame, a frame whose picture moved (a block's mean grey
   * level changed by thresholdLevels or more since the last detected frame), and a frame after which the next one
   * would come too late for `minDetectorFps`. Call once per frame, in stream order, before the pixels are given
   * away; it only reads them.
   */
  shouldDetect(frame: Frame): boolean {
    const { enabled, thresholdLevels, minDetectorFps } = this.#settings;
    // The next frame is expected one interval after this one, as the last was: if it would exceed the bound, this
    // frame is the last one that can keep it.
    const intervalSeconds = this.#previousSeconds === undefined ? 0 : Math.max(0, frame.ptsSeconds - this.#previousSeconds);
    this.#previousSeconds = frame.ptsSeconds;
    const dueSeconds = this.#lastDetectedSeconds + 1 / minDetectorFps + TIME_TOLERANCE_SECONDS;
    let detect = !enabled || frame.ptsSeconds + intervalSeconds > dueSeconds;
    if (enabled) {
      const means = this.#blockMeans(frame);
      detect ||= this.#reference === undefined || this.#reference.length !== means.length || largestChange(means, this.#reference) >= thresholdLevels;
      if (detect) {
        this.#current = this.#reference ?? new Float32Array(0);
        this.#reference = means;
      }
      // The spare buffer now holds the replaced reference or this skipped frame's means: neither is kept.
      this.#current.fill(0);
    }
    if (detect) {
      this.#lastDetectedSeconds = frame.ptsSeconds;
      this.#counts.run += 1;
    } else {
      this.#counts.skipped += 1;
    }
    return detect;
  }

  /** Zero-fills the block means kept; the gate starts afresh on its next frame. */
  close(): void {
    this.#reference?.fill(0);
    this.#current.fill(0);
    this.#reference = undefined;
    this.#lastDetectedSeconds = -Infinity;
    this.#previousSeconds = undefined;
  }

  /** The mean grey level of each block (square blocks, MOTION_GRID_COLUMNS across), into the spare buffer. */
  #blockMeans(frame: Frame): Float32Array {
    const columns = Math.min(MOTION_GRID_COLUMNS, frame.width);
    const rows = Math.max(1, Math.min(frame.height, Math.round((columns * frame.height) / frame.width)));
    if (this.#current.length !== columns * rows) this.#current = new Float32Array(columns * rows);
    return greyBlockMeans(frame, columns, rows, SAMPLE_STEP, this.#current);
  }
}

/** The largest absolute difference between two equally long arrays. */
function largestChange(a: Float32Array, b: Float32Array): number {
  let largest = 0;
  for (let index = 0; index < a.length; index++) largest = Math.max(largest, Math.abs(a[index]! - b[index]!));
  return largest;
}
