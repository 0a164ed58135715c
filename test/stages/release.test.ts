import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { COUNTED_CLASSES, type CountedClass } from '../../models/detection.ts';
import { openLedger, type Ledger } from '../../stages/privacy/ledger.ts';
import { resolvePrivacySettings, type PrivacySettingsInput } from '../../stages/privacy/settings.ts';
import type { CrossingCounts, OccupancyStats, WindowAggregate } from '../../stages/aggregates.ts';
import { zcdpToEpsilon } from '../../stages/privacy/privacyLoss.ts';
import { BUDGET_EXHAUSTED, createReleaser, type ReleaserOptions } from '../../stages/release.ts';
import { releasedWindowSchema, type ReleasedWindow } from '../../stages/released.ts';

const WINDOW_SECONDS = 60;
const VEHICLES = COUNTED_CLASSES.filter((name) => name !== 'person');

let directory: string;
let ledger: Ledger;

beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'veil-release-'));
  ledger = openLedger(join(directory, 'ledger.sqlite'), { createIfMissing: true });
});

afterEach(() => {
  ledger.close();
  rmSync(directory, { recursive: true, force: true });
});

function perClass<T>(value: (name: CountedClass, index: number) => T): Record<CountedClass, T> {
  return Object.fromEntries(COUNTED_CLASSES.map((name, index) => [name, value(name, index)])) as Record<CountedClass, T>;
}

/** A window whose zone holds mean = index + 0.25, peak = 2·index + 1 per class, and a line with 3·index + 1 forward. */
function windowAggregate(index: number, zones = ['pavement'], lines = ['door']): WindowAggregate {
  return {
    startSeconds: index * WINDOW_SECONDS,
    endSeconds: (index + 1) * WINDOW_SECONDS,
    clock: 'clip',
    framesAnalysed: 4,
    zones: Object.fromEntries(zones.map((zone) => [zone, perClass<OccupancyStats>((_, i) => ({ meanOccupancy: i + 0.25, peakOccupancy: 2 * i + 1 }))])),
    lines: Object.fromEntries(lines.map((line) => [line, perClass<CrossingCounts>((_, i) => ({ forward: 3 * i + 1, backward: i }))])),
  };
}

function releaser(privacy: PrivacySettingsInput, overrides: Partial<ReleaserOptions> = {}) {
  return createReleaser({
    settings: resolvePrivacySettings(privacy, { windowSeconds: WINDOW_SECONDS }),
    camera: 'gate',
    zones: [{ name: 'pavement', areaSquareMetres: 8 }],
    lines: [{ name: 'door' }],
    maxCrossingsPerObjectPerLine: 1,
    maxClassesPerObjectPerWindow: 3,
    ledger,
    ...overrides,
  });
}

function zoneClass(window: ReleasedWindow, name: CountedClass | 'vehicle') {
  return window.zones.pavement!.classes[name]!;
}

describe('calibration runs (epsilon "off")', () => {
  it('release exact values, marked private: false, with mechanism "none", spending nothing', () => {
    const window = releaser({ epsilon: 'off' }, { ledger: undefined }).release(windowAggregate(0));
    expect(window.status).toBe('released');
    expect(window.privacy).toMatchObject({ private: false, mechanism: 'none', epsilon: 0, delta: 0 });
    expect(zoneClass(window, 'car')).toEqual({ meanOccupancy: 2.25, peakOccupancy: 5, meanDensityPerSquareMetre: 2.25 / 8, peakDensityPerSquareMetre: 5 / 8 });
    expect(window.lines.door!.classes.truck).toEqual({ forward: 16, backward: 5 });
  });

  it('post-process like private runs: vehicle totals are sums, minimumCount zeroes small values', () => {
    const window = releaser({ epsilon: 'off', minimumCount: 3 }, { ledger: undefined }).release(windowAggregate(0));
    // person: mean 0.25, peak 1 → 0; bicycle: mean 1.25, peak 3 → 0 and 3; car: 2.25 → 0, peak 5 …
    expect(zoneClass(window, 'person')).toMatchObject({ meanOccupancy: 0, peakOccupancy: 0 });
    expect(zoneClass(window, 'bicycle')).toMatchObject({ meanOccupancy: 0, peakOccupancy: 3 });
    expect(zoneClass(window, 'motorcycle')).toMatchObject({ meanOccupancy: 3.25, peakOccupancy: 7 });
    // The total is its own statistic: the threshold applies to it, not to the classes it adds up.
    expect(zoneClass(window, 'vehicle')).toMatchObject({ meanOccupancy: 1.25 + 2.25 + 3.25 + 4.25 + 5.25, peakOccupancy: 3 + 5 + 7 + 9 + 11 });
    expect(window.privacy.minimumCount).toBe(3);
  });
});

describe('private releases', () => {
  it('spend the ledger before returning and report the privacy terms they were released under', () => {
    const release = releaser({ epsilon: 0.5, rhoSeconds: 120, epsilonPerPeriod: 10 });
    const first = release.release(windowAggregate(0));
    const second = release.release(windowAggregate(1));
    expect(second.privacy).toEqual({
      private: true,
      mechanism: 'discrete-laplace',
      epsilon: 0.5 / 3,
      delta: 0,
      // one zone, one line, an object counted under up to 3 classes: (100 + 2)/100, 3, 1
      sensitivity: { meanOccupancyL1: 1.02, peakOccupancyL1: 3, crossingsL1: 1 },
      rhoSeconds: 120,
      budget: { periodSeconds: 86_400, epsilonPerPeriod: 10, epsilonSpent: 1 / 3, epsilonLeft: 10 - 1 / 3 },
      // Laplace scale b = (1.02 + 3 + 1) / (0.5 / 3) = 30.12 objects; s.d. = √(2e^(−1/b)) / (1 − e^(−1/b)).
      noiseStandardDeviation: Number((Math.sqrt(2 * Math.exp(-1 / 30.12)) / (1 - Math.exp(-1 / 30.12))).toFixed(2)),
    });
    expect(first.privacy.budget.epsilonSpent).toBeCloseTo(1 / 6, 12);
  });

  it('withhold instead of releasing once the budget is exhausted, and spend nothing for it', () => {
    const release = releaser({ epsilon: 1, epsilonPerPeriod: 2 });
    const windows = [0, 1, 2, 3].map((index) => release.release(windowAggregate(index)));
    expect(windows.map((window) => window.status)).toEqual(['released', 'released', 'withheld', 'withheld']);
    const withheld = windows[3]!;
    expect(withheld.withheldReason).toBe(BUDGET_EXHAUSTED);
    expect(withheld.zones).toEqual({});
    expect(withheld.lines).toEqual({});
    expect(withheld.privacy).toMatchObject({ private: true, epsilon: 0, budget: { epsilonPerPeriod: 2, epsilonSpent: 2, epsilonLeft: 0 } });
    expect(() => releasedWindowSchema.parse(withheld)).not.toThrow();
  });

  it('release again once spending leaves the rolling period', () => {
    const release = releaser({ epsilon: 1, epsilonPerPeriod: 1, periodSeconds: 60 });
    const statuses = [0, 1, 2].map((index) => release.release(windowAggregate(index)).status);
    // Spans [0, 60), [60, 120), [120, 180): a 60 s period [a, a + 60] meets the first two (a in [0, 60)), never the first and the third.
    expect(statuses).toEqual(['released', 'withheld', 'released']);
  });

  it('add noise calibrated to the window’s sensitivity: peaks and mean occupancy spread as the discrete Laplace predicts', () => {
    // 10 zones × 6 classes × 40 windows = 2400 noise draws per statistic, on values far from 0 and a mean far below its
    // peak, so neither clamp (≥ 0, mean ≤ peak) touches them.
    const zones = Array.from({ length: 10 }, (_, i) => `zone-${i}`);
    const release = releaser(
      { epsilon: 2, epsilonPerPeriod: 1000 },
      { zones: zones.map((name) => ({ name })), lines: [], maxClassesPerObjectPerWindow: 1 },
    );
    const peakNoise: number[] = [];
    const meanNoiseSteps: number[] = [];
    const reportedDeviations = new Set<number | undefined>();
    for (let index = 0; index < 40; index++) {
      const exact: WindowAggregate = {
        ...windowAggregate(index, zones, []),
        zones: Object.fromEntries(zones.map((zone) => [zone, perClass<OccupancyStats>(() => ({ meanOccupancy: 500, peakOccupancy: 1000 }))])),
      };
      const window = release.release(exact);
      reportedDeviations.add(window.privacy.noiseStandardDeviation);
      for (const zone of zones) {
        for (const name of COUNTED_CLASSES) {
          peakNoise.push(window.zones[zone]!.classes[name]!.peakOccupancy - 1000);
          meanNoiseSteps.push(window.zones[zone]!.classes[name]!.meanOccupancy * 100 - 50_000);
        }
      }
    }
    // Mean occupancy lands on the 1/100 grid.
    expect(meanNoiseSteps.every((steps) => Math.abs(steps - Math.round(steps)) < 1e-6)).toBe(true);
    // L1 sensitivity: 10 zones × (1 for the mean + 1 for the peak) = 20 objects; at ε = 2 the scale is 10 objects,
    // i.e. 1000 steps of 1/100 for the mean.
    const laplaceVariance = (scale: number) => (2 * Math.exp(-1 / scale)) / (1 - Math.exp(-1 / scale)) ** 2;
    const secondMoment = (values: number[]) => values.reduce((sum, x) => sum + x * x, 0) / values.length;
    // The relative standard error of 2400 draws' second moment is √((6 − 1)/2400) ≈ 4.6 %: the bounds sit 6.5 and
    // 8.7 standard errors away, a false alarm far below 1e-6; a scale off by the 100 steps or a missing zone is not.
    for (const [noise, scale] of [
      [peakNoise, 10],
      [meanNoiseSteps, 1000],
    ] as const) {
      const ratio = secondMoment(noise) / laplaceVariance(scale);
      expect(ratio).toBeGreaterThan(0.7);
      expect(ratio).toBeLessThan(1.4);
    }
    // The privacy block tells readers that spread, in objects: one value, the theory's, for every window.
    expect([...reportedDeviations]).toEqual([Number(Math.sqrt(laplaceVariance(10)).toFixed(2))]);
  });

  it('never release a mean occupancy above its own peak (free post-processing)', () => {
    const release = releaser({ epsilon: 0.05, epsilonPerPeriod: 100 });
    let clamped = 0;
    for (let index = 0; index < 20; index++) {
      const window = release.release(windowAggregate(index));
      for (const stats of Object.values(window.zones.pavement!.classes)) {
        expect(stats.meanOccupancy).toBeLessThanOrEqual(stats.peakOccupancy);
        if (stats.peakOccupancy > 0 && stats.meanOccupancy === stats.peakOccupancy) clamped++;
      }
    }
    // At ε = 0.05 the noise is far wider than the gap between mean and peak: the clamp must have acted.
    expect(clamped).toBeGreaterThan(0);
  });

  it('add vehicle totals up from the noised classes exactly when nothing was clamped, and never release a negative value', () => {
    const release = releaser({ epsilon: 0.5, epsilonPerPeriod: 100 });
    for (let index = 0; index < 5; index++) {
      const exact = windowAggregate(index);
      // Far from 0, so no class is clamped and the total is exactly the sum of what was released.
      for (const stats of Object.values(exact.zones.pavement!)) Object.assign(stats, { meanOccupancy: 5000, peakOccupancy: 9000 });
      for (const counts of Object.values(exact.lines.door!)) Object.assign(counts, { forward: 7000, backward: 7000 });
      const window = release.release(exact);
      const pavement = window.zones.pavement!.classes;
      const sum = (pick: (value: NonNullable<(typeof pavement)['car']>) => number) => VEHICLES.reduce((total, name) => total + pick(pavement[name]!), 0);
      expect(pavement.vehicle!.peakOccupancy).toBe(sum((value) => value.peakOccupancy));
      expect(pavement.vehicle!.meanOccupancy).toBeCloseTo(sum((value) => value.meanOccupancy), 9);
      const door = window.lines.door!.classes;
      expect(door.vehicle!.forward).toBe(VEHICLES.reduce((total, name) => total + door[name]!.forward, 0));
      expect(() => releasedWindowSchema.parse(window)).not.toThrow(); // the schema forbids negatives
    }
  });

  it('sum vehicle totals before clamping, so an empty road is not reported as busy', () => {
    // Every class exactly 0: clamping each class at 0 and then adding would report the positive half of five classes'
    // noise as traffic. Summing first leaves one clamp, on a total whose noise has mean 0.
    const release = releaser({ epsilon: 1, epsilonPerPeriod: 1000 });
    const empty: WindowAggregate = {
      ...windowAggregate(0),
      zones: { pavement: perClass<OccupancyStats>(() => ({ meanOccupancy: 0, peakOccupancy: 0 })) },
      lines: { door: perClass<CrossingCounts>(() => ({ forward: 0, backward: 0 })) },
    };
    let totals = 0;
    let sumsOfClampedClasses = 0;
    for (let index = 0; index < 200; index++) {
      const door = release.release({ ...empty, startSeconds: index * WINDOW_SECONDS, endSeconds: (index + 1) * WINDOW_SECONDS }).lines.door!.classes;
      totals += door.vehicle!.forward;
      sumsOfClampedClasses += VEHICLES.reduce((total, name) => total + door[name]!.forward, 0);
    }
    // For 5 i.i.d. symmetric noises, E[max(0, ΣX)] ≈ E[ΣX⁺]/√5 ≈ 0.45 × E[ΣX⁺]; 200 windows put 0.7 far out of reach.
    expect(totals).toBeLessThan(0.7 * sumsOfClampedClasses);
  });

  it('with the discrete Gaussian, report L2 sensitivities and a budget composed in zCDP', () => {
    const privacy = { mechanism: 'discrete-gaussian', epsilon: 1, delta: 1e-5, epsilonPerPeriod: 20 } as const;
    const settings = resolvePrivacySettings(privacy, { windowSeconds: WINDOW_SECONDS });
    if (!settings.private) throw new Error('expected private settings');
    const release = releaser(privacy);
    const last = [0, 1, 2, 3].map((index) => release.release(windowAggregate(index)))[3]!.privacy;
    expect(last.mechanism).toBe('discrete-gaussian');
    expect(last.delta).toBe(1e-5);
    expect(last.epsilon).toBeCloseTo(1, 9);
    expect(last.sensitivity).toEqual({ meanOccupancyL2: Math.sqrt(10_002) / 100, peakOccupancyL2: Math.sqrt(3), crossingsL2: 1 });
    // Four releases of (1, 1e-5) add up in ρ, not in ε: about 2.04, not 4.
    const rhoPerRelease = Number(settings.costPerRelease.zcdpRho.numerator) / Number(settings.costPerRelease.zcdpRho.denominator);
    expect(last.budget.epsilonSpent).toBeCloseTo(zcdpToEpsilon(4 * rhoPerRelease, 1e-5), 9);
    expect(last.budget.epsilonSpent).toBeLessThan(2.1);
  });

  it('refuse an aggregate whose zones or lines differ from the configured ones', () => {
    const release = releaser({ epsilon: 1, epsilonPerPeriod: 10 });
    expect(() => release.release(windowAggregate(0, ['pavement', 'road']))).toThrow(/not configured: road/);
    expect(() => release.release(windowAggregate(0, ['pavement'], []))).toThrow(/missing: door/);
  });

  it('refuse to be created without a ledger, or with nothing to release', () => {
    expect(() => releaser({ epsilon: 1 }, { ledger: undefined })).toThrow(/needs a ledger/);
    expect(() => releaser({ epsilon: 1 }, { zones: [], lines: [] })).toThrow(/nothing to release/);
  });

  it('release only the configured classes', () => {
    const window = releaser({ epsilon: 'off' }, { ledger: undefined, classes: ['person'] }).release(windowAggregate(0));
    expect(Object.keys(window.zones.pavement!.classes)).toEqual(['person']);
    expect(Object.keys(window.lines.door!.classes)).toEqual(['person']);
  });
});
