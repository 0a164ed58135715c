/**
 * Notices a detector that cannot see the scene: for a long stretch of stream time it finds (almost) nothing while the
 * picture keeps changing. A camera turned on its side, zoomed far out, or filming into the sun gives exactly this —
 * counts of zero that look like an empty street. The cure is the camera's `orientation`, zoom or placement; this
 * stage only says so (a log warning, and `/healthz` through `state`).
 *
 * "The picture keeps changing" is measured on an 8 × 8 grid of mean brightness per frame, compared with the previous
 * frame's grid: 64 numbers that cannot show a person, overwritten every frame, and gone when the frame is.
 *
 *   decode ──▶ watch.pictures(frames) ──▶ detect ──▶ drop ──▶ watch.observe(analysedFrame)
 *
 * The picture is looked at before detection because the detector's worker threads take the pixel buffer over.
 */
import type { AnalysedFrame, Frame } from '../streams/frame.ts';
import { greyBlockMeans } from './blockMeans.ts';

const GRID = 8;
// Sensor noise moves a block's mean brightness by well under one level (0–255) between frames of a still scene;
// a car or a person crossing a block moves it by tens.
const CHANGE_LEVELS = 1;

export interface BlindDetectorOptions {
  /** How long (stream seconds) the detector must find almost nothing while the picture changes. Default 20. */
  stretchSeconds?: number;
  /** Detections at or above this score are "something found". Default 0.4 (the analysis's score threshold). */
  scoreThreshold?: number;
}

/** What the watch says about one camera now; `since` is the stream time the blind stretch started. */
export interface BlindDetectorState {
  blind: boolean;
  sinceSeconds?: number;
  /** Over the last stretch: the share of frames that changed, and of frames with any detection. */
  changingShare: number;
  detectingShare: number;
}

interface Sample {
  ptsSeconds: number;
  changed: boolean;
  detected: boolean;
}

export class BlindDetectorWatch {
  readonly #stretchSeconds: number;
  readonly #scoreThreshold: number;
  #previous: Float64Array | undefined;
  #current: Float64Array = new Float64Array(GRID * GRID);
  #samples: Sample[] = [];
  /** Per frame index between decoding and the detector's answer (a few at most): whether its picture changed. */
  readonly #pictureChanges = new Map<number, boolean>();
  #state: BlindDetectorState = { blind: false, changingShare: 0, detectingShare: 0 };

  constructor(options: BlindDetectorOptions = {}) {
    this.#stretchSeconds = options.stretchSeconds ?? 20;
    this.#scoreThreshold = options.scoreThreshold ?? 0.4;
    if (!(this.#stretchSeconds > 0)) throw new RangeError(`BlindDetectorWatch: stretchSeconds must be positive, got ${this.#stretchSeconds}`);
  }

  get state(): BlindDetectorState {
    return this.#state;
  }

  /** Passes decoded frames through unchanged, noting for each whether its picture moved since the previous one. */
  async *pictures(frames: AsyncIterable<Frame>): AsyncGenerator<Frame> {
    for await (const frame of frames) {
      this.#pictureChanges.set(frame.index, this.#pictureChanged(frame));
      yield frame;
    }
  }

  /**
   * Feeds what the detector found in one frame (whose picture went through `pictures`; one that did not counts as
   * unchanged).
   * @returns the new state when the camera has just turned blind or seeing again, else undefined.
   */
  observe(frame: AnalysedFrame): BlindDetectorState | undefined {
    const changed = this.#pictureChanges.get(frame.index) ?? false;
    for (const index of this.#pictureChanges.keys()) if (index <= frame.index) this.#pictureChanges.delete(index);
    const detected = frame.detections.some((d) => d.score >= this.#scoreThreshold);
    this.#samples.push({ ptsSeconds: frame.ptsSeconds, changed, detected });
    while (this.#samples.length > 0 && this.#samples[0]!.ptsSeconds < frame.ptsSeconds - this.#stretchSeconds) this.#samples.shift();
    const first = this.#samples[0]!;
    const changingShare = this.#samples.filter((s) => s.changed).length / this.#samples.length;
    const detectingShare = this.#samples.filter((s) => s.detected).length / this.#samples.length;
    // A full stretch in view, the picture moving in at least half its frames, something found in at most 1 in 50.
    const fullStretch = frame.ptsSeconds - first.ptsSeconds >= this.#stretchSeconds * 0.95;
    const blind = fullStretch && changingShare >= 0.5 && detectingShare <= 0.02;
    const wasBlind = this.#state.blind;
    this.#state = { blind, changingShare, detectingShare, ...(blind ? { sinceSeconds: wasBlind ? this.#state.sinceSeconds : first.ptsSeconds } : {}) };
    return blind === wasBlind ? undefined : this.#state;
  }

  /** Whether the 8 × 8 brightness grid moved since the previous frame (never on the first frame). */
  #pictureChanged(frame: Frame): boolean {
    // Every 4th pixel each way is plenty for block means, and keeps this a small fraction of a detection's cost.
    const grid = greyBlockMeans(frame, GRID, GRID, 4, this.#current);
    const previous = this.#previous;
    // Swap buffers: the previous grid is overwritten next frame, so only one frame's grid is ever kept.
    this.#current = previous ?? new Float64Array(GRID * GRID);
    this.#previous = grid;
    if (previous === undefined) return false;
    let difference = 0;
    for (let cell = 0; cell < grid.length; cell++) difference += Math.abs(grid[cell]! - previous[cell]!);
    return difference / grid.length >= CHANGE_LEVELS;
  }
}

/**
 * What to tell an operator about a state: why the detector may be blind and what to check, or that it sees again.
 * `clock` says what the watch's times are: seconds into a clip ('clip'), or seconds since the Unix epoch for a live
 * camera ('wall', written as an ISO 8601 instant).
 */
export function describeBlindDetector(state: BlindDetectorState, camera: string, clock: 'clip' | 'wall' = 'clip'): string {
  if (!state.blind) return `${camera}: the detector finds objects again`;
  const since = clock === 'wall' ? new Date((state.sinceSeconds ?? 0) * 1000).toISOString() : `${state.sinceSeconds?.toFixed(0)} s of stream time`;
  return (
    `${camera}: the detector has found almost nothing since ${since} while the ` +
    `picture keeps changing: it probably cannot see this scene. Check the camera's orientation (a camera mounted ` +
    `sideways needs \`orientation\`, see docs/counting-lines.md), its zoom and its lighting`
  );
}
