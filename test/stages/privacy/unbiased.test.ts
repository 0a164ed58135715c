/**
 * Released values are unbiased: nothing is clamped at 0 before anyone sums them (issue 8, "figures that add up").
 * On a one-way road the backward count is 0 in every window; a clamp would turn each release's negative noise
 * into 0 and the sum of many windows into traffic that never was.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { openLedger, type Ledger } from '../../../stages/privacy/ledger.ts';
import { planReleases } from '../../../stages/privacy/settings.ts';
import { createReleaser, releasedGroups } from '../../../stages/release.ts';
import { TRACKER } from '../../helpers/releasedReport.ts';

const RELEASES = 10_000;
const WINDOW_SECONDS = 60;

let directory: string;
let ledger: Ledger;

beforeEach(() => {
  // 10 000 spends, each fsynced: on a RAM-backed folder, when there is one, that takes seconds.
  directory = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'veil-unbiased-'));
  ledger = openLedger(join(directory, 'ledger'), { createIfMissing: true });
});

afterEach(() => {
  ledger.close();
  rmSync(directory, { recursive: true, force: true });
});

it('releases backward counts on a zero-count line whose mean over 10 000 windows is within 3 standard errors of 0', () => {
  // One line, no zone, cars only: the whole ε = 1 goes to crossings, one vehicle draw per direction per window.
  const plan = planReleases({ epsilon: 1, releases: [{ statistic: 'crossings', windowSeconds: WINDOW_SECONDS, share: 1 }] }, { zoneCount: 0, lineCount: 1, tracker: TRACKER });
  const releaser = createReleaser({ plan, camera: 'one-way', zones: [], lines: [{ name: 'road' }], groups: releasedGroups(plan.breakdown, ['car']), ledger, clockOffsetSeconds: 1_764_403_200, monotonic: true });
  const backward: number[] = [];
  let statedDeviation = 0;
  // Consecutive windows share no instant, and a track adds at most one crossing per line over its whole visit, so
  // each window's crossings are charged to its own instants (parallel composition): none is withheld.
  for (let index = 0; index < RELEASES; index += 1) {
    const startSeconds = index * WINDOW_SECONDS;
    const window = releaser.release({
      startSeconds,
      endSeconds: startSeconds + WINDOW_SECONDS,
      windowSeconds: WINDOW_SECONDS,
      clock: 'clip',
      framesAnalysed: 120,
      zones: {},
      lines: { road: { vehicle: { forward: 40, backward: 0 } } },
    });
    expect(window.status).toBe('released');
    backward.push(window.lines.road!.classes.vehicle!.backward);
    statedDeviation = window.privacy.statistics.crossings!.standardDeviation;
  }
  // The discrete Laplace with scale t = Δ/ε = 1/1 has variance 2e^(−1/t) / (1 − e^(−1/t))² (Canonne, Kamath &
  // Steinke 2020, the two-sided geometric): 2e⁻¹ / (1 − e⁻¹)² = 1.8413…, so one value's s.d. is 1.3570… and the mean
  // of 10 000 has standard error 0.013570.
  const standardError = Math.sqrt((2 * Math.exp(-1)) / (1 - Math.exp(-1)) ** 2) / Math.sqrt(RELEASES);
  expect(standardError).toBeCloseTo(0.01357, 5);
  expect(statedDeviation * 100).toBeCloseTo(standardError * Math.sqrt(RELEASES) * 100, 6);
  const mean = backward.reduce((sum, value) => sum + value, 0) / RELEASES;
  expect(Math.abs(mean)).toBeLessThan(3 * standardError);
  // About 27% of draws are below 0 (P(X < 0) = e⁻¹/(1 + e⁻¹) = 0.2689 for t = 1): a clamp would leave none.
  expect(backward.filter((value) => value < 0).length / RELEASES).toBeGreaterThan(0.25);
}, 300_000);
