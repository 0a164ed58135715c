/**
 * `npm run bench [-- CLIP] [--fps N] [--workers N|auto] [--duration SECONDS] [--rounds N]`: where a batch run's time
 * goes, on one clip in one process (default: the bundled sample that `veil batch` analyses).
 *
 *   decode only        ffmpeg → frames, nothing else                      (what the decoder can feed)
 *   detector only      frames already in memory → the frame chain          (the ceiling for the whole pipeline)
 *   whole pipeline     runBatch: decode → detect → drop → track/zones/lines → windows → privacy release
 *   pipeline/detector  the share of the detector's speed the pipeline keeps; the goal is ≥ 0.9
 *   tracker/detector   tracking + zones + a counting line per frame, against one inference per frame; goal < 2 %
 *
 * Detector-only and pipeline use the same worker pool, warmed up first, and alternate over several rounds in ABBA
 * order, so that other load on the machine falls on both alike; the ratio is the median of each round's ratio.
 * Only rates and ratios are printed; nothing here asserts a time, since rates depend on the machine.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { DetectorPool } from '../models/detectorPool.ts';
import { runBatch } from '../pipeline/batch.ts';
import { clipJobConfig, findFfmpeg, startParts } from '../pipeline/clipJob.ts';
import { SAMPLE_CLIP } from '../streams/sampleClip.ts';
import { createLogger } from '../pipeline/log.ts';
import { openPrivacy, type PrivacyRuntime } from '../pipeline/privacySetup.ts';
import type { FfmpegBinary } from '../streams/ffmpegBinary.ts';
import { decodeFrames } from '../streams/ffmpegFrames.ts';
import type { AnalysedFrame, Frame } from '../streams/frame.ts';
import { CameraAnalysis } from '../pipeline/analysis.ts';
import { analyseFrames } from '../pipeline/frameChain.ts';
import type { CountingLine } from '../stages/lines.ts';

/** Frames detected before timing: the first inferences of a wasm worker are slower (compilation, allocation). */
const WARM_UP_FRAMES_PER_WORKER = 3;
const PIPELINE_GOAL_RATIO = 0.9;
const TRACKER_GOAL_FRACTION = 0.02;
/** The analysis of one frame takes microseconds: repeat it so the clock's resolution and jitter don't matter. */
const ANALYSIS_REPEATS = 50;
/** A line across the middle, so the tracker's cost is measured with line counting in it even when the config has none. */
const BENCH_LINE: CountingLine = { name: 'bench-midline', from: [0, 0.5], to: [1, 0.5] };

const { values, positionals } = parseArgs({
  args: process.argv.slice(2),
  options: { fps: { type: 'string' }, workers: { type: 'string' }, duration: { type: 'string' }, rounds: { type: 'string', default: '3' } },
  allowPositionals: true,
});
const clip = positionals[0] ?? SAMPLE_CLIP;
const durationSeconds = values.duration === undefined ? undefined : Number(values.duration);
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds ${values.rounds}: expected a whole number of rounds, e.g. 3`);
const quiet = createLogger('text', () => undefined);

interface Rate {
  frames: number;
  seconds: number;
  perSecond: number;
}

async function timed(work: () => Promise<number>): Promise<Rate> {
  const startedNs = process.hrtime.bigint();
  const frames = await work();
  const seconds = Number(process.hrtime.bigint() - startedNs) / 1e9;
  return { frames, seconds, perSecond: frames / seconds };
}

function median(numbers: number[]): number {
  const sorted = [...numbers].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** resourceUsage().maxRSS is in kilobytes: the high-water mark of this process, detector threads included. */
function peakRssMegabytes(): number {
  return process.resourceUsage().maxRSS / 1024;
}

async function* inMemory(frames: Frame[]): AsyncGenerator<Frame> {
  yield* frames;
}

class Bench {
  constructor(
    private readonly ffmpeg: FfmpegBinary,
    private readonly pool: DetectorPool,
    private readonly config: Awaited<ReturnType<typeof clipJobConfig>>,
    private readonly privacy: PrivacyRuntime,
  ) {}

  private frames() {
    return decodeFrames({ ffmpeg: this.ffmpeg, input: clip, fps: this.config.fps, maxWidth: this.config.maxWidth, durationSeconds });
  }

  /** What the last detector-only pass saw, for timing the analysis on real detections. */
  analysed: AnalysedFrame[] = [];

  /** Frames in memory are a frame source like any other: the same chain as batch and live, with nothing to read ahead. */
  private async detect(frames: Frame[]): Promise<number> {
    this.analysed = [];
    for await (const frame of analyseFrames({ detector: this.pool, framesInFlight: this.pool.workerCount, readAheadFrames: 0 }, inMemory(frames))) this.analysed.push(frame);
    return this.analysed.length;
  }

  /** Seconds per frame that tracking, zones, lines and windows take, on the detections of a real pass. */
  analysisSecondsPerFrame(): number {
    const startedNs = process.hrtime.bigint();
    for (let repeat = 0; repeat < ANALYSIS_REPEATS; repeat++) {
      const analysis = new CameraAnalysis({ ...this.config, lines: [...this.config.lines, BENCH_LINE], windowLengths: [60] }, 'clip');
      for (const frame of this.analysed) analysis.add(frame);
    }
    return Number(process.hrtime.bigint() - startedNs) / 1e9 / (ANALYSIS_REPEATS * this.analysed.length);
  }

  async warmUp() {
    const frames: Frame[] = [];
    for await (const frame of this.frames()) {
      frames.push(frame);
      if (frames.length === WARM_UP_FRAMES_PER_WORKER * this.pool.workerCount) break;
    }
    await this.detect(frames);
  }

  decodeOnly(): Promise<Rate> {
    return timed(async () => {
      let count = 0;
      for await (const _ of this.frames()) count += 1;
      return count;
    });
  }

  /** Decodes every frame first (not timed), so that only the pool's work is measured. */
  async detectorOnly(): Promise<Rate> {
    const frames: Frame[] = [];
    for await (const frame of this.frames()) frames.push(frame);
    return timed(() => this.detect(frames));
  }

  pipeline(round: number): Promise<Rate> {
    // A camera id per round: each round is a fresh clip for the privacy budget, as a first `veil batch` run is.
    const release = this.privacy.releaserFor({ id: `bench-${round}`, ...this.config }, { clockOffsetSeconds: 0, monotonic: false });
    return timed(async () => {
      const analysis = { ...this.config, windowLengths: release.windowLengths, groups: release.groups };
      const outcome = await runBatch({ input: clip, ffmpeg: this.ffmpeg, detector: this.pool, analysis, release: release.release, durationSeconds });
      return outcome.framesAnalysed;
    });
  }
}

const stateDir = await mkdtemp(path.join(os.tmpdir(), 'veil-bench-'));
// The motion gate off: the whole pipeline must run the detector on every frame, as detector-only does, or the ratio
// would count skipped frames as speed (what the gate saves: `npm run bench:frugality`).
const config = await clipJobConfig({ fps: values.fps, workers: values.workers, 'motion-gate': 'off' }, {});
const privacy = openPrivacy({ stateDir, createLedger: true, log: quiet });
const parts = await startParts(config, await findFfmpeg(undefined, quiet), quiet);
try {
  const { ffmpeg, detector: pool } = parts;
  const startRss = peakRssMegabytes();
  process.stdout.write(
    `Veil pipeline benchmark: ${path.basename(clip)}${durationSeconds ? ` (first ${durationSeconds} s)` : ''}, ` +
      `${config.fps} frames/s analysed, max width ${config.maxWidth} px, ${rounds} round(s)\n` +
      `  detector: ${pool.description.backend.name} backend × ${pool.workerCount} worker thread(s); ${os.availableParallelism()} cores; ` +
      `Node ${process.version}; load average ${os.loadavg()[0]!.toFixed(1)}\n`,
  );
  const bench = new Bench(ffmpeg, pool, config, privacy);
  await bench.warmUp();
  // Inference time per frame inside the workers: the cost the tracker's is compared with.
  const inferenceSeconds: number[] = [];
  pool.onInference = (seconds) => inferenceSeconds.push(seconds);
  const decode = await bench.decodeOnly();
  const detector: Rate[] = [];
  const pipeline: Rate[] = [];
  let streamingPeakRss = 0;
  for (let round = 0; round < rounds; round++) {
    // ABBA: pipeline first in even rounds, detector first in odd ones.
    if (round % 2 === 0) {
      pipeline.push(await bench.pipeline(round));
      // Before any detector-only phase has held a whole clip's frames in memory.
      if (round === 0) streamingPeakRss = peakRssMegabytes();
      detector.push(await bench.detectorOnly());
    } else {
      detector.push(await bench.detectorOnly());
      pipeline.push(await bench.pipeline(round));
    }
  }

  const ratio = median(pipeline.map((p, round) => p.perSecond / detector[round]!.perSecond));
  const trackerFraction = bench.analysisSecondsPerFrame() / median(inferenceSeconds);
  const detectorRate = median(detector.map((d) => d.perSecond));
  const rates = (list: Rate[]) => `rounds: ${list.map((r) => r.perSecond.toFixed(1)).join(', ')}`;
  const row = (label: string, value: string, note = '') => `  ${label.padEnd(20)}${value.padStart(12)}  ${note}\n`;
  process.stdout.write(
    row('decode only', `${decode.perSecond.toFixed(1)} f/s`, `${decode.frames} frames in ${decode.seconds.toFixed(2)} s`) +
      row('detector only', `${detectorRate.toFixed(1)} f/s`, `median; ${rates(detector)}`) +
      row('whole pipeline', `${median(pipeline.map((p) => p.perSecond)).toFixed(1)} f/s`, `median; ${rates(pipeline)}`) +
      row('pipeline/detector', ratio.toFixed(2), `median of the rounds' ratios; goal ≥ ${PIPELINE_GOAL_RATIO}: ${ratio >= PIPELINE_GOAL_RATIO ? 'met' : 'NOT met'}`) +
      row('tracker/detector', `${(trackerFraction * 100).toFixed(2)} %`, `tracking, zones and a line per frame vs one inference; goal < ${TRACKER_GOAL_FRACTION * 100} %: ${trackerFraction < TRACKER_GOAL_FRACTION ? 'met' : 'NOT met'}`) +
      row('decoder/detector', (decode.perSecond / detectorRate).toFixed(1), 'how far the decoder outruns the detector') +
      row('RSS after start', `${startRss.toFixed(0)} MB`, 'peak so far: Node, tsx and the loaded detector threads') +
      row('peak RSS', `${streamingPeakRss.toFixed(0)} MB`, 'through a whole pipeline run; this process and its detector threads, not ffmpeg') +
      row('peak RSS, overall', `${peakRssMegabytes().toFixed(0)} MB`, `with a whole clip's ${detector[0]!.frames} frames held in memory for detector-only`),
  );
} finally {
  privacy.close();
  await parts.detector.close();
  await rm(stateDir, { recursive: true, force: true });
}
