/**
 * The drift histograms' release with a real ledger on disk: the share of ε it takes from the plan, what it charges,
 * when it is withheld, and that every bin it returns carries noise of the spread it states. Expected values come
 * from the discrete Laplace's and Gaussian's formulas, computed here.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { WindowAggregate } from '../../stages/aggregates.ts';
import type { DriftWindow } from '../../stages/drift.ts';
import { planDriftRelease, releaseDrift } from '../../stages/driftRelease.ts';
import { openLedger, type Ledger } from '../../stages/privacy/ledger.ts';
import { rational, rationalFromDecimal, toNumber } from '../../stages/privacy/rational.ts';
import { planReleases, PrivacyConfigError, type PrivatePlan, type ReleaseStructureInput } from '../../stages/privacy/settings.ts';
import { createReleaser } from '../../stages/release.ts';

const TRACKER = { maxCrossingsPerTrackPerLine: 1, maxClassesPerTrackPerWindow: 1, maxCoastSeconds: 3 };
const TENTH = rationalFromDecimal(0.1);
const LINE_AND_ZONE: ReleaseStructureInput = { zoneCount: 1, lineCount: 1, tracker: TRACKER, reservedShare: TENTH };

/** s.d. of the discrete Laplace with scale b: p = e^(−1/b), Var = 2p/(1 − p)². */
const laplaceDeviation = (scale: number) => Math.sqrt((2 * Math.exp(-1 / scale)) / (1 - Math.exp(-1 / scale)) ** 2);

const plan = (settings: object, structure = LINE_AND_ZONE) => planReleases(settings, structure) as PrivatePlan;

const HOUR: DriftWindow = { startSeconds: 0, endSeconds: 3600, windowSeconds: 3600, histograms: { score: [0, 3, 5, 8, 13, 21, 34, 55], size: [2, 9, 30, 40, 6, 1] } };

let directory: string;
let ledger: Ledger;
beforeEach(() => {
  directory = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'veil-drift-'));
  ledger = openLedger(join(directory, 'ledger.sqlite'), { createIfMissing: true });
});
afterEach(() => {
  ledger.close();
  rmSync(directory, { recursive: true, force: true });
});

describe('a share of ε kept for drift', () => {
  it('scales the default shares to leave it: 1/2, 1/4, 1/4 of 0.9', () => {
    const shares = plan({}).statistics.map((release) => [release.statistic, toNumber(release.share)]);
    expect(shares).toEqual([['crossings', 0.45], ['peakOccupancy', 0.225], ['meanOccupancy', 0.225]]);
  });

  it('refuses explicit releases that leave less than it, and a share of 1 or more', () => {
    const releases = [{ statistic: 'crossings', windowSeconds: 900, share: 0.95 }];
    expect(() => plan({ releases })).toThrow('the shares add up to 1.05 with the 0.1 kept for drift, more than the whole ε: make them add up to at most 0.9');
    expect(plan({ releases: [{ ...releases[0], share: 0.9 }] }).statistics).toHaveLength(1);
    expect(() => plan({}, { ...LINE_AND_ZONE, reservedShare: rational(1n) })).toThrow(PrivacyConfigError);
  });
});

describe('planDriftRelease', () => {
  it('Laplace: ε_drift = share·ε and scale 2/ε_drift (one track adds 1 to a bin of each histogram)', () => {
    const drift = planDriftRelease(plan({ epsilon: 1 }), TENTH, 3600);
    expect(drift.epsilon).toBeCloseTo(0.1, 15);
    expect(toNumber(drift.noiseParameter)).toBeCloseTo(2 / 0.1, 12);
    expect(drift.standardDeviation).toBeCloseTo(laplaceDeviation(20), 12);
    expect(drift.cost.zcdpRho.numerator).toBe(0n);
  });

  it('Gaussian: ρ_drift = share·ρ(ε, δ) and σ² = 2/(2ρ_drift)', () => {
    const gaussian = plan({ epsilon: 1, mechanism: 'discrete-gaussian', delta: 1e-6 });
    const rho = (1 / (Math.sqrt(Math.log(1e6) + 1) + Math.sqrt(Math.log(1e6)))) ** 2;
    const drift = planDriftRelease(gaussian, TENTH, 3600);
    expect(toNumber(drift.cost.zcdpRho)).toBeCloseTo(0.1 * rho, 12);
    expect(drift.standardDeviation).toBeCloseTo(Math.sqrt(2 / (2 * 0.1 * rho)), 6);
    // Its ε at δ: ρ + 2√(ρ ln(1/δ)) (Bun & Steinke 2016, Prop. 1.3).
    expect(drift.epsilon).toBeCloseTo(0.1 * rho + 2 * Math.sqrt(0.1 * rho * Math.log(1e6)), 9);
  });

  it('refuses a share outside (0, 1) and a window that is not a positive length', () => {
    expect(() => planDriftRelease(plan({}), rational(0n), 3600)).toThrow('drift.share must be above 0 and below 1');
    expect(() => planDriftRelease(plan({}), rational(1n), 3600)).toThrow('drift.share must be above 0 and below 1');
    expect(() => planDriftRelease(plan({}), TENTH, 0)).toThrow('drift.windowSeconds must be a positive number');
  });
});

describe('releaseDrift', () => {
  const camera = 'gate';

  it('charges the hour to its instants next to the camera\'s own windows, and withholds a second release of it', () => {
    const cameraPlan = plan({ epsilon: 1 }, { zoneCount: 0, lineCount: 1, tracker: TRACKER, reservedShare: TENTH });
    const drift = planDriftRelease(cameraPlan, TENTH, 3600);
    const releaser = createReleaser({ plan: cameraPlan, camera, zones: [], lines: [{ name: 'door' }], groups: { person: ['person'] }, ledger, clockOffsetSeconds: 0, monotonic: true });
    const crossings = (start: number): WindowAggregate => ({ startSeconds: start, endSeconds: start + 900, windowSeconds: 900, clock: 'wall', framesAnalysed: 10, zones: {}, lines: { door: { person: { forward: 1, backward: 0 } } } });
    for (let start = 0; start < 3600; start += 900) expect(releaser.release(crossings(start)).status).toBe('released');
    const first = releaseDrift({ ledger, camera, policy: cameraPlan.policy, drift, window: HOUR });
    expect(first.status).toBe('released');
    // 0.9 for crossings and 0.1 for drift at every instant of the hour: the event's whole ε.
    expect(first.budget.epsilonSpent).toBeCloseTo(1, 12);
    const again = releaseDrift({ ledger, camera, policy: cameraPlan.policy, drift, window: HOUR });
    expect(again).toMatchObject({ status: 'withheld', reason: 'span budget spent' });
    expect(again).not.toHaveProperty('histograms');
    // The next hour is other instants: granted (a track adds to one hour's histograms only).
    expect(releaseDrift({ ledger, camera, policy: cameraPlan.policy, drift, window: { ...HOUR, startSeconds: 3600, endSeconds: 7200 } }).status).toBe('released');
  });

  it('adds unbiased noise of the stated spread to every bin, never the exact counts', () => {
    // ε = 2, share 1/2: ε_drift = 1, scale 2. Hours back to back never share an instant, so every one is granted.
    const cameraPlan = plan({ epsilon: 2 }, { zoneCount: 0, lineCount: 1, tracker: TRACKER, reservedShare: rationalFromDecimal(0.5) });
    const drift = planDriftRelease(cameraPlan, rationalFromDecimal(0.5), 3600);
    const draws = 400;
    const noise: number[] = [];
    let identical = 0;
    for (let hour = 0; hour < draws; hour++) {
      const released = releaseDrift({ ledger, camera, policy: cameraPlan.policy, drift, window: { ...HOUR, startSeconds: hour * 3600, endSeconds: (hour + 1) * 3600 } });
      if (released.status !== 'released') throw new Error(`hour ${hour} withheld`);
      const exact = [...HOUR.histograms.score, ...HOUR.histograms.size];
      const values = [...released.histograms.score, ...released.histograms.size];
      if (values.every((value, bin) => value === exact[bin])) identical += 1;
      noise.push(...values.map((value, bin) => value - exact[bin]!));
    }
    const mean = noise.reduce((a, b) => a + b, 0) / noise.length;
    const deviation = Math.sqrt(noise.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (noise.length - 1));
    const expected = laplaceDeviation(2);
    // 5600 draws: the mean's s.e. is 2.9/√5600 ≈ 0.04, the s.d.'s about 0.05 (heavier tails than a normal).
    expect(Math.abs(mean)).toBeLessThan(0.2);
    expect(deviation).toBeGreaterThan(expected * 0.9);
    expect(deviation).toBeLessThan(expected * 1.1);
    // P(all 14 bins draw 0) = ((1 − p)/(1 + p))^14 with p = e^(−1/2): about 10⁻¹¹ per hour.
    expect(identical).toBe(0);
  });

  it('refuses a window of another length than the plan\'s', () => {
    const drift = planDriftRelease(plan({}), TENTH, 3600);
    expect(() => releaseDrift({ ledger, camera, policy: plan({}).policy, drift, window: { ...HOUR, windowSeconds: 60 } })).toThrow('a drift window of 60 s, but camera "gate" releases drift every 3600 s');
  });
});
