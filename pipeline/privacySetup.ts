/**
 * Wires the privacy stage into a command: the privacy flags, the ledger in the state directory, and one releaser
 * per camera whose sensitivity is derived from that camera's zones, lines and classes.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { CountedClass } from '../models/detection.ts';
import { maxCrossingsPerObjectPerLine } from '../stages/lines.ts';
import { createReleaser, type Releaser } from '../stages/release.ts';
import { openLedger, type Ledger } from '../stages/privacy/ledger.ts';
import { choiceFlag, numberFlag, type FlagSpec } from './args.ts';
import type { Logger } from './log.ts';
import { describePrivacySettings, PrivacyConfigError, resolvePrivacySettings } from '../stages/privacy/settings.ts';

/**
 * The tracker votes a track's class over its life, and within one window that vote can move between car, bus and
 * truck (the detector hesitates between them), so one object can appear under up to 3 classes in a window.
 */
const MAX_CLASSES_PER_OBJECT_PER_WINDOW = 3;
const LEDGER_FILE = 'privacy-ledger';

export const PRIVACY_FLAGS = {
  epsilon: { type: 'string' },
  mechanism: { type: 'string' },
  rho: { type: 'string' },
  'state-dir': { type: 'string' },
} as const satisfies FlagSpec;

export const PRIVACY_FLAGS_HELP = `Privacy:
  --epsilon E|off      ε per protected event (default 1). "off" is for calibration only: exact counts, the report is
                       marked "private": false and must never be published
  --mechanism M        discrete-laplace (default) | discrete-gaussian
  --rho SECONDS        protect any visit up to this long (Privid's ρ); ε is divided over the windows it can touch
  --state-dir DIR      where the privacy ledger lives (default: $XDG_STATE_HOME/veil or ~/.local/state/veil)
`;

export function privacyFlagOverrides(values: { epsilon?: string; mechanism?: string; rho?: string }): Record<string, unknown> {
  const overrides: Record<string, unknown> = {};
  if (values.epsilon !== undefined) overrides.epsilon = values.epsilon === 'off' ? 'off' : numberFlag(values.epsilon, 'epsilon', 'a positive number, e.g. 1, or "off"');
  if (values.mechanism !== undefined) overrides.mechanism = choiceFlag(values.mechanism, 'mechanism', ['discrete-laplace', 'discrete-gaussian']);
  if (values.rho !== undefined) overrides.rhoSeconds = numberFlag(values.rho, 'rho', 'seconds, e.g. 300');
  return overrides;
}

export interface CameraPrivacy {
  id: string;
  windowSeconds: number;
  zones: ReadonlyArray<{ name: string; areaSquareMetres?: number }>;
  lines: ReadonlyArray<{ name: string }>;
  classes: readonly CountedClass[];
  /** The camera's `privacy` settings as written in the config (validated here). */
  privacy: unknown;
  /** Where the settings come from, for errors: e.g. 'config site.yaml, camera "gate"'. */
  source?: string;
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
  releaserFor(camera: CameraPrivacy): Releaser & { private: boolean };
  close(): void;
}

/**
 * `createLedger`: a batch run may start a ledger (its first run on this machine), a live box may not — a missing
 * ledger there means lost spending, and only the operator can decide that (`veil run --new-ledger`).
 */
export function openPrivacy(stateDir: string, createLedger: boolean, log: Logger): PrivacyRuntime {
  let ledger: Ledger | undefined;
  const ledgerPath = path.join(stateDir, LEDGER_FILE);
  const openOnce = () => {
    if (ledger) return ledger;
    mkdirSync(stateDir, { recursive: true });
    ledger = openLedger(ledgerPath, { createIfMissing: createLedger });
    log.info('privacy ledger open', { path: ledgerPath });
    return ledger;
  };
  return {
    releaserFor(camera) {
      const settings = withSource(camera.source, () => resolvePrivacySettings(camera.privacy, { windowSeconds: camera.windowSeconds }));
      (settings.private ? log.info : log.warn)(describePrivacySettings(settings), { camera: camera.id });
      const releaser = createReleaser({
        settings,
        camera: camera.id,
        zones: camera.zones,
        lines: camera.lines,
        classes: camera.classes,
        maxCrossingsPerObjectPerLine,
        maxClassesPerObjectPerWindow: MAX_CLASSES_PER_OBJECT_PER_WINDOW,
        ledger: settings.private ? openOnce() : undefined,
      });
      return { private: settings.private, release: (aggregate) => releaser.release(aggregate) };
    },
    close() {
      ledger?.close();
    },
  };
}
