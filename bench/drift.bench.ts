/**
 * `npm run bench:drift [-- --rounds N]`: the noise floor of the drift score — how high the PSI of a window reads when
 * nothing drifted, only because its histograms are noised — for the traffic a window holds and the share of ε drift
 * takes. It decides `drift.minTracks` (docs/drift.md).
 *
 * Per setting, `rounds` windows are drawn from the baseline's own distribution (tracks put into bins at random with
 * the baseline's shares), released through the real drift release (stages/driftRelease.ts: a scratch ledger, the
 * exact samplers) at ε = 1, and compared with the baseline by the real PSI. Printed: the median and the 95th
 * percentile of the PSI, how often it passes the default threshold of 0.25 (false warnings), and the 95th percentile
 * with the usual 10⁻⁴ floor on empty bins' shares instead of Veil's 1 %.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { MAX_CROSSINGS_PER_TRACK_PER_LINE } from '../stages/lines.ts';
import { populationStabilityIndex, type DriftHistograms } from '../stages/drift.ts';
import { planDriftRelease, releaseDrift } from '../stages/driftRelease.ts';
import { openLedger } from '../stages/privacy/ledger.ts';
import { rationalFromDecimal } from '../stages/privacy/rational.ts';
import { planReleases, type PrivatePlan } from '../stages/privacy/settings.ts';
import { MAX_CLASSES_PER_TRACK_PER_WINDOW, MAX_COAST_SECONDS } from '../stages/track.ts';

/** A road seen from above, as a calibration clip might give it: scores mostly high, boxes middling. */
const BASELINE: DriftHistograms = { score: [20, 40, 80, 160, 300, 500, 600, 300], size: [30, 200, 700, 600, 200, 20] };
const TRACKS_PER_WINDOW = [100, 300, 1000, 3000];
const SHARES = [0.1, 0.2, 0.4];
const THRESHOLD = 0.25;
/** The floor for empty bins' shares usual outside Veil, printed beside Veil's (PSI_SHARE_FLOOR) to show why not. */
const USUAL_FLOOR = 1e-4;
const HOUR = 3600;

const { values } = parseArgs({ args: process.argv.slice(2), options: { rounds: { type: 'string', default: '500' } } });
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 20) throw new Error(`--rounds ${values.rounds}: expected a whole number of at least 20, e.g. 500`);

/** `tracks` tracks put into bins with the shares of `counts` (a multinomial draw, by inverse CDF). */
function drawLike(counts: readonly number[], tracks: number): number[] {
  const total = counts.reduce((a, b) => a + b, 0);
  const drawn = counts.map(() => 0);
  for (let track = 0; track < tracks; track++) {
    let u = Math.random() * total;
    let bin = 0;
    while (bin < counts.length - 1 && u >= counts[bin]!) u -= counts[bin++]!;
    drawn[bin]! += 1;
  }
  return drawn;
}

const quantile = (sorted: readonly number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
const scratch = mkdtempSync(path.join(os.platform() === 'linux' ? '/dev/shm' : os.tmpdir(), 'veil-drift-bench-'));
const ledger = openLedger(path.join(scratch, 'ledger.sqlite'), { createIfMissing: true });
try {
  console.log(`drift score of windows that did not drift, ε = 1, discrete Laplace, ${rounds} windows each (threshold ${THRESHOLD})`);
  console.log('share  s.d./bin  tracks  PSI median  PSI 95th pct  windows above threshold  95th pct with a 1e-4 floor');
  let camera = 0;
  for (const share of SHARES) {
    const plan = planReleases({ epsilon: 1 }, { zoneCount: 0, lineCount: 1, tracker: { maxCrossingsPerTrackPerLine: MAX_CROSSINGS_PER_TRACK_PER_LINE, maxClassesPerTrackPerWindow: MAX_CLASSES_PER_TRACK_PER_WINDOW, maxCoastSeconds: MAX_COAST_SECONDS }, reservedShare: rationalFromDecimal(share) }) as PrivatePlan;
    const drift = planDriftRelease(plan, rationalFromDecimal(share), HOUR);
    for (const tracks of TRACKS_PER_WINDOW) {
      camera += 1;
      const scores: number[] = [];
      const scoresAtUsualFloor: number[] = [];
      for (let round = 0; round < rounds; round++) {
        const window = { startSeconds: round * HOUR, endSeconds: (round + 1) * HOUR, windowSeconds: HOUR, histograms: { score: drawLike(BASELINE.score, tracks), size: drawLike(BASELINE.size, tracks) } };
        const released = releaseDrift({ ledger, camera: `bench-${camera}`, policy: plan.policy, drift, window });
        if (released.status !== 'released') throw new Error(`bench window ${round} withheld: ${released.reason}`);
        const larger = (floor?: number) => Math.max(...(['score', 'size'] as const).map((feature) => populationStabilityIndex(BASELINE[feature], released.histograms[feature], floor) ?? Infinity));
        scores.push(larger());
        scoresAtUsualFloor.push(larger(USUAL_FLOOR));
      }
      scores.sort((a, b) => a - b);
      scoresAtUsualFloor.sort((a, b) => a - b);
      const above = scores.filter((psi) => psi > THRESHOLD).length / rounds;
      console.log(`${share.toFixed(1).padStart(5)}  ${drift.standardDeviation.toFixed(1).padStart(8)}  ${String(tracks).padStart(6)}  ${quantile(scores, 0.5).toFixed(3).padStart(10)}  ${quantile(scores, 0.95).toFixed(3).padStart(12)}  ${(100 * above).toFixed(1).padStart(6)} %  ${quantile(scoresAtUsualFloor, 0.95).toFixed(3).padStart(26)}`);
    }
  }
} finally {
  ledger.close();
  rmSync(scratch, { recursive: true, force: true });
}
