/**
 * The drift histograms' release: the one place where a window's exact drift histograms (stages/drift.ts) become
 * something that may leave the process, exactly as stages/release.ts does for counts.
 *
 *   const drift = planDriftRelease(plan, rationalFromDecimal(0.1), 3600);   // share of ε, window length
 *   const released = releaseDrift({ ledger, camera: 'gate', policy: plan.policy, drift, window });
 *   if (released.status === 'released') driftIndices(baseline, released.histograms);   // post-processing
 *
 * The ledger is charged first (write-ahead); a span without budget is withheld and nothing of it is returned. Then
 * every bin of both histograms gets its own exact noise draw (stages/privacy/noise.ts), with the camera's mechanism:
 * a track adds 1 to one bin of each histogram (L1 = 2, L2² = 2), so the discrete Laplace at scale 2/ε_drift is
 * ε_drift-DP and the discrete Gaussian at σ² = 2/(2ρ_drift) is ρ_drift-zCDP (CKS 2020, §2.2 and Theorem 14).
 * A track contributes to one window only, over its whole life, so the cost is charged to the instants the window
 * covers, as crossings are (docs/drift.md).
 */
import type { Ledger, SpanBudget, SpanPolicy, WithheldReason } from './privacy/ledger.ts';
import { noiseParameter, noiseStandardDeviation, sampleNoise, type NoiseMechanism } from './privacy/noiseScale.ts';
import { NO_COST, zcdpToEpsilon, type ReleaseCost } from './privacy/privacyLoss.ts';
import { toNumber, type Rational } from './privacy/rational.ts';
import { eventBudget, shareOf, type PrivatePlan } from './privacy/settings.ts';
import { DRIFT_HISTOGRAM_SENSITIVITY, type DriftHistograms, type DriftWindow } from './drift.ts';

/** How a camera's drift histograms are released: its share of ε, the window, the noise. */
export interface DriftReleasePlan {
  mechanism: NoiseMechanism;
  /** Fraction of the camera's per-event ε. */
  share: Rational;
  windowSeconds: number;
  /** What one window's release charges the ledger, to the instants it covers. */
  cost: ReleaseCost;
  /** ε of one window's release ((ε, δ) at the plan's δ for the Gaussian). */
  epsilon: number;
  /** Laplace scale or Gaussian variance, in tracks. */
  noiseParameter: Rational;
  /** Noise s.d. on each bin, in tracks. */
  standardDeviation: number;
}

/**
 * The drift release for a camera's private `plan`, taking `share` of its per-event ε (the plan must have been made
 * with that share reserved, stages/privacy/settings.ts `reservedShare`). Throws a RangeError for a share outside
 * (0, 1) or a window length that is not a positive number of seconds.
 */
export function planDriftRelease(plan: PrivatePlan, share: Rational, windowSeconds: number): DriftReleasePlan {
  if (!(share.numerator > 0n && share.numerator < share.denominator)) throw new RangeError(`drift.share must be above 0 and below 1, got ${toNumber(share)}`);
  if (!(windowSeconds > 0 && Number.isFinite(windowSeconds))) throw new RangeError(`drift.windowSeconds must be a positive number of seconds, got ${windowSeconds}`);
  const cost = shareOf(eventBudget(plan.mechanism, plan.epsilonPerEvent, plan.delta), share);
  const parameter = noiseParameter(plan.mechanism, DRIFT_HISTOGRAM_SENSITIVITY, cost);
  return {
    mechanism: plan.mechanism,
    share,
    windowSeconds,
    cost,
    epsilon: plan.mechanism === 'discrete-laplace' ? toNumber(cost.pureEpsilon) : zcdpToEpsilon(toNumber(cost.zcdpRho), plan.delta),
    noiseParameter: parameter,
    standardDeviation: noiseStandardDeviation(plan.mechanism, parameter),
  };
}

interface DriftSpan {
  startSeconds: number;
  endSeconds: number;
  windowSeconds: number;
}

/** A window's drift histograms as they may leave the process: noised, or withheld with the ledger's reason. */
export type ReleasedDrift =
  | (DriftSpan & { status: 'released'; histograms: DriftHistograms; standardDeviation: number; epsilon: number; budget: SpanBudget })
  | (DriftSpan & { status: 'withheld'; reason: WithheldReason; budget: SpanBudget });

export interface DriftReleaseRequest {
  ledger: Ledger;
  camera: string;
  /** The camera's plan's policy (PrivatePlan.policy). */
  policy: SpanPolicy;
  drift: DriftReleasePlan;
  /** The exact histograms of one window (TrackDriftAccumulator); in the camera's clock, as the releaser charges it. */
  window: DriftWindow;
}

/**
 * Charges the ledger for the window's span and returns its histograms with noise on every bin, or withholds them.
 * The span is not checked for a clock gone backwards here (the camera's own windows of the same instants were just
 * charged with that check, so a monotonic spend would always refuse): the caller releases windows in order.
 * Throws whatever Ledger.spend throws (an invalid span, a changed policy) and a RangeError for a window of another
 * length than the plan's.
 */
export function releaseDrift(request: DriftReleaseRequest): ReleasedDrift {
  const { ledger, camera, policy, drift, window } = request;
  if (window.windowSeconds !== drift.windowSeconds) throw new RangeError(`a drift window of ${window.windowSeconds} s, but camera "${camera}" releases drift every ${drift.windowSeconds} s`);
  const span = { startSeconds: window.startSeconds, endSeconds: window.endSeconds, windowSeconds: window.windowSeconds };
  const outcome = ledger.spend({ camera, ...span, eventCost: NO_COST, instantCost: drift.cost, policy });
  if (!outcome.granted) return { ...span, status: 'withheld', reason: outcome.reason!, budget: outcome.budget };
  const noised = (counts: readonly number[]) => counts.map((count) => Number(BigInt(count) + sampleNoise(drift.mechanism, drift.noiseParameter)));
  return {
    ...span,
    status: 'released',
    histograms: { score: noised(window.histograms.score), size: noised(window.histograms.size) },
    standardDeviation: drift.standardDeviation,
    epsilon: drift.epsilon,
    budget: outcome.budget,
  };
}
