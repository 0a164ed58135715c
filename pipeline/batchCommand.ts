/**
 * `veil batch [CLIP]`: analyse a recorded clip (default: the bundled sample) into a private report.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { redactCredentials } from '../streams/redact.ts';
import { writeReport, type Report } from '../streams/report.ts';
import { assertInputExists, isNetworkOrDevice } from '../streams/ffmpegFrames.ts';
import { maxCrossingsPerObjectPerLine } from '../stages/lines.ts';
import { parseFlags } from './args.ts';
import { runBatch } from './batch.ts';
import { CLIP_FLAGS, CLIP_FLAGS_HELP, clipExcerpt, clipInput, clipJobConfig, displayName, logFormatFlag, progressTotalSeconds, SAMPLE_CLIP, startParts } from './clipJob.ts';
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
${PRIVACY_FLAGS_HELP}${CLIP_FLAGS_HELP}`;

const FLAGS = { ...CLIP_FLAGS, ...PRIVACY_FLAGS, out: { type: 'string' } } as const;

/** Window length for the bundled 24 s sample when no --window or --config is given: four windows. */
const SAMPLE_WINDOW_SECONDS = 6;

async function packageVersion(): Promise<string> {
  const text = await readFile(new URL('../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}

/**
 * The budget belongs to what was filmed, not to the file name: the same clip copied or renamed shares its budget.
 * Streams have no content to hash, so their URL names them.
 */
async function clipIdentity(input: string): Promise<string> {
  if (isNetworkOrDevice(input)) return `stream:${redactCredentials(input)}`;
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(input)) hash.update(chunk as Buffer);
  return `clip:sha256:${hash.digest('hex').slice(0, 32)}`;
}

export async function batchCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, FLAGS, 'batch');
  const log = createLogger(logFormatFlag(values));
  const input = clipInput(positionals, 'batch', SAMPLE_CLIP)!;
  // The 24 s sample in the default 60 s windows would be one window, its chart one dot; asked for nothing else, it
  // gets windows short enough to draw a line.
  const sampleWindow = input === SAMPLE_CLIP && values.config === undefined && values.window === undefined ? String(SAMPLE_WINDOW_SECONDS) : values.window;
  const config = await clipJobConfig({ ...values, window: sampleWindow }, privacyFlagOverrides(values));
  const outDir = path.resolve(values.out ?? 'veil-report');
  const excerpt = clipExcerpt(values);

  assertInputExists(input);
  const camera = await clipIdentity(input);
  // A batch run may start the ledger: its first run on a machine has no past spending to lose.
  const privacy = openPrivacy(values['state-dir'] ?? defaultStateDir(), true, log);
  const release = privacy.releaserFor({ id: camera, ...config });
  const parts = await startParts(config, values.ffmpeg, log).catch((error: unknown) => {
    privacy.close();
    throw error;
  });
  let durationSeconds: number | undefined;
  try {
    log.info(`analysing ${displayName(input)}`, { fps: config.fps, window_s: config.windowSeconds, zones: config.zones.length, lines: config.lines.length });
    const outcome = await runBatch({
      input,
      ffmpeg: parts.ffmpeg,
      detector: parts.detector,
      analysis: config,
      release: release.release,
      ...excerpt,
      onDuration: (seconds) => (durationSeconds = seconds),
      onDecodeWarning: (warning) => log.warn(warning),
      progress: createProgress(() => progressTotalSeconds(durationSeconds, excerpt)),
    });
    const report: Report = {
      veilVersion: await packageVersion(),
      private: release.private,
      clip: { input: redactCredentials(input), durationSeconds },
      settings: {
        fps: config.fps,
        windowSeconds: config.windowSeconds,
        maxWidth: config.maxWidth,
        scoreThreshold: config.scoreThreshold,
        classes: config.classes,
        zones: config.zones,
        lines: config.lines,
        detector: { backend: parts.detector.description.backend.name, backendReason: parts.detector.description.backend.reason, model: parts.detector.description.model, workers: parts.detector.workerCount },
        maxCrossingsPerObjectPerLine,
      },
      framesAnalysed: outcome.framesAnalysed,
      windows: outcome.windows,
    };
    const written = await writeReport(outDir, report);
    printSummary(report, written.files, process.stdout);
    return 0;
  } finally {
    privacy.close();
    await parts.detector.close();
  }
}
