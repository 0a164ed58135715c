/**
 * A live camera's drift monitor (`drift:` in a camera's site config, docs/drift.md): at each publication moment it
 * releases the drift windows that ended (stages/driftRelease.ts: ledger first, then noise), compares the released
 * histograms with the camera's baseline and shows the population stability index on /healthz, /metrics, the
 * dashboard (which reads /healthz) and, above the threshold, as a warning in the log.
 *
 *   const monitor = new DriftMonitor({ camera: 'gate', settings, releaser, stateDir, states, metrics, log, where: 'config site.yaml, cameras[0]' });
 *   monitor.add(analysis.add(frame).driftClosed);       // exact windows, held in memory until published
 *   monitor.publishEndedBy(boundarySeconds);            // after the camera's own windows of that moment
 *
 * Only released (noised) histograms reach a PSI: everything this monitor shows is post-processing of a release. The
 * baseline is a calibration run's (`veil eval --drift-baseline FILE`, named by `drift.baseline`) or, when none is
 * named, the sum of the camera's own released windows over its first `baselineSeconds`, kept in the state folder.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { driftIndices, sumHistograms, type DriftHistograms, type DriftWindow } from '../stages/drift.ts';
import { planDriftRelease, releaseDrift, type DriftReleasePlan, type DriftReleaseRequest, type ReleasedDrift } from '../stages/driftRelease.ts';
import { divide, rational, rationalFromDecimal, toNumber, type Rational } from '../stages/privacy/rational.ts';
import type { CameraDrift, CameraStateRegistry } from '../streams/cameraState.ts';
import type { VeilMetrics } from '../streams/metrics.ts';
import { ConfigError } from './config.ts';
import { DriftBaselineError, readDriftBaseline, writeDriftBaseline, type DriftBaseline } from './driftBaseline.ts';
import { isoTime, type Logger } from './log.ts';
import type { CameraRelease } from './privacySetup.ts';

export const driftSettingsSchema = z.strictObject({
  /** The drift histograms' share of the camera's ε per event (the other releases' default shares make room for it). */
  share: z.number({ error: 'drift.share is a fraction of the camera\'s ε, e.g. 0.1' }).gt(0, 'drift.share must be above 0 (leave drift out to turn it off)').lt(1, 'drift.share must be below 1: the counts need some of ε'),
  /** One drift window: its histograms are released, and compared with the baseline, once per window. */
  windowSeconds: z.number().positive('drift.windowSeconds is a window length in seconds, e.g. 3600').default(3600),
  /** PSI above this is a significant shift: a warning in the log and on /healthz (0.25: Siddiqi 2006's rule of thumb). */
  threshold: z.number().positive('drift.threshold is a PSI, e.g. 0.25').default(0.25),
  /** No PSI for a window whose released histogram holds fewer tracks than this: noise would dominate it (docs/drift.md). */
  minTracks: z.number().int().min(1).default(1000),
  /** A baseline file written by `veil eval --drift-baseline FILE`; left out, the camera builds its own. */
  baseline: z.string().min(1).optional(),
  /** Without `baseline`: how long, from the first drift window, the camera's own baseline is summed over. */
  baselineSeconds: z.number().positive().default(86_400),
});
export type DriftSettings = z.output<typeof driftSettingsSchema>;

export interface DriftMonitorOptions {
  camera: string;
  settings: DriftSettings;
  releaser: CameraRelease;
  /** Where the camera's own baseline is kept when `settings.baseline` is not set. */
  stateDir: string;
  states: CameraStateRegistry;
  metrics: VeilMetrics;
  log: Logger;
  /** Where the camera's settings are, for errors: e.g. `config site.yaml, cameras[0]` (its field `drift` is appended). */
  where: string;
}

const FEATURES = ['score', 'size'] as const;
const FEATURE_WORDS = { score: 'detection scores', size: 'box sizes' } as const;

const rounded = (value: number) => Number(value.toPrecision(3));
const isWholeMultiple = (value: number, of: number) => divide(rationalFromDecimal(value), rationalFromDecimal(of)).denominator === 1n;
const gcd = (a: bigint, b: bigint): bigint => (b === 0n ? a : gcd(b, a % b));

/**
 * A drift window length to suggest to someone whose `drift.windowSeconds` is not a multiple of all the camera's window
 * lengths (seconds, positive): the least common multiple of the lengths, times the whole number that brings it nearest
 * to an hour (at least once). For fractions p_i/q_i in lowest terms, lcm = lcm(p_i) / gcd(q_i).
 */
export function suggestedDriftWindowSeconds(windowLengths: readonly number[]): number {
  const lengths: Rational[] = windowLengths.map(rationalFromDecimal);
  const numerator = lengths.reduce((lcm, length) => (lcm * length.numerator) / gcd(lcm, length.numerator), 1n);
  const denominator = lengths.reduce((common, length) => gcd(common, length.denominator), 0n);
  const lcm = toNumber(rational(numerator, denominator));
  return lcm * Math.max(1, Math.round(3600 / lcm));
}

export class DriftMonitor {
  readonly windowSeconds: number;
  readonly release: DriftReleasePlan;
  readonly #options: DriftMonitorOptions;
  /** Where each release is charged: the camera's ledger, under its policy. */
  readonly #spend: Pick<DriftReleaseRequest, 'ledger' | 'camera' | 'policy'>;
  /** Closed windows waiting for their publication moment. */
  #pending: DriftWindow[] = [];
  #latestEnd = -Infinity;
  readonly #baselineFile: string;
  /** The baseline; a `released` one is complete once it sums `#baselineWindows` windows. */
  #baseline: DriftBaseline | undefined;
  readonly #baselineWindows: number;

  /**
   * Plans the release and reads the baseline. Throws ConfigError (naming `where` and the field) when the camera
   * releases nothing private, a window length does not fit the camera's windows, or the baseline file (named by
   * `drift.baseline`, or Veil's own in the state folder) is missing, unreadable or not a drift baseline.
   */
  constructor(options: DriftMonitorOptions) {
    const { camera, settings, releaser } = options;
    const { plan, ledger } = releaser;
    const field = (name: string) => `${options.where}.drift${name ? `.${name}` : ''} (camera "${camera}")`;
    if (!plan.private || !ledger) throw new ConfigError(`${field('')}: the camera publishes nothing private, so it has no budget to release drift from`);
    // Windows are aligned to the epoch, so then every drift boundary is a boundary of all the camera's windows, which
    // are released before drift's there: a drift window ending mid-way through a camera window would move the ledger's
    // live clock past that window's start, and the camera's window would be withheld as "clock went backwards".
    if (!releaser.windowLengths.every((length) => isWholeMultiple(settings.windowSeconds, length))) {
      throw new ConfigError(`${field('windowSeconds')}: ${settings.windowSeconds} s is not a whole number of the camera's windows (${releaser.windowLengths.join(', ')} s): use a multiple of all of them, e.g. ${suggestedDriftWindowSeconds(releaser.windowLengths)}`);
    }
    // A baseline is a whole number of drift windows: rounding baselineSeconds up would quietly take in a longer span.
    if (settings.baseline === undefined && !isWholeMultiple(settings.baselineSeconds, settings.windowSeconds)) {
      const below = Math.floor(settings.baselineSeconds / settings.windowSeconds) * settings.windowSeconds;
      const choices = [below, below + settings.windowSeconds].filter((seconds) => seconds > 0).join(' or ');
      throw new ConfigError(`${field('baselineSeconds')}: ${settings.baselineSeconds} s is not a whole number of drift windows (drift.windowSeconds ${settings.windowSeconds} s): use ${choices}`);
    }
    this.#options = options;
    this.windowSeconds = settings.windowSeconds;
    this.#spend = { ledger, camera, policy: plan.policy };
    this.release = planDriftRelease(plan, rationalFromDecimal(settings.share), settings.windowSeconds);
    this.#baselineWindows = Math.max(1, Math.round(settings.baselineSeconds / settings.windowSeconds));
    this.#baselineFile = settings.baseline ?? path.join(options.stateDir, `drift-baseline-${camera}.json`);
    this.#baseline = this.#readBaseline(field);
  }

  /**
   * The baseline on disk, or undefined while the camera's own is not begun. A named file is the operator's: the fix
   * is always a new file, never one that writes over or removes it (it may be something else they need).
   */
  #readBaseline(field: (name: string) => string): DriftBaseline | undefined {
    const { camera, settings, stateDir } = this.#options;
    const file = this.#baselineFile;
    const fromRecording = (destination: string) => `\`veil eval RECORDING.mp4 --drift-baseline ${destination}\` (a recording from this camera; docs/drift.md)`;
    let baseline: DriftBaseline | undefined;
    try {
      baseline = readDriftBaseline(file);
    } catch (error) {
      if (!(error instanceof DriftBaselineError)) throw error;
      if (settings.baseline === undefined) {
        throw new ConfigError(`${field('')}: Veil's own drift baseline in the state folder ${stateDir}, ${error.message}: move it aside (Veil then builds a new one from released windows), or name a calibration baseline in drift.baseline`);
      }
      const suggestion = path.join(path.dirname(file), `${camera}-drift-baseline.json`);
      const newFile = suggestion !== file && !existsSync(suggestion) ? suggestion : 'NEW-FILE.json';
      throw new ConfigError(`${field('baseline')}: ${error.message}: write a drift baseline to a new file with ${fromRecording(newFile)} and name that file in drift.baseline, or leave drift.baseline out to build one from released windows`);
    }
    if (settings.baseline !== undefined && baseline === undefined) {
      throw new ConfigError(`${field('baseline')}: no file ${file}: write it with ${fromRecording(file)}, or leave drift.baseline out to build one from released windows`);
    }
    return baseline;
  }

  /** Takes the exact windows the analysis closed; they wait here, in memory, for publishEndedBy. */
  add(windows: readonly DriftWindow[]): void {
    this.#pending.push(...windows);
  }

  /** Releases, in order, every waiting window that ended by `boundarySeconds`. Never throws: a failure is logged. */
  publishEndedBy(boundarySeconds: number): void {
    const due = this.#pending.filter((window) => window.endSeconds <= boundarySeconds).sort((a, b) => a.startSeconds - b.startSeconds);
    this.#pending = this.#pending.filter((window) => window.endSeconds > boundarySeconds);
    for (const window of due) this.#publish(window);
  }

  #publish(window: DriftWindow): void {
    const { camera, log } = this.#options;
    // The camera's own releases of the same instants guard the ledger's clock; drift keeps its own order.
    if (window.startSeconds < this.#latestEnd) {
      log.warn('drift window skipped: the clock went backwards', { camera, start: window.startSeconds });
      return;
    }
    this.#latestEnd = window.endSeconds;
    let released: ReleasedDrift;
    try {
      released = releaseDrift({ ...this.#spend, drift: this.release, window });
    } catch (error) {
      log.error('drift window not released', { camera, start: window.startSeconds, end: window.endSeconds, reason: (error as Error).message });
      return;
    }
    this.#show(this.#read(released));
  }

  /** What the released window says: a PSI against the baseline, or why there is none. Post-processing only. */
  #read(released: ReleasedDrift): CameraDrift {
    const { settings } = this.#options;
    const common = { windowStart: isoTime(released.startSeconds), windowEnd: isoTime(released.endSeconds), threshold: settings.threshold };
    if (released.status === 'withheld') return { ...common, status: 'withheld', baseline: this.#describeBaseline(), note: `withheld: ${released.reason}` };
    const window = { ...common, status: 'released' as const, histograms: released.histograms, standardDeviation: released.standardDeviation, epsilon: released.epsilon };
    if (this.#stillBuilding()) {
      this.#addToOwnBaseline(released);
      return { ...window, baseline: this.#describeBaseline(), note: `building the baseline from released windows: ${this.#baseline!.windows} of ${this.#baselineWindows}` };
    }
    const tracks = released.histograms.score.reduce((sum, count) => sum + count, 0);
    if (tracks < settings.minTracks) {
      return { ...window, baseline: this.#describeBaseline(), note: `about ${Math.round(tracks)} tracks (noised): fewer than drift.minTracks = ${settings.minTracks}, too few for a drift score` };
    }
    const indices = driftIndices(this.#baseline!.histograms, released.histograms);
    const psi = { score: indices.score!, size: indices.size! };
    const above = FEATURES.filter((feature) => psi[feature] > settings.threshold);
    const warning = above.length === 0 ? undefined : `drift: the ${above.map((feature) => `${FEATURE_WORDS[feature]} (PSI ${rounded(psi[feature])})`).join(' and ')} moved beyond ${settings.threshold} from the baseline: check the lens, the lighting and the camera's aim`;
    return { ...window, baseline: this.#describeBaseline(), psi, ...(warning ? { warning } : {}) };
  }

  #stillBuilding(): boolean {
    return this.#baseline === undefined || (this.#baseline.source === 'released' && this.#baseline.windows < this.#baselineWindows);
  }

  #addToOwnBaseline(released: ReleasedDrift & { status: 'released' }): void {
    const previous = this.#baseline;
    const histograms: DriftHistograms = previous ? sumHistograms([previous.histograms, released.histograms]) : released.histograms;
    const windows = (previous?.windows ?? 0) + 1;
    const from = previous ? previous.description.replace(/ to .*$/, '') : `released drift windows from ${isoTime(released.startSeconds)}`;
    this.#baseline = { source: 'released', windows, histograms, description: `${from} to ${isoTime(released.endSeconds)}` };
    try {
      writeDriftBaseline(this.#baselineFile, this.#baseline);
    } catch (error) {
      this.#options.log.warn('drift baseline not saved: a restart will build it again', { camera: this.#options.camera, reason: (error as Error).message });
    }
  }

  #describeBaseline(): string {
    const baseline = this.#baseline;
    if (!baseline) return `none yet: built from the first ${this.#baselineWindows} released windows`;
    if (baseline.source === 'calibration') return `calibration: ${baseline.description}`;
    return baseline.windows < this.#baselineWindows ? `being built: ${baseline.windows} of ${this.#baselineWindows} released windows` : `released windows: ${baseline.description}`;
  }

  #show(reading: CameraDrift): void {
    const { camera, states, metrics, log } = this.#options;
    states.setDrift(camera, reading);
    for (const feature of FEATURES) {
      if (reading.psi) metrics.driftPsi.set({ camera, feature }, reading.psi[feature]);
      else metrics.driftPsi.remove({ camera, feature });
    }
    metrics.driftWarning.set({ camera }, reading.warning ? 1 : 0);
    const fields = { camera, start: reading.windowStart, ...(reading.psi ? { psi_score: rounded(reading.psi.score), psi_size: rounded(reading.psi.size) } : {}) };
    // The note in the message itself ("building the baseline …", "withheld: …"): the reader of a log reads messages.
    if (reading.warning) log.warn(reading.warning, fields);
    else if (reading.status === 'withheld') log.info(`drift window ${reading.note}`, fields);
    else log.info(`drift window released${reading.note ? `: ${reading.note}` : ''}`, fields);
  }
}
