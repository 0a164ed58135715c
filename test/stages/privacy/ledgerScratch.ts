/**
 * What the ledger's unit and integration tests share: a fresh ledger path per test, the costs and the policy they
 * spend with, and spendOn for camera "gate".
 */
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { openLedger, type Ledger, type SpanPolicy, type SpanSpend } from '../../../stages/privacy/ledger.ts';
import type { ReleaseCost } from '../../../stages/privacy/privacyLoss.ts';
import { rational } from '../../../stages/privacy/rational.ts';

export const pure = (numerator: bigint, denominator = 1n): ReleaseCost => ({ pureEpsilon: rational(numerator, denominator), zcdpRho: rational(0n) });
export const FREE = pure(0n);
/** Discrete Laplace, ε = 1 per event, an event of one instant (reach 0), no period cap, unless overridden. */
export const policyWith = (overrides: Partial<SpanPolicy> = {}): SpanPolicy => ({
  mechanism: 'discrete-laplace',
  epsilonPerEvent: rational(1n),
  eventReachSeconds: 0,
  delta: 0,
  ...overrides,
});

let directory: string;
/** This test's ledger file, in a fresh folder that does not exist yet (the ledger creates it). */
export let ledgerPath: string;
/** Ledgers opened by this test, closed after it. */
export const opened: Ledger[] = [];

/** The folder this test's ledger lives in (its `state` subfolder is the ledger's own). */
export const scratchDirectory = () => directory;

export function open(createIfMissing = false): Ledger {
  const ledger = openLedger(ledgerPath, { createIfMissing });
  opened.push(ledger);
  return ledger;
}

/** Creates an empty ledger and closes it, for tests whose spending happens in child processes. */
export function createEmptyLedger(): void {
  open(true);
  opened.pop()!.close();
}

/** Gives every test of the calling file its own ledger path, and removes it afterwards. */
export function useScratchLedger(): void {
  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'veil-ledger-'));
    ledgerPath = join(directory, 'state', 'privacy-ledger');
  });
  afterEach(() => {
    for (const ledger of opened.splice(0)) ledger.close();
    // A test may have made the state folder read-only; a non-root run could not delete it then.
    if (existsSync(join(directory, 'state'))) chmodSync(join(directory, 'state'), 0o755);
    rmSync(directory, { recursive: true, force: true });
  });
}

type SpendOptions = Partial<Omit<SpanSpend, 'startSeconds' | 'endSeconds'>>;

/** Spends [start, end) for camera "gate" with the given costs (free unless given) and policy (policyWith() unless given). */
export function spendOn(ledger: Ledger, startSeconds: number, endSeconds: number, options: SpendOptions = {}) {
  return ledger.spend({ camera: 'gate', eventCost: FREE, instantCost: FREE, policy: policyWith(), ...options, startSeconds, endSeconds });
}
