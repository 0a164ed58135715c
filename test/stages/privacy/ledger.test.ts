import { rmSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { LedgerError, openLedger } from '../../../stages/privacy/ledger.ts';
import { zcdpToEpsilon, type ReleaseCost } from '../../../stages/privacy/privacyLoss.ts';
import { rational } from '../../../stages/privacy/rational.ts';
import { DAY, ledgerPath, open, opened, policy, pure, useScratchLedger } from './ledgerFixture.ts';

useScratchLedger();

function expectUnreadable(): void {
  expect(() => open(true)).toThrow(LedgerError);
  expect(() => open(true)).toThrow(/is unreadable: .*refuses to release with an unknown budget/);
}

describe('opening the ledger', () => {
  it('refuses a missing ledger unless told to create one, and says how', () => {
    expect(() => open(false)).toThrow(LedgerError);
    expect(() => open(false)).toThrow(/no privacy ledger at .*privacy-ledger\.sqlite.*--new-ledger/s);
  });

  it('creates a new ledger (and its folder) when asked, and never resets an existing one', () => {
    open(true).spend({ camera: 'gate', atSeconds: 60, cost: pure(1n), policy: policy(10n) });
    opened.pop()!.close();
    const reopened = open(true);
    expect(reopened.spentInPeriod('gate', 60, policy(10n)).epsilonSpent).toBe(1);
  });

  it('refuses garbage, an empty file and a database that is not a Veil ledger, rather than starting afresh', () => {
    open(true);
    opened.pop()!.close();
    writeFileSync(ledgerPath, Buffer.from('this is not a database, but it is where the ledger was'.repeat(100)));
    expectUnreadable();

    writeFileSync(ledgerPath, '');
    expectUnreadable();

    rmSync(ledgerPath);
    const foreign = new Database(ledgerPath);
    foreign.exec('CREATE TABLE notes (text TEXT)');
    foreign.close();
    expectUnreadable();
  });

  it('refuses a ledger whose recorded costs were tampered with', () => {
    open(true).spend({ camera: 'gate', atSeconds: 60, cost: pure(1n), policy: policy(10n) });
    opened.pop()!.close();
    const raw = new Database(ledgerPath);
    raw.prepare("UPDATE spends SET pure_epsilon = '-1/1'").run();
    raw.close();
    expect(() => open().spentInPeriod('gate', 60, policy(10n))).toThrow(/unreadable: spend #1 has the cost "-1\/1"/);
  });

  it('keeps the ledger in WAL mode (the mode in which synchronous=FULL fsyncs every commit)', () => {
    open(true);
    opened.pop()!.close();
    open();
    const raw = new Database(ledgerPath, { readonly: true });
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    raw.close();
  });
});

describe('spending', () => {
  it('composes pure ε exactly: six releases of 1/6 fit a budget of 1, a seventh does not', () => {
    const ledger = open(true);
    const outcomes = Array.from({ length: 7 }, (_, i) => ledger.spend({ camera: 'gate', atSeconds: 60 * (i + 1), cost: pure(1n, 6n), policy: policy(1n) }));
    expect(outcomes.map((outcome) => outcome.granted)).toEqual([true, true, true, true, true, true, false]);
    expect(outcomes[5]!.budget).toEqual({ periodSeconds: DAY, epsilonPerPeriod: 1, epsilonSpent: 1, epsilonLeft: 0 });
    expect(outcomes[6]!.budget.epsilonSpent).toBe(1);
  });

  it('frees budget once spends fall out of the rolling period (s − P, s]', () => {
    const ledger = open(true);
    const spend = (atSeconds: number) => ledger.spend({ camera: 'gate', atSeconds, cost: pure(1n), policy: policy(2n, 100) }).granted;
    expect([spend(0), spend(50), spend(99)]).toEqual([true, true, false]);
    expect(spend(100)).toBe(true); // the spend at 0 is outside (0, 100]
    expect(spend(149)).toBe(false); // (49, 149] still holds 50 and 100
    expect(spend(150)).toBe(true);
  });

  it('counts later spends too when a clip is analysed again from time 0', () => {
    const ledger = open(true);
    for (const atSeconds of [60, 120, 180]) ledger.spend({ camera: 'clip:abc', atSeconds, cost: pure(1n), policy: policy(4n) });
    // A re-run releases window 1 again: (60 − P, 60] holds only 1 ε, but the periods ending at 120 and 180 hold 3.
    expect(ledger.spend({ camera: 'clip:abc', atSeconds: 60, cost: pure(1n), policy: policy(4n) }).granted).toBe(true);
    expect(ledger.spend({ camera: 'clip:abc', atSeconds: 60, cost: pure(1n), policy: policy(4n) })).toMatchObject({
      granted: false,
      budget: { epsilonSpent: 4, epsilonLeft: 0 },
    });
  });

  it('keeps a separate budget per camera', () => {
    const ledger = open(true);
    expect(ledger.spend({ camera: 'a', atSeconds: 60, cost: pure(1n), policy: policy(1n) }).granted).toBe(true);
    expect(ledger.spend({ camera: 'b', atSeconds: 60, cost: pure(1n), policy: policy(1n) }).granted).toBe(true);
    expect(ledger.spend({ camera: 'a', atSeconds: 120, cost: pure(1n), policy: policy(1n) }).granted).toBe(false);
  });

  it('composes Gaussian spends in zCDP and converts the total at δ', () => {
    const ledger = open(true);
    const delta = 1e-6;
    const rhoPerRelease = rational(1n, 1000n);
    const gaussian: ReleaseCost = { pureEpsilon: rational(0n), zcdpRho: rhoPerRelease };
    let last;
    for (let i = 1; i <= 100; i++) last = ledger.spend({ camera: 'gate', atSeconds: 60 * i, cost: gaussian, policy: policy(100n, DAY, delta) });
    // 100 releases of ρ = 0.001 are ρ = 0.1 in total: ε ≈ 2.45 at δ = 1e-6, a fifth of what basic composition of the per-release ε would say.
    expect(last!.budget.epsilonSpent).toBeCloseTo(zcdpToEpsilon(0.1, delta), 12);
    expect(last!.budget.epsilonSpent).toBeLessThan((100 * zcdpToEpsilon(0.001, delta)) / 5);
  });

  it('refuses to convert earlier Gaussian spending when the settings now have no δ, rather than guess one', () => {
    const ledger = open(true);
    const gaussian: ReleaseCost = { pureEpsilon: rational(0n), zcdpRho: rational(1n, 100n) };
    ledger.spend({ camera: 'gate', atSeconds: 60, cost: gaussian, policy: policy(10n, DAY, 1e-6) });
    expect(() => ledger.spend({ camera: 'gate', atSeconds: 120, cost: pure(1n), policy: policy(10n) })).toThrow(/keep mechanism "discrete-gaussian"/);
  });

  it('records a granted spend before returning: another connection sees it at once', () => {
    open(true).spend({ camera: 'gate', atSeconds: 60, cost: pure(1n), policy: policy(10n) });
    const other = openLedger(ledgerPath, { createIfMissing: false });
    opened.push(other);
    expect(other.spentInPeriod('gate', 60, policy(10n)).epsilonSpent).toBe(1);
  });

  it('rejects a request without a camera or a finite time', () => {
    const ledger = open(true);
    expect(() => ledger.spend({ camera: '', atSeconds: 60, cost: pure(1n), policy: policy(1n) })).toThrow(/camera id/);
    expect(() => ledger.spend({ camera: 'gate', atSeconds: Number.NaN, cost: pure(1n), policy: policy(1n) })).toThrow(/finite time/);
  });
});
