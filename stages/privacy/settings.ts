/**
 * The privacy settings: what the operator may choose (zod schema), what follows from it (each release's cost, the
 * default budget) and which combinations are refused because no budget could honour them.
 *
 *   const settings = resolvePrivacySettings({ epsilon: 1, rhoSeconds: 300 }, { windowSeconds: 60 });
 *   describePrivacySettings(settings);
 *   // "privacy: discrete Laplace, ε = 1 per visit of up to 300 s, spread over the 6 windows it can touch (ε = 0.1667
 *   //  per window); budget ε = 240.2 per rolling 86400 s (default: every window of one period, once); …"
 *
 * The event model is Privid's (ρ, K, ε) (Cangialosi et al., NSDI 2022): an object seen for at most ρ seconds touches
 * at most ⌈ρ/W⌉ + 1 consecutive windows of length W, so giving each window ε/(⌈ρ/W⌉ + 1) protects the whole visit
 * with ε. docs/privacy.md has the derivation and what is not protected.
 */
import { z } from 'zod';
import { epsilonToZcdp, fitsBudget, scaleCost, zcdpToEpsilon, type ReleaseCost } from './privacyLoss.ts';
import { ceiling, divide, rational, rationalFromDecimal, rationalFromDouble, toNumber, type Rational } from './rational.ts';

const DEFAULT_GAUSSIAN_DELTA = 1e-6;
// Rational grid for ρ computed in floating point: 2^-64 keeps 1e-15 relative precision down to ρ ~ 1e-4 and
// stays positive for any ρ a person would configure.
const RHO_FRACTION_BITS = 64;
// The float ε → ρ conversion is trimmed by this relative margin before rounding down, so its own rounding error can
// never hand a release more than the configured ε.
const FLOAT_SAFETY_MARGIN = 1e-12;

const positive = (what: string, example: string) =>
  z.number({ error: `${what} must be a number, e.g. ${example}` }).positive(`${what} must be positive, e.g. ${example}`).finite(`${what} must be finite`);

export const privacySettingsSchema = z.strictObject({
  mechanism: z
    .enum(['discrete-laplace', 'discrete-gaussian'], {
      error: 'use "discrete-laplace" (pure ε-DP, the default) or "discrete-gaussian" ((ε, δ)-DP, accounted in zCDP)',
    })
    .default('discrete-laplace'),
  /** ε protecting one event (one window's presence when rhoSeconds is 0); "off" only for calibration runs. */
  epsilon: z
    .union([z.literal('off'), positive('epsilon', '1')], {
      error: 'epsilon must be a positive number (e.g. 1, the default) or "off" for an unprotected calibration run',
    })
    .default(1),
  /** The longest visit protected as one event, in seconds; 0 protects presence within one window. */
  rhoSeconds: z
    .number({ error: 'rhoSeconds must be a number of seconds, e.g. 300' })
    .nonnegative('rhoSeconds is a duration and cannot be negative; 0 protects presence within one window')
    .finite('rhoSeconds must be finite')
    .default(0),
  /** The discrete Gaussian's δ (default 1e-6); the discrete Laplace has none. */
  delta: z
    .number({ error: 'delta must be a number, e.g. 1e-6' })
    .gt(0, 'delta must be above 0 (the Gaussian mechanism cannot reach δ = 0), e.g. 1e-6')
    .lt(1, 'delta must be below 1 (δ = 1 promises nothing), e.g. 1e-6')
    .optional(),
  /** The most ε released about anyone within any rolling period; default: one period of windows, once. */
  epsilonPerPeriod: positive('epsilonPerPeriod', '24').optional(),
  /** The rolling period the budget covers, in seconds (default: a day). */
  periodSeconds: positive('periodSeconds', '86400').default(86_400),
  /** Noised values below this many objects are released as 0 (post-processing: costs no ε). */
  minimumCount: z
    .number({ error: 'minimumCount must be a whole number of objects, e.g. 3' })
    .int('minimumCount must be a whole number of objects, e.g. 3')
    .min(1, 'minimumCount must be at least 1; leave it out to release every value')
    .optional(),
});
export type PrivacySettingsInput = z.input<typeof privacySettingsSchema>;

export type NoiseMechanism = z.output<typeof privacySettingsSchema>['mechanism'];

interface CommonSettings {
  windowSeconds: number;
  rhoSeconds: number;
  periodSeconds: number;
  minimumCount?: number;
}

/** `epsilon: "off"`: exact values, nothing spent, every output marked `private: false`. */
export interface CalibrationSettings extends CommonSettings {
  private: false;
}

export interface PrivateSettings extends CommonSettings {
  private: true;
  mechanism: NoiseMechanism;
  /** ε for one event (a visit of up to rhoSeconds), as configured. */
  epsilonPerEvent: Rational;
  /** ⌈ρ/W⌉ + 1 (1 when ρ = 0): how many consecutive windows one event can touch. */
  windowsPerEvent: number;
  /** What each window's release spends: ε/windowsPerEvent (Laplace) or ρ_zCDP(ε, δ)/windowsPerEvent (Gaussian). */
  costPerRelease: ReleaseCost;
  /** (ε, δ) of one window's release on its own, for the privacy block. */
  epsilonPerRelease: number;
  delta: number;
  budget: { periodSeconds: number; epsilonPerPeriod: Rational; delta: number };
  /** Whether epsilonPerPeriod was left to its default (reported in the one-line description). */
  budgetIsDefault: boolean;
}

export type PrivacySettings = CalibrationSettings | PrivateSettings;

export class PrivacyConfigError extends Error {
  override name = 'PrivacyConfigError';
}

function shown(value: unknown): string {
  return value === undefined ? 'missing' : JSON.stringify(value);
}

function rejection(field: string, value: unknown, problem: string): PrivacyConfigError {
  return new PrivacyConfigError(`privacy.${field}: ${problem} (got ${shown(value)})`);
}

function parseInput(input: unknown): z.output<typeof privacySettingsSchema> {
  const result = privacySettingsSchema.safeParse(input ?? {});
  if (result.success) return result.data;
  const known = Object.keys(privacySettingsSchema.shape).join(', ');
  const lines = result.error.issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return `  privacy: unknown setting ${issue.keys.map((key) => `"${key}"`).join(', ')}; the privacy settings are ${known}`;
    }
    const field = issue.path.map(String).join('.');
    const value = issue.path.reduce<unknown>((at, key) => (at && typeof at === 'object' ? (at as Record<PropertyKey, unknown>)[key] : undefined), input);
    return `  privacy.${field}: ${issue.message} (got ${shown(value)})`;
  });
  throw new PrivacyConfigError(`invalid privacy settings:\n${lines.join('\n')}`);
}

/** ⌈ρ/W⌉ + 1 in exact arithmetic on the decimals the operator wrote, so 0.3 / 0.1 is 3, not 3.0000000000000004. */
function windowsTouchedBy(rhoSeconds: number, windowSeconds: number): number {
  if (rhoSeconds === 0) return 1;
  return Number(ceiling(divide(rationalFromDecimal(rhoSeconds), rationalFromDecimal(windowSeconds)))) + 1;
}

/**
 * The most releases one camera can make within one rolling period: ⌈P/W⌉ window ends fit in any period of length
 * P, plus one for a restart that closes a window early and starts the next.
 */
function releasesPerPeriod(periodSeconds: number, windowSeconds: number): bigint {
  return ceiling(divide(rationalFromDecimal(periodSeconds), rationalFromDecimal(windowSeconds))) + 1n;
}

function releaseCost(mechanism: NoiseMechanism, epsilonPerEvent: Rational, delta: number, windowsPerEvent: number): ReleaseCost {
  const windows = rational(BigInt(windowsPerEvent));
  if (mechanism === 'discrete-laplace') return { pureEpsilon: divide(epsilonPerEvent, windows), zcdpRho: rational(0n) };
  const rhoPerEvent = epsilonToZcdp(toNumber(epsilonPerEvent), delta) * (1 - FLOAT_SAFETY_MARGIN);
  return { pureEpsilon: rational(0n), zcdpRho: divide(rationalFromDouble(rhoPerEvent, RHO_FRACTION_BITS, 'down'), windows) };
}

/** The cost of `releases` releases as one ε, rounded up onto the rational grid so the last of them still fits. */
function epsilonOfReleases(cost: ReleaseCost, releases: bigint, delta: number): Rational {
  const total = scaleCost(cost, releases);
  if (total.zcdpRho.numerator === 0n) return total.pureEpsilon;
  return rationalFromDouble(zcdpToEpsilon(toNumber(total.zcdpRho), delta), RHO_FRACTION_BITS, 'up');
}

/**
 * Validates the privacy settings against the pipeline's window length and derives what each release costs.
 * Throws a PrivacyConfigError naming the field, the value and the fix when the settings are invalid or when no
 * budget period could ever afford one protected event.
 */
export function resolvePrivacySettings(input: unknown, pipeline: { windowSeconds: number }): PrivacySettings {
  const parsed = parseInput(input);
  const { windowSeconds } = pipeline;
  if (!(windowSeconds > 0) || !Number.isFinite(windowSeconds)) {
    throw new PrivacyConfigError(`windowSeconds: the window length must be a positive number of seconds (got ${windowSeconds})`);
  }
  if (parsed.periodSeconds < windowSeconds) {
    throw rejection(
      'periodSeconds',
      parsed.periodSeconds,
      `the budget period must hold at least one whole window (${windowSeconds} s): raise periodSeconds to at least ${windowSeconds} (default 86400, a day) or shorten windowSeconds`,
    );
  }
  const common: CommonSettings = {
    windowSeconds,
    rhoSeconds: parsed.rhoSeconds,
    periodSeconds: parsed.periodSeconds,
    ...(parsed.minimumCount === undefined ? {} : { minimumCount: parsed.minimumCount }),
  };
  if (parsed.epsilon === 'off') return { private: false, ...common };

  if (parsed.mechanism === 'discrete-laplace' && parsed.delta !== undefined) {
    throw rejection(
      'delta',
      parsed.delta,
      'the discrete Laplace mechanism is pure ε-DP and has no δ: remove delta, or set mechanism: "discrete-gaussian" to use it',
    );
  }
  const delta = parsed.mechanism === 'discrete-gaussian' ? (parsed.delta ?? DEFAULT_GAUSSIAN_DELTA) : 0;
  const epsilonPerEvent = rationalFromDecimal(parsed.epsilon);
  const windowsPerEvent = windowsTouchedBy(parsed.rhoSeconds, windowSeconds);
  const costPerRelease = releaseCost(parsed.mechanism, epsilonPerEvent, delta, windowsPerEvent);
  const epsilonPerPeriod =
    parsed.epsilonPerPeriod === undefined
      ? epsilonOfReleases(costPerRelease, releasesPerPeriod(parsed.periodSeconds, windowSeconds), delta)
      : rationalFromDecimal(parsed.epsilonPerPeriod);
  if (!fitsBudget(scaleCost(costPerRelease, BigInt(windowsPerEvent)), epsilonPerPeriod, delta)) {
    if (parsed.epsilonPerPeriod === undefined) {
      throw rejection(
        'rhoSeconds',
        parsed.rhoSeconds,
        `a visit longer than the budget period (${parsed.periodSeconds} s) touches more windows than the default budget (every window of one period, once) pays for: lower rhoSeconds to at most periodSeconds, or set epsilonPerPeriod to at least ${parsed.epsilon}`,
      );
    }
    const event =
      parsed.rhoSeconds === 0
        ? `one window's release costs ε = ${parsed.epsilon}`
        : `one protected visit (up to ${parsed.rhoSeconds} s, touching up to ${windowsPerEvent} windows of ${windowSeconds} s) costs ε = ${parsed.epsilon} in total`;
    throw rejection(
      'epsilonPerPeriod',
      parsed.epsilonPerPeriod,
      `${event}, more than the whole budget of a period: raise epsilonPerPeriod to at least ${parsed.epsilon}, or lower epsilon`,
    );
  }
  const epsilonPerRelease =
    parsed.mechanism === 'discrete-laplace'
      ? toNumber(costPerRelease.pureEpsilon)
      : zcdpToEpsilon(toNumber(costPerRelease.zcdpRho), delta);
  return {
    private: true,
    ...common,
    mechanism: parsed.mechanism,
    epsilonPerEvent,
    windowsPerEvent,
    costPerRelease,
    epsilonPerRelease,
    delta,
    budget: { periodSeconds: parsed.periodSeconds, epsilonPerPeriod, delta },
    budgetIsDefault: parsed.epsilonPerPeriod === undefined,
  };
}

const rounded = (value: number) => String(Number(value.toPrecision(4)));

/** The settings in one line, for logs and the start-up banner. */
export function describePrivacySettings(settings: PrivacySettings): string {
  const threshold = settings.minimumCount === undefined ? '' : `; values below ${settings.minimumCount} released as 0`;
  if (!settings.private) {
    return `privacy OFF (epsilon "off", calibration only): exact counts, no noise, no budget; every output is marked private: false and must not be published${threshold}`;
  }
  const mechanism =
    settings.mechanism === 'discrete-laplace' ? 'discrete Laplace' : `discrete Gaussian (δ = ${settings.delta}, composed in zCDP)`;
  const event =
    settings.rhoSeconds === 0
      ? `ε = ${rounded(toNumber(settings.epsilonPerEvent))} per window (protects presence within one ${settings.windowSeconds} s window)`
      : `ε = ${rounded(toNumber(settings.epsilonPerEvent))} per visit of up to ${settings.rhoSeconds} s, spread over the ${settings.windowsPerEvent} windows of ${settings.windowSeconds} s it can touch (ε = ${rounded(settings.epsilonPerRelease)} per window)`;
  const budget = `budget ε = ${rounded(toNumber(settings.budget.epsilonPerPeriod))} per rolling ${settings.periodSeconds} s${settings.budgetIsDefault ? ' (default: every window of one period, once)' : ''}`;
  return `privacy: ${mechanism}, ${event}; ${budget}${threshold}`;
}
