/**
 * The privacy settings and the release plan that follows from them: which statistics are released, in windows of
 * which length, with which share of ε, at which noise level, and what each window's release charges the ledger.
 *
 *   const plan = planReleases({ epsilon: 1, rhoSeconds: 300 }, { zoneCount: 1, lineCount: 1, tracker });
 *   describePlan(plan);
 *   // "privacy: discrete Laplace, ε = 1 per track visit of up to 300 s (+ 3 s the tracker may coast); crossings
 *   //  every 900 s: ε 0.5, ±1.4 per count; peak occupancy every 60 s: ε 0.25 over 7 windows, ±…"
 *
 * The unit of privacy is one track (see docs/privacy.md): everything one tracked object contributes while it is seen
 * for at most ρ seconds, plus the tracker's coast. Two kinds of statistic, charged differently (the ledger,
 * stages/privacy/ledger.ts, enforces both):
 *   - crossings: a track adds at most m crossings per line over its whole life, whatever windows they fall in, so
 *     releases of disjoint windows compose in parallel for it (Dwork & Roth 2014, §2.4 on sensitivity over the whole
 *     dataset): each window's crossings cost their full share, charged to the instants the window covers.
 *   - occupancy (peak, mean): a visit adds to every window it touches, ⌈reach/W⌉ + 1 of them (Privid's (ρ, K, ε),
 *     Cangialosi et al., NSDI 2022), so each window's release costs share · ε / (⌈reach/W⌉ + 1), charged to every
 *     event whose reach meets the window.
 * Laplace: costs are pure ε. Gaussian: the event's ε at δ becomes one zCDP ρ (Bun & Steinke 2016, Prop. 1.3,
 * inverted), split by the same shares; zCDP composes additively, so the split is exact.
 */
import { z } from 'zod';
import type { SpanPolicy } from './ledger.ts';
import { noiseParameter, noiseStandardDeviation, type NoiseMechanism } from './noiseScale.ts';
import { addCosts, epsilonToZcdp, fitsBudget, NO_COST, zcdpToEpsilon, type ReleaseCost } from './privacyLoss.ts';
import { add, ceiling, divide, isLess, multiply, rational, rationalFromDecimal, rationalFromDouble, subtract, toNumber, type Rational } from './rational.ts';
import { MEAN_OCCUPANCY_STEPS_PER_OBJECT, releaseSensitivity, type StatisticSensitivity } from './sensitivity.ts';

export const STATISTICS = ['crossings', 'peakOccupancy', 'meanOccupancy'] as const;
export type Statistic = (typeof STATISTICS)[number];
const STATISTIC_NAMES: Record<Statistic, string> = { crossings: 'crossings', peakOccupancy: 'peak occupancy', meanOccupancy: 'mean occupancy' };

const DEFAULT_GAUSSIAN_DELTA = 1e-6;
// Rational grid for ρ computed in floating point: 2^-64 keeps 1e-15 relative precision down to ρ ~ 1e-4 and
// stays positive for any ρ a person would configure.
const RHO_FRACTION_BITS = 64;
// The float ε → ρ conversion is trimmed by this relative margin before rounding down, so its own rounding error can
// never hand a release more than the configured ε.
const FLOAT_SAFETY_MARGIN = 1e-12;

/**
 * Window lengths a reader expects when none is configured: traffic engineers read counts per 15 minutes (and sum
 * them into hours and days), crowd managers read occupancy per minute.
 */
export const DEFAULT_WINDOW_SECONDS: Record<Statistic, number> = { crossings: 900, peakOccupancy: 60, meanOccupancy: 60 };
/** The default split of ε when both lines and zones are configured: half to crossings, a quarter to each occupancy. */
const DEFAULT_SHARES: Record<Statistic, Rational> = { crossings: rational(1n, 2n), peakOccupancy: rational(1n, 4n), meanOccupancy: rational(1n, 4n) };

/**
 * Beyond these a setting is refused unless `allowExtremeEpsilon` is set: ε above 10 lets an observer's odds move by
 * e^10 ≈ 22 000 (no protection a data-protection officer could sign), and a noise s.d. above 1000 objects per window
 * swamps any count one camera sees. Between the warning and the refusal levels the plan carries a warning.
 */
const EPSILON_REFUSED_ABOVE = 10;
const EPSILON_WARNED_ABOVE = 3;
const DEVIATION_REFUSED_ABOVE = 1000;
const DEVIATION_WARNED_ABOVE = 25;

// zod 4's number() refuses ±Infinity itself (with the "must be a number" message), so no finite() check is needed.
const positive = (what: string, example: string) =>
  z.number({ error: `${what} must be a number, e.g. ${example}` }).positive(`${what} must be positive, e.g. ${example}`);

const releaseSchema = z.strictObject({
  statistic: z.enum(STATISTICS, { error: `statistic must be one of ${STATISTICS.join(', ')}` }),
  windowSeconds: positive('windowSeconds', '900'),
  /** This release's share of the per-event ε, e.g. 0.5. */
  share: positive('share', '0.5').max(1, 'share is a fraction of epsilon, at most 1'),
});

export const privacySettingsSchema = z.strictObject({
  mechanism: z
    .enum(['discrete-laplace', 'discrete-gaussian'], {
      error: 'use "discrete-laplace" (pure ε-DP, the default) or "discrete-gaussian" ((ε, δ)-DP, accounted in zCDP)',
    })
    .default('discrete-laplace'),
  /** ε protecting one event (one track's visit of up to rhoSeconds); "off" only for calibration runs. */
  epsilon: z
    .union([z.literal('off'), positive('epsilon', '1')], {
      error: 'epsilon must be a positive number (e.g. 1, the default) or "off" for an unprotected calibration run',
    })
    .default(1),
  /** The longest visit protected as one event, in seconds (the tracker's coast is added). */
  rhoSeconds: z
    .number({ error: 'rhoSeconds must be a number of seconds, e.g. 300' })
    .nonnegative('rhoSeconds is a duration and cannot be negative')
    .default(0),
  /** The discrete Gaussian's δ (default 1e-6); the discrete Laplace has none. */
  delta: z
    .number({ error: 'delta must be a number, e.g. 1e-6' })
    .gt(0, 'delta must be above 0 (the Gaussian mechanism cannot reach δ = 0), e.g. 1e-6')
    .lt(1, 'delta must be below 1 (δ = 1 promises nothing), e.g. 1e-6')
    .optional(),
  /** Optional cap: the most ε released about anything within any rolling period of periodSeconds. */
  epsilonPerPeriod: positive('epsilonPerPeriod', '10').optional(),
  periodSeconds: positive('periodSeconds', '86400').optional(),
  /** What is released and how ε is split; default: see DEFAULT_WINDOW_SECONDS and DEFAULT_SHARES. */
  releases: z.array(releaseSchema).min(1, 'releases needs at least one entry, or leave it out for the defaults').optional(),
  /**
   * "category" (default): people and vehicles, each one noise draw per cell, so a vehicle total carries one draw's
   * noise. "class": every COCO class its own draw; a vehicle total then sums four or five draws' noise.
   */
  breakdown: z.enum(['category', 'class'], { error: 'breakdown is "category" (people, vehicles) or "class" (each COCO class)' }).default('category'),
  /** Accept an ε above 10 or noise above 1000 objects per value (see EPSILON_REFUSED_ABOVE). */
  allowExtremeEpsilon: z.boolean({ error: 'allowExtremeEpsilon is true or false' }).default(false),
});
export type PrivacySettingsInput = z.input<typeof privacySettingsSchema>;
type ParsedSettings = z.output<typeof privacySettingsSchema>;
export type ReleaseBreakdown = ParsedSettings['breakdown'];
export type { NoiseMechanism };

/** The tracker's bounds, which the sensitivity rests on (see stages/track.ts and stages/lines.ts). */
export interface TrackerBounds {
  maxCrossingsPerTrackPerLine: number;
  /** Under how many classes one track can be counted within one window. */
  maxClassesPerTrackPerWindow: number;
  /** How long a track may go unseen and still continue: added to ρ, since a coasting track still counts. */
  maxCoastSeconds: number;
}

export interface ReleaseStructureInput {
  zoneCount: number;
  lineCount: number;
  /** Window length configured for the analysis (flag or config); when set, every statistic uses it by default. */
  windowSeconds?: number;
  tracker: TrackerBounds;
  /**
   * A share of ε kept for a release planned outside this plan (the drift histograms, stages/driftRelease.ts): the
   * default shares are scaled to leave it, and `releases` must leave it. Absent: nothing is kept.
   */
  reservedShare?: Rational;
}

/** One statistic released in windows of one length. */
export interface StatisticRelease {
  statistic: Statistic;
  windowSeconds: number;
  share: Rational;
  /** 'instant': charged to the instants the window covers (crossings); 'event': to every event meeting it. */
  charge: 'instant' | 'event';
  /** ⌈reach/W⌉ + 1 for occupancy, 1 for crossings: how many of these windows one event's cost is spread over. */
  windowsPerEvent: number;
  /** What one window's release of this statistic costs. */
  cost: ReleaseCost;
  /** ε of this one release on its own ((ε, δ) at the plan's δ for the Gaussian). */
  epsilon: number;
  /** The whole window's sensitivity of this statistic, in its integer unit (mean occupancy: 1/100 object). */
  sensitivity: StatisticSensitivity;
  /** Laplace scale or Gaussian variance, in the statistic's integer unit. */
  noiseParameter: Rational;
  /** Standard deviation of the noise on each released value, in objects. */
  standardDeviation: number;
}

interface CommonPlan {
  rhoSeconds: number;
  breakdown: ReleaseBreakdown;
  /** The window lengths the analysis must close windows at, ascending. */
  windowLengths: number[];
}

/** `epsilon: "off"`: exact values, nothing spent, every output marked `private: false`. */
export interface CalibrationPlan extends CommonPlan {
  private: false;
  statistics: Array<Pick<StatisticRelease, 'statistic' | 'windowSeconds'>>;
}

export interface PrivatePlan extends CommonPlan {
  private: true;
  mechanism: NoiseMechanism;
  delta: number;
  epsilonPerEvent: Rational;
  /** ρ + the tracker's coast, in seconds. */
  eventReachSeconds: number;
  statistics: StatisticRelease[];
  /** What the ledger judges this camera's releases by. */
  policy: SpanPolicy;
  /** Settings that are allowed but a reader should know about (very large ε, very wide noise). */
  warnings: string[];
}

export type ReleasePlan = CalibrationPlan | PrivatePlan;

export class PrivacyConfigError extends Error {
  override name = 'PrivacyConfigError';
}

function shown(value: unknown): string {
  return value === undefined ? 'missing' : JSON.stringify(value);
}

function rejection(field: string, value: unknown, problem: string): PrivacyConfigError {
  return new PrivacyConfigError(`privacy.${field}: ${problem} (got ${shown(value)})`);
}

function parseInput(input: unknown): ParsedSettings {
  const result = privacySettingsSchema.safeParse(input ?? {});
  if (result.success) return result.data;
  const known = Object.keys(privacySettingsSchema.shape).join(', ');
  const lines = result.error.issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return `  privacy: unknown setting ${issue.keys.map((key) => `"${key}"`).join(', ')}; the privacy settings are ${known}`;
    }
    const field = issue.path.map(String).join('.');
    // zod reports a path only through objects and arrays the input has, so each step can read the next.
    const value = issue.path.reduce<unknown>((at, key) => (at as Record<PropertyKey, unknown>)[key], input);
    return `  privacy.${field}: ${issue.message} (got ${shown(value)})`;
  });
  throw new PrivacyConfigError(`invalid privacy settings:\n${lines.join('\n')}`);
}

/** ⌈reach/W⌉ + 1 in exact arithmetic on the decimals the operator wrote, so 0.3 / 0.1 is 3, not 3.0000000000000004. */
function windowsTouchedBy(reachSeconds: number, windowSeconds: number): number {
  return Number(ceiling(divide(rationalFromDecimal(reachSeconds), rationalFromDecimal(windowSeconds)))) + 1;
}

interface Requested {
  statistic: Statistic;
  windowSeconds: number;
  share: Rational;
}

/** The releases asked for: the config's list, or the defaults for what is configured (zones, lines). */
function requestedReleases(parsed: ParsedSettings, structure: ReleaseStructureInput): Requested[] {
  const reserved = structure.reservedShare ?? rational(0n);
  const available = (statistic: Statistic) => (statistic === 'crossings' ? structure.lineCount > 0 : structure.zoneCount > 0);
  if (parsed.releases) {
    parsed.releases.forEach((release, index) => {
      if (!available(release.statistic)) {
        const needs = release.statistic === 'crossings' ? 'a counting line (lines)' : 'a zone (zones)';
        throw rejection(`releases[${index}].statistic`, release.statistic, `${release.statistic} needs ${needs}, and none is configured: add one or remove this release`);
      }
    });
    const total = parsed.releases.reduce((sum, release) => add(sum, rationalFromDecimal(release.share)), reserved);
    if (isLess(rational(1n), total)) {
      const kept = reserved.numerator === 0n ? '' : ` with the ${toNumber(reserved)} kept for drift`;
      throw rejection('releases', parsed.releases.map((release) => release.share), `the shares add up to ${toNumber(total)}${kept}, more than the whole ε: make them add up to at most ${toNumber(subtract(rational(1n), reserved))}`);
    }
    return parsed.releases.map((release) => ({ statistic: release.statistic, windowSeconds: release.windowSeconds, share: rationalFromDecimal(release.share) }));
  }
  const present = STATISTICS.filter(available);
  if (present.length === 0) throw new PrivacyConfigError('nothing to release: configure at least one zone or counting line');
  // Shares of what is present, renormalised: lines alone take all of ε (less what is reserved), zones alone split it
  // between peak and mean.
  const presentTotal = present.reduce((sum, statistic) => add(sum, DEFAULT_SHARES[statistic]), rational(0n));
  const left = subtract(rational(1n), reserved);
  return present.map((statistic) => ({
    statistic,
    windowSeconds: structure.windowSeconds ?? DEFAULT_WINDOW_SECONDS[statistic],
    share: multiply(divide(DEFAULT_SHARES[statistic], presentTotal), left),
  }));
}

function checkStructure(structure: ReleaseStructureInput): void {
  if (structure.windowSeconds !== undefined && !(structure.windowSeconds > 0 && Number.isFinite(structure.windowSeconds))) {
    throw new PrivacyConfigError(`windowSeconds: the window length must be a positive number of seconds (got ${structure.windowSeconds})`);
  }
  // A Rational is never negative (rational() refuses it), so only the upper end can be wrong.
  const reserved = structure.reservedShare;
  if (reserved !== undefined && !isLess(reserved, rational(1n))) {
    throw new PrivacyConfigError(`drift.share: the share of ε kept for drift must be at least 0 and below 1 (got ${toNumber(reserved)})`);
  }
  const { maxCoastSeconds } = structure.tracker;
  if (!(maxCoastSeconds >= 0 && Number.isFinite(maxCoastSeconds))) throw new RangeError(`tracker bound maxCoastSeconds must be a finite number ≥ 0, got ${maxCoastSeconds}`);
}

function windowLengthsOf(releases: ReadonlyArray<{ windowSeconds: number }>): number[] {
  return [...new Set(releases.map((release) => release.windowSeconds))].sort((a, b) => a - b);
}

/** The event's whole budget in the mechanism's currency: ε (Laplace) or a zCDP ρ rounded down onto the grid. */
export function eventBudget(mechanism: NoiseMechanism, epsilonPerEvent: Rational, delta: number): ReleaseCost {
  if (mechanism === 'discrete-laplace') return { pureEpsilon: epsilonPerEvent, zcdpRho: rational(0n) };
  const rho = epsilonToZcdp(toNumber(epsilonPerEvent), delta) * (1 - FLOAT_SAFETY_MARGIN);
  return { pureEpsilon: rational(0n), zcdpRho: rationalFromDouble(rho, RHO_FRACTION_BITS, 'down') };
}

/** `fraction` of a cost, in both currencies. */
export function shareOf(budget: ReleaseCost, fraction: Rational): ReleaseCost {
  return { pureEpsilon: multiply(budget.pureEpsilon, fraction), zcdpRho: multiply(budget.zcdpRho, fraction) };
}

function checkExtremes(parsed: ParsedSettings, epsilon: number, statistics: readonly StatisticRelease[]): string[] {
  const warnings: string[] = [];
  const widest = statistics.reduce((a, b) => (b.standardDeviation > a.standardDeviation ? b : a));
  const override = 'set privacy.allowExtremeEpsilon: true (flag --allow-extreme-epsilon) if you really mean it';
  if (!parsed.allowExtremeEpsilon) {
    if (epsilon > EPSILON_REFUSED_ABOVE) {
      throw rejection('epsilon', parsed.epsilon, `ε above ${EPSILON_REFUSED_ABOVE} protects practically nothing (an observer's odds can move by e^ε, over ${Math.round(Math.exp(EPSILON_REFUSED_ABOVE))} times): use 0.1–2, or ${override}`);
    }
    if (widest.standardDeviation > DEVIATION_REFUSED_ABOVE) {
      throw rejection(
        'epsilon',
        parsed.epsilon,
        `at this ε the noise on each ${STATISTIC_NAMES[widest.statistic]} value is about ±${widest.standardDeviation.toPrecision(3)} objects (1 s.d.) per ${widest.windowSeconds} s window, which swamps any count a camera sees: raise epsilon, release fewer statistics, or ${override}`,
      );
    }
  }
  if (epsilon > EPSILON_WARNED_ABOVE) warnings.push(`ε = ${epsilon} per event is weak protection (above ${EPSILON_WARNED_ABOVE}); 0.1–2 is usual`);
  if (widest.standardDeviation > DEVIATION_WARNED_ABOVE) {
    warnings.push(`noise on each ${STATISTIC_NAMES[widest.statistic]} value is about ±${rounded(widest.standardDeviation)} objects per ${widest.windowSeconds} s window: small counts will not be readable; raise epsilon or release fewer statistics`);
  }
  return warnings;
}

/** A period cap below what one window of some length costs would withhold every window of that length: refused. */
function checkPeriodCap(parsed: ParsedSettings, mechanism: NoiseMechanism, delta: number, statistics: readonly StatisticRelease[]): void {
  const cap = rationalFromDecimal(parsed.epsilonPerPeriod!);
  for (const windowSeconds of windowLengthsOf(statistics)) {
    const total = statistics.filter((release) => release.windowSeconds === windowSeconds).reduce((sum, release) => addCosts(sum, release.cost), NO_COST);
    if (!fitsBudget(total, cap, delta)) {
      const needed = mechanism === 'discrete-laplace' ? toNumber(total.pureEpsilon) : zcdpToEpsilon(toNumber(total.zcdpRho), delta);
      throw rejection(
        'epsilonPerPeriod',
        parsed.epsilonPerPeriod,
        `one ${windowSeconds} s window's release costs ε = ${rounded(needed)}, more than the whole period cap, so every window would be withheld: raise epsilonPerPeriod to at least ${rounded(needed)}, or lower epsilon`,
      );
    }
  }
}

/**
 * Validates the privacy settings against what the camera counts and derives the release plan. Throws a
 * PrivacyConfigError naming the field, the value and the fix when the settings are invalid, ask for a statistic
 * nothing produces, split more than the whole ε, or are extreme (see EPSILON_REFUSED_ABOVE) without the override.
 */
export function planReleases(input: unknown, structure: ReleaseStructureInput): ReleasePlan {
  const parsed = parseInput(input);
  checkStructure(structure);
  const requested = requestedReleases(parsed, structure);
  const common = { rhoSeconds: parsed.rhoSeconds, breakdown: parsed.breakdown, windowLengths: windowLengthsOf(requested) };
  if (parsed.epsilon === 'off') {
    return { private: false, ...common, statistics: requested.map(({ statistic, windowSeconds }) => ({ statistic, windowSeconds })) };
  }
  if (parsed.mechanism === 'discrete-laplace' && parsed.delta !== undefined) {
    throw rejection('delta', parsed.delta, 'the discrete Laplace mechanism is pure ε-DP and has no δ: remove delta, or set mechanism: "discrete-gaussian" to use it');
  }
  if ((parsed.epsilonPerPeriod === undefined) !== (parsed.periodSeconds === undefined)) {
    const missing = parsed.epsilonPerPeriod === undefined ? 'epsilonPerPeriod' : 'periodSeconds';
    throw rejection(missing, undefined, 'a period cap needs both epsilonPerPeriod and periodSeconds (e.g. 10 per 86400 s), or neither');
  }
  const mechanism = parsed.mechanism;
  const delta = mechanism === 'discrete-gaussian' ? (parsed.delta ?? DEFAULT_GAUSSIAN_DELTA) : 0;
  const epsilonPerEvent = rationalFromDecimal(parsed.epsilon);
  const eventReachSeconds = parsed.rhoSeconds + structure.tracker.maxCoastSeconds;
  const budget = eventBudget(mechanism, epsilonPerEvent, delta);
  const sensitivities = releaseSensitivity({
    zoneCount: structure.zoneCount,
    lineCount: structure.lineCount,
    maxCrossingsPerObjectPerLine: structure.tracker.maxCrossingsPerTrackPerLine,
    // A track's category never changes (the tracker only re-votes within an association group, which never crosses
    // person/vehicle), so per category one track counts once; per class, the tracker's bound applies.
    maxClassesPerObjectPerWindow: parsed.breakdown === 'category' ? 1 : structure.tracker.maxClassesPerTrackPerWindow,
  });
  const statistics = requested.map(({ statistic, windowSeconds, share }): StatisticRelease => {
    const charge = statistic === 'crossings' ? 'instant' : 'event';
    const windowsPerEvent = charge === 'instant' ? 1 : windowsTouchedBy(eventReachSeconds, windowSeconds);
    const cost = shareOf(budget, divide(share, rational(BigInt(windowsPerEvent))));
    const sensitivity = sensitivities[statistic === 'meanOccupancy' ? 'meanOccupancySteps' : statistic];
    const parameter = noiseParameter(mechanism, sensitivity, cost);
    const epsilon = mechanism === 'discrete-laplace' ? toNumber(cost.pureEpsilon) : zcdpToEpsilon(toNumber(cost.zcdpRho), delta);
    const unitsPerObject = statistic === 'meanOccupancy' ? MEAN_OCCUPANCY_STEPS_PER_OBJECT : 1;
    return { statistic, windowSeconds, share, charge, windowsPerEvent, cost, epsilon, sensitivity, noiseParameter: parameter, standardDeviation: noiseStandardDeviation(mechanism, parameter) / unitsPerObject };
  });
  const warnings = checkExtremes(parsed, parsed.epsilon, statistics);
  if (parsed.epsilonPerPeriod !== undefined) checkPeriodCap(parsed, mechanism, delta, statistics);
  const policy: SpanPolicy = {
    mechanism,
    epsilonPerEvent,
    eventReachSeconds,
    delta,
    ...(parsed.periodSeconds === undefined ? {} : { periodSeconds: parsed.periodSeconds, epsilonPerPeriod: rationalFromDecimal(parsed.epsilonPerPeriod!) }),
  };
  return { private: true, ...common, mechanism, delta, epsilonPerEvent, eventReachSeconds, statistics, policy, warnings };
}

/** What one window of length `windowSeconds` charges the ledger: its event-charged and instant-charged costs. */
export function windowCost(plan: PrivatePlan, windowSeconds: number): { eventCost: ReleaseCost; instantCost: ReleaseCost } {
  let eventCost = NO_COST;
  let instantCost = NO_COST;
  for (const release of plan.statistics) {
    if (release.windowSeconds !== windowSeconds) continue;
    if (release.charge === 'instant') instantCost = addCosts(instantCost, release.cost);
    else eventCost = addCosts(eventCost, release.cost);
  }
  return { eventCost, instantCost };
}

/**
 * A camera's contribution to a securely aggregated district total, as one more release of its plan: crossings of
 * windows of `windowSeconds`, charged to the instants they cover at `cost` (the district total's ρ) with the given
 * `sensitivity` (the district vector's), and its share of the per-event budget (ρ over the event's ρ). A camera that
 * publishes its own crossings and also contributes them pays for both, so their shares must fit in the whole ε
 * together. Throws a PrivacyConfigError naming `field` when the camera's mechanism is not the discrete Gaussian (a
 * sum of discrete Laplace draws is not a discrete Laplace) or the shares add up to more than 1.
 */
export function districtRelease(plan: PrivatePlan, contribution: { cost: ReleaseCost; sensitivity: StatisticSensitivity; windowSeconds: number }, field: string): StatisticRelease {
  if (plan.mechanism !== 'discrete-gaussian') {
    throw new PrivacyConfigError(`${field}: secure aggregation needs privacy.mechanism: "discrete-gaussian" on the contributing camera (it has "${plan.mechanism}"): distributed noise is a sum of discrete Gaussians`);
  }
  const { cost, sensitivity, windowSeconds } = contribution;
  const share = divide(cost.zcdpRho, eventBudget(plan.mechanism, plan.epsilonPerEvent, plan.delta).zcdpRho);
  const total = plan.statistics.reduce((sum, release) => add(sum, release.share), share);
  if (isLess(rational(1n), total)) {
    throw new PrivacyConfigError(
      `${field}: the district total takes ${rounded(toNumber(share))} of the camera's ε = ${rounded(toNumber(plan.epsilonPerEvent))} per event and its own releases ${rounded(toNumber(total) - toNumber(share))}: together more than the whole ε; lower secureAggregation.epsilon or the shares in privacy.releases`,
    );
  }
  const parameter = noiseParameter(plan.mechanism, sensitivity, cost);
  return {
    statistic: 'crossings',
    windowSeconds,
    share,
    charge: 'instant',
    windowsPerEvent: 1,
    cost,
    epsilon: zcdpToEpsilon(toNumber(cost.zcdpRho), plan.delta),
    sensitivity,
    noiseParameter: parameter,
    standardDeviation: noiseStandardDeviation(plan.mechanism, parameter),
  };
}

const rounded = (value: number) => String(Number(value.toPrecision(3)));

/**
 * What ε protects, in words for a log line or a report summary: `epsilon` per event, an event being one track's visit
 * of up to `rhoSeconds` plus the `coastSeconds` the tracker may coast. At ρ = 0 (the default) that reads as what it
 * is: all of a track's crossings, and its occupancy in full only for a moment in view (docs/privacy.md §1).
 */
export function describeProtectedEvent(epsilon: number, rhoSeconds: number, coastSeconds: number): string {
  const perEvent = `ε = ${rounded(epsilon)} per track`;
  if (rhoSeconds > 0) return `${perEvent} visit of up to ${rhoSeconds} s (+ ${rounded(coastSeconds)} s the tracker may coast)`;
  return `${perEvent} (all its crossings; its occupancy in full for a moment in view + ${rounded(coastSeconds)} s the tracker may coast, longer stays at a weaker ε: rhoSeconds sets the stay protected in full)`;
}

/** The plan in one line, for logs and the start-up banner. */
export function describePlan(plan: ReleasePlan): string {
  if (!plan.private) {
    return 'privacy OFF (epsilon "off", calibration only): exact counts, no noise, no budget; every output is marked private: false and must not be published';
  }
  const mechanism = plan.mechanism === 'discrete-laplace' ? 'discrete Laplace' : `discrete Gaussian (δ = ${plan.delta}, composed in zCDP)`;
  const event = describeProtectedEvent(toNumber(plan.epsilonPerEvent), plan.rhoSeconds, plan.eventReachSeconds - plan.rhoSeconds);
  const releases = plan.statistics.map((release) => {
    const spread = release.windowsPerEvent > 1 ? ` (share ${rounded(toNumber(release.share))} over the ${release.windowsPerEvent} windows a visit can touch)` : '';
    return `${STATISTIC_NAMES[release.statistic]} every ${release.windowSeconds} s: ε ${rounded(release.epsilon)}${spread}, ±${rounded(release.standardDeviation)} per value (1 s.d.)`;
  });
  const period = plan.policy.periodSeconds === undefined ? '' : `; at most ε = ${rounded(toNumber(plan.policy.epsilonPerPeriod!))} per ${plan.policy.periodSeconds} s`;
  return `privacy: ${mechanism}, ${event}; ${releases.join('; ')}; ${plan.breakdown === 'category' ? 'people and vehicles' : 'each class'} released${period}`;
}
