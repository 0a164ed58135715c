/**
 * `npm run bench:privacy [-- --rounds N]`: how readable Veil's private numbers are at the default settings, measured
 * by re-noising real exact aggregates many times through the real release stage and ledger.
 *
 *   1. The overpass clip (../shared/footage) is analysed once without noise, with its labelled counting line as the
 *      only statistic (a one-line config): the exact 15-minute window a traffic engineer reads.
 *   2. That window is released `rounds` times, each at a span of its own (so the ledger grants each), and the
 *      released vehicles per direction are compared with the exact ones: per-window s.d. (goal ≤ 1.5).
 *   3. Four consecutive 15-minute releases summed into an hour, `rounds` times: the hourly total's s.d. (goal ≤ 3).
 *   4. A day of 96 windows on a road of 1000 vehicles/hour (250 per window, per direction), summed: the relative
 *      error of the daily total (goal < 0.5 %), as its s.d. and its 95th percentile.
 * Each figure is printed beside the s.d. the release states for it (√n law for sums), so the statement is checked too.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runBatch } from '../pipeline/batch.ts';
import { clipJobConfig, findFfmpeg, startParts } from '../pipeline/clipJob.ts';
import { labelledClip, readLabels } from '../pipeline/labels.ts';
import { createLogger } from '../pipeline/log.ts';
import { openPrivacy } from '../pipeline/privacySetup.ts';
import type { WindowAggregate } from '../stages/aggregates.ts';
import { sumFigures } from '../stages/privacy/figures.ts';
import type { ReleasedWindow } from '../stages/released.ts';

const LABELS = path.resolve(import.meta.dirname, '../../shared/labels/traffic_overpass.json');
const WINDOW_GOAL_SD = 1.5;
const HOUR_GOAL_SD = 3;
const DAY_GOAL_RELATIVE_ERROR = 0.005;
const VEHICLES_PER_HOUR = 1000;
const WINDOW_SECONDS = 900;
/** Far from any real footage's time, so the bench's spans never meet a user's. */
const BENCH_EPOCH_SECONDS = 4_000_000_000;

const { values } = parseArgs({ args: process.argv.slice(2), options: { rounds: { type: 'string', default: '2000' } } });
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 10) throw new Error(`--rounds ${values.rounds}: expected a whole number of at least 10, e.g. 2000`);
const quiet = createLogger('text', () => undefined);

const deviation = (samples: readonly number[]) => {
  const mean = samples.reduce((sum, x) => sum + x, 0) / samples.length;
  return Math.sqrt(samples.reduce((sum, x) => sum + (x - mean) ** 2, 0) / (samples.length - 1));
};
const percentile = (samples: readonly number[], p: number) => [...samples].sort((a, b) => a - b)[Math.floor(p * (samples.length - 1))]!;
const vehicles = (window: ReleasedWindow, line: string, direction: 'forward' | 'backward') => window.lines[line]!.classes.vehicle![direction];

const labels = await readLabels(LABELS);
const line = labels.lines[0]!;
const clip = labelledClip(LABELS, labels);
if (!clip) throw new Error(`${LABELS} names no clip`);
const config = await clipJobConfig({ window: String(WINDOW_SECONDS) }, {});
const lineOnly = { ...config, zones: [], lines: [{ name: line.name, from: line.from, to: line.to }] };
const stateDir = await mkdtemp(path.join(os.tmpdir(), 'veil-bench-privacy-'));
const privacy = openPrivacy({ stateDir, createLedger: true, log: quiet });
const parts = await startParts(config, await findFfmpeg(undefined, quiet), quiet);
try {
  // 1. The exact aggregate, as calibration sees it.
  const probe = privacy.releaserFor({ id: 'bench-exact', ...lineOnly }, { clockOffsetSeconds: 0, monotonic: false });
  const exactRun = await runBatch<WindowAggregate>({
    input: clip,
    ffmpeg: parts.ffmpeg,
    detector: parts.detector,
    analysis: { ...lineOnly, windowLengths: probe.windowLengths, groups: probe.groups },
    release: (aggregate) => aggregate,
  });
  const exact = exactRun.windows[0]!;
  const exactForward = exact.lines[line.name]!.vehicle!.forward;
  const exactBackward = exact.lines[line.name]!.vehicle!.backward;

  const releaser = privacy.releaserFor({ id: 'bench-camera', ...lineOnly }, { clockOffsetSeconds: BENCH_EPOCH_SECONDS, monotonic: false });
  let slot = 0;
  /** Releases `aggregate` as the next 15-minute window of the bench camera's clock. */
  const releaseNext = (aggregate: WindowAggregate) => {
    const start = slot++ * WINDOW_SECONDS;
    const window = releaser.release({ ...aggregate, startSeconds: start, endSeconds: start + WINDOW_SECONDS });
    if (window.status !== 'released') throw new Error(`bench window ${slot} was withheld (${window.withheldReason})`);
    return window;
  };

  // 2. One window, many times.
  const windows = Array.from({ length: rounds }, () => releaseNext(exact));
  const stated = windows[0]!.privacy.statistics.crossings!.standardDeviation;
  const forwardErrors = windows.map((w) => vehicles(w, line.name, 'forward') - exactForward);
  const backwardErrors = windows.map((w) => vehicles(w, line.name, 'backward') - exactBackward);

  // 3. Hours of four windows.
  const hours = Array.from({ length: Math.ceil(rounds / 4) }, () => {
    const quarter = Array.from({ length: 4 }, () => releaseNext(exact));
    const figure = sumFigures(quarter.map((w) => ({ value: vehicles(w, line.name, 'forward'), standardDeviation: w.privacy.statistics.crossings!.standardDeviation })));
    return { error: figure.value - 4 * exactForward, statedSd: figure.standardDeviation };
  });

  // 4. Days of 96 windows at 250 vehicles per window and direction.
  const busy: WindowAggregate = { ...exact, lines: { [line.name]: { ...exact.lines[line.name]!, vehicle: { forward: VEHICLES_PER_HOUR / 4, backward: VEHICLES_PER_HOUR / 4 } } } };
  const dayTotal = 96 * (VEHICLES_PER_HOUR / 4);
  const dayErrors = Array.from({ length: Math.max(10, Math.ceil(rounds / 96)) }, () => {
    const day = Array.from({ length: 96 }, () => releaseNext(busy));
    return Math.abs(day.reduce((sum, w) => sum + vehicles(w, line.name, 'forward'), 0) - dayTotal) / dayTotal;
  });

  const row = (name: string, measured: string, statedText: string, goal: string, ok: boolean) => `  ${name.padEnd(34)} ${measured.padStart(10)}   stated ${statedText.padStart(7)}   goal ${goal.padEnd(8)} ${ok ? 'met' : 'NOT MET'}`;
  const windowSd = Math.max(deviation(forwardErrors), deviation(backwardErrors));
  const hourSd = deviation(hours.map((h) => h.error));
  const daySd = Math.sqrt(dayErrors.reduce((sum, e) => sum + e * e, 0) / dayErrors.length);
  process.stdout.write(
    [
      '',
      `Veil privacy bench — defaults (ε = 1, discrete Laplace, one line: ${line.name}), overpass clip, ${rounds} rounds`,
      `  exact window: ${exactForward} vehicles forward, ${exactBackward} backward`,
      row('per-window s.d., vehicles/direction', windowSd.toFixed(3), stated.toFixed(3), `≤ ${WINDOW_GOAL_SD}`, windowSd <= WINDOW_GOAL_SD),
      row('hourly total s.d. (4 windows)', hourSd.toFixed(3), hours[0]!.statedSd.toFixed(3), `≤ ${HOUR_GOAL_SD}`, hourSd <= HOUR_GOAL_SD),
      row(`daily total rel. error (${VEHICLES_PER_HOUR}/h) rms`, `${(100 * daySd).toFixed(4)} %`, `${((100 * stated * Math.sqrt(96)) / dayTotal).toFixed(4)} %`, `< ${100 * DAY_GOAL_RELATIVE_ERROR} %`, daySd < DAY_GOAL_RELATIVE_ERROR),
      `  daily total rel. error, 95th percentile: ${(100 * percentile(dayErrors, 0.95)).toFixed(4)} %`,
      `  mean per-window error (bias): forward ${(forwardErrors.reduce((s, e) => s + e, 0) / rounds).toFixed(3)}, backward ${(backwardErrors.reduce((s, e) => s + e, 0) / rounds).toFixed(3)}`,
      '',
    ].join('\n'),
  );
} finally {
  privacy.close();
  await parts.detector.close();
  await rm(stateDir, { recursive: true, force: true });
}
