/**
 * What a box hands to secure aggregation for one window of one statistic: the ledger of every contributing camera is
 * charged first, exactly as for a release of that camera's own (stages/release.ts), and only a span granted on all
 * of them gets the box's noise share added.
 *
 *   const sensitivity = crossingsVectorSensitivity(linesSummedOnTheBox, tracker.maxCrossingsPerTrackPerLine);
 *   const noise = planDistributedNoise({ sensitivity, cost: release.cost, boxes, dropoutsTolerated, coordinates: 2 * groups.length });
 *   const exact = crossingsVector([{ aggregate: roadWindow, lines: ['into-town'] }, { aggregate: bridgeWindow, lines: ['across'] }], groups);
 *   const contribution = prepareContribution({ ledger, cameras: [{ camera, policy: plan.policy, release }, …], startSeconds, endSeconds, exact, noise });
 *   if (contribution.granted) await rounds.contribute(roundId, contribution.values);   // streams/mqtt/secureAggregationBox.ts
 *
 * The charge is the statistic's own cost (its StatisticRelease), to the instants of the span for crossings and to
 * every event meeting it for occupancy, so each camera's ledger composes it with everything else released about the
 * same footage: a window one of the cameras already released at its full share has no budget left for a district
 * total, and the box then stays out of the round (to the others, a dropout), charging none of them.
 */
import type { WindowAggregate } from '../aggregates.ts';
import type { DistributedNoisePlan } from './distributedNoise.ts';
import { noiseShares } from './distributedNoise.ts';
import type { Ledger, SpanBudget, SpanPolicy, WithheldReason } from './ledger.ts';
import { NO_COST } from './privacyLoss.ts';
import type { StatisticSensitivity } from './sensitivity.ts';
import type { StatisticRelease } from './settings.ts';

/** One camera whose footage the box's vector rests on, and how its ledger is charged for it. */
export interface ContributingCamera {
  camera: string;
  /** The camera's plan's policy (PrivatePlan.policy). */
  policy: SpanPolicy;
  /** The statistic's release in the camera's plan: its cost and how it is charged. */
  release: StatisticRelease;
}

export interface ContributionRequest {
  /** The box's ledger, which holds every contributing camera's spans. */
  ledger: Ledger;
  /** Every camera whose counts are in `exact`, each charged for the whole span; at least one. */
  cameras: readonly ContributingCamera[];
  /** The window's span in the camera's clock, seconds, as the release stage charges it. */
  startSeconds: number;
  endSeconds: number;
  /** Live mode: refuse a span before the latest one granted (a clock set backwards). */
  monotonic?: boolean;
  /** The exact counts summed over the cameras, in the order of the district's vector. */
  exact: readonly bigint[];
  noise: DistributedNoisePlan;
}

/** Granted: the values and each camera's budget after the charge, in `cameras` order. Refused: the first camera without budget. */
export type Contribution = { granted: true; values: bigint[]; budgets: SpanBudget[] } | { granted: false; camera: string; reason: WithheldReason; budget: SpanBudget };

/**
 * Charges every contributing camera's ledger for the window, all or none (Ledger.spendAll), and returns the exact
 * counts plus this box's noise shares (one share for the box's vector, however many cameras it sums), or the first
 * camera whose span has no budget left and the ledger's reason (nothing is charged then). Throws an Error when
 * `exact` does not have the noise plan's length or no camera is named, and whatever Ledger.spendAll throws (an
 * invalid span, a changed policy).
 */
export function prepareContribution(request: ContributionRequest): Contribution {
  const { ledger, cameras, startSeconds, endSeconds, monotonic, exact, noise } = request;
  const names = cameras.map(({ camera }) => `"${camera}"`).join(', ');
  if (cameras.length === 0) throw new Error('a contribution rests on at least one camera\'s footage: name the cameras to charge');
  if (exact.length !== noise.coordinates) throw new Error(`the vector of camera ${names} has ${exact.length} values, a district vector ${noise.coordinates}`);
  const outcome = ledger.spendAll(
    cameras.map(({ camera, policy, release }) => ({
      camera,
      startSeconds,
      endSeconds,
      eventCost: release.charge === 'event' ? release.cost : NO_COST,
      instantCost: release.charge === 'instant' ? release.cost : NO_COST,
      policy,
      monotonic,
    })),
  );
  if (!outcome.granted) return { granted: false, camera: cameras[outcome.refused]!.camera, reason: outcome.reason, budget: outcome.budget };
  const shares = noiseShares(noise);
  return { granted: true, values: exact.map((count, index) => count + shares[index]!), budgets: outcome.budgets };
}

/** One camera's window and the lines of it that count for the district. */
export interface CameraCrossings {
  aggregate: WindowAggregate;
  lines: readonly string[];
}

/**
 * A box's crossings as a district vector, the same layout on every box: for each class group in `groups` order,
 * forward then backward, summed over every camera's `lines` that count for the district (one camera, or several
 * cameras' windows of the same span). Throws an Error naming a line or group a window does not have.
 */
export function crossingsVector(cameras: readonly CameraCrossings[], groups: readonly string[]): bigint[] {
  return groups.flatMap((group) => {
    let forward = 0;
    let backward = 0;
    for (const { aggregate, lines } of cameras) {
      for (const line of lines) {
        const counts = aggregate.lines[line]?.[group];
        if (!counts) throw new Error(`the window has no crossings of line "${line}" for "${group}": the district names a line or class group this camera does not count`);
        forward += counts.forward;
        backward += counts.backward;
      }
    }
    return [BigInt(forward), BigInt(backward)];
  });
}

/**
 * The sensitivity of a box's crossings vector (crossingsVector, one camera or several): one person adds at
 * most m crossings to each of the L lines the box sums — L counts every line on every contributing camera, since one
 * person may be seen by several cameras of the box — and summing lines puts all of them in the same two cells of their
 * class group, so L1 = L·m and L2² ≤ (L·m)² (not the L·m² of per-line values, stages/privacy/sensitivity.ts).
 * `lineCount` is L, `maxCrossingsPerTrackPerLine` m (stages/lines.ts).
 */
export function crossingsVectorSensitivity(lineCount: number, maxCrossingsPerTrackPerLine: number): StatisticSensitivity {
  const l1 = lineCount * maxCrossingsPerTrackPerLine;
  return { l1, l2Squared: l1 * l1 };
}
