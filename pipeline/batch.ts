/**
 * `veil batch`: one recorded clip through the whole pipeline, start to finish.
 *
 *   ffmpeg frames ─▶ detect (worker pool) ─▶ drop ─▶ CameraAnalysis ─▶ release (noise, budget) ─▶ report
 *
 * A recorded clip may wait for the detector: the decoder is pulled, never pushed, so memory stays flat however long
 * the clip is.
 */
import type { DetectorPool } from '../models/detectorPool.ts';
import type { FfmpegBinary } from '../streams/ffmpegBinary.ts';
import { decodeFrames } from '../streams/ffmpegFrames.ts';
import type { WindowAggregate } from '../stages/aggregates.ts';
import { detectFrames } from '../stages/detect.ts';
import { dropFrames } from '../stages/drop.ts';
import type { ReleasedWindow } from '../stages/released.ts';
import { CameraAnalysis, type AnalysisSettings } from './analysis.ts';
import type { ProgressReporter } from './progress.ts';

export interface BatchJob {
  input: string;
  ffmpeg: FfmpegBinary;
  detector: DetectorPool;
  analysis: AnalysisSettings & { fps: number; maxWidth: number };
  release: (aggregate: WindowAggregate) => ReleasedWindow;
  /** Decode only an excerpt (seconds), e.g. for a quick look at a long recording. */
  startSeconds?: number;
  durationSeconds?: number;
  progress?: ProgressReporter;
  onDuration?: (seconds: number) => void;
}

export interface BatchOutcome {
  windows: ReleasedWindow[];
  framesAnalysed: number;
}

export async function runBatch(job: BatchJob): Promise<BatchOutcome> {
  const frames = decodeFrames({
    ffmpeg: job.ffmpeg,
    input: job.input,
    fps: job.analysis.fps,
    maxWidth: job.analysis.maxWidth,
    startSeconds: job.startSeconds,
    durationSeconds: job.durationSeconds,
    onDuration: job.onDuration,
  });
  const analysed = dropFrames(detectFrames(frames, job.detector, job.detector.workerCount));
  const analysis = new CameraAnalysis(job.analysis, 'clip');
  const windows: ReleasedWindow[] = [];
  let framesAnalysed = 0;
  let lastPtsSeconds = 0;
  for await (const frame of analysed) {
    framesAnalysed += 1;
    lastPtsSeconds = frame.ptsSeconds;
    const closed = analysis.add(frame);
    if (closed) windows.push(job.release(closed));
    job.progress?.update(framesAnalysed, frame.ptsSeconds);
  }
  // The last frame stands for one sampling interval of the clip.
  const last = analysis.finish(lastPtsSeconds + 1 / job.analysis.fps);
  if (last) windows.push(job.release(last));
  job.progress?.finish();
  return { windows, framesAnalysed };
}
