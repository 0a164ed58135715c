/**
 * Drift without images: per window of stream time (an hour by default), how the confirmed tracks' detection scores
 * and box sizes were distributed, as two histograms of tracks, and how far that is from a baseline (the population
 * stability index). A detector that stops seeing the scene well — a fogged lens, a camera knocked askew, night
 * without lighting — moves both: scores drop, small objects vanish.
 *
 *   const drift = new TrackDriftAccumulator(3600);
 *   const closed = drift.add(frame.ptsSeconds, update.tracks.map((t) => ({ handle: t.handle, box: t.box, score: tracker.matchedScore(t.handle)! })), update.ended);
 *   populationStabilityIndex(baseline.score, released.score);   // 0.31: a significant shift
 *
 * One track, one contribution. A track adds nothing while it lives; when it ends, the bin of its median score and the
 * bin of its median box size each get 1, in the window its end falls in. So one track changes a window's histograms
 * by exactly one count in each, and no other window at all: the L1 sensitivity of the two histograms together is 2,
 * their L2² sensitivity 2 (DRIFT_HISTOGRAM_SENSITIVITY), whatever the visit's length — the argument that lets
 * crossings (m = 1 per line per track) be charged to the instants a window covers (docs/drift.md). The counts here
 * are exact and never leave the process: stages/driftRelease.ts noises them under the ledger first.
 */
import type { Box } from '../models/detection.ts';
import type { StatisticSensitivity } from './privacy/sensitivity.ts';
import type { TrackHandle } from './track.ts';

/**
 * Inner edges of the score bins: [0, 0.3), [0.3, 0.4), … [0.9, 1]. A confirmed track's median score is rarely below
 * 0.3 (tracks start from high-score detections), so the low end is one bin and the rest are tenths.
 */
export const SCORE_BIN_EDGES: readonly number[] = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];
/**
 * Inner edges of the box-size bins, size being √(width · height) of the normalised box (a fraction of the frame,
 * the same at any resolution): octaves from 1/32 to 1/2, so [0, 1/32), [1/32, 1/16), … [1/2, 1].
 */
export const SIZE_BIN_EDGES: readonly number[] = [1 / 32, 1 / 16, 1 / 8, 1 / 4, 1 / 2];

/** What one track adds to a window's two histograms together: 1 to one bin of each (see the module comment). */
export const DRIFT_HISTOGRAM_SENSITIVITY: StatisticSensitivity = { l1: 2, l2Squared: 2 };

/**
 * Shares below this are raised to it before the PSI's logarithm, so an empty bin gives a finite term. Usual practice
 * floors at 10⁻⁴; with noised counts that makes an empty baseline bin that noise pushed to a few counts dominate the
 * index, so Veil floors at 1 % (docs/drift.md measures the difference).
 */
export const PSI_SHARE_FLOOR = 0.01;

/** Counts of tracks per bin: `score` has SCORE_BIN_EDGES.length + 1 bins, `size` SIZE_BIN_EDGES.length + 1. */
export interface DriftHistograms {
  score: number[];
  size: number[];
}

/** One window's histograms, over [startSeconds, endSeconds) of stream time. Exact: never leaves the process. */
export interface DriftWindow {
  startSeconds: number;
  endSeconds: number;
  windowSeconds: number;
  histograms: DriftHistograms;
}

/** A confirmed track as one frame saw it: its handle, its box (normalised) and the score of the detection matched. */
export interface TrackSighting {
  handle: TrackHandle;
  box: Box;
  score: number;
}

/** The bin of `value` among bins split at the ascending `innerEdges`: how many edges are at or below it. */
export function binIndex(innerEdges: readonly number[], value: number): number {
  let bin = 0;
  while (bin < innerEdges.length && value >= innerEdges[bin]!) bin += 1;
  return bin;
}

/** √(width · height) of a normalised box: its size as a fraction of the frame, one number whatever its shape. */
export function boxSize(box: Box): number {
  return Math.sqrt(box.width * box.height);
}

export function emptyHistograms(): DriftHistograms {
  return { score: new Array<number>(SCORE_BIN_EDGES.length + 1).fill(0), size: new Array<number>(SIZE_BIN_EDGES.length + 1).fill(0) };
}

/**
 * The bin of the lower median of the values counted in `counts` (per bin): the bin holding the ⌈n/2⌉-th smallest.
 * Binning is monotone, so that is the bin of the median value itself; a track keeps only these counts, not its values.
 */
function medianBin(counts: readonly number[]): number {
  const total = counts.reduce((sum, count) => sum + count, 0);
  const rank = Math.ceil(total / 2);
  let seen = 0;
  for (let bin = 0; bin < counts.length; bin++) {
    seen += counts[bin]!;
    if (seen >= rank) return bin;
  }
  throw new Error('medianBin: a track with no sighting has no median (internal error)');
}

/** A track's contribution: 1 to the bin of its median score, 1 to the bin of its median size. */
function addMedians(histograms: DriftHistograms, track: DriftHistograms): void {
  histograms.score[medianBin(track.score)]! += 1;
  histograms.size[medianBin(track.size)]! += 1;
}

/**
 * Folds the tracker's output into drift histograms per window of `windowSeconds`, aligned to multiples of it (the
 * Unix epoch live, as the other windows). A window is handed out once a later frame or closeIfEnded passes its end.
 * Every window that analysed a frame is handed out, empty or not: a window missing because no track ended in it
 * would say, unnoised, that nobody was there.
 */
export class TrackDriftAccumulator {
  /** Per live track, its sightings' scores and sizes as bin counts: bounded memory however long the track lives. */
  readonly #tracks = new Map<TrackHandle, DriftHistograms>();
  #open: { index: number; histograms: DriftHistograms } | undefined;

  constructor(readonly windowSeconds: number) {
    if (!(windowSeconds > 0 && Number.isFinite(windowSeconds))) throw new RangeError(`drift.windowSeconds must be a positive number of seconds, got ${windowSeconds}`);
  }

  /**
   * Adds one analysed frame's confirmed tracks (`sightings`) and the tracks that ended in it; returns the window this
   * frame closed, if any. A track that ended adds its median bins to the window of `ptsSeconds`.
   */
  add(ptsSeconds: number, sightings: readonly TrackSighting[], ended: readonly TrackHandle[]): DriftWindow[] {
    const closed = this.closeIfEnded(ptsSeconds);
    this.#open ??= { index: Math.floor(ptsSeconds / this.windowSeconds), histograms: emptyHistograms() };
    const histograms = this.#open.histograms;
    for (const { handle, box, score } of sightings) {
      let counts = this.#tracks.get(handle);
      if (!counts) this.#tracks.set(handle, (counts = emptyHistograms()));
      counts.score[binIndex(SCORE_BIN_EDGES, score)]! += 1;
      counts.size[binIndex(SIZE_BIN_EDGES, boxSize(box))]! += 1;
    }
    for (const handle of ended) {
      const counts = this.#tracks.get(handle);
      if (!counts) continue;
      this.#tracks.delete(handle);
      addMedians(histograms, counts);
    }
    return closed;
  }

  /**
   * The end of the input (a clip's last frame at `endSeconds`): every track still alive ends there and adds its
   * medians to the open window, which is handed out with any other not yet closed.
   */
  finish(endSeconds: number): DriftWindow[] {
    const closed = this.closeIfEnded(endSeconds);
    if (this.#tracks.size > 0) {
      this.#open ??= { index: Math.floor(endSeconds / this.windowSeconds), histograms: emptyHistograms() };
      for (const counts of this.#tracks.values()) addMedians(this.#open.histograms, counts);
      this.#tracks.clear();
    }
    return [...closed, ...this.closeIfEnded(Infinity)];
  }

  /** Hands out the open window when `nowSeconds` is at or past its end (live: the clock, not a frame, closes it). */
  closeIfEnded(nowSeconds: number): DriftWindow[] {
    const open = this.#open;
    if (!open || nowSeconds < (open.index + 1) * this.windowSeconds) return [];
    this.#open = undefined;
    return [{ startSeconds: open.index * this.windowSeconds, endSeconds: (open.index + 1) * this.windowSeconds, windowSeconds: this.windowSeconds, histograms: open.histograms }];
  }
}

/** Bin by bin sums of histograms (e.g. a clip's windows, or the released windows a baseline is built from). */
export function sumHistograms(histograms: readonly DriftHistograms[]): DriftHistograms {
  const total = emptyHistograms();
  for (const { score, size } of histograms) {
    score.forEach((count, bin) => (total.score[bin]! += count));
    size.forEach((count, bin) => (total.size[bin]! += count));
  }
  return total;
}

/** Bin counts as shares of their total, counts below 0 (noise) taken as 0; undefined when nothing is left. */
function shares(counts: readonly number[]): number[] | undefined {
  const clamped = counts.map((count) => Math.max(0, count));
  const total = clamped.reduce((sum, count) => sum + count, 0);
  return total > 0 ? clamped.map((count) => count / total) : undefined;
}

/**
 * The population stability index of `actual` against `expected`, two histograms over the same bins (counts; noised
 * ones may be negative or fractional):
 *
 *   PSI = Σ_i (a_i − e_i) · ln(a_i / e_i)
 *
 * with a_i, e_i the bins' shares of their histogram's total, each count below 0 taken as 0 and each share below
 * `floor` raised to it (Yurdakul, "Statistical Properties of Population Stability Index", Western Michigan University,
 * 2018, eq. 1; the floor for empty bins is the usual practice). Each term is ≥ 0, so PSI ≥ 0, and 0 only for equal
 * shares. Reading (Siddiqi, "Credit Risk Scorecards", 2006): below 0.1 no shift, 0.1–0.25 moderate, above 0.25
 * significant. Returns undefined when either histogram holds nothing; throws a RangeError when the bins differ.
 */
export function populationStabilityIndex(expected: readonly number[], actual: readonly number[], floor = PSI_SHARE_FLOOR): number | undefined {
  if (expected.length !== actual.length) throw new RangeError(`population stability index: the baseline has ${expected.length} bins and the window ${actual.length}; both must use the same bins`);
  const e = shares(expected);
  const a = shares(actual);
  if (!e || !a) return undefined;
  return e.reduce((sum, expectedShare, bin) => {
    const ei = Math.max(expectedShare, floor);
    const ai = Math.max(a[bin]!, floor);
    return sum + (ai - ei) * Math.log(ai / ei);
  }, 0);
}

/** PSI of each feature of `actual` against `baseline` (see populationStabilityIndex). */
export function driftIndices(baseline: DriftHistograms, actual: DriftHistograms): { score: number | undefined; size: number | undefined } {
  return { score: populationStabilityIndex(baseline.score, actual.score), size: populationStabilityIndex(baseline.size, actual.size) };
}
