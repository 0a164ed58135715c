/**
 * A district whose crossings total is computed by secure aggregation (docs/fleet.md, "Secure aggregation of district
 * totals"): what its boxes (`veil run`, `mqtt.secureAggregation` in site.yaml) and the city (`veil aggregate`, a
 * district's `secureAggregation` in city.yaml) must agree on, written the same in both files:
 *
 *   secureAggregation:
 *     district: old-town            # the id the rounds run under (topics veil/v1/{fleet}/secagg/{district}/…)
 *     boxes: [north, south, east]   # the boxes' mqtt.site ids
 *     dropoutsTolerated: 1          # boxes a round may lose and still be released at its full noise
 *     windowSeconds: 900            # one round per window of this length
 *     epsilon: 0.5                  # ε (at delta) of one window's district total
 *
 * From these both ends derive the same round parameters and the same distributed-noise plan, so the aggregator can
 * state the total's s.d. without asking any box. Each box publishes the settings it runs under and the aggregator
 * compares them with its own before any round (pipeline/districtSettings.ts, districtSettingsCheck.ts): a box whose
 * settings differ is named in the log, on /healthz and /metrics, and kept out of the rounds.
 */
import { z } from 'zod';
import { MAX_CROSSINGS_PER_TRACK_PER_LINE } from '../stages/lines.ts';
import { planDistributedNoise, type DistributedNoisePlan } from '../stages/privacy/distributedNoise.ts';
import { epsilonToZcdp, type ReleaseCost } from '../stages/privacy/privacyLoss.ts';
import { rational, rationalFromDouble } from '../stages/privacy/rational.ts';
import { crossingsVectorSensitivity } from '../stages/privacy/secureAggregationContribution.ts';
import { checkParameters, type SecureAggregationParameters } from '../stages/privacy/secureAggregationMessages.ts';
import { ID_PATTERN } from '../streams/mqtt/topics.ts';

const id = (what: string) => z.string().regex(ID_PATTERN, `${what} is 1–64 letters, digits, "_", "-" or "." (it is an MQTT topic level)`);
// ρ from a float conversion, rounded down on a 2^-64 grid: never more than the stated ε (as stages/privacy/settings.ts).
const RHO_FRACTION_BITS = 64;

/**
 * The fields both ends must write alike; each one changes the rounds or the noise. A box's differing value is
 * reported by the aggregator as `district "…": box "…" runs with FIELD VALUE, the city with VALUE`, to be written the same in
 * the box's site config (`mqtt.secureAggregation.FIELD`) or city.yaml (`districts[i].secureAggregation.FIELD`).
 */
export const districtSecureAggregationShape = {
  district: id('secureAggregation.district'),
  /** The topic level above `secagg` every party of the district uses (the same on all boxes and the city). */
  fleet: id('secureAggregation.fleet').default('city'),
  /** The district's boxes, by their mqtt.site. */
  boxes: z.array(id('a box id')).min(2, 'secure aggregation needs at least 2 boxes (one box alone is its own total)'),
  /** Shamir threshold t; left out, more than half the boxes (the least the protocol allows). */
  threshold: z.number().int().positive().optional(),
  dropoutsTolerated: z.number().int().nonnegative().default(0),
  windowSeconds: z.number().int().positive(),
  /** ε of one window's district total, at `delta`: what each box's ledger is charged for its contribution. */
  epsilon: z.number().positive().max(10, 'secureAggregation.epsilon above 10 protects practically nothing'),
  delta: z.number().gt(0).lt(1).default(1e-6),
  /**
   * L: the most counting lines a box sums into its vector, over all of its contributing cameras together (one person
   * may be seen by several cameras of a box); the sensitivity, (L·m)², rests on it (pipeline/districtCameras.ts).
   */
  linesPerBox: z.number().int().positive().default(1),
  /** The class groups of the vector, in order: each forward then backward. */
  classes: z.array(z.enum(['person', 'vehicle'])).min(1).default(['person', 'vehicle']),
} as const;

export const districtSecureAggregationSchema = z.strictObject(districtSecureAggregationShape);
export type DistrictSecureAggregation = z.output<typeof districtSecureAggregationSchema>;

/** The district's round parameters, the same on every box and the aggregator. */
export function roundParameters(district: DistrictSecureAggregation): SecureAggregationParameters {
  const plan = districtNoise(district);
  return {
    district: district.district,
    boxes: district.boxes,
    threshold: districtThreshold(district),
    coordinates: plan.coordinates,
    minimumInputs: plan.minimumInputs,
  };
}

/** Shamir t of the district's rounds: `threshold`, or when left out more than half the boxes (and at least 2). */
export function districtThreshold(district: DistrictSecureAggregation): number {
  return district.threshold ?? Math.max(2, Math.floor(district.boxes.length / 2) + 1);
}

/**
 * The most boxes a round can lose and still be released: the boxes beyond the threshold t, since unmasking needs t
 * answers to unmask the sum (Bonawitz et al., CCS 2017, §4; stages/privacy/secureAggregationAggregator.ts).
 */
function survivableDropouts(district: DistrictSecureAggregation): number {
  return district.boxes.length - districtThreshold(district);
}

/** ρ of one window's district total: the stated ε at δ as zCDP (Bun & Steinke 2016, Prop. 1.3), rounded down. */
export function districtCost(district: DistrictSecureAggregation): ReleaseCost {
  return { pureEpsilon: rational(0n), zcdpRho: rationalFromDouble(epsilonToZcdp(district.epsilon, district.delta), RHO_FRACTION_BITS, 'down') };
}

/**
 * Each box's noise share (stages/privacy/distributedNoise.ts) for the district's crossings vector. Throws a
 * RangeError when the district is too large for its ε (each box's share would be too small).
 */
export function districtNoise(district: DistrictSecureAggregation): DistributedNoisePlan {
  return planDistributedNoise({
    sensitivity: crossingsVectorSensitivity(district.linesPerBox, MAX_CROSSINGS_PER_TRACK_PER_LINE),
    cost: districtCost(district),
    boxes: district.boxes.length,
    dropoutsTolerated: district.dropoutsTolerated,
    coordinates: 2 * district.classes.length,
  });
}

/** The round id of the district window starting at `startSeconds` (Unix seconds). */
export const CROSSINGS_ROUND_STATISTIC = 'crossings';

/** The window a round id names: "crossings-START-W" → start and length; undefined for another statistic or form. */
export function roundWindow(round: string): { startSeconds: number; windowSeconds: number } | undefined {
  const match = /^crossings-(\d+)-(\d+)$/.exec(round);
  return match ? { startSeconds: Number(match[1]), windowSeconds: Number(match[2]) } : undefined;
}

/**
 * Why the district cannot run rounds (a threshold out of range, too many dropouts tolerated, too little noise per
 * box for its ε), in words for a config error, reported at the secureAggregation section since it may span fields;
 * undefined when it can, or when an id is malformed (the schema names that field itself).
 */
export function districtProblem(district: DistrictSecureAggregation): string | undefined {
  // An id the schema refused is reported at its own field; judging the round on it would blame another field for it.
  if (![district.district, ...district.boxes].every((name) => ID_PATTERN.test(name))) return undefined;
  // Fewer than 2 boxes: the schema says so at `boxes`; a threshold of a lone box would only add a wrong second fix.
  if (district.boxes.length < 2) return undefined;
  const mostDropouts = survivableDropouts(district);
  if (district.dropoutsTolerated > mostDropouts && district.dropoutsTolerated < district.boxes.length) {
    const threshold = districtThreshold(district);
    const lowest = districtThreshold({ ...district, threshold: undefined });
    return (
      `dropoutsTolerated ${district.dropoutsTolerated}: a round is released only when ${threshold} of the ${district.boxes.length} boxes answer (the threshold), ` +
      `so it survives at most ${mostDropouts} dropout(s), and each box would add noise for dropouts no round survives: a larger s.d. for nothing. ` +
      `Set dropoutsTolerated: ${mostDropouts}${threshold > lowest ? `, or a lower threshold (${lowest} at least)` : ''}, or add boxes`
    );
  }
  try {
    checkParameters(roundParameters(district));
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/** How long a party waits for each phase of a round before going on without those who have not answered. */
export const phaseSecondsSchema = z.number().positive().max(600);
