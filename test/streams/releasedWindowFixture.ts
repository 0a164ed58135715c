/**
 * Hand-built released windows for tests, checked against the real schema so a test cannot feed the code something
 * the release stage could never produce.
 */
import { releasedWindowSchema, type ReleasedWindow } from '../../stages/released.ts';

export const WINDOW_SECONDS = 60;
const FIRST_WINDOW_EPOCH_SECONDS = 1_764_064_800; // 2025-11-25 10:00 UTC

export interface WindowShape {
  camera?: string;
  /** Which window of the camera's day: 0 is the first. */
  index?: number;
  zoneCount?: number;
  isPrivate?: boolean;
  status?: ReleasedWindow['status'];
}

/**
 * A plausible live window: persons in zones, vehicles over a line, a budget that shrinks as `index` grows.
 * Counts vary with `index` so a chart of consecutive windows is not flat.
 */
export function releasedWindow({
  camera = 'gate',
  index = 0,
  zoneCount = 2,
  isPrivate = true,
  status = 'released',
}: WindowShape = {}): ReleasedWindow {
  const startSeconds = FIRST_WINDOW_EPOCH_SECONDS + index * WINDOW_SECONDS;
  const wave = (phase: number) => Math.round(4 + 3 * Math.sin(index / 2 + phase));
  const zones: ReleasedWindow['zones'] = {};
  for (let zone = 0; zone < zoneCount; zone += 1) {
    zones[zone === 0 ? 'entrance' : `zone-${zone}`] = {
      areaSquareMetres: 40,
      classes: {
        person: { meanOccupancy: wave(zone) + 0.4, peakOccupancy: wave(zone) + 3 },
        vehicle: { meanOccupancy: 0, peakOccupancy: 0 },
      },
    };
  }
  const epsilonPerWindow = 0.05;
  const window: ReleasedWindow = {
    camera,
    startSeconds,
    endSeconds: startSeconds + WINDOW_SECONDS,
    clock: 'wall',
    status,
    ...(status === 'withheld' ? { withheldReason: 'budget exhausted' } : {}),
    zones: status === 'released' ? zones : {},
    lines: {
      'main-road': {
        classes: {
          car: { forward: wave(1), backward: wave(2) },
          vehicle: { forward: wave(1) + 1, backward: wave(2) },
        },
      },
    },
    privacy: {
      private: isPrivate,
      mechanism: isPrivate ? 'discrete-laplace' : 'none',
      epsilon: epsilonPerWindow,
      delta: 0,
      sensitivity: { occupancy: 1, crossings: 1 },
      rhoSeconds: 300,
      ...(isPrivate ? { noiseStandardDeviation: 5.7 } : {}),
      budget: {
        periodSeconds: 86_400,
        epsilonPerPeriod: 3,
        epsilonSpent: epsilonPerWindow * (index + 1),
        epsilonLeft: Math.max(0, 3 - epsilonPerWindow * (index + 1)),
      },
    },
  };
  return releasedWindowSchema.parse(window);
}
