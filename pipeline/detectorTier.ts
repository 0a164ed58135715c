/**
 * Starts the detector pool of the tier `--model` / `detector.model` asks for, or with `auto` the most accurate tier
 * this box can afford: each offline tier is started in its real worker threads and times a few inferences on one real
 * frame (the bundled sample's, at the analysis width), and models/tierChoice.ts picks from the measured speeds. The
 * pool of the chosen tier is kept running (it is the one the cameras use); the others are closed.
 */
import { decodeFrames } from '../streams/ffmpegFrames.ts';
import type { FfmpegBinary } from '../streams/ffmpegBinary.ts';
import type { Frame } from '../streams/frame.ts';
import type { DetectorOptions } from '../models/cocoSsd.ts';
import { startDetectorPool, type DetectorPool, type WorkerCount } from '../models/detectorPool.ts';
import { chooseTier, type TierSpeed } from '../models/tierChoice.ts';
import { ACCURACY_RANKING, OFFLINE_TIERS, type DetectorTier, type ModelChoice } from '../models/tiers.ts';
import { SAMPLE_CLIP } from '../streams/sampleClip.ts';
import type { Logger } from './log.ts';

/** Frames each worker detects before the timed ones: the first inference compiles the wasm kernels and allocates. */
const WARM_UP_FRAMES_PER_WORKER = 1;
/** Timed frames per worker: enough for a median, few enough that start-up stays within seconds. */
const TIMED_FRAMES_PER_WORKER = 3;
/** Where in the bundled sample the benchmark frame is taken: nine people and two cars in view (test/fixtures/labels). */
const BENCHMARK_FRAME_SECONDS = 14;

/** Which tier runs and why: logged at start-up and shown on `/healthz`. */
export interface DetectorTierReport {
  /** The tier loaded, or `custom` for coco-ssd weights from `--model-url` alone. */
  tier: DetectorTier | 'custom';
  /** The model as the detector describes itself (name, source, checksum). */
  model: string;
  /** `forced by --model centernet`, `default for a recorded clip: lite_mobilenet_v2`, or the measured speeds, the need and the choice. */
  reason: string;
  /** Frames per second the analysis needs, all cameras together. */
  needFramesPerSecond: number;
  workers: number;
  /** Per tier measured at start-up (`auto` only): median ms a frame in one worker, and the pool's frames/s. */
  measured: Array<{ tier: DetectorTier; msPerFrame: number; capacityFps: number }>;
}

export interface DetectorTierRequest {
  /** Backend, weights, limits, and `modelUrl` when given. */
  detector: Omit<DetectorOptions, 'model'>;
  model: ModelChoice;
  workers: WorkerCount;
  /** Frames per second to analyse, all cameras together (cameras × fps). */
  needFramesPerSecond: number;
  /** For the benchmark frame: the analysis's decode width, and the ffmpeg that decodes. */
  maxWidth: number;
  ffmpeg: FfmpegBinary;
  /**
   * Why this tier when it is not `auto`, put before its name in the reason: `forced by --model`, `forced by
   * detector.model (config site.yaml)`, or `default for a recorded clip:` when nobody asked for one.
   */
  why: string;
  /** Says that the tiers are being timed (`auto`), which takes seconds before anything else is logged. */
  log: Logger;
}

export interface ChosenDetector {
  pool: DetectorPool;
  report: DetectorTierReport;
}

/**
 * Starts the pool of the tier asked for, or with `auto` (and no `modelUrl`) measures every offline tier and starts
 * the one models/tierChoice.ts picks; returns it with the report to log and show on /healthz. Throws what starting a
 * pool throws (a model that fails its checksum, a backend that will not load, mobilenet_v2's unreachable URL), or when
 * the bundled sample gives no frame; no pool is left running then.
 */
export async function startDetectorTier(request: DetectorTierRequest): Promise<ChosenDetector> {
  const { detector, workers, needFramesPerSecond } = request;
  if (request.model !== 'auto' || detector.modelUrl !== undefined) {
    const tier = request.model === 'auto' ? undefined : request.model;
    const pool = await startDetectorPool({ ...detector, model: tier }, workers);
    const reason = tier ? `${request.why} ${tier}` : `coco-ssd weights from --model-url (detector.modelUrl), not measured`;
    return { pool, report: { tier: tier ?? 'custom', model: pool.description.model, reason, needFramesPerSecond, workers: pool.workerCount, measured: [] } };
  }
  request.log.info(`timing the detector tiers on a frame of the bundled sample (${OFFLINE_TIERS.join(', ')})…`);
  const frame = await benchmarkFrame(request.ffmpeg, request.maxWidth);
  const pools = new Map<DetectorTier, DetectorPool>();
  try {
    const speeds: TierSpeed[] = [];
    for (const tier of OFFLINE_TIERS) {
      const pool = await startDetectorPool({ ...detector, model: tier }, workers);
      pools.set(tier, pool);
      speeds.push({ tier, msPerFrame: await medianInferenceMs(pool, frame) });
    }
    const workerCount = pools.get(OFFLINE_TIERS[0]!)!.workerCount;
    const choice = chooseTier(ACCURACY_RANKING, speeds, { framesPerSecond: needFramesPerSecond, workers: workerCount });
    const pool = pools.get(choice.tier)!;
    pools.delete(choice.tier);
    const measured = choice.verdicts.map(({ tier, msPerFrame, capacityFps }) => ({ tier, msPerFrame: round(msPerFrame), capacityFps: round(capacityFps) }));
    return { pool, report: { tier: choice.tier, model: pool.description.model, reason: choice.reason, needFramesPerSecond, workers: workerCount, measured } };
  } finally {
    frame.pixels.fill(0);
    await Promise.all([...pools.values()].map((pool) => pool.close()));
  }
}

const round = (value: number) => Number(value.toPrecision(3));

/** One frame of the bundled sample, decoded as the analysis decodes (same ffmpeg, same width). */
async function benchmarkFrame(ffmpeg: FfmpegBinary, maxWidth: number): Promise<Frame> {
  for await (const frame of decodeFrames({ ffmpeg, input: SAMPLE_CLIP, fps: 1, maxWidth, startSeconds: BENCHMARK_FRAME_SECONDS, durationSeconds: 1 })) return frame;
  throw new Error(`the bundled sample ${SAMPLE_CLIP} gave no frame at ${BENCHMARK_FRAME_SECONDS} s to time the detector tiers on: reinstall Veil`);
}

/**
 * Median inference time in one worker, in ms: every worker warms up, then all take TIMED_FRAMES_PER_WORKER frames at
 * once, so the workers compete for the cores as they will with the cameras.
 */
async function medianInferenceMs(pool: DetectorPool, frame: Frame): Promise<number> {
  const copies = (count: number) => Array.from({ length: count * pool.workerCount }, (_, index) => ({ ...frame, index, pixels: frame.pixels.slice() }));
  await Promise.all(copies(WARM_UP_FRAMES_PER_WORKER).map((copy) => pool.detect(copy)));
  const timesMs: number[] = [];
  pool.onInference = (seconds) => timesMs.push(seconds * 1000);
  try {
    await Promise.all(copies(TIMED_FRAMES_PER_WORKER).map((copy) => pool.detect(copy)));
  } finally {
    pool.onInference = undefined;
  }
  const sorted = timesMs.sort((a, b) => a - b);
  const middle = sorted.length / 2;
  return sorted.length % 2 ? sorted[Math.floor(middle)]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
