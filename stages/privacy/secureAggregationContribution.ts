/**
 * What a box hands to secure aggregation for one window of one statistic: the ledger is charged first, exactly as
 * for a release of the camera's own (stages/release.ts), and only a granted span gets its noise share added.
 *
 *   const sensitivity = crossingsVectorSensitivity(districtLines.length, tracker.maxCrossingsPerTrackPerLine);
 *   const noise = planDistributedNoise({ sensitivity, cost: release.cost, boxes, dropoutsTolerated, coordinates: 2 * groups.length });
 *   const exact = crossingsVector(aggregate, districtLines, groups);
 *   const contribution = prepareContribution({ ledger, camera, policy: plan.policy, release, startSeconds, endSeconds, exact, noise });
 *   if (contribution.granted) await rounds.contribute(roundId, contribution.values);   // streams/mqtt/secureAggregationBox.ts
 *
 * The charge is the statistic's own cost (its StatisticRelease), to the instants of the span for crossings and to
 * every event meeting it for occupancy, so the ledger composes it with everything else released about the same
 * footage: a window the camera already released at its full share has no budget left for a district total, and the
 * box then stays out of the round (to the others, a dropout).
 */
import type { WindowAggregate } from '../aggregates.ts';
import type { DistributedNoisePlan } from './distributedNoise.ts';
import { noiseShares } from './distributedNoise.ts';
import type { Ledger, SpanBudget, SpanPolicy, WithheldReason } from './ledger.ts';
import { NO_COST } from './privacyLoss.ts';
import type { StatisticSensitivity } from './sensitivity.ts';
import type { StatisticRelease } from './settings.ts';

export interface ContributionRequest {
  ledger: Ledger;
  camera: string;
  /** The camera's plan's policy (PrivatePlan.policy). */
  policy: SpanPolicy;
  /** The statistic's release in the camera's plan: its cost and how it is charged. */
  release: StatisticRelease;
  /** The window's span in the camera's clock, seconds, as the release stage charges it. */
  startSeconds: number;
  endSeconds: number;
  /** Live mode: refuse a span before the latest one granted (a clock set backwards). */
  monotonic?: boolean;
  /** The exact counts, in the order of the district's vector. */
  exact: readonly bigint[];
  noise: DistributedNoisePlan;
}

export type Contribution = { granted: true; values: bigint[]; budget: SpanBudget } | { granted: false; reason: WithheldReason; budget: SpanBudget };

/**
 * Charges the ledger for the window and returns the exact counts plus this box's noise shares, or the ledger's
 * reason when the span has no budget left (nothing is charged then). Throws an Error when `exact` does not have
 * the noise plan's length, and whatever Ledger.spend throws (an invalid span, a changed policy).
 */
export function prepareContribution(request: ContributionRequest): Contribution {
  const { ledger, camera, policy, release, startSeconds, endSeconds, monotonic, exact, noise } = request;
  if (exact.length !== noise.coordinates) throw new Error(`camera "${camera}" has ${exact.length} values for a district vector of ${noise.coordinates}`);
  const outcome = ledger.spend({
    camera,
    startSeconds,
    endSeconds,
    eventCost: release.charge === 'event' ? release.cost : NO_COST,
    instantCost: release.charge === 'instant' ? release.cost : NO_COST,
    policy,
    monotonic,
  });
  if (!outcome.granted) return { granted: false, reason: outcome.reason!, budget: outcome.budget };
  const shares = noiseShares(noise);
  return { granted: true, values: exact.map((count, index) => count + shares[index]!), budget: outcome.budget };
}

/**
 * A camera's crossings as a district vector, the same layout on every box: for each class group in `groups` order,
 * forward then backward, summed over the camera's `lines` that count for the district. Throws an Error naming a line
 * or group the window does not have.
 */
export function crossingsVector(aggregate: WindowAggregate, lines: readonly string[], groups: readonly string[]): bigint[] {
  return groups.flatMap((group) => {
    let forward = 0;
    let backward = 0;
    for (const line of lines) {
      const counts = aggregate.lines[line]?.[group];
      if (!counts) throw new Error(`the window has no crossings of line "${line}" for "${group}": the district names a line or class group this camera does not count`);
      forward += counts.forward;
      backward += counts.backward;
    }
    return [BigInt(forward), BigInt(backward)];
  });
}

/**
 * The sensitivity of crossingsVector: one track crosses each of the L lines at most m times, and summing lines puts
 * all of them in the same two cells of its class group, so L1 = L·m and L2² ≤ (L·m)² (not the L·m² of per-line
 * values, stages/privacy/sensitivity.ts).
 */
export function crossingsVectorSensitivity(lineCount: number, maxCrossingsPerTrackPerLine: number): StatisticSensitivity {
  const l1 = lineCount * maxCrossingsPerTrackPerLine;
  return { l1, l2Squared: l1 * l1 };
}
