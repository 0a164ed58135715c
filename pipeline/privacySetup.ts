/**
 * Wires the privacy stage into a command: the privacy flags, the ledger in the state directory, and one releaser
 * per camera whose plan (statistics, window lengths, noise) is derived from that camera's zones, lines and classes
 * and the tracker's bounds.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { CountedClass } from '../models/detection.ts';
import { MAX_CROSSINGS_PER_TRACK_PER_LINE } from '../stages/lines.ts';
import { LedgerSetupError, openLedger, type Ledger } from '../stages/privacy/ledger.ts';
import { rationalFromDecimal } from '../stages/privacy/rational.ts';
import { describePlan, PrivacyConfigError, planReleases, type ReleasePlan, type TrackerBounds } from '../stages/privacy/settings.ts';
import { createReleaser, releasedGroups, type Releaser } from '../stages/release.ts';
import { MAX_CLASSES_PER_TRACK_PER_WINDOW, MAX_COAST_SECONDS } from '../stages/track.ts';
import type { ClassGroups } from '../stages/window.ts';
import { choiceFlag, numberFlag, type FlagSpec } from './args.ts';
import { PathError } from './fsProblems.ts';
import type { Logger } from './log.ts';

/** What the tracker guarantees (each constant's docstring names the test that proves it); the sensitivity rests on it. */
const TRACKER_BOUNDS: TrackerBounds = {
  maxCrossingsPerTrackPerLine: MAX_CROSSINGS_PER_TRACK_PER_LINE,
  maxClassesPerTrackPerWindow: MAX_CLASSES_PER_TRACK_PER_WINDOW,
  maxCoastSeconds: MAX_COAST_SECONDS,
};
const LEDGER_FILE = 'privacy-ledger';

export const PRIVACY_FLAGS = {
  epsilon: { type: 'string' },
  mechanism: { type: 'string' },
  rho: { type: 'string' },
  'state-dir': { type: 'string' },
  'new-ledger': { type: 'boolean' },
  'accept-policy-change': { type: 'string' },
  'allow-extreme-epsilon': { type: 'boolean' },
} as const satisfies FlagSpec;

export const PRIVACY_FLAGS_HELP = `Privacy:
  --epsilon E|off      ε per protected event: one track's visit (default 1). "off" is for calibration only: exact
                       counts, the report is marked "private": false and must never be published
  --mechanism M        discrete-laplace (default) | discrete-gaussian
  --rho SECONDS        protect any visit up to this long (Privid's ρ; default 0, plus the tracker's 3 s coast)
  --state-dir DIR      where the privacy ledger lives (default: $XDG_STATE_HOME/veil or ~/.local/state/veil)
  --new-ledger         start the privacy ledger if there is none (first run on this machine)
  --accept-policy-change REASON
                       the privacy settings of this camera changed since its last release: judge past releases by
                       the new settings from now on, recording REASON in the ledger
  --allow-extreme-epsilon
                       accept ε above 10 or noise above 1000 objects per value (otherwise refused)
`;

export function privacyFlagOverrides(values: { epsilon?: string; mechanism?: string; rho?: string; 'allow-extreme-epsilon'?: boolean }): Record<string, unknown> {
  const overrides: Record<string, unknown> = {};
  if (values.epsilon !== undefined) overrides.epsilon = values.epsilon === 'off' ? 'off' : numberFlag(values.epsilon, 'epsilon', 'a positive number, e.g. 1, or "off"');
  if (values.mechanism !== undefined) overrides.mechanism = choiceFlag(values.mechanism, 'mechanism', ['discrete-laplace', 'discrete-gaussian']);
  if (values.rho !== undefined) overrides.rhoSeconds = numberFlag(values.rho, 'rho', 'seconds, e.g. 300');
  if (values['allow-extreme-epsilon']) overrides.allowExtremeEpsilon = true;
  return overrides;
}

export interface CameraPrivacy {
  id: string;
  /** The window length configured for the analysis, if any: every statistic then uses it unless `releases` says. */
  windowSeconds?: number;
  zones: ReadonlyArray<{ name: string; areaSquareMetres?: number }>;
  lines: ReadonlyArray<{ name: string }>;
  classes: readonly CountedClass[];
  /** The camera's `privacy` settings as written in the config (validated here). */
  privacy: unknown;
  /** Where the settings come from, for errors: e.g. 'config site.yaml, camera "gate"'. */
  source?: string;
  /** The camera's `drift` settings, if any: their share of ε is kept out of the plan's releases. */
  drift?: { share: number };
}

/** Where a camera's windows sit in its own clock, for the ledger. */
export interface CameraClock {
  /** Added to window bounds: 0 live (Unix time), the recording's start in Unix seconds for a clip. */
  clockOffsetSeconds: number;
  /** Live: refuse releases before what was already released (a clock set backwards). */
  monotonic: boolean;
}

export interface CameraRelease extends Releaser {
  private: boolean;
  plan: ReleasePlan;
  /** What the analysis must produce for this releaser: windows of these lengths, counts in these groups. */
  windowLengths: readonly number[];
  groups: ClassGroups;
  /** The ledger this camera's releases are charged to; undefined for calibration ("off"). */
  ledger?: Ledger;
}

function withSource<T>(source: string | undefined, resolve: () => T): T {
  try {
    return resolve();
  } catch (error) {
    if (source && error instanceof PrivacyConfigError) throw new PrivacyConfigError(`${source}: ${error.message}`);
    throw error;
  }
}

export interface PrivacyRuntime {
  /** Validates a camera's privacy settings and returns its releaser; logs what it will spend. */
  releaserFor(camera: CameraPrivacy, clock: CameraClock): CameraRelease;
  close(): void;
}

export interface PrivacyOptions {
  stateDir: string;
  /** Where `stateDir` came from, for errors: e.g. "--state-dir" or "stateDir (config site.yaml)" (default "the state directory"). */
  stateDirSetting?: string;
  /** Start a ledger when there is none (`--new-ledger`): only the operator may decide that past spending is gone. */
  createLedger: boolean;
  /** `--accept-policy-change REASON`: record a changed privacy policy instead of refusing it. */
  acceptPolicyChange?: string;
  log: Logger;
}

/**
 * Opens the privacy side of a command; the ledger only when a private camera needs it. `releaserFor` throws a
 * PathError naming `stateDirSetting` when the ledger's place or permissions are wrong (stages/privacy/ledger.ts's
 * LedgerSetupError), PrivacyConfigError for bad privacy settings, LedgerError for an unreadable ledger.
 */
export function openPrivacy(options: PrivacyOptions): PrivacyRuntime {
  const { stateDir, log } = options;
  let ledger: Ledger | undefined;
  const ledgerPath = path.join(stateDir, LEDGER_FILE);
  const openOnce = () => {
    if (ledger) return ledger;
    mkdirSync(stateDir, { recursive: true });
    try {
      ledger = openLedger(ledgerPath, { createIfMissing: options.createLedger });
    } catch (error) {
      // Where the ledger is and who may use it is set up like any other path: a PathError naming the setting.
      if (error instanceof LedgerSetupError) throw new PathError(`${options.stateDirSetting ?? 'the state directory'} ${stateDir}: ${error.message}`);
      throw error;
    }
    log.info('privacy ledger open', { path: ledgerPath });
    return ledger;
  };
  return {
    releaserFor(camera, clock) {
      const plan = withSource(camera.source, () =>
        planReleases(camera.privacy, {
          zoneCount: camera.zones.length,
          lineCount: camera.lines.length,
          windowSeconds: camera.windowSeconds,
          tracker: TRACKER_BOUNDS,
          ...(camera.drift ? { reservedShare: rationalFromDecimal(camera.drift.share) } : {}),
        }),
      );
      (plan.private ? log.info : log.warn)(describePlan(plan), { camera: camera.id });
      if (plan.private) for (const warning of plan.warnings) log.warn(`privacy: ${warning}`, { camera: camera.id });
      const cameraLedger = plan.private ? openOnce() : undefined;
      if (plan.private && options.acceptPolicyChange !== undefined) {
        cameraLedger!.migratePolicy(camera.id, plan.policy, options.acceptPolicyChange);
        log.warn('privacy policy change accepted: past releases are judged by the new settings from now on', { camera: camera.id, reason: options.acceptPolicyChange });
      }
      // Changed settings are refused here, before any work, rather than at the first release.
      if (plan.private) cameraLedger!.assertPolicy(camera.id, plan.policy);
      const groups = releasedGroups(plan.breakdown, camera.classes);
      const releaser = createReleaser({ plan, camera: camera.id, zones: camera.zones, lines: camera.lines, groups, ledger: cameraLedger, ...clock });
      return { private: plan.private, plan, windowLengths: plan.windowLengths, groups, ledger: cameraLedger, release: (aggregate) => releaser.release(aggregate) };
    },
    close() {
      ledger?.close();
    },
  };
}
