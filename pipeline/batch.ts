/**
 * `veil batch`: one recorded clip through the whole pipeline, start to finish.
 *
 *   ffmpeg frames ─▶ frame chain (read ahead 1 frame, motion gate, detect, drop) ─▶ CameraAnalysis ─▶ release (noise, budget) ─▶ report
 *
 * A recorded clip may wait for the detector: the decoder is pulled, never pushed, so memory stays flat however long
 * the clip is.
 */
import type { DetectorPool } from '../models/detectorPool.ts';
import type { FfmpegBinary } from '../streams/ffmpegBinary.ts';
import { decodeFrames } from '../streams/ffmpegFrames.ts';
import { FrameBuffers } from '../streams/frameBuffers.ts';
import type { WindowAggregate } from '../stages/aggregates.ts';
import type { Orientation } from '../streams/orientation.ts';
import { BlindDetectorWatch, type BlindDetectorState } from '../stages/blindDetector.ts';
import { MotionGate, type InferenceCounts, type MotionGateSettings } from '../stages/motion.ts';
import type { ClassCounts } from '../stages/zones.ts';
import { sumHistograms, type DriftHistograms, type DriftWindow } from '../stages/drift.ts';
import { CameraAnalysis, type AnalysisSettings, type TrackingSummary } from './analysis.ts';
import { analyseFrames } from './frameChain.ts';
import type { ProgressReporter } from './progress.ts';

/** One decoded frame waiting for a free detector worker hides ffmpeg's hand-over time (see streams/readAhead.ts). */
const READ_AHEAD_FRAMES = 1;

export interface BatchJob<Released> {
  input: string;
  ffmpeg: FfmpegBinary;
  detector: DetectorPool;
  analysis: AnalysisSettings & { fps: number; maxWidth: number; orientation?: Orientation; motionGate: MotionGateSettings };
  /** What becomes of each closed window: the privacy release, or (in `veil eval`) the exact aggregate itself. */
  release: (aggregate: WindowAggregate) => Released;
  /**
   * Sees each frame's zone occupancy, and whether the motion gate skipped the detector on it; used by `veil eval` to
   * compare instants with hand counts, and by the frugality bench.
   */
  onFrameOccupancy?: (ptsSeconds: number, occupancy: Record<string, ClassCounts>, skipped: boolean) => void;
  /** Decode only an excerpt (seconds), e.g. for a quick look at a long recording. */
  startSeconds?: number;
  durationSeconds?: number;
  progress?: ProgressReporter;
  onDuration?: (seconds: number) => void;
  /** ffmpeg's warnings that did not stop the decode (see streams/ffmpegFrames.ts), for the log. */
  onDecodeWarning?: (warning: string) => void;
  /** Hears when the detector turns blind to the scene, or seeing again (see stages/blindDetector.ts). */
  onBlindDetector?: (state: BlindDetectorState) => void;
}

export interface BatchOutcome<Released> {
  windows: Released[];
  framesAnalysed: number;
  /**
   * Frames the detector ran on and frames the motion gate skipped. Exact and unnoised: it follows how much of the
   * clip moved, so it is never part of a private release (docs/frugality.md).
   */
  inferences: InferenceCounts;
  /** For `veil eval`'s track fragmentation; exact, never released. */
  tracking: TrackingSummary;
  /**
   * With `analysis.driftWindowSeconds`: the drift histograms of the whole clip (every window's summed), for `veil
   * eval --drift-baseline`; exact, never released.
   */
  drift?: DriftHistograms;
}

export async function runBatch<Released>(job: BatchJob<Released>): Promise<BatchOutcome<Released>> {
  // Frames holding pixels at once: one being decoded, those read ahead and the one being handed over, and up to two per
  // worker in the detect stage (one detecting, one waiting for an older frame's turn).
  const buffers = new FrameBuffers(1 + READ_AHEAD_FRAMES + 1 + 2 * job.detector.workerCount);
  const frames = decodeFrames({
    ffmpeg: job.ffmpeg,
    input: job.input,
    fps: job.analysis.fps,
    maxWidth: job.analysis.maxWidth,
    orientation: job.analysis.orientation,
    startSeconds: job.startSeconds,
    durationSeconds: job.durationSeconds,
    onDuration: job.onDuration,
    onWarning: job.onDecodeWarning,
    buffers,
  });
  const watch = new BlindDetectorWatch({ scoreThreshold: job.analysis.scoreThreshold });
  const motionGate = new MotionGate(job.analysis.motionGate);
  const analysed = analyseFrames({ detector: job.detector, framesInFlight: job.detector.workerCount, readAheadFrames: READ_AHEAD_FRAMES, motionGate, buffers }, watch.pictures(frames));
  const startSeconds = job.startSeconds ?? 0;
  const analysis = new CameraAnalysis(job.analysis, 'clip', startSeconds);
  const windows: Released[] = [];
  let framesAnalysed = 0;
  let lastPtsSeconds = 0;
  const driftWindows: DriftWindow[] = [];
  for await (const frame of analysed) {
    framesAnalysed += 1;
    lastPtsSeconds = frame.ptsSeconds;
    // A skipped frame tells the watch nothing about the detector: it did not look.
    const blindness = frame.skipped ? undefined : watch.observe(frame);
    if (blindness) job.onBlindDetector?.(blindness);
    const { occupancy, closed, driftClosed } = analysis.add(frame);
    driftWindows.push(...driftClosed);
    job.onFrameOccupancy?.(frame.ptsSeconds, occupancy, frame.skipped === true);
    for (const window of closed) windows.push(job.release(window));
    job.progress?.update(framesAnalysed, frame.ptsSeconds - startSeconds);
  }
  // The last frame stands for one sampling interval of the clip.
  const endSeconds = lastPtsSeconds + 1 / job.analysis.fps;
  for (const window of analysis.finish(endSeconds)) windows.push(job.release(window));
  driftWindows.push(...analysis.finishDrift(endSeconds));
  job.progress?.finish();
  const drift = job.analysis.driftWindowSeconds === undefined ? undefined : sumHistograms(driftWindows.map((window) => window.histograms));
  return { windows, framesAnalysed, inferences: { ...motionGate.counts }, tracking: analysis.trackingSummary(), ...(drift ? { drift } : {}) };
}
