/**
 * A batch report made the way `veil batch` makes one, minus the detector: exact per-window counts (given by the
 * test, so it knows the truth) go through the release stage (createReleaser) at every window length the plan asks
 * for, and the released windows become the report. Report, CSV, summary and chart tests read it.
 */
import { COUNTED_CLASSES } from '../../models/detection.ts';
import type { CrossingCounts, OccupancyStats } from '../../stages/aggregates.ts';
import type { Ledger } from '../../stages/privacy/ledger.ts';
import { planReleases, type TrackerBounds } from '../../stages/privacy/settings.ts';
import { createReleaser, releasedGroups } from '../../stages/release.ts';
import type { ReleasedWindow } from '../../stages/released.ts';
import type { Report } from '../../streams/report.ts';

/** The bounds pipeline/privacySetup.ts states for the tracker. */
export const TRACKER: TrackerBounds = { maxCrossingsPerTrackPerLine: 1, maxClassesPerTrackPerWindow: 3, maxCoastSeconds: 1 };

export interface WindowSpan {
  startSeconds: number;
  endSeconds: number;
  windowSeconds: number;
}

/** The exact counts of one window, per zone or line and released class group (person, vehicle by default). */
export interface ExactCounts {
  zones: Record<string, Record<string, OccupancyStats>>;
  lines: Record<string, Record<string, CrossingCounts>>;
}

export interface ClipOptions {
  /** Privacy settings as in config (`privacy:`); `epsilon: 'off'` for a calibration report. */
  privacy: Record<string, unknown>;
  zones?: Array<{ name: string; areaSquareMetres?: number }>;
  lines?: string[];
  durationSeconds: number;
  exact: (span: WindowSpan) => ExactCounts;
  /** Required for a private plan. */
  ledger?: Ledger;
  camera?: string;
  /** Where the clip starts in the camera's clock, Unix seconds (batch: --recorded-at). */
  recordedAtSeconds?: number;
}

const FRAMES_PER_SECOND = 2;

/** Releases every window of the clip through one releaser and returns the report `veil batch` would write. */
export function releaseClip(options: ClipOptions): Report {
  const zones = options.zones ?? [];
  const lines = options.lines ?? [];
  const plan = planReleases(options.privacy, { zoneCount: zones.length, lineCount: lines.length, tracker: TRACKER });
  const recordedAtSeconds = options.recordedAtSeconds ?? 1_764_403_200; // 2025-11-29 08:00 UTC
  const releaser = createReleaser({
    plan,
    camera: options.camera ?? 'overpass-1',
    zones,
    lines: lines.map((name) => ({ name })),
    groups: releasedGroups(plan.breakdown, COUNTED_CLASSES),
    ledger: options.ledger,
    clockOffsetSeconds: recordedAtSeconds,
    monotonic: false,
  });
  const windows: ReleasedWindow[] = [];
  for (const windowSeconds of plan.windowLengths) {
    for (let startSeconds = 0; startSeconds < options.durationSeconds; startSeconds += windowSeconds) {
      const span = { startSeconds, endSeconds: Math.min(startSeconds + windowSeconds, options.durationSeconds), windowSeconds };
      const framesAnalysed = Math.round((span.endSeconds - span.startSeconds) * FRAMES_PER_SECOND);
      windows.push(releaser.release({ ...span, clock: 'clip', framesAnalysed, ...options.exact(span) }));
    }
  }
  windows.sort((a, b) => a.endSeconds - b.endSeconds || a.windowSeconds - b.windowSeconds);
  return {
    veilVersion: '0.1.0',
    private: plan.private,
    clip: {
      input: '/clips/overpass.mp4',
      durationSeconds: options.durationSeconds,
      ...(plan.private ? { camera: options.camera ?? 'overpass-1', recordedAt: new Date(recordedAtSeconds * 1000).toISOString() } : {}),
    },
    settings: {
      fps: FRAMES_PER_SECOND,
      releases: plan.statistics.map(({ statistic, windowSeconds }) => ({ statistic, windowSeconds })),
      maxWidth: 640,
      scoreThreshold: 0.5,
      classes: COUNTED_CLASSES,
      zones: zones.map((zone) => ({ ...zone, polygon: [[0, 0], [1, 0], [1, 1]] as Array<[number, number]> })),
      lines: lines.map((name) => ({ name, from: [0, 0.5] as [number, number], to: [1, 0.5] as [number, number] })),
      detector: { backend: 'wasm', backendReason: 'fastest available', model: 'coco-ssd lite_mobilenet_v2 (bundled, sha256 verified)', workers: 2 },
      maxCrossingsPerObjectPerLine: 1,
    },
    framesAnalysed: Math.round(options.durationSeconds * FRAMES_PER_SECOND),
    windows,
  };
}

/** Every class group of a zone with the same occupancy (person and vehicle), for tests that set one number. */
export function occupancy(person: OccupancyStats, vehicle: OccupancyStats = { meanOccupancy: 0, peakOccupancy: 0 }): Record<string, OccupancyStats> {
  return { person, vehicle };
}

/** A line's counts per class group: vehicles as given, no people. */
export function vehicleCrossings(forward: number, backward: number): Record<string, CrossingCounts> {
  return { person: { forward: 0, backward: 0 }, vehicle: { forward, backward } };
}
