/** A fresh ledger file per test, and the budget shorthands the ledger's tests share. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { openLedger, type BudgetPolicy, type Ledger } from '../../../stages/privacy/ledger.ts';
import type { ReleaseCost } from '../../../stages/privacy/privacyLoss.ts';
import { rational } from '../../../stages/privacy/rational.ts';

export const DAY = 86_400;
export const pure = (numerator: bigint, denominator = 1n): ReleaseCost => ({ pureEpsilon: rational(numerator, denominator), zcdpRho: rational(0n) });
export const policy = (epsilonPerPeriod: bigint, periodSeconds = DAY, delta = 0): BudgetPolicy => ({ periodSeconds, epsilonPerPeriod: rational(epsilonPerPeriod), delta });

let directory: string;
/** This test's ledger file (in a fresh folder that does not exist yet: the ledger creates it). */
export let ledgerPath: string;
/** Ledgers opened by this test, closed after it. */
export const opened: Ledger[] = [];

export function open(createIfMissing = false): Ledger {
  const ledger = openLedger(ledgerPath, { createIfMissing });
  opened.push(ledger);
  return ledger;
}

/** Gives every test of the calling file its own ledger path, and removes it afterwards. */
export function useScratchLedger(): void {
  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'veil-ledger-'));
    ledgerPath = join(directory, 'state', 'privacy-ledger.sqlite');
  });
  afterEach(() => {
    for (const ledger of opened.splice(0)) ledger.close();
    rmSync(directory, { recursive: true, force: true });
  });
}
