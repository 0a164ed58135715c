/**
 * Veil's whole batch pipeline as the benches run it: the parts `veil batch` starts (ffmpeg, the detector pool on the
 * backend Veil's own selection picks, the privacy release with its ledger in a temporary folder), started once and
 * warmed up, then a clip run through `runBatch` (decode → detect → drop → track, zones, lines → windows → release)
 * as often as a bench asks.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runBatch } from '../pipeline/batch.ts';
import { clipJobConfig, findFfmpeg, startParts, type ClipJobConfig, type StartedParts } from '../pipeline/clipJob.ts';
import { createLogger } from '../pipeline/log.ts';
import { openPrivacy, type PrivacyRuntime } from '../pipeline/privacySetup.ts';

/** The `veil batch` flags a bench passes on, as strings the way the command line gives them. */
export interface BatchBenchFlags {
  fps?: string;
  workers?: string;
  backend?: string;
  /** Off unless a bench asks: with the gate on, Veil would skip frames the other side of a comparison analyses. */
  'motion-gate'?: string;
}

/** Seconds of the clip analysed before timing: the first inferences of a wasm worker are slower (compilation). */
const WARM_UP_SECONDS = 2;

export class VeilBatchBench {
  private rounds = 0;

  private constructor(
    readonly config: ClipJobConfig,
    readonly parts: StartedParts,
    private readonly privacy: PrivacyRuntime,
    private readonly stateDir: string,
  ) {}

  /** Starts the parts and warms the detector workers up on the first seconds of `clip`. */
  static async start(flags: BatchBenchFlags, clip: string): Promise<VeilBatchBench> {
    const quiet = createLogger('text', () => undefined);
    const config = await clipJobConfig({ ...flags, 'motion-gate': flags['motion-gate'] ?? 'off' }, {});
    const stateDir = await mkdtemp(path.join(os.tmpdir(), 'veil-bench-'));
    const privacy = openPrivacy({ stateDir, createLedger: true, log: quiet });
    const parts = await startParts(config, await findFfmpeg(undefined, quiet), quiet);
    const bench = new VeilBatchBench(config, parts, privacy, stateDir);
    await bench.run(clip, WARM_UP_SECONDS);
    return bench;
  }

  /** One whole batch run over `clip` (or its first `durationSeconds`); returns the frames analysed. */
  async run(clip: string, durationSeconds?: number): Promise<number> {
    // A camera id per run: each run is a fresh clip for the privacy budget, as a first `veil batch` run is.
    const release = this.privacy.releaserFor({ id: `bench-${this.rounds++}`, ...this.config }, { clockOffsetSeconds: 0, monotonic: false });
    const analysis = { ...this.config, windowLengths: release.windowLengths, groups: release.groups };
    const outcome = await runBatch({ input: clip, ffmpeg: this.parts.ffmpeg, detector: this.parts.detector, analysis, release: release.release, durationSeconds });
    return outcome.framesAnalysed;
  }

  /** One line on what runs: the model, the backend and why, the workers, the cores. */
  describe(): string {
    const { backend, model } = this.parts.detector.description;
    return `${model}, ${backend.name} backend (${backend.reason}) × ${this.parts.detector.workerCount} worker thread(s); ${os.availableParallelism()} cores; Node ${process.version}`;
  }

  async close(): Promise<void> {
    this.privacy.close();
    await this.parts.detector.close();
    await rm(this.stateDir, { recursive: true, force: true });
  }
}
