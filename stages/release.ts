/**
 * The release stage: the one place where a window's exact aggregates become something that may leave the process.
 *
 *   const releaser = createReleaser({ settings, camera: 'gate-1', zones, lines, ledger,
 *                                     maxCrossingsPerObjectPerLine: 1, maxClassesPerObjectPerWindow: 3 });
 *   const released = releaser.release(windowAggregate);   // status 'released' or 'withheld'
 *
 * For each window: spend its cost in the ledger first (write-ahead: on disk before anything is returned), and if
 * the period's budget cannot cover it, withhold it; otherwise add exact integer noise to every statistic, then
 * post-process (vehicle totals as sums of the noised classes, clamp at 0, the optional minimum count, mean ≤ peak,
 * densities), which costs no ε.
 */
import { classesOf, COUNTED_CLASSES, type CountedClass } from '../models/detection.ts';
import type { Ledger, SpanBudget } from './privacy/ledger.ts';
import { NO_COST } from './privacy/privacyLoss.ts';
import type { PrivacySettings } from './privacy/settings.ts';
import type { WindowAggregate } from './aggregates.ts';
import { calibrateNoise, noiseStandardDeviation, type NoiseCalibration } from './privacy/noiseScale.ts';
import type { Rational } from './privacy/rational.ts';
import { releasedWindowSchema, type PrivacyBlock, type ReleasedWindow } from './released.ts';
import { MEAN_OCCUPANCY_STEPS_PER_OBJECT, quantiseMeanOccupancy, releaseSensitivity, type ReleaseSensitivity } from './privacy/sensitivity.ts';

export const BUDGET_EXHAUSTED = 'budget exhausted';

export interface ReleaserOptions {
  settings: PrivacySettings;
  camera: string;
  zones: ReadonlyArray<{ name: string; areaSquareMetres?: number }>;
  lines: ReadonlyArray<{ name: string }>;
  /** The classes released per zone and line (default: every counted class). */
  classes?: readonly CountedClass[];
  /** The tracker's bound (stages/lines.ts). */
  maxCrossingsPerObjectPerLine: number;
  /** See ReleaseStructure in stages/privacy/sensitivity.ts: 3 for Veil's tracker, which re-votes within car/bus/truck. */
  maxClassesPerObjectPerWindow: number;
  /** Required unless settings are for calibration (`epsilon: "off"`), which spends nothing. */
  ledger?: Ledger;
}

export interface Releaser {
  release(aggregate: WindowAggregate): ReleasedWindow;
}

type ZoneRelease = ReleasedWindow['zones'][string];
type LineRelease = ReleasedWindow['lines'][string];
type OccupancyRelease = NonNullable<ZoneRelease['classes'][CountedClass]>;
type CrossingRelease = NonNullable<LineRelease['classes'][CountedClass]>;

const STEPS = BigInt(MEAN_OCCUPANCY_STEPS_PER_OBJECT);

/** How the noise (if any) and the post-processing apply to one statistic. */
interface ValuePolicy {
  noise?: { calibration: NoiseCalibration; parameter: Rational };
  /** Released values below this (in the statistic's unit) become 0. */
  floor: bigint;
}

function addNoise(exact: bigint, policy: ValuePolicy): bigint {
  return policy.noise ? exact + policy.noise.calibration.sample(policy.noise.parameter) : exact;
}

/** Post-processing of a noised value: below zero or the minimum count it is released as 0. */
function clampForRelease(noised: bigint, policy: ValuePolicy): bigint {
  return noised < policy.floor || noised < 0n ? 0n : noised;
}

/**
 * Vehicle totals add the classes' noised values BEFORE each is clamped at 0: clamping first would add the positive
 * part of every class's noise (five classes' worth, per window) to the total, a bias far larger than the counts on a
 * quiet road. Summing released values is post-processing either way and costs no ε.
 */
function sumOfNoised(values: Iterable<bigint>): bigint {
  let total = 0n;
  for (const value of values) total += value;
  return total;
}

function sensitivityRecord(sensitivity: ReleaseSensitivity, norm: 'L1' | 'L2'): Record<string, number> {
  const measure = (statistic: { l1: number; l2Squared: number }) => (norm === 'L1' ? statistic.l1 : Math.sqrt(statistic.l2Squared));
  return {
    [`meanOccupancy${norm}`]: measure(sensitivity.meanOccupancySteps) / MEAN_OCCUPANCY_STEPS_PER_OBJECT,
    [`peakOccupancy${norm}`]: measure(sensitivity.peakOccupancy),
    [`crossings${norm}`]: measure(sensitivity.crossings),
  };
}

function checkNames(what: 'zone' | 'line', configured: readonly string[], found: readonly string[]): void {
  const missing = configured.filter((name) => !found.includes(name));
  const unexpected = found.filter((name) => !configured.includes(name));
  if (missing.length > 0 || unexpected.length > 0) {
    throw new Error(
      `window aggregate does not match the releaser's ${what}s (missing: ${missing.join(', ') || 'none'}; ` +
        `not configured: ${unexpected.join(', ') || 'none'}): the sensitivity was derived for the configured ${what}s only`,
    );
  }
}

/** The period part of the ledger's answer, in the privacy block's shape (the release spends with a period cap). */
function periodBudget(budget: SpanBudget): PrivacyBlock['budget'] {
  const epsilonPerPeriod = budget.epsilonPerPeriod ?? 0;
  const epsilonSpent = budget.epsilonSpentInPeriod ?? 0;
  return { periodSeconds: budget.periodSeconds ?? 0, epsilonPerPeriod, epsilonSpent, epsilonLeft: Math.max(0, epsilonPerPeriod - epsilonSpent) };
}

export function createReleaser(options: ReleaserOptions): Releaser {
  const { settings, camera, zones, lines, ledger } = options;
  const classes = options.classes ?? COUNTED_CLASSES;
  if (camera.length === 0) throw new Error('createReleaser: a camera id is needed; the budget is kept per camera');
  if (zones.length + lines.length === 0) throw new Error('createReleaser: nothing to release; configure at least one zone or counting line');
  if (classes.length === 0) throw new Error('createReleaser: no classes to release; configure at least one counted class');
  const vehicleClasses = classesOf('vehicle', classes);
  const sensitivity = releaseSensitivity({
    zoneCount: zones.length,
    lineCount: lines.length,
    classCount: classes.length,
    maxCrossingsPerObjectPerLine: options.maxCrossingsPerObjectPerLine,
    maxClassesPerObjectPerWindow: options.maxClassesPerObjectPerWindow,
  });
  const minimumObjects = BigInt(settings.minimumCount ?? 0);
  const calibration = settings.private ? calibrateNoise(settings.mechanism, settings.costPerRelease, sensitivity) : undefined;
  if (settings.private && !ledger) throw new Error('createReleaser: a private release needs a ledger (openLedger) to spend its budget from');
  const meanPolicy: ValuePolicy = {
    ...(calibration && { noise: { calibration, parameter: calibration.meanOccupancySteps } }),
    floor: minimumObjects * STEPS,
  };
  const countPolicy: ValuePolicy = {
    ...(calibration && { noise: { calibration, parameter: calibration.objects } }),
    floor: minimumObjects,
  };

  function releaseZone(aggregate: WindowAggregate, zone: ReleaserOptions['zones'][number]): ZoneRelease {
    const area = zone.areaSquareMetres;
    const occupancy = (meanSteps: bigint, peak: bigint): OccupancyRelease => {
      const meanOccupancy = Number(meanSteps) / MEAN_OCCUPANCY_STEPS_PER_OBJECT;
      const peakOccupancy = Number(peak);
      return area === undefined
        ? { meanOccupancy, peakOccupancy }
        : { meanOccupancy, peakOccupancy, meanDensityPerSquareMetre: meanOccupancy / area, peakDensityPerSquareMetre: peakOccupancy / area };
    };
    const exact = aggregate.zones[zone.name]!;
    const noised = new Map<CountedClass, { meanSteps: bigint; peak: bigint }>();
    for (const name of classes) {
      noised.set(name, {
        meanSteps: addNoise(quantiseMeanOccupancy(exact[name].meanOccupancy, aggregate.framesAnalysed), meanPolicy),
        peak: addNoise(BigInt(exact[name].peakOccupancy), countPolicy),
      });
    }
    // Post-processing only (no ε): clamp, then a mean never exceeds its own peak.
    const release = (value: { meanSteps: bigint; peak: bigint }) => {
      const peak = clampForRelease(value.peak, countPolicy);
      const meanSteps = clampForRelease(value.meanSteps, meanPolicy);
      return occupancy(meanSteps < peak * STEPS ? meanSteps : peak * STEPS, peak);
    };
    const result: ZoneRelease = { classes: {} };
    if (area !== undefined) result.areaSquareMetres = area;
    for (const [name, value] of noised) result.classes[name] = release(value);
    if (vehicleClasses.length > 0) {
      // The peak total is the sum of per-class peaks: an upper bound on the peak of the total.
      const vehicles = vehicleClasses.map((name) => noised.get(name)!);
      result.classes.vehicle = release({ meanSteps: sumOfNoised(vehicles.map((v) => v.meanSteps)), peak: sumOfNoised(vehicles.map((v) => v.peak)) });
    }
    return result;
  }

  function releaseLine(aggregate: WindowAggregate, line: string): LineRelease {
    const exact = aggregate.lines[line]!;
    const noised = new Map(classes.map((name) => [name, { forward: addNoise(BigInt(exact[name].forward), countPolicy), backward: addNoise(BigInt(exact[name].backward), countPolicy) }]));
    const release = (value: { forward: bigint; backward: bigint }): CrossingRelease => ({
      forward: Number(clampForRelease(value.forward, countPolicy)),
      backward: Number(clampForRelease(value.backward, countPolicy)),
    });
    const result: LineRelease = { classes: {} };
    for (const [name, value] of noised) result.classes[name] = release(value);
    if (vehicleClasses.length > 0) {
      const vehicles = vehicleClasses.map((name) => noised.get(name)!);
      result.classes.vehicle = release({ forward: sumOfNoised(vehicles.map((v) => v.forward)), backward: sumOfNoised(vehicles.map((v) => v.backward)) });
    }
    return result;
  }

  function privacyBlock(epsilon: number, budget: PrivacyBlock['budget']): PrivacyBlock {
    return {
      private: settings.private,
      mechanism: settings.private ? settings.mechanism : 'none',
      epsilon,
      delta: settings.private ? settings.delta : 0,
      sensitivity: sensitivityRecord(sensitivity, settings.private && settings.mechanism === 'discrete-gaussian' ? 'L2' : 'L1'),
      rhoSeconds: settings.rhoSeconds,
      budget,
      ...(settings.minimumCount === undefined ? {} : { minimumCount: settings.minimumCount }),
      ...(settings.private && calibration ? { noiseStandardDeviation: Number(noiseStandardDeviation(settings.mechanism, calibration).toFixed(2)) } : {}),
    };
  }

  return {
    release(aggregate) {
      checkNames('zone', zones.map((zone) => zone.name), Object.keys(aggregate.zones));
      checkNames('line', lines.map((line) => line.name), Object.keys(aggregate.lines));
      const window = { camera, startSeconds: aggregate.startSeconds, endSeconds: aggregate.endSeconds, clock: aggregate.clock };
      let privacy: PrivacyBlock;
      if (settings.private) {
        const { periodSeconds, epsilonPerPeriod, delta } = settings.budget;
        const outcome = ledger!.spend({
          camera,
          startSeconds: aggregate.startSeconds,
          endSeconds: aggregate.endSeconds,
          eventCost: settings.costPerRelease,
          instantCost: NO_COST,
          policy: { mechanism: settings.mechanism, epsilonPerEvent: settings.epsilonPerEvent, eventReachSeconds: settings.rhoSeconds, delta, periodSeconds, epsilonPerPeriod },
        });
        if (!outcome.granted) {
          return releasedWindowSchema.parse({
            ...window,
            status: 'withheld',
            withheldReason: BUDGET_EXHAUSTED,
            zones: {},
            lines: {},
            privacy: privacyBlock(0, periodBudget(outcome.budget)),
          });
        }
        privacy = privacyBlock(settings.epsilonPerRelease, periodBudget(outcome.budget));
      } else {
        // Calibration spends nothing and sits outside the budget: the block says so with zeros and private: false.
        privacy = privacyBlock(0, { periodSeconds: settings.periodSeconds, epsilonPerPeriod: 0, epsilonSpent: 0, epsilonLeft: 0 });
      }
      return releasedWindowSchema.parse({
        ...window,
        status: 'released',
        zones: Object.fromEntries(zones.map((zone) => [zone.name, releaseZone(aggregate, zone)])),
        lines: Object.fromEntries(lines.map((line) => [line.name, releaseLine(aggregate, line.name)])),
        privacy,
      });
    },
  };
}
