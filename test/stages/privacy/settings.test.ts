import { describe, expect, it } from 'vitest';
import {
  describePrivacySettings,
  PrivacyConfigError,
  resolvePrivacySettings,
  type PrivacySettings,
  type PrivateSettings,
} from '../../../stages/privacy/settings.ts';
import { fitsBudget, scaleCost, zcdpToEpsilon } from '../../../stages/privacy/privacyLoss.ts';
import { rational, toNumber } from '../../../stages/privacy/rational.ts';

const MINUTE_WINDOWS = { windowSeconds: 60 };

function privateSettings(settings: PrivacySettings): PrivateSettings {
  if (!settings.private) throw new Error('expected private settings');
  return settings;
}

function rejectionOf(input: unknown, pipeline = MINUTE_WINDOWS): string {
  try {
    resolvePrivacySettings(input, pipeline);
  } catch (error) {
    expect(error).toBeInstanceOf(PrivacyConfigError);
    return (error as Error).message;
  }
  throw new Error(`expected ${JSON.stringify(input)} to be rejected`);
}

describe('resolvePrivacySettings: defaults and what follows from them', () => {
  it('defaults to the discrete Laplace at ε = 1 per window, a day-long period, no δ', () => {
    const settings = privateSettings(resolvePrivacySettings(undefined, MINUTE_WINDOWS));
    expect(settings.mechanism).toBe('discrete-laplace');
    expect(settings.epsilonPerEvent).toEqual(rational(1n));
    expect(settings.windowsPerEvent).toBe(1);
    expect(settings.costPerRelease.pureEpsilon).toEqual(rational(1n));
    expect(settings.costPerRelease.zcdpRho).toEqual(rational(0n));
    expect(settings.delta).toBe(0);
    expect(settings.budget.periodSeconds).toBe(86_400);
    expect(settings.minimumCount).toBeUndefined();
  });

  it('makes the default budget exactly one period of windows (plus one for a restart), in exact arithmetic', () => {
    // ρ = 300 s over 60 s windows: 6 windows of ε = 1/6; a day holds 1440 window ends, +1 → 1441/6, not a float.
    const settings = privateSettings(resolvePrivacySettings({ rhoSeconds: 300 }, MINUTE_WINDOWS));
    expect(settings.budget.epsilonPerPeriod).toEqual(rational(1441n, 6n));
    expect(fitsBudget(scaleCost(settings.costPerRelease, 1441n), settings.budget.epsilonPerPeriod, 0)).toBe(true);
    expect(fitsBudget(scaleCost(settings.costPerRelease, 1442n), settings.budget.epsilonPerPeriod, 0)).toBe(false);
  });

  it('divides the per-event ε over the ⌈ρ/W⌉ + 1 windows an event can touch', () => {
    const cases: Array<[number, number, number]> = [
      [0, 60, 1],
      [1, 60, 2], // a 1 s visit can straddle a window boundary
      [60, 60, 2],
      [61, 60, 3],
      [300, 60, 6],
      [0.3, 0.1, 4], // exact decimals: 0.3 / 0.1 is 3 here, not 3.0000000000000004
    ];
    for (const [rhoSeconds, windowSeconds, windows] of cases) {
      const settings = privateSettings(resolvePrivacySettings({ rhoSeconds, epsilon: 0.6 }, { windowSeconds }));
      expect(settings.windowsPerEvent, `ρ = ${rhoSeconds}, W = ${windowSeconds}`).toBe(windows);
      expect(settings.costPerRelease.pureEpsilon).toEqual(rational(3n, 5n * BigInt(windows)));
    }
  });

  it('for the discrete Gaussian, divides ρ-zCDP over the windows so one event costs at most ε at δ', () => {
    const settings = privateSettings(resolvePrivacySettings({ mechanism: 'discrete-gaussian', epsilon: 1, rhoSeconds: 120 }, MINUTE_WINDOWS));
    expect(settings.delta).toBe(1e-6);
    expect(settings.windowsPerEvent).toBe(3);
    const eventEpsilon = zcdpToEpsilon(3 * toNumber(settings.costPerRelease.zcdpRho), 1e-6);
    expect(eventEpsilon).toBeLessThanOrEqual(1);
    expect(eventEpsilon).toBeGreaterThan(1 - 1e-9);
    expect(settings.epsilonPerRelease).toBeCloseTo(zcdpToEpsilon(toNumber(settings.costPerRelease.zcdpRho), 1e-6), 12);
  });

  it('turns epsilon "off" into calibration settings that carry no mechanism and no budget', () => {
    const settings = resolvePrivacySettings({ epsilon: 'off', minimumCount: 2 }, MINUTE_WINDOWS);
    expect(settings).toEqual({ private: false, windowSeconds: 60, rhoSeconds: 0, periodSeconds: 86_400, minimumCount: 2 });
  });
});

describe('resolvePrivacySettings: rejections name the field, the value and the fix', () => {
  it('rejects a per-release ε the period budget cannot pay for', () => {
    const message = rejectionOf({ epsilon: 2, epsilonPerPeriod: 1.5 });
    expect(message).toContain('privacy.epsilonPerPeriod');
    expect(message).toContain('(got 1.5)');
    expect(message).toMatch(/raise epsilonPerPeriod to at least 2, or lower epsilon/);
  });

  it('rejects a budget that cannot cover one whole protected visit, even though each window fits', () => {
    // Each window costs 1/6, but a 300 s visit touches 6 of them: 1 in total, more than 0.9.
    const message = rejectionOf({ epsilon: 1, rhoSeconds: 300, epsilonPerPeriod: 0.9 });
    expect(message).toContain('privacy.epsilonPerPeriod');
    expect(message).toContain('touching up to 6 windows of 60 s');
  });

  it('rejects the same for the discrete Gaussian, whose event cost composes in zCDP', () => {
    expect(rejectionOf({ mechanism: 'discrete-gaussian', epsilon: 1, rhoSeconds: 300, epsilonPerPeriod: 0.99 })).toContain('privacy.epsilonPerPeriod');
    expect(() => resolvePrivacySettings({ mechanism: 'discrete-gaussian', epsilon: 1, rhoSeconds: 300, epsilonPerPeriod: 1 }, MINUTE_WINDOWS)).not.toThrow();
  });

  it('rejects a visit longer than the period when the budget is left to its default', () => {
    const message = rejectionOf({ rhoSeconds: 200_000 });
    expect(message).toContain('privacy.rhoSeconds');
    expect(message).toMatch(/lower rhoSeconds to at most periodSeconds, or set epsilonPerPeriod/);
  });

  it('rejects a window longer than the budget period', () => {
    const message = rejectionOf({ periodSeconds: 30 });
    expect(message).toContain('privacy.periodSeconds');
    expect(message).toContain('(got 30)');
    expect(message).toContain('raise periodSeconds to at least 60');
  });

  it('rejects δ outside (0, 1) for the Gaussian, and any δ for the Laplace', () => {
    for (const delta of [0, 1, -0.1, 2]) {
      expect(rejectionOf({ mechanism: 'discrete-gaussian', delta })).toContain(`privacy.delta: delta must be`);
    }
    const message = rejectionOf({ delta: 1e-6 });
    expect(message).toContain('privacy.delta');
    expect(message).toMatch(/has no δ: remove delta, or set mechanism: "discrete-gaussian"/);
  });

  it('rejects values of the wrong kind with the value shown', () => {
    expect(rejectionOf({ epsilon: 0 })).toContain('privacy.epsilon: epsilon must be positive, e.g. 1 (got 0)');
    expect(rejectionOf({ epsilon: 'none' })).toMatch(/privacy\.epsilon: .*"off".* \(got "none"\)/);
    expect(rejectionOf({ mechanism: 'laplace' })).toMatch(/privacy\.mechanism: use "discrete-laplace".*\(got "laplace"\)/);
    expect(rejectionOf({ minimumCount: 0 })).toContain('leave it out to release every value (got 0)');
    expect(rejectionOf({ minimumCount: 1.5 })).toContain('privacy.minimumCount');
    expect(rejectionOf({ rhoSeconds: -5 })).toContain('privacy.rhoSeconds');
  });

  it('rejects unknown settings, listing the known ones', () => {
    expect(rejectionOf({ epsilonPerRelease: 1 })).toMatch(/unknown setting "epsilonPerRelease"; the privacy settings are mechanism, epsilon/);
  });

  it('rejects a window length that is not a positive number of seconds', () => {
    expect(rejectionOf({}, { windowSeconds: 0 })).toContain('windowSeconds');
  });
});

describe('describePrivacySettings', () => {
  it('says in one line what is protected and what the budget is', () => {
    expect(describePrivacySettings(resolvePrivacySettings({ rhoSeconds: 300, minimumCount: 3 }, MINUTE_WINDOWS))).toBe(
      'privacy: discrete Laplace, ε = 1 per visit of up to 300 s, spread over the 6 windows of 60 s it can touch ' +
        '(ε = 0.1667 per window); budget ε = 240.2 per rolling 86400 s (default: every window of one period, once); ' +
        'values below 3 released as 0',
    );
    expect(describePrivacySettings(resolvePrivacySettings({ mechanism: 'discrete-gaussian', epsilonPerPeriod: 50 }, MINUTE_WINDOWS))).toMatch(
      /^privacy: discrete Gaussian \(δ = 0\.000001, composed in zCDP\), ε = 1 per window .*; budget ε = 50 per rolling 86400 s$/,
    );
  });

  it('makes an unprotected calibration run impossible to miss', () => {
    expect(describePrivacySettings(resolvePrivacySettings({ epsilon: 'off' }, MINUTE_WINDOWS))).toMatch(/^privacy OFF .*must not be published/);
  });
});
