/**
 * The release stage: the one place where a window's exact aggregates become something that may leave the process.
 *
 *   const releaser = createReleaser({ plan, camera: 'gate-1', zones, lines, groups, ledger, clockOffsetSeconds: 0, monotonic: true });
 *   const released = releaser.release(windowAggregate);   // status 'released' or 'withheld'
 *
 * For each window: charge the span of footage it covers in the ledger first (write-ahead: on disk before anything
 * is returned), and if an event touching that span has no budget left, withhold it; otherwise add exact integer noise
 * to every value of every statistic the plan releases at this window length, each with its own noise parameter.
 * Nothing is clamped, rounded up or summed here: released values are unbiased (stages/released.ts).
 */
import { classesOf, type CountedClass } from '../models/detection.ts';
import type { WindowAggregate } from './aggregates.ts';
import type { Ledger, SpanBudget } from './privacy/ledger.ts';
import { sampleNoise, type NoiseMechanism } from './privacy/noiseScale.ts';
import { windowCost, type ReleaseBreakdown, type ReleasePlan, type Statistic, type StatisticRelease } from './privacy/settings.ts';
import { MEAN_OCCUPANCY_STEPS_PER_OBJECT, quantiseMeanOccupancy } from './privacy/sensitivity.ts';
import { releasedWindowSchema, type PrivacyBlock, type ReleasedClass, type ReleasedWindow, type StatisticTerms } from './released.ts';
import type { ClassGroups } from './window.ts';

export interface ReleaserOptions {
  plan: ReleasePlan;
  camera: string;
  zones: ReadonlyArray<{ name: string; areaSquareMetres?: number }>;
  lines: ReadonlyArray<{ name: string }>;
  /** The released cells (the analysis's class groups): their keys must be the aggregate's. */
  groups: ClassGroups;
  /** Required unless the plan is for calibration (`epsilon: "off"`), which spends nothing. */
  ledger?: Ledger;
  /**
   * Added to a window's bounds to place it in the camera's own clock for the ledger: 0 live (windows are Unix time),
   * the recording's start (Unix seconds) in batch, where windows are clip seconds.
   */
  clockOffsetSeconds: number;
  /** Live: refuse windows before what was already released (a clock set backwards). */
  monotonic: boolean;
}

export interface Releaser {
  release(aggregate: WindowAggregate): ReleasedWindow;
}

/** Noise for one statistic at one window length: how to draw it and what the block states about it. */
interface StatisticNoise {
  draw(exact: bigint): bigint;
  terms: StatisticTerms;
}

/**
 * The cells a release holds, as class groups for the window stage: with breakdown "category", people and vehicles
 * (each one noise draw); with "class", every counted class on its own.
 */
export function releasedGroups(breakdown: ReleaseBreakdown, classes: readonly CountedClass[]): ClassGroups {
  if (breakdown === 'class') return Object.fromEntries(classes.map((name) => [name, [name]]));
  const groups: Record<string, CountedClass[]> = {};
  for (const category of ['person', 'vehicle'] as const) {
    const members = classesOf(category, classes);
    if (members.length > 0) groups[category] = members;
  }
  return groups;
}

type WindowNoise = Partial<Record<Statistic, StatisticNoise>>;

function checkNames(what: 'zone' | 'line' | 'class group', configured: readonly string[], found: readonly string[]): void {
  const missing = configured.filter((name) => !found.includes(name));
  const unexpected = found.filter((name) => !configured.includes(name));
  if (missing.length > 0 || unexpected.length > 0) {
    throw new Error(
      `window aggregate does not match the releaser's ${what}s (missing: ${missing.join(', ') || 'none'}; ` +
        `not configured: ${unexpected.join(', ') || 'none'}): the sensitivity was derived for the configured ${what}s only`,
    );
  }
}

/** Calibration: values go out exact, and the block says nothing was noised or spent. */
const EXACT: StatisticNoise = { draw: (exact) => exact, terms: { epsilon: 0, sensitivity: 0, standardDeviation: 0 } };

function noiseFor(mechanism: NoiseMechanism, release: StatisticRelease): StatisticNoise {
  const unitsPerObject = release.statistic === 'meanOccupancy' ? MEAN_OCCUPANCY_STEPS_PER_OBJECT : 1;
  const sensitivity = mechanism === 'discrete-laplace' ? release.sensitivity.l1 : Math.sqrt(release.sensitivity.l2Squared);
  return {
    draw: (exact) => exact + sampleNoise(mechanism, release.noiseParameter),
    terms: { epsilon: release.epsilon, sensitivity: sensitivity / unitsPerObject, standardDeviation: release.standardDeviation },
  };
}

/**
 * Creates the releaser for one camera. Throws when the plan is private but no ledger is given, when the camera id
 * is empty, or (per window) when an aggregate's zones, lines or class groups differ from the configured ones, or its
 * window length is not one the plan releases.
 */
export function createReleaser(options: ReleaserOptions): Releaser {
  const { plan, camera, zones, lines, groups, ledger } = options;
  const groupKeys = Object.keys(groups) as ReleasedClass[];
  if (camera.length === 0) throw new Error('createReleaser: a camera id is needed; the budget is kept per camera');
  if (groupKeys.length === 0) throw new Error('createReleaser: no classes to release; configure at least one counted class');
  if (plan.private && !ledger) throw new Error('createReleaser: a private release needs a ledger (openLedger) to charge its budget to');

  /** The noise of each statistic released in windows of this length. */
  function statisticsAt(windowSeconds: number): WindowNoise {
    const noise: WindowNoise = {};
    if (!plan.private) {
      for (const release of plan.statistics) if (release.windowSeconds === windowSeconds) noise[release.statistic] = EXACT;
      return noise;
    }
    for (const release of plan.statistics) if (release.windowSeconds === windowSeconds) noise[release.statistic] = noiseFor(plan.mechanism, release);
    return noise;
  }
  const byLength = new Map(plan.windowLengths.map((windowSeconds) => [windowSeconds, statisticsAt(windowSeconds)]));

  function releaseValues(aggregate: WindowAggregate, noise: WindowNoise): Pick<ReleasedWindow, 'zones' | 'lines'> {
    const released: Pick<ReleasedWindow, 'zones' | 'lines'> = { zones: {}, lines: {} };
    if (noise.peakOccupancy || noise.meanOccupancy) {
      for (const zone of zones) {
        const exact = aggregate.zones[zone.name]!;
        const classes: ReleasedWindow['zones'][string]['classes'] = {};
        for (const key of groupKeys) {
          const cell: NonNullable<(typeof classes)[ReleasedClass]> = {};
          if (noise.meanOccupancy) {
            const steps = noise.meanOccupancy.draw(quantiseMeanOccupancy(exact[key]!.meanOccupancy, aggregate.framesAnalysed));
            cell.meanOccupancy = Number(steps) / MEAN_OCCUPANCY_STEPS_PER_OBJECT;
          }
          if (noise.peakOccupancy) cell.peakOccupancy = Number(noise.peakOccupancy.draw(BigInt(exact[key]!.peakOccupancy)));
          classes[key] = cell;
        }
        released.zones[zone.name] = zone.areaSquareMetres === undefined ? { classes } : { areaSquareMetres: zone.areaSquareMetres, classes };
      }
    }
    if (noise.crossings) {
      const draw = noise.crossings.draw;
      for (const line of lines) {
        const exact = aggregate.lines[line.name]!;
        released.lines[line.name] = {
          classes: Object.fromEntries(groupKeys.map((key) => [key, { forward: Number(draw(BigInt(exact[key]!.forward))), backward: Number(draw(BigInt(exact[key]!.backward))) }])),
        };
      }
    }
    return released;
  }

  function privacyBlock(noise: WindowNoise, epsilon: number, budget: SpanBudget | undefined): PrivacyBlock {
    const statistics: PrivacyBlock['statistics'] = {};
    for (const [statistic, terms] of Object.entries(noise)) statistics[statistic as Statistic] = terms.terms;
    return {
      private: plan.private,
      mechanism: plan.private ? plan.mechanism : 'none',
      epsilon,
      delta: plan.private ? plan.delta : 0,
      rhoSeconds: plan.rhoSeconds,
      eventReachSeconds: plan.private ? plan.eventReachSeconds : plan.rhoSeconds,
      statistics,
      // Calibration spends nothing and sits outside the budget: the block says so with zeros and private: false.
      budget: budget ?? { epsilonPerEvent: 0, epsilonSpent: 0, epsilonLeft: 0 },
    };
  }

  return {
    release(aggregate) {
      checkNames('zone', zones.map((zone) => zone.name), Object.keys(aggregate.zones));
      checkNames('line', lines.map((line) => line.name), Object.keys(aggregate.lines));
      for (const cells of [...Object.values(aggregate.zones), ...Object.values(aggregate.lines)]) checkNames('class group', groupKeys, Object.keys(cells));
      const noise = byLength.get(aggregate.windowSeconds);
      if (!noise) throw new Error(`no statistic is released in windows of ${aggregate.windowSeconds} s (the plan releases ${plan.windowLengths.join(', ')} s)`);
      const window = { camera, startSeconds: aggregate.startSeconds, endSeconds: aggregate.endSeconds, windowSeconds: aggregate.windowSeconds, clock: aggregate.clock };
      if (!plan.private) return releasedWindowSchema.parse({ ...window, status: 'released', ...releaseValues(aggregate, noise), privacy: privacyBlock(noise, 0, undefined) });
      const outcome = ledger!.spend({
        camera,
        startSeconds: aggregate.startSeconds + options.clockOffsetSeconds,
        endSeconds: aggregate.endSeconds + options.clockOffsetSeconds,
        ...windowCost(plan, aggregate.windowSeconds),
        policy: plan.policy,
        monotonic: options.monotonic,
      });
      if (!outcome.granted) {
        return releasedWindowSchema.parse({ ...window, status: 'withheld', withheldReason: outcome.reason, zones: {}, lines: {}, privacy: privacyBlock({}, 0, outcome.budget) });
      }
      const epsilon = Object.values(noise).reduce((sum, terms) => sum + terms.terms.epsilon, 0);
      return releasedWindowSchema.parse({ ...window, status: 'released', ...releaseValues(aggregate, noise), privacy: privacyBlock(noise, epsilon, outcome.budget) });
    },
  };
}
