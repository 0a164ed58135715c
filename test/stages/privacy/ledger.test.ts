import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LedgerError, openLedger, type BudgetPolicy, type Ledger } from '../../../stages/privacy/ledger.ts';
import { zcdpToEpsilon, type ReleaseCost } from '../../../stages/privacy/privacyLoss.ts';
import { rational } from '../../../stages/privacy/rational.ts';

const REPOSITORY = fileURLToPath(new URL('../../..', import.meta.url));
const CHILD = fileURLToPath(new URL('../../fixtures/privacyReleaseChild.ts', import.meta.url));

const DAY = 86_400;
const pure = (numerator: bigint, denominator = 1n): ReleaseCost => ({ pureEpsilon: rational(numerator, denominator), zcdpRho: rational(0n) });
const policy = (epsilonPerPeriod: bigint, periodSeconds = DAY, delta = 0): BudgetPolicy => ({ periodSeconds, epsilonPerPeriod: rational(epsilonPerPeriod), delta });

let directory: string;
let ledgerPath: string;
const opened: Ledger[] = [];

function open(createIfMissing = false): Ledger {
  const ledger = openLedger(ledgerPath, { createIfMissing });
  opened.push(ledger);
  return ledger;
}

beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'veil-ledger-'));
  ledgerPath = join(directory, 'state', 'privacy-ledger.sqlite');
});

afterEach(() => {
  for (const ledger of opened.splice(0)) ledger.close();
  rmSync(directory, { recursive: true, force: true });
});

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

interface ChildRun {
  lines: Array<{ window: number; status: 'released' | 'withheld' }>;
  signal: NodeJS.Signals | null;
}

/** Runs the release fixture; with killAfterLines, SIGKILLs it as soon as that many windows were printed. */
function runChild(args: string[], killAfterLines?: number): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ledgerPath, ...args], { cwd: REPOSITORY, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: ChildRun['lines'] = [];
    let pending = '';
    let errors = '';
    child.stdout.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const complete = pending.split('\n');
      pending = complete.pop()!;
      for (const line of complete) lines.push(JSON.parse(line) as ChildRun['lines'][number]);
      if (killAfterLines !== undefined && lines.length >= killAfterLines) child.kill('SIGKILL');
    });
    child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code !== 0 && signal === null) reject(new Error(`release fixture failed (exit ${code}):\n${errors}`));
      else resolve({ lines, signal });
    });
  });
}

const released = (run: ChildRun) => run.lines.filter((line) => line.status === 'released').length;

describe('durability across kill -9', () => {
  it('never forgets a published window when the process is killed mid-stream', async () => {
    open(true);
    opened.pop()!.close();
    const killed = await runChild(['1000', '2000'], 25);
    expect(killed.signal).toBe('SIGKILL');
    const published = released(killed);
    expect(published).toBeGreaterThanOrEqual(25);
    // Everything published is on disk (the window being released at the kill may be too: spent, never shown).
    const spent = open().spentInPeriod('gate', 60, policy(2000n)).epsilonSpent;
    expect(spent).toBeGreaterThanOrEqual(published);
    expect(spent).toBeLessThanOrEqual(published + 1);
  });

  it('counts a window spent but never published, and a restart does not reset the budget', async () => {
    open(true);
    opened.pop()!.close();
    // Budget 5 at ε = 1: window 2 is spent, then the process dies before publishing it.
    const crashed = await runChild(['5', '5', '2']);
    expect(crashed.signal).toBe('SIGKILL');
    expect(crashed.lines).toEqual([
      { window: 0, status: 'released' },
      { window: 1, status: 'released' },
    ]);
    expect(open().spentInPeriod('gate', 60, policy(5n)).epsilonSpent).toBe(3);
    opened.pop()!.close();

    // The restarted process replays the clip: only the 2 ε left can go out, the rest is withheld.
    const restarted = await runChild(['5', '5']);
    expect(restarted.lines.map((line) => line.status)).toEqual(['released', 'released', 'withheld', 'withheld', 'withheld']);
    expect(open().spentInPeriod('gate', 60, policy(5n)).epsilonSpent).toBe(5);
  });

  it('never lets a killed-and-restarted run release more than the budget', async () => {
    open(true);
    opened.pop()!.close();
    const first = await runChild(['30', '10'], 4);
    const second = await runChild(['30', '10']);
    expect(second.signal).toBeNull();
    expect(released(first) + released(second)).toBeLessThanOrEqual(10);
    expect(open().spentInPeriod('gate', 60, policy(10n)).epsilonSpent).toBe(10);
  });
});
