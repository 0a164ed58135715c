/**
 * The privacy budget ledger: per camera, what each release spent and when, kept on disk so that a crash, a
 * `kill -9` or a restart never hands out a fresh budget.
 *
 *   const ledger = openLedger('state/privacy-ledger.sqlite', { createIfMissing: false });
 *   const { granted, budget } = ledger.spend({ camera: 'gate-1', atSeconds: windowEnd, cost, policy });
 *   if (granted) publish(...)  // only now: the spend is on disk
 *
 * Why SQLite (better-sqlite3) rather than an fsync'd file with atomic rename:
 *   - a release must be checked against the period and recorded as one step, also when two Veil processes share a
 *     camera by mistake; `BEGIN IMMEDIATE` takes the write lock before the check, so the second waits and then sees
 *     the first's spend. A rename-based file would need its own lock file to get the same.
 *   - each spend is an appended row, not a rewrite of the whole history;
 *   - durability is SQLite's: in WAL mode with `synchronous=FULL` every commit fsyncs the write-ahead log before
 *     returning, so a spend that returned survives power loss, and a half-written commit is rolled back on the next
 *     open (https://www.sqlite.org/pragma.html#pragma_synchronous, https://www.sqlite.org/wal.html).
 *
 * Rolling period: a spend at time a counts in every period (s − P, s] that contains it, i.e. for ends s in
 * [a, a + P). Windows normally arrive in time order, and then only (a − P, a] matters; but a clip analysed twice
 * (batch mode re-runs start their clock at 0 again) spends into periods that already hold later spends, so every
 * period containing a is checked:
 *
 *      a − P            a                a + P
 *   ────(──────────────●────────────────)────▶ stream seconds
 *        ├─ (a − P, a] ─┤
 *                 ├─ (s − P, s], a < s < a + P ─┤   ← the period totals change only at spend times,
 *                                                     so s = a and each later spend time are enough
 */
import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, linkSync, mkdirSync, openSync, unlinkSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { addCosts, composedEpsilon, fitsBudget, NO_COST, type ReleaseCost } from './privacyLoss.ts';
import { rational, subtract, toNumber, type Rational } from './rational.ts';

export interface BudgetPolicy {
  /** Length of the rolling period, in the same seconds as the spends' times. */
  periodSeconds: number;
  /** The most ε any one period may spend (see stages/privacy/privacyLoss.ts for how spends compose). */
  epsilonPerPeriod: Rational;
  /** δ at which zCDP spending is converted to ε; 0 when only pure ε is spent. */
  delta: number;
}

/** The budget as the privacy block reports it (stages/released.ts). */
export interface BudgetState {
  periodSeconds: number;
  epsilonPerPeriod: number;
  /** The most spent in any period containing the queried time, this release included when granted. */
  epsilonSpent: number;
  epsilonLeft: number;
}

export interface SpendRequest {
  camera: string;
  /** When the release happens, in the stream's seconds (the window's end). */
  atSeconds: number;
  cost: ReleaseCost;
  policy: BudgetPolicy;
}

export interface SpendOutcome {
  /** true: the spend is recorded and on disk, the release may go out. false: nothing was recorded. */
  granted: boolean;
  budget: BudgetState;
}

export interface Ledger {
  readonly path: string;
  /** Checks the release against every period containing it and, if it fits, records it durably before returning. */
  spend(request: SpendRequest): SpendOutcome;
  /** What has been spent around `atSeconds`, without spending. */
  spentInPeriod(camera: string, atSeconds: number, policy: BudgetPolicy): BudgetState;
  close(): void;
}

export class LedgerError extends Error {
  override name = 'LedgerError';
}

const LEDGER_FORMAT = 'veil-privacy-ledger';
const LEDGER_VERSION = 1;

const SCHEMA = `
  CREATE TABLE ledger_format (format TEXT NOT NULL, version INTEGER NOT NULL, created_unix_ms INTEGER NOT NULL);
  CREATE TABLE spends (
    id INTEGER PRIMARY KEY,
    camera TEXT NOT NULL,
    at_seconds REAL NOT NULL,
    pure_epsilon TEXT NOT NULL,  -- exact rational "numerator/denominator"
    zcdp_rho TEXT NOT NULL,      -- exact rational "numerator/denominator"
    recorded_unix_ms INTEGER NOT NULL
  );
  CREATE INDEX spends_by_camera_time ON spends (camera, at_seconds);
`;

const RATIONAL_TEXT = /^(\d+)\/([1-9]\d*)$/;

const rationalText = (value: Rational) => `${value.numerator}/${value.denominator}`;

function missingLedger(path: string): LedgerError {
  return new LedgerError(
    `no privacy ledger at ${path}. Veil does not start a fresh budget on its own: a lost ledger would forget what ` +
      'was already released about these cameras. If this is a first run, or you accept that past spending is ' +
      'forgotten, start with --new-ledger; otherwise restore the ledger file (and its -wal file) from backup.',
  );
}

function unreadableLedger(path: string, reason: string): LedgerError {
  return new LedgerError(
    `the privacy ledger at ${path} is unreadable: ${reason}. Veil refuses to release with an unknown budget: ` +
      'restore the ledger (and its -wal file) from backup; only if it is truly lost, move it aside and start with ' +
      '--new-ledger, accepting that past spending is forgotten.',
  );
}

function fsyncPath(path: string): void {
  const descriptor = openSync(path, 'r');
  try {
    fsyncSync(descriptor);
  } finally {
    closeSync(descriptor);
  }
}

/**
 * Builds a complete, empty ledger under a temporary name and links it into place, so a ledger file either does not
 * exist or is whole: a crash mid-creation leaves a stray draft, never a half-made ledger that would later read as
 * "corrupt". link(2) rather than rename(2) so that a ledger another process created meanwhile is never replaced.
 */
function createLedgerFile(path: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const draft = `${path}.${randomUUID()}.creating`;
  const database = new Database(draft);
  try {
    database.pragma('journal_mode = WAL');
    database.exec(SCHEMA);
    database.prepare('INSERT INTO ledger_format (format, version, created_unix_ms) VALUES (?, ?, ?)').run(LEDGER_FORMAT, LEDGER_VERSION, Date.now());
  } finally {
    database.close();
  }
  try {
    fsyncPath(draft);
    linkSync(draft, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    unlinkSync(draft);
  }
  fsyncPath(dirname(path));
}

function checkLedger(database: Database.Database, path: string): void {
  const integrity = database.pragma('quick_check', { simple: true });
  if (integrity !== 'ok') throw unreadableLedger(path, `SQLite integrity check failed (${String(integrity)})`);
  const formatTable = database.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'ledger_format'").get();
  if (!formatTable) throw unreadableLedger(path, 'it is not a Veil privacy ledger (no ledger_format table; an empty or foreign file)');
  const formats = database.prepare('SELECT format, version FROM ledger_format').all() as Array<{ format: unknown; version: unknown }>;
  const [format] = formats;
  if (formats.length !== 1 || format?.format !== LEDGER_FORMAT || format.version !== LEDGER_VERSION) {
    throw unreadableLedger(path, `unexpected ledger format ${JSON.stringify(formats)} (this Veil reads ${LEDGER_FORMAT} version ${LEDGER_VERSION})`);
  }
}

interface RecordedSpend {
  atSeconds: number;
  cost: ReleaseCost;
}

interface PeriodTotals {
  /** Every period containing the time stays within the budget. */
  fits: boolean;
  /** The largest ε any of those periods spent. */
  heaviestEpsilon: number;
}

/**
 * Totals of every period (s − P, s] with s in [a, a + P), each with `extra` added (it happens at a, inside all of
 * them). `spends` are those in (a − P, a + P), sorted by time; prefix sums make each period one subtraction.
 */
function periodsContaining(spends: readonly RecordedSpend[], atSeconds: number, extra: ReleaseCost, policy: BudgetPolicy): PeriodTotals {
  const prefix: ReleaseCost[] = [NO_COST];
  for (const spend of spends) prefix.push(addCosts(prefix[prefix.length - 1]!, spend.cost));
  const periodEnds = [atSeconds, ...spends.map((spend) => spend.atSeconds).filter((seconds) => seconds > atSeconds)];
  let fits = true;
  let heaviestEpsilon = 0;
  let first = 0;
  let pastLast = 0;
  for (const end of periodEnds) {
    while (first < spends.length && spends[first]!.atSeconds <= end - policy.periodSeconds) first += 1;
    while (pastLast < spends.length && spends[pastLast]!.atSeconds <= end) pastLast += 1;
    const before = prefix[first]!;
    const through = prefix[pastLast]!;
    const total = addCosts(
      { pureEpsilon: subtract(through.pureEpsilon, before.pureEpsilon), zcdpRho: subtract(through.zcdpRho, before.zcdpRho) },
      extra,
    );
    if (total.zcdpRho.numerator > 0n && !(policy.delta > 0)) throw gaussianSpendWithoutDelta(policy);
    fits &&= fitsBudget(total, policy.epsilonPerPeriod, policy.delta);
    heaviestEpsilon = Math.max(heaviestEpsilon, composedEpsilon(total, policy.delta).epsilon);
  }
  return { fits, heaviestEpsilon };
}

function gaussianSpendWithoutDelta(policy: BudgetPolicy): LedgerError {
  return new LedgerError(
    `this camera spent discrete-Gaussian (zCDP) budget within the last ${policy.periodSeconds} s, which only converts ` +
      'to ε at some δ > 0, but the current settings have no δ (discrete Laplace): keep mechanism "discrete-gaussian" ' +
      'with its delta until that period has passed',
  );
}

function budgetState(policy: BudgetPolicy, epsilonSpent: number): BudgetState {
  const epsilonPerPeriod = toNumber(policy.epsilonPerPeriod);
  return { periodSeconds: policy.periodSeconds, epsilonPerPeriod, epsilonSpent, epsilonLeft: Math.max(0, epsilonPerPeriod - epsilonSpent) };
}

function checkRequest(camera: string, atSeconds: number, policy: BudgetPolicy): void {
  if (typeof camera !== 'string' || camera.length === 0) throw new LedgerError('a spend needs a camera id (a non-empty string)');
  if (!Number.isFinite(atSeconds)) throw new LedgerError(`a spend needs a finite time in seconds, got ${atSeconds} for camera "${camera}"`);
  if (!(policy.periodSeconds > 0)) throw new LedgerError(`the budget period must be positive, got ${policy.periodSeconds} s`);
}

export function openLedger(path: string, options: { createIfMissing: boolean }): Ledger {
  const absolute = resolve(path);
  if (!existsSync(absolute)) {
    if (!options.createIfMissing) throw missingLedger(absolute);
    createLedgerFile(absolute);
  }
  let database: Database.Database | undefined;
  try {
    database = new Database(absolute, { fileMustExist: true });
    // Check before the first write: a corrupt or foreign file must be reported as found, not "repaired".
    checkLedger(database, absolute);
    database.pragma('journal_mode = WAL');
    database.pragma('synchronous = FULL');
  } catch (error) {
    database?.close();
    if (error instanceof LedgerError) throw error;
    throw unreadableLedger(absolute, (error as Error).message);
  }
  return new SqliteLedger(database, absolute);
}

class SqliteLedger implements Ledger {
  readonly #database: Database.Database;
  readonly #near: Database.Statement<[string, number, number], { id: number; at_seconds: number; pure_epsilon: string; zcdp_rho: string }>;
  readonly #insert: Database.Statement<[string, number, string, string, number]>;

  constructor(
    database: Database.Database,
    readonly path: string,
  ) {
    this.#database = database;
    this.#near = database.prepare(
      'SELECT id, at_seconds, pure_epsilon, zcdp_rho FROM spends WHERE camera = ? AND at_seconds > ? AND at_seconds < ? ORDER BY at_seconds, id',
    );
    this.#insert = database.prepare('INSERT INTO spends (camera, at_seconds, pure_epsilon, zcdp_rho, recorded_unix_ms) VALUES (?, ?, ?, ?, ?)');
  }

  spend(request: SpendRequest): SpendOutcome {
    const { camera, atSeconds, cost, policy } = request;
    checkRequest(camera, atSeconds, policy);
    const checkAndRecord = this.#database.transaction((): SpendOutcome => {
      const spends = this.#spendsAround(camera, atSeconds, policy.periodSeconds);
      const withRelease = periodsContaining(spends, atSeconds, cost, policy);
      if (!withRelease.fits) {
        return { granted: false, budget: budgetState(policy, periodsContaining(spends, atSeconds, NO_COST, policy).heaviestEpsilon) };
      }
      this.#insert.run(camera, atSeconds, rationalText(cost.pureEpsilon), rationalText(cost.zcdpRho), Date.now());
      return { granted: true, budget: budgetState(policy, withRelease.heaviestEpsilon) };
    });
    // IMMEDIATE: take the write lock before reading, so no other process can spend between our check and our row.
    return checkAndRecord.immediate();
  }

  spentInPeriod(camera: string, atSeconds: number, policy: BudgetPolicy): BudgetState {
    checkRequest(camera, atSeconds, policy);
    const spends = this.#spendsAround(camera, atSeconds, policy.periodSeconds);
    return budgetState(policy, periodsContaining(spends, atSeconds, NO_COST, policy).heaviestEpsilon);
  }

  close(): void {
    this.#database.close();
  }

  #spendsAround(camera: string, atSeconds: number, periodSeconds: number): RecordedSpend[] {
    return this.#near.all(camera, atSeconds - periodSeconds, atSeconds + periodSeconds).map((row) => ({
      atSeconds: row.at_seconds,
      cost: { pureEpsilon: this.#parseCost(row.pure_epsilon, row.id), zcdpRho: this.#parseCost(row.zcdp_rho, row.id) },
    }));
  }

  #parseCost(text: string, id: number): Rational {
    const match = RATIONAL_TEXT.exec(String(text));
    if (!match) throw unreadableLedger(this.path, `spend #${id} has the cost ${JSON.stringify(text)}, not a rational "n/d"`);
    return rational(BigInt(match[1]!), BigInt(match[2]!));
  }
}
