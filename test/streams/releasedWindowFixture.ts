/**
 * Released windows for the feed, store, metrics and dashboard tests, made the only way a real one is made: exact
 * aggregates through the release stage (createReleaser) with a real ledger, so their privacy blocks, s.d. and
 * budgets are what release() states, not invented ones. A camera releases two series, as a live camera does at
 * the defaults: occupancy (mean and peak) per 60 s, crossings per 900 s.
 *
 * The noise is real, so each distinct window is released once and remembered: asking twice for the same window
 * gives equal copies (a test may compare them or change its copy).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COUNTED_CLASSES } from '../../models/detection.ts';
import type { WindowAggregate } from '../../stages/aggregates.ts';
import { openLedger } from '../../stages/privacy/ledger.ts';
import { planReleases } from '../../stages/privacy/settings.ts';
import { createReleaser, releasedGroups, type Releaser } from '../../stages/release.ts';
import type { ReleasedWindow } from '../../stages/released.ts';

export const WINDOW_SECONDS = 60;
/** The crossings series, the length a traffic engineer sums into hours. */
export const CROSSINGS_WINDOW_SECONDS = 900;
const FIRST_WINDOW_EPOCH_SECONDS = 1_764_064_800; // 2025-11-25 10:00 UTC
/** The tracker's bounds the sensitivities rest on (as pipeline/privacySetup.ts states them). */
const TRACKER = { maxCrossingsPerTrackPerLine: 1, maxClassesPerTrackPerWindow: 3, maxCoastSeconds: 1 };
/**
 * ε = 2 per visit (ρ = 0, so a visit is the tracker's 1 s coast and touches at most 2 one-minute windows): each
 * occupancy statistic gets ε 2 · ¼ / 2 = 0.25 per window, crossings ε 2 · ½ = 1 per window. Occupancy noise a chart
 * can still be read through (± 11 per value with two zones), crossings ± 1.36.
 */
const PRIVACY = {
  epsilon: 2,
  rhoSeconds: 0,
  releases: [
    { statistic: 'meanOccupancy', windowSeconds: WINDOW_SECONDS, share: 0.25 },
    { statistic: 'peakOccupancy', windowSeconds: WINDOW_SECONDS, share: 0.25 },
    { statistic: 'crossings', windowSeconds: CROSSINGS_WINDOW_SECONDS, share: 0.5 },
  ],
  // The feed's back-pressure test releases 150 zones, whose occupancy noise is far beyond the refusal level.
  allowExtremeEpsilon: true,
};
const LINE = 'main-road';

export interface WindowShape {
  camera?: string;
  /** Which window of the camera's series: 0 is the first. */
  index?: number;
  zoneCount?: number;
  isPrivate?: boolean;
  status?: ReleasedWindow['status'];
  /** 60 (occupancy, the default) or 900 (crossings). */
  windowSeconds?: number;
}

const zoneName = (zone: number) => (zone === 0 ? 'entrance' : `zone-${zone}`);

/** Exact counts that vary with `index`, so a chart of consecutive windows is not flat. */
function aggregate(index: number, zoneCount: number, windowSeconds: number): WindowAggregate {
  const startSeconds = FIRST_WINDOW_EPOCH_SECONDS + index * windowSeconds;
  const wave = (phase: number) => Math.round(4 + 3 * Math.sin(index / 2 + phase));
  return {
    startSeconds,
    endSeconds: startSeconds + windowSeconds,
    windowSeconds,
    clock: 'wall',
    framesAnalysed: windowSeconds * 2,
    zones: Object.fromEntries(
      Array.from({ length: zoneCount }, (_, zone) => [
        zoneName(zone),
        { person: { meanOccupancy: wave(zone) + 0.4, peakOccupancy: wave(zone) + 3 }, vehicle: { meanOccupancy: 0, peakOccupancy: 0 } },
      ]),
    ),
    lines: { [LINE]: { person: { forward: 0, backward: 0 }, vehicle: { forward: 10 * (wave(1) + 1), backward: 10 * wave(2) } } },
  };
}

const directory = mkdtempSync(join(tmpdir(), 'veil-window-fixture-'));
process.on('exit', () => rmSync(directory, { recursive: true, force: true }));
const releasers = new Map<string, Releaser>();
const released = new Map<string, ReleasedWindow>();

/** One releaser (and ledger) per camera and layout; withheld windows come from a ledger of their own, spent on purpose. */
function releaserFor(camera: string, zoneCount: number, isPrivate: boolean, purpose: ReleasedWindow['status']): Releaser {
  const key = JSON.stringify([camera, zoneCount, isPrivate, purpose]);
  let releaser = releasers.get(key);
  if (!releaser) {
    const zones = Array.from({ length: zoneCount }, (_, zone) => ({ name: zoneName(zone), areaSquareMetres: 40 }));
    const plan = planReleases({ ...PRIVACY, ...(isPrivate ? {} : { epsilon: 'off' }) }, { zoneCount, lineCount: 1, tracker: TRACKER });
    const ledger = isPrivate ? openLedger(join(directory, `${releasers.size}.ledger`), { createIfMissing: true }) : undefined;
    releaser = createReleaser({ plan, camera, zones, lines: [{ name: LINE }], groups: releasedGroups(plan.breakdown, COUNTED_CLASSES), ledger, clockOffsetSeconds: 0, monotonic: false });
    releasers.set(key, releaser);
  }
  return releaser;
}

/**
 * A live window of `camera`, released by the release stage. `status: 'withheld'` releases the same window again
 * until the ledger withholds it (the span's budget spent), which is how a real window comes to be withheld.
 */
export function releasedWindow({ camera = 'gate', index = 0, zoneCount = 2, isPrivate = true, status = 'released', windowSeconds = WINDOW_SECONDS }: WindowShape = {}): ReleasedWindow {
  const key = JSON.stringify([camera, index, zoneCount, isPrivate, status, windowSeconds]);
  let window = released.get(key);
  if (!window) {
    const releaser = releaserFor(camera, zoneCount, isPrivate, status);
    const exact = aggregate(index, zoneCount, windowSeconds);
    window = releaser.release(exact);
    for (let attempt = 0; window.status !== status; attempt += 1) {
      if (status === 'released' || attempt > 50) throw new Error(`fixture: window ${key} came out ${window.status}, not ${status}`);
      window = releaser.release(exact);
    }
    released.set(key, window);
  }
  return structuredClone(window);
}
