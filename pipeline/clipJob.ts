/**
 * What `veil batch` and `veil eval` share: the flags that describe the analysis and the detector, how they merge
 * with `--config`, and starting the parts (ffmpeg, detector pool) with a log line that says which ones were found.
 */
import path from 'node:path';
import { z } from 'zod';
import { BACKEND_CHOICES } from '../models/backend.ts';
import { BUNDLED_WEIGHTS, DETECTION_LIMITS } from '../models/cocoSsd.ts';
import type { DetectorPool } from '../models/detectorPool.ts';
import { MODEL_CHOICES } from '../models/tiers.ts';
import { startDetectorTier, type DetectorTierReport } from './detectorTier.ts';
import { COUNTED_CLASSES } from '../models/detection.ts';
import { locateFfmpeg, type FfmpegBinary } from '../streams/ffmpegBinary.ts';
import { assertInputExists, isNetworkOrDevice } from '../streams/ffmpegFrames.ts';
import { redactCredentials } from '../streams/redact.ts';
import { SAMPLE_CLIP } from '../streams/sampleClip.ts';
import { choiceFlag, numberFlag, UsageError, type FlagSpec } from './args.ts';
import { aggregateConfigSchema } from './aggregateConfig.ts';
import { analysisShape, assertDetectorSettingsAgree, detectorSchema, parseConfig, readConfigFile, schemaKeys, withDefaultZones, type ConfigKind } from './config.ts';
import { cameraSchema, siteConfigSchema } from './siteConfig.ts';
import { assertClipFile } from './fsProblems.ts';
import type { LogFormat, Logger } from './log.ts';
import { describeBlindDetector, type BlindDetectorState } from '../stages/blindDetector.ts';



export const clipJobSchema = z
  .strictObject({
    ...analysisShape,
    detector: detectorSchema.prefault({}),
    /** Privacy settings; validated by the privacy stage's own schema. */
    privacy: z.record(z.string(), z.unknown()).default({}),
  })
  .transform(withDefaultZones);
export type ClipJobConfig = z.infer<typeof clipJobSchema>;

/** The batch config among its neighbours: a key of veil run's or veil aggregate's config is named as theirs. */
const CLIP_JOB_CONFIG: ConfigKind = {
  name: 'the clip config of veil batch and veil eval',
  neighbours: [
    { keys: schemaKeys(siteConfigSchema), name: "veil run's site config (site.yaml, top level)" },
    { keys: schemaKeys(cameraSchema), name: "a camera of veil run's site config (site.yaml, under cameras:)" },
    { keys: schemaKeys(aggregateConfigSchema), name: "veil aggregate's city config (city.yaml)" },
  ],
};

export const CLIP_FLAGS = {
  config: { type: 'string' },
  fps: { type: 'string' },
  window: { type: 'string' },
  score: { type: 'string' },
  classes: { type: 'string' },
  'max-width': { type: 'string' },
  backend: { type: 'string' },
  model: { type: 'string' },
  'model-url': { type: 'string' },
  weights: { type: 'string' },
  workers: { type: 'string' },
  ffmpeg: { type: 'string' },
  start: { type: 'string' },
  duration: { type: 'string' },
  'log-format': { type: 'string' },
  orientation: { type: 'string' },
  'motion-gate': { type: 'string' },
  'motion-threshold': { type: 'string' },
  'min-detector-fps': { type: 'string' },
} as const satisfies FlagSpec;

export const CLIP_FLAGS_HELP = `Analysis:
  --config FILE        JSON or YAML with zones, lines, classes, detector and privacy settings (see README)
  --fps N              frames analysed per second of video (default 5; the tracker is tuned for 2–10)
  --window SECONDS     one window length for every statistic (default: crossings per 900 s, occupancy per 60 s)
  --score S            detection score that counts, 0.15–0.95 (default 0.4)
  --classes LIST       comma-separated: ${COUNTED_CLASSES.join(',')} (default all)
  --max-width PX       frames are scaled down to this width inside ffmpeg (default 640)
  --orientation O      turn a sideways or upside-down camera's picture upright first: rotate-90-clockwise,
                       rotate-90-counterclockwise, rotate-180, flip-horizontal, flip-vertical (default upright)
  --start SECONDS      analyse from this point of the clip
  --duration SECONDS   analyse only this much of the clip
Motion gate (docs/frugality.md):
  --motion-gate on|off skip the detector while the picture is still (default on)
  --motion-threshold L change of a block's mean grey level (0–255) that counts as motion (default 6)
  --min-detector-fps N the detector runs at least this often however still the scene (default 1.25, at least 1.25)
Detector:
  --backend NAME       ${BACKEND_CHOICES.join(' | ')} (default auto: the fastest that loads)
  --model TIER         ${MODEL_CHOICES.join(' | ')} (default lite_mobilenet_v2; auto: the most
                       accurate tier that keeps up, measured at start-up; mobilenet_v2 needs the network)
  --model-url URL|DIR  other coco-ssd weights (URL to model.json or a local folder); default: bundled lite_mobilenet_v2
  --weights float32|uint8  the bundled weights as published, or quantised to uint8 (3.6× smaller: 5.07 MB against 18.03 MB; docs/frugality.md)
  --workers N|auto     detector worker threads (default auto: one per core for wasm/cpu, 1 for native TensorFlow)
Tools:
  --ffmpeg PATH        ffmpeg to use (else FFMPEG_PATH, else ffmpeg on PATH, else the bundled npm package's)
  --log-format F       text | json (default text)
`;

type ClipFlagValues = { [K in keyof typeof CLIP_FLAGS]?: string };

/** `--config` first, then flags on top: a flag always wins over the file. */
export async function clipJobConfig(flags: ClipFlagValues, privacyOverrides: Record<string, unknown>): Promise<ClipJobConfig> {
  const fromFile = flags.config ? ((await readConfigFile(flags.config)) ?? {}) : {};
  if (typeof fromFile !== 'object' || Array.isArray(fromFile)) throw new UsageError(`config file ${flags.config} must hold an object of settings`);
  const merged: Record<string, unknown> = { ...(fromFile as Record<string, unknown>) };
  const set = (key: string, value: unknown) => {
    if (value !== undefined) merged[key] = value;
  };
  set('fps', numberFlag(flags.fps, 'fps', 'frames per second, e.g. 5'));
  set('windowSeconds', numberFlag(flags.window, 'window', 'seconds, e.g. 60'));
  set('scoreThreshold', numberFlag(flags.score, 'score', 'a score between 0.15 and 0.95'));
  set('maxWidth', numberFlag(flags['max-width'], 'max-width', 'a width in pixels, e.g. 640'));
  set('classes', flags.classes?.split(',').map((name) => name.trim()));
  set('orientation', flags.orientation);
  const detector = { ...((merged.detector as Record<string, unknown> | undefined) ?? {}) };
  if (flags.backend) detector.backend = choiceFlag(flags.backend, 'backend', BACKEND_CHOICES);
  if (flags.model) detector.model = choiceFlag(flags.model, 'model', MODEL_CHOICES);
  if (flags['model-url']) detector.modelUrl = flags['model-url'];
  if (flags.weights) detector.weights = choiceFlag(flags.weights, 'weights', BUNDLED_WEIGHTS);
  if (flags.workers) detector.workers = flags.workers === 'auto' ? 'auto' : numberFlag(flags.workers, 'workers', '"auto" or a number of threads');
  merged.detector = detector;
  const motionGate = { ...((merged.motionGate as Record<string, unknown> | undefined) ?? {}) };
  const gateSwitch = choiceFlag(flags['motion-gate'], 'motion-gate', ['on', 'off']);
  if (gateSwitch) motionGate.enabled = gateSwitch === 'on';
  if (flags['motion-threshold']) motionGate.thresholdLevels = numberFlag(flags['motion-threshold'], 'motion-threshold', 'a change of grey level, e.g. 6');
  if (flags['min-detector-fps']) motionGate.minDetectorFps = numberFlag(flags['min-detector-fps'], 'min-detector-fps', 'detections per second, e.g. 1.25');
  merged.motionGate = motionGate;
  merged.privacy = { ...((merged.privacy as Record<string, unknown> | undefined) ?? {}), ...privacyOverrides };
  const config = parseConfig(clipJobSchema, merged, flags.config ? `config ${flags.config} (with flags)` : 'the flags', CLIP_JOB_CONFIG);
  assertDetectorSettingsAgree(config.detector, { model: '--model (detector.model)', modelUrl: '--model-url (detector.modelUrl)', weights: '--weights (detector.weights)' });
  return config;
}

export function logFormatFlag(flags: ClipFlagValues): LogFormat {
  return choiceFlag(flags['log-format'], 'log-format', ['text', 'json']) ?? 'text';
}

/** `--start` and `--duration`: which part of the clip to analyse. */
export function clipExcerpt(flags: ClipFlagValues): { startSeconds?: number; durationSeconds?: number } {
  const startSeconds = numberFlag(flags.start, 'start', 'seconds from the start of the clip, e.g. 90');
  const durationSeconds = numberFlag(flags.duration, 'duration', 'seconds of clip to analyse, e.g. 60');
  if (startSeconds !== undefined && startSeconds < 0) throw new UsageError(`--start ${flags.start}: expected seconds from the start of the clip, 0 or more`);
  if (durationSeconds !== undefined && durationSeconds <= 0) throw new UsageError(`--duration ${flags.duration}: expected a positive number of seconds`);
  return { startSeconds, durationSeconds };
}

export interface StartedParts {
  ffmpeg: FfmpegBinary;
  detector: DetectorPool;
  tier: DetectorTierReport;
}

/** Finds ffmpeg (`--ffmpeg`, FFMPEG_PATH, PATH) and says which one is used. */
export async function findFfmpeg(ffmpegFlag: string | undefined, log: Logger): Promise<FfmpegBinary> {
  const ffmpeg = await locateFfmpeg(ffmpegFlag);
  log.info(`ffmpeg ${ffmpeg.version} from ${ffmpeg.foundVia}`, { path: ffmpeg.path });
  return ffmpeg;
}

/** A recorded clip waits for the detector, so its tier need not keep up: the bundled one, whatever the machine. */
const CLIP_DEFAULT_MODEL = 'lite_mobilenet_v2';

export async function startParts(config: ClipJobConfig, ffmpeg: FfmpegBinary, log: Logger): Promise<StartedParts> {
  const { pool: detector, report: tier } = await startDetectorTier({
    detector: { backend: config.detector.backend, modelUrl: config.detector.modelUrl, weights: config.detector.weights, ...DETECTION_LIMITS },
    // Weights from --model-url with no --model are loaded as they are, unmeasured (the tier start-up's custom case).
    model: config.detector.model ?? (config.detector.modelUrl === undefined ? CLIP_DEFAULT_MODEL : 'auto'),
    workers: config.detector.workers,
    needFramesPerSecond: config.fps,
    maxWidth: config.maxWidth,
    ffmpeg,
    why: config.detector.model === undefined ? 'default for a recorded clip:' : 'forced by --model (detector.model)',
    log,
  });
  const { backend, model } = detector.description;
  log.info(`detector: ${model} on the ${backend.name} backend, ${detector.workerCount} worker thread(s)`, { why: backend.reason, tier: tier.tier, tier_why: tier.reason });
  return { ffmpeg, detector, tier };
}

/** Logs a warning when the detector turns blind to the clip's scene (and a note when it sees again). */
export function logBlindDetector(log: Logger, input: string): (state: BlindDetectorState) => void {
  return (state) => (state.blind ? log.warn : log.info)(describeBlindDetector(state, displayName(input)), { changing: state.changingShare.toFixed(2), detecting: state.detectingShare.toFixed(2) });
}

/** Checks a clip before anything starts: a file must exist, be a file and be readable; streams are ffmpeg's to judge. */
export function checkClipInput(input: string): void {
  assertInputExists(input);
  if (!isNetworkOrDevice(input)) assertClipFile(input, 'the clip');
}

/** The clip to analyse: the one positional argument, else `fallback` (batch: the bundled sample). */
export function clipInput(positionals: string[], command: string, fallback: string | undefined): string | undefined {
  if (positionals.length > 1) throw new UsageError(`one clip at a time, got ${positionals.length}: ${positionals.join(' ')}. See \`veil ${command} --help\`.`);
  return positionals[0] ?? fallback;
}

/** The total a progress bar counts towards: the excerpt when one is given, else the rest of the clip. */
export function progressTotalSeconds(clipSeconds: number | undefined, excerpt: { startSeconds?: number; durationSeconds?: number }): number | undefined {
  if (clipSeconds === undefined) return excerpt.durationSeconds;
  return Math.min(excerpt.durationSeconds ?? Infinity, clipSeconds - (excerpt.startSeconds ?? 0));
}

export function displayName(input: string): string {
  return input === SAMPLE_CLIP ? `bundled sample (${path.basename(input)})` : redactCredentials(input);
}
