/**
 * The released-window schema is the privacy boundary: whatever a store, a report or the feed reads back must be a
 * window the release stage could have made, and nothing else. Windows here come from the real release stage
 * (test/streams/releasedWindowFixture.ts); each test then changes one field the way a corrupted or hand-made record
 * would, and expects the schema to refuse it, or to keep what a real release publishes (negative and fractional
 * values are unbiased noise, not errors: stages/released.ts).
 */
import { describe, expect, it } from 'vitest';
import { COUNTED_CLASSES } from '../../models/detection.ts';
import { releasedWindowSchema, type ReleasedWindow } from '../../stages/released.ts';
import { CROSSINGS_WINDOW_SECONDS, releasedWindow } from '../streams/releasedWindowFixture.ts';

const accepts = (window: unknown) => releasedWindowSchema.safeParse(window).success;

/** An occupancy window (60 s, zone "entrance") and a crossings window (900 s, line "main-road"), both released. */
const occupancy = () => releasedWindow({ zoneCount: 1 });
const crossings = () => releasedWindow({ windowSeconds: CROSSINGS_WINDOW_SECONDS });

describe('the released-window schema', () => {
  it('accepts what the release stage makes: private and calibration, released and withheld, both series', () => {
    for (const window of [occupancy(), crossings(), releasedWindow({ isPrivate: false }), releasedWindow({ status: 'withheld' })]) {
      expect(releasedWindowSchema.parse(window)).toEqual(window);
    }
  });

  it('accepts every value each enumerated field can take', () => {
    const window = occupancy();
    for (const clock of ['clip', 'wall'] as const) expect(accepts({ ...window, clock }), clock).toBe(true);
    for (const status of ['released', 'withheld'] as const) expect(accepts({ ...window, status }), status).toBe(true);
    for (const mechanism of ['discrete-laplace', 'discrete-gaussian', 'none'] as const) {
      expect(accepts({ ...window, privacy: { ...window.privacy, mechanism } }), mechanism).toBe(true);
    }
    // breakdown "class" releases each COCO class on its own; "category" releases person and vehicle.
    const cell = window.zones.entrance!.classes.person!;
    for (const name of [...COUNTED_CLASSES, 'vehicle']) {
      expect(accepts({ ...window, zones: { entrance: { classes: { [name]: cell } } } }), name).toBe(true);
    }
    const terms = window.privacy.statistics.meanOccupancy!;
    for (const statistic of ['crossings', 'peakOccupancy', 'meanOccupancy']) {
      expect(accepts({ ...window, privacy: { ...window.privacy, statistics: { [statistic]: terms } } }), statistic).toBe(true);
    }
  });

  it('keeps unbiased values as released: a negative count and a mean in hundredths', () => {
    const window = occupancy();
    const noised: ReleasedWindow = { ...window, zones: { entrance: { classes: { person: { peakOccupancy: -2, meanOccupancy: -0.37 } } } } };
    expect(releasedWindowSchema.parse(noised).zones.entrance!.classes.person).toEqual({ peakOccupancy: -2, meanOccupancy: -0.37 });
  });

  it('refuses a field no release has, at every level: there is nowhere to put a box, a track or a frame time', () => {
    const window = crossings();
    const line = window.lines['main-road']!;
    const zoneWindow = occupancy();
    const zone = zoneWindow.zones.entrance!;
    const cases: Record<string, unknown> = {
      window: { ...window, boxes: [] },
      line: { ...window, lines: { 'main-road': { ...line, tracks: [] } } },
      'line cell': { ...window, lines: { 'main-road': { classes: { vehicle: { ...line.classes.vehicle!, frameSeconds: 3 } } } } },
      zone: { ...zoneWindow, zones: { entrance: { ...zone, pixels: [] } } },
      'zone cell': { ...zoneWindow, zones: { entrance: { classes: { person: { ...zone.classes.person!, box: [0, 0, 1, 1] } } } } },
      'privacy block': { ...window, privacy: { ...window.privacy, trackIds: [] } },
      'statistic terms': { ...window, privacy: { ...window.privacy, statistics: { crossings: { ...window.privacy.statistics.crossings!, exact: 4 } } } },
      budget: { ...window, privacy: { ...window.privacy, budget: { ...window.privacy.budget, camera: 'gate' } } },
    };
    for (const [level, record] of Object.entries(cases)) expect(accepts(record), level).toBe(false);
  });

  it('refuses values no release makes', () => {
    const window = crossings();
    const zoneWindow = occupancy();
    const withPrivacy = (privacy: object) => ({ ...window, privacy: { ...window.privacy, ...privacy } });
    const withTerms = (terms: object) => withPrivacy({ statistics: { crossings: { ...window.privacy.statistics.crossings!, ...terms } } });
    const cases: Record<string, unknown> = {
      'empty camera id': { ...window, camera: '' },
      'window length 0': { ...window, windowSeconds: 0 },
      'unknown clock': { ...window, clock: 'local' },
      'unknown status': { ...window, status: 'pending' },
      'unknown mechanism': withPrivacy({ mechanism: 'laplace' }),
      'negative ε': withPrivacy({ epsilon: -0.5 }),
      'δ above 1': withPrivacy({ delta: 1.5 }),
      'negative δ': withPrivacy({ delta: -1e-6 }),
      'negative ρ': withPrivacy({ rhoSeconds: -1 }),
      'negative reach': withPrivacy({ eventReachSeconds: -1 }),
      'negative ε left': withPrivacy({ budget: { ...window.privacy.budget, epsilonLeft: -1 } }),
      'period of 0 s': withPrivacy({ budget: { ...window.privacy.budget, periodSeconds: 0, epsilonPerPeriod: 1, epsilonSpentInPeriod: 0 } }),
      'unknown statistic': withPrivacy({ statistics: { speed: window.privacy.statistics.crossings } }),
      'negative statistic ε': withTerms({ epsilon: -1 }),
      'negative sensitivity': withTerms({ sensitivity: -1 }),
      'negative s.d.': withTerms({ standardDeviation: -1 }),
      'fractional crossing count': { ...window, lines: { 'main-road': { classes: { vehicle: { forward: 2.5, backward: 1 } } } } },
      'crossings without a direction': { ...window, lines: { 'main-road': { classes: { vehicle: { forward: 2 } } } } },
      'unknown class': { ...window, lines: { 'main-road': { classes: { dog: { forward: 2, backward: 1 } } } } },
      'fractional peak': { ...zoneWindow, zones: { entrance: { classes: { person: { peakOccupancy: 1.5 } } } } },
      'zone area 0': { ...zoneWindow, zones: { entrance: { ...zoneWindow.zones.entrance!, areaSquareMetres: 0 } } },
    };
    for (const [what, record] of Object.entries(cases)) expect(accepts(record), what).toBe(false);
  });
});
