/**
 * `npm run bench [-- CLIP] [--fps N] [--workers N|auto] [--backend NAME] [--duration SECONDS] [--rounds N]`: where a
 * batch run's time goes, on one clip in one process (default: the bundled sample that `veil batch` analyses).
 *
 *   decode only        ffmpeg → frames, nothing else                      (what the decoder can feed)
 *   detector only      frames already in memory → the frame chain          (the ceiling for the whole pipeline)
 *   whole pipeline     runBatch: decode → detect → drop → track/zones/lines → windows → privacy release
 *   pipeline/detector  the share of the detector's speed the pipeline keeps; the goal is ≥ 0.95
 *   tracker/detector   tracking + zones + a counting line per frame, against one inference per frame; goal < 2 %
 *
 * Detector-only and pipeline use the same worker pool, warmed up first, and alternate over several rounds in ABBA
 * order, so that other load on the machine falls on both alike; the ratio is the median of each round's ratio.
 * Beside the rates: the load average, and CPU milliseconds per frame split into the main thread, the other threads
 * (detector workers, garbage collection) and ffmpeg (bench/measure.ts). On a busy machine the rates measure the
 * other tenants too; the CPU split says where the pipeline's extra time goes whatever the load, and "by CPU time"
 * is what pipeline/detector comes to when every core is busy: D / (D + O), D the detector-only CPU per frame, O the
 * pipeline's extra main-thread CPU and ffmpeg's per frame.
 *
 * The backend is the one Veil's selection picks (`--backend auto`: tensorflow-gpu → tensorflow → wasm → cpu), or
 * the one named; the header says which and why. Only rates and ratios are printed; nothing here asserts a time.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { SAMPLE_CLIP } from '../streams/sampleClip.ts';
import { decodeFrames } from '../streams/ffmpegFrames.ts';
import type { AnalysedFrame, Frame } from '../streams/frame.ts';
import { CameraAnalysis } from '../pipeline/analysis.ts';
import { analyseFrames } from '../pipeline/frameChain.ts';
import type { CountingLine } from '../stages/lines.ts';
import { cpuPerFrame, loadAverage, measure, median, totalSeconds, type Measured } from './measure.ts';
import { VeilBatchBench } from './veilBatch.ts';

const PIPELINE_GOAL_RATIO = 0.95;
const TRACKER_GOAL_FRACTION = 0.02;
/** The analysis of one frame takes microseconds: repeat it so the clock's resolution and jitter don't matter. */
const ANALYSIS_REPEATS = 50;
/** A line across the middle, so the tracker's cost is measured with line counting in it even when the config has none. */
const BENCH_LINE: CountingLine = { name: 'bench-midline', from: [0, 0.5], to: [1, 0.5] };

const { values, positionals } = parseArgs({
  args: process.argv.slice(2),
  options: { fps: { type: 'string' }, workers: { type: 'string' }, backend: { type: 'string' }, duration: { type: 'string' }, rounds: { type: 'string', default: '3' } },
  allowPositionals: true,
});
const clip = positionals[0] ?? SAMPLE_CLIP;
const durationSeconds = values.duration === undefined ? undefined : Number(values.duration);
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds ${values.rounds}: expected a whole number of rounds, e.g. 3`);

/** resourceUsage().maxRSS is in kilobytes: the high-water mark of this process, detector threads included. */
function peakRssMegabytes(): number {
  return process.resourceUsage().maxRSS / 1024;
}

async function* inMemory(frames: Frame[]): AsyncGenerator<Frame> {
  yield* frames;
}

class Bench {
  constructor(private readonly veil: VeilBatchBench) {}

  private frames() {
    const { config, parts } = this.veil;
    return decodeFrames({ ffmpeg: parts.ffmpeg, input: clip, fps: config.fps, maxWidth: config.maxWidth, durationSeconds });
  }

  /** What the last detector-only pass saw, for timing the analysis on real detections. */
  analysed: AnalysedFrame[] = [];

  /** Frames in memory are a frame source like any other: the same chain as batch and live, with nothing to read ahead. */
  private async detect(frames: Frame[]): Promise<number> {
    const pool = this.veil.parts.detector;
    this.analysed = [];
    for await (const frame of analyseFrames({ detector: pool, framesInFlight: pool.workerCount, readAheadFrames: 0 }, inMemory(frames))) this.analysed.push(frame);
    return this.analysed.length;
  }

  /** Seconds per frame that tracking, zones, lines and windows take, on the detections of a real pass. */
  analysisSecondsPerFrame(): number {
    const { config } = this.veil;
    const startedNs = process.hrtime.bigint();
    for (let repeat = 0; repeat < ANALYSIS_REPEATS; repeat++) {
      const analysis = new CameraAnalysis({ ...config, lines: [...config.lines, BENCH_LINE], windowLengths: [60] }, 'clip');
      for (const frame of this.analysed) analysis.add(frame);
    }
    return Number(process.hrtime.bigint() - startedNs) / 1e9 / (ANALYSIS_REPEATS * this.analysed.length);
  }

  decodeOnly(): Promise<Measured> {
    return measure(async () => {
      let count = 0;
      for await (const _ of this.frames()) count += 1;
      return count;
    });
  }

  /** Decodes every frame first (not measured), so that only the pool's work is measured. */
  async detectorOnly(): Promise<Measured> {
    const frames: Frame[] = [];
    for await (const frame of this.frames()) frames.push(frame);
    return measure(() => this.detect(frames));
  }

  pipeline(): Promise<Measured> {
    return measure(() => this.veil.run(clip, durationSeconds));
  }
}

// The motion gate off (VeilBatchBench's default): the whole pipeline must run the detector on every frame, as
// detector-only does, or the ratio would count skipped frames as speed (what the gate saves: `npm run bench:frugality`).
const veil = await VeilBatchBench.start({ fps: values.fps, workers: values.workers, backend: values.backend }, clip);
try {
  const { config, parts } = veil;
  const pool = parts.detector;
  const startRss = peakRssMegabytes();
  process.stdout.write(
    `Veil pipeline benchmark: ${path.basename(clip)}${durationSeconds ? ` (first ${durationSeconds} s)` : ''}, ` +
      `${config.fps} frames/s analysed, max width ${config.maxWidth} px, ${rounds} round(s)\n` +
      `  detector: ${veil.describe()}\n`,
  );
  const bench = new Bench(veil);
  // Inference time per frame inside the workers: the cost the tracker's is compared with.
  const inferenceSeconds: number[] = [];
  pool.onInference = (seconds) => inferenceSeconds.push(seconds);
  const decode = await bench.decodeOnly();
  const detector: Measured[] = [];
  const pipeline: Measured[] = [];
  let streamingPeakRss = 0;
  const note = (name: string, round: number, measured: Measured) =>
    process.stdout.write(`  round ${round + 1}, ${name.padEnd(8)} ${measured.perSecond.toFixed(1).padStart(6)} f/s; CPU per frame ${cpuPerFrame(measured)}; ${loadAverage()}\n`);
  for (let round = 0; round < rounds; round++) {
    // ABBA: pipeline first in even rounds, detector first in odd ones.
    const runPipeline = async () => {
      pipeline.push(await bench.pipeline());
      note('pipeline', round, pipeline.at(-1)!);
      // Before any detector-only phase has held a whole clip's frames in memory.
      if (round === 0) streamingPeakRss = peakRssMegabytes();
    };
    const runDetector = async () => {
      detector.push(await bench.detectorOnly());
      note('detector', round, detector.at(-1)!);
    };
    for (const phase of round % 2 === 0 ? [runPipeline, runDetector] : [runDetector, runPipeline]) await phase();
  }

  const ratio = median(pipeline.map((p, round) => p.perSecond / detector[round]!.perSecond));
  // The pipeline's own CPU per frame beyond the detector's: its main thread's extra work and ffmpeg. Against the
  // detector-only CPU per frame, it bounds pipeline/detector when the detector alone already keeps every core busy;
  // the workers' CPU, which swings with the load, is on both sides and cancels.
  const perFrame = (list: Measured[], part: (m: Measured) => number | undefined) => median(list.map((m) => (part(m) ?? 0) / m.frames));
  const detectorCpu = perFrame(detector, (m) => totalSeconds(m.cpu));
  const overheadCpu = perFrame(pipeline, (m) => (m.cpu.mainThread ?? 0) + (m.cpu.children ?? 0)) - perFrame(detector, (m) => m.cpu.mainThread);
  const cpuBound = detectorCpu / (detectorCpu + overheadCpu);
  const trackerFraction = bench.analysisSecondsPerFrame() / median(inferenceSeconds);
  const detectorRate = median(detector.map((d) => d.perSecond));
  const rates = (list: Measured[]) => `rounds: ${list.map((r) => r.perSecond.toFixed(1)).join(', ')}`;
  const row = (label: string, value: string, note = '') => `  ${label.padEnd(20)}${value.padStart(12)}  ${note}\n`;
  process.stdout.write(
    row('decode only', `${decode.perSecond.toFixed(1)} f/s`, `${decode.frames} frames in ${decode.seconds.toFixed(2)} s`) +
      row('detector only', `${detectorRate.toFixed(1)} f/s`, `median; ${rates(detector)}`) +
      row('whole pipeline', `${median(pipeline.map((p) => p.perSecond)).toFixed(1)} f/s`, `median; ${rates(pipeline)}`) +
      row('pipeline/detector', ratio.toFixed(2), `median of the rounds' ratios; goal ≥ ${PIPELINE_GOAL_RATIO}: ${ratio >= PIPELINE_GOAL_RATIO ? 'met' : 'NOT met'} (${loadAverage()})`) +
      row('  by CPU time', cpuBound.toFixed(2), `the pipeline's extra CPU a frame (main thread and ffmpeg) is ${(overheadCpu * 1000).toFixed(1)} ms against the detector's ${(detectorCpu * 1000).toFixed(1)} ms: the ratio when every core is busy`) +
      row('tracker/detector', `${(trackerFraction * 100).toFixed(2)} %`, `tracking, zones and a line per frame vs one inference; goal < ${TRACKER_GOAL_FRACTION * 100} %: ${trackerFraction < TRACKER_GOAL_FRACTION ? 'met' : 'NOT met'}`) +
      row('decoder/detector', (decode.perSecond / detectorRate).toFixed(1), 'how far the decoder outruns the detector') +
      row('RSS after start', `${startRss.toFixed(0)} MB`, 'peak so far: Node, tsx and the detector threads, loaded and warmed up') +
      row('peak RSS', `${streamingPeakRss.toFixed(0)} MB`, 'through a whole pipeline run; this process and its detector threads, not ffmpeg') +
      row('peak RSS, overall', `${peakRssMegabytes().toFixed(0)} MB`, `with a whole clip's ${detector[0]!.frames} frames held in memory for detector-only`),
  );
} finally {
  await veil.close();
}
