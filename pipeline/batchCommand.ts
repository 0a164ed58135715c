/**
 * `veil batch [CLIP]`: analyse a recorded clip (default: the bundled sample) into a private report.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { redactCredentials } from '../streams/redact.ts';
import { reportSink } from '../streams/sinks/reportSink.ts';
import type { FfmpegBinary } from '../streams/ffmpegBinary.ts';
import { readRecordingStart } from '../streams/recordingStart.ts';
import { MAX_CROSSINGS_PER_TRACK_PER_LINE } from '../stages/lines.ts';
import type { InferenceCounts } from '../stages/motion.ts';
import { parseFlags, UsageError } from './args.ts';
import { runBatch } from './batch.ts';
import { CLIP_FLAGS, CLIP_FLAGS_HELP, checkClipInput, clipExcerpt, clipInput, clipJobConfig, displayName, logBlindDetector, logFormatFlag, progressTotalSeconds, findFfmpeg, startParts, type StartedParts } from './clipJob.ts';
import { SAMPLE_CLIP } from '../streams/sampleClip.ts';
import { prepareWritableDir, removeEmptyFolders } from './fsProblems.ts';
import { createLogger } from './log.ts';
import { openPrivacy, PRIVACY_FLAGS, PRIVACY_FLAGS_HELP, privacyFlagOverrides } from './privacySetup.ts';
import { defaultStateDir } from './siteConfig.ts';
import { createProgress } from './progress.ts';
import { printSummary } from './summary.ts';

export const BATCH_HELP = `Usage: veil batch [CLIP] [options]

Analyses a recorded clip (any file or URL ffmpeg reads; default: the bundled 24 s sample, in 6 s windows) and writes
report.json, report.csv, report.svg and report.png into --out. Frames exist only in memory.

Output:
  --out DIR            where the report goes (default ./veil-report)
Footage (a private run charges the privacy budget of the footage itself, whatever file it is in):
  --camera ID          the camera the footage comes from
  --recorded-at TIME   when the recording starts, ISO with zone (e.g. 2026-11-29T08:00:00Z); default: the
                       container's creation time. Neither is needed with --epsilon off.
${PRIVACY_FLAGS_HELP}${CLIP_FLAGS_HELP}`;

const FLAGS = { ...CLIP_FLAGS, ...PRIVACY_FLAGS, out: { type: 'string' }, camera: { type: 'string' }, 'recorded-at': { type: 'string' } } as const;

/** Window length for the bundled 24 s sample when no --window or --config is given: four windows. */
const SAMPLE_WINDOW_SECONDS = 6;

async function packageVersion(): Promise<string> {
  const text = await readFile(new URL('../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}

/** The bundled sample's place in time, so that it has a budget like any footage (vtest.avi carries no date). */
const SAMPLE_PLACEMENT = { camera: 'bundled-sample', recordedAt: new Date('2000-01-01T00:00:00Z'), via: 'the bundled sample' };

interface FootagePlacement {
  camera: string;
  recordedAt: Date;
  /** Where the start time came from, for the log. */
  via: string;
}

const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

/** An ISO time with its zone that names a real instant: Date.parse moves 2026-02-30 to 2026-03-02 without a word. */
function isRealTime(text: string): boolean {
  const match = ISO_WITH_ZONE.exec(text);
  if (!match || !Number.isFinite(Date.parse(text))) return false;
  const [year, month, day] = text.slice(0, 10).split('-').map(Number) as [number, number, number];
  const calendar = new Date(Date.UTC(year, month - 1, day));
  return calendar.getUTCMonth() === month - 1 && calendar.getUTCDate() === day && Number(text.slice(11, 13)) < 24 && Number(text.slice(14, 16)) < 60;
}

/**
 * Where a clip's footage sits in its camera's clock: the budget belongs to the frames, not to the file, so a copy,
 * a trim, a re-encode or an overlapping excerpt of the same footage meets the same spans in the ledger. The camera
 * comes from --camera, the start from --recorded-at or the container's creation time. Throws a UsageError naming
 * the flags when the footage can't be placed.
 */
async function placeFootage(values: { camera?: string; 'recorded-at'?: string }, input: string, ffmpeg: FfmpegBinary): Promise<FootagePlacement> {
  const flagged = values['recorded-at'];
  if (input === SAMPLE_CLIP && values.camera === undefined && flagged === undefined) return SAMPLE_PLACEMENT;
  if (flagged !== undefined && !isRealTime(flagged)) {
    throw new UsageError(`--recorded-at ${flagged}: expected when the recording starts as an ISO time with its zone, e.g. 2026-11-29T08:00:00Z or 2026-11-29T09:00:00+01:00`);
  }
  const recordedAt = flagged !== undefined ? new Date(flagged) : await readRecordingStart(ffmpeg, input);
  const missing = [values.camera === undefined ? '--camera ID (the camera the footage comes from)' : undefined, recordedAt === undefined ? '--recorded-at ISO-TIME (when the recording starts; this file has no creation time)' : undefined].filter(Boolean);
  if (missing.length > 0) {
    throw new UsageError(
      `a private run needs to know which footage this is, so that the same span of footage is never released beyond its budget, whatever file it is in: pass ${missing.join(' and ')}. ` +
        'For an unpublished calibration run use --epsilon off instead.',
    );
  }
  if (!/^[\w.-]{1,64}$/.test(values.camera!)) throw new UsageError(`--camera ${values.camera}: a camera id is 1–64 letters, digits, "_", "-" or "."`);
  return { camera: values.camera!, recordedAt: recordedAt!, via: flagged !== undefined ? '--recorded-at' : 'the container\'s creation time' };
}

export async function batchCommand(argv: string[]): Promise<number> {
  const createdFolders: string[] = [];
  try {
    return await analyseClip(argv, createdFolders);
  } catch (error) {
    // A failed run leaves no empty --out or state folder of its own making behind (never one that holds anything).
    removeEmptyFolders(createdFolders);
    throw error;
  }
}

/** The batch run itself; every folder it creates is added to `createdFolders`. */
async function analyseClip(argv: string[], createdFolders: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, FLAGS, 'batch');
  const log = createLogger(logFormatFlag(values));
  const input = clipInput(positionals, 'batch', SAMPLE_CLIP)!;
  // The 24 s sample in the default 60 s windows would be one window, its chart one dot; asked for nothing else, it
  // gets windows short enough to draw a line.
  const sampleWindow = input === SAMPLE_CLIP && values.config === undefined && values.window === undefined ? String(SAMPLE_WINDOW_SECONDS) : values.window;
  const config = await clipJobConfig({ ...values, window: sampleWindow }, privacyFlagOverrides(values));
  const outDir = path.resolve(values.out ?? 'veil-report');
  const excerpt = clipExcerpt(values);

  checkClipInput(input);
  // Checked before the detector loads: a bad path should cost the user seconds, not a whole analysis.
  createdFolders.push(...prepareWritableDir(outDir, '--out'));
  // A report may hold the only release its footage will ever get (a re-run finds that budget spent): never overwrite it.
  if (existsSync(path.join(outDir, 'report.json'))) {
    throw new UsageError(`--out ${outDir} already holds a report: a new run would replace it, and the footage it released may have no budget left to be released again. Give another --out, or move the old report away first.`);
  }
  const stateDir = values['state-dir'] ?? defaultStateDir();
  const calibration = config.privacy.epsilon === 'off';
  // A calibration run (epsilon "off") keeps no ledger, so it must not create a state directory either.
  const stateDirSetting = values['state-dir'] ? '--state-dir' : 'the state directory ($XDG_STATE_HOME/veil)';
  if (!calibration) createdFolders.push(...prepareWritableDir(stateDir, stateDirSetting));
  const ffmpeg = await findFfmpeg(values.ffmpeg, log);
  const placement = calibration ? undefined : await placeFootage(values, input, ffmpeg);
  if (placement) log.info(`footage placed as camera ${placement.camera} from ${placement.recordedAt.toISOString()} (${placement.via})`);
  const privacy = openPrivacy({ stateDir, stateDirSetting, createLedger: values['new-ledger'] === true, acceptPolicyChange: values['accept-policy-change'], log });
  let parts: StartedParts | undefined;
  let durationSeconds: number | undefined;
  try {
    const release = privacy.releaserFor(
      { id: placement?.camera ?? 'calibration', ...config },
      { clockOffsetSeconds: placement ? placement.recordedAt.getTime() / 1000 : 0, monotonic: false },
    );
    parts = await startParts(config, ffmpeg, log);
    log.info(`analysing ${displayName(input)}`, { fps: config.fps, windows_s: release.windowLengths.join(','), zones: config.zones.length, lines: config.lines.length });
    const veilVersion = await packageVersion();
    const detector = parts.detector;
    let framesAnalysed = 0;
    // Calibration reports only: exact counts that follow how much the footage moved (docs/frugality.md).
    let inferences: InferenceCounts | undefined;
    const report = reportSink(outDir, () => ({
      veilVersion,
      private: release.private,
      clip: {
        input: redactCredentials(input),
        durationSeconds,
        ...(placement && { camera: placement.camera, recordedAt: placement.recordedAt.toISOString() }),
        startSeconds: excerpt.startSeconds ?? 0,
      },
      settings: {
        fps: config.fps,
        releases: release.plan.statistics.map(({ statistic, windowSeconds }) => ({ statistic, windowSeconds })),
        maxWidth: config.maxWidth,
        scoreThreshold: config.scoreThreshold,
        classes: config.classes,
        zones: config.zones,
        lines: config.lines,
        detector: { backend: detector.description.backend.name, backendReason: detector.description.backend.reason, model: detector.description.model, workers: detector.workerCount },
        maxCrossingsPerObjectPerLine: MAX_CROSSINGS_PER_TRACK_PER_LINE,
      },
      framesAnalysed,
      ...(release.private || !inferences ? {} : { inferences }),
    }));
    const outcome = await runBatch({
      input,
      ffmpeg,
      detector,
      analysis: { ...config, windowLengths: release.windowLengths, groups: release.groups },
      release: (aggregate) => {
        const window = release.release(aggregate);
        report.publish(window);
        return window;
      },
      ...excerpt,
      onDuration: (seconds) => (durationSeconds = seconds),
      onDecodeWarning: (warning) => log.warn(warning),
      onBlindDetector: logBlindDetector(log, input),
      progress: createProgress(() => progressTotalSeconds(durationSeconds, excerpt)),
    });
    framesAnalysed = outcome.framesAnalysed;
    inferences = outcome.inferences;
    await report.close();
    printSummary(report.written!.report, report.written!.files, process.stdout, outcome.inferences);
    return 0;
  } finally {
    privacy.close();
    await parts?.detector.close();
  }
}
