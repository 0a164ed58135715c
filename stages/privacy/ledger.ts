/**
 * The privacy ledger: per camera, which span of footage each release covered and what it cost, kept on disk so that
 * a crash, a `kill -9`, a restart, a second process or a re-run of the same footage never hands out a fresh budget.
 * The budget belongs to the frames, not to the query (Privid, Cangialosi et al., NSDI 2022): a release is judged by
 * everything already released about the footage it covers and the footage any protected event in it could reach.
 *
 *   const ledger = openLedger('state/privacy-ledger', { createIfMissing: false });
 *   const outcome = ledger.spend({ camera: 'gate-1', startSeconds, endSeconds, eventCost, instantCost, policy });
 *   if (outcome.granted) publish(...)  // only now: the spend is on disk
 *
 * The rule. An event is one track seen for up to R = policy.eventReachSeconds (the protected visit ρ plus the
 * tracker's coasting): a closed interval E = [t, t + R] of the camera's clock. A span [s, e) meets E iff
 * t ∈ [s − R, e):
 *
 *            s − R        s                    e
 *   ───────────[───────────[───────────────────)──────▶ camera seconds
 *              E = [s−R, s] just touches s       E = [t, t+R] with t just below e still holds instants of the span
 *              ├──── t ∈ [s − R, e): every event that meets the span ────┤
 *
 * Two ways a release can depend on one event:
 *   - eventCost (occupancy: a visit adds to every window it touches) is charged to every event the span meets;
 *   - instantCost (crossings: a track adds at most m crossings per line over its whole life, each at one instant) is
 *     charged only through the instants the span contains, so spans that share no instant compose in parallel.
 * The loss charged to E, in the currencies of stages/privacy/privacyLoss.ts (pure ε and zCDP ρ, exact rationals):
 *
 *   occ(E)  = Σ eventCost    of the spans meeting E
 *   inst(E) = max over u ∈ E of Σ instantCost of the spans containing u
 *
 * A spend is granted only if, with it recorded, occ(E) + inst(u) fits policy.epsilonPerEvent (fitsBudget at the
 * policy's δ) for every event E meeting the new span and every instant u ∈ E, and, when the policy caps periods,
 * every period (a closed interval of periodSeconds, met like an event of reach P) that meets the new span carries
 * at most epsilonPerPeriod of eventCost + instantCost from the spans meeting it.
 *
 * Exactly, not by sampling: as functions of t, occ is a step function that changes only at s − R and e of the
 * spans, and the instant load only at s and e, so checking one event per piece between breakpoints, and each
 * piece of the instant load its instants reach, checks them all. Only spans within R (or P) of the new span can
 * meet an event (or period) that meets it, and those are read by index on (camera, start, end).
 *
 * Durability and concurrency are SQLite's (better-sqlite3): each spend is one `BEGIN IMMEDIATE` transaction (the
 * write lock is taken before the check, so a second process waits and then sees the first's spend), in WAL mode with
 * `synchronous = FULL`, so the write-ahead log is fsynced before a spend returns and a half-written commit is rolled
 * back on the next open (https://www.sqlite.org/pragma.html#pragma_synchronous, https://www.sqlite.org/wal.html).
 */
import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { accessSync, closeSync, constants, existsSync, fsyncSync, linkSync, mkdirSync, openSync, statSync, unlinkSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { grantCommand, processUser } from '../../streams/processUser.ts';
import { addCosts, composedEpsilon, fitsBudget, NO_COST, type ReleaseCost } from './privacyLoss.ts';
import { rational, subtract, toNumber, type Rational } from './rational.ts';

/** What a camera's releases are judged by; stored in the ledger per camera on its first spend. */
export interface SpanPolicy {
  mechanism: 'discrete-laplace' | 'discrete-gaussian';
  /** ε protecting one event: one track seen for up to `eventReachSeconds`. */
  epsilonPerEvent: Rational;
  /** ρ (the visit length protected, seconds) plus how long the tracker may coast on a lost object: how far apart two spans one event touches can be. */
  eventReachSeconds: number;
  /** δ at which zCDP spending converts to ε; 0 for pure ε. */
  delta: number;
  /** Optional cap on everything released about any rolling period of this length (seconds)... */
  periodSeconds?: number;
  /** ...at most this much ε. Both or neither. */
  epsilonPerPeriod?: Rational;
}

export interface SpanSpend {
  camera: string;
  /** The span of footage the release covers, [startSeconds, endSeconds), in the camera's own clock: Unix seconds (live; batch footage placed by --recorded-at). */
  startSeconds: number;
  endSeconds: number;
  /** Charged to every event whose reach meets the span (occupancy statistics: a visit adds to every window it touches). */
  eventCost: ReleaseCost;
  /** Charged only to events containing an instant of the span (crossings: one track adds at most m crossings per line over its whole life, so releases of disjoint spans compose in parallel for it). */
  instantCost: ReleaseCost;
  policy: SpanPolicy;
  /** Live mode: refuse a span that starts before the end of the latest span already granted to this camera (a clock set backwards). */
  monotonic?: boolean;
}

export type WithheldReason = 'span budget spent' | 'period budget spent' | 'clock went backwards';

export interface SpanBudget {
  epsilonPerEvent: number;
  /** The most ε any one event touching this span has been charged, this release included when granted. */
  epsilonSpent: number;
  epsilonLeft: number;
  periodSeconds?: number;
  epsilonPerPeriod?: number;
  /** The most ε any one period meeting this span carries, this release included when granted. */
  epsilonSpentInPeriod?: number;
}

export interface SpendOutcome {
  /** true: the spend is recorded and on disk, the release may go out. false: nothing was recorded. */
  granted: boolean;
  reason?: WithheldReason;
  budget: SpanBudget;
}

export type SpendAllOutcome = { granted: true; budgets: SpanBudget[] } | { granted: false; refused: number; reason: WithheldReason; budget: SpanBudget };

export interface Ledger {
  readonly path: string;
  /**
   * Checks the release against every event and period its span meets and, if all fit, records it durably before
   * returning (one IMMEDIATE transaction). Throws LedgerError for an invalid request, PolicyChangedError when the
   * policy differs from the camera's stored one and no migration was recorded.
   */
  spend(request: SpanSpend): SpendOutcome;
  /**
   * Spends several releases as one (a district total that rests on several cameras' footage, charged to each):
   * every request is checked as `spend` checks it, the later ones seeing the earlier ones' spans, and either all are
   * recorded or, when one does not fit, none is and the first refused request's index, reason and budget come back.
   * One IMMEDIATE transaction. Throws as `spend` does, recording nothing.
   */
  spendAll(requests: readonly SpanSpend[]): SpendAllOutcome;
  /**
   * Records an operator's explicit policy change for a camera (old, new, reason, time) so later spends are judged by
   * the new policy. Does nothing when the policy is already the stored one; for a camera with no policy yet it only
   * stores it (there is nothing to migrate from).
   */
  migratePolicy(camera: string, policy: SpanPolicy, reason: string): void;
  /**
   * Throws PolicyChangedError when the camera's stored policy differs from `policy`, without writing anything: lets a
   * command refuse changed settings at start-up instead of at its first release.
   */
  assertPolicy(camera: string, policy: SpanPolicy): void;
  close(): void;
}

export class LedgerError extends Error {
  override name = 'LedgerError';
}

/**
 * The ledger cannot be opened because of where it is or who may use it (a path through a file, a folder where the
 * file belongs, permissions, no ledger yet, a disk that refuses the new file): the deployment's to fix, while the
 * budget it records is intact. A command reports it like any other bad setting, not as a failed run.
 */
export class LedgerSetupError extends LedgerError {
  override name = 'LedgerSetupError';
}

/** A spend's policy differs from the one the camera's past releases were judged by. */
export class PolicyChangedError extends LedgerError {
  override name = 'PolicyChangedError';
}

const LEDGER_FORMAT = 'veil-privacy-ledger';
const LEDGER_VERSION = 2;
/** Version 1 kept a rolling sum per camera: each spend had a time, not a span of footage. */
const ROLLING_PERIOD_VERSION = 1;

const SCHEMA = `
  CREATE TABLE ledger_format (format TEXT NOT NULL, version INTEGER NOT NULL, created_unix_ms INTEGER NOT NULL);
  CREATE TABLE cameras (
    camera TEXT PRIMARY KEY,
    policy TEXT NOT NULL,                 -- canonical JSON of the SpanPolicy its spends are judged by
    longest_span_seconds REAL NOT NULL,   -- bounds the index range that can hold spans near a new one
    latest_end_seconds REAL               -- end of the latest span granted, for monotonic (live) spends
  );
  CREATE TABLE spans (
    id INTEGER PRIMARY KEY,
    camera TEXT NOT NULL,
    start_seconds REAL NOT NULL,
    end_seconds REAL NOT NULL,
    event_pure_epsilon TEXT NOT NULL,     -- exact rationals "numerator/denominator"
    event_zcdp_rho TEXT NOT NULL,
    instant_pure_epsilon TEXT NOT NULL,
    instant_zcdp_rho TEXT NOT NULL,
    recorded_unix_ms INTEGER NOT NULL
  );
  CREATE INDEX spans_by_camera_span ON spans (camera, start_seconds, end_seconds);
  CREATE TABLE policy_migrations (
    id INTEGER PRIMARY KEY,
    camera TEXT NOT NULL,
    old_policy TEXT NOT NULL,
    new_policy TEXT NOT NULL,
    reason TEXT NOT NULL,
    migrated_unix_ms INTEGER NOT NULL
  );
`;

const RATIONAL_TEXT = /^(\d+)\/([1-9]\d*)$/;

const rationalText = (value: Rational) => `${value.numerator}/${value.denominator}`;

const RESTORE_OR_RESTART =
  'restore the ledger (and its -wal file) from backup; only if it is truly lost, move it aside and start with ' +
  '--new-ledger, accepting that past spending is forgotten.';

function missingLedger(path: string): LedgerSetupError {
  return new LedgerSetupError(
    `no privacy ledger at ${path}. Veil does not start a fresh budget on its own: a lost ledger would forget what ` +
      'was already released about these cameras. If this is a first run, or you accept that past spending is ' +
      'forgotten, start with --new-ledger; otherwise restore the ledger file (and its -wal file) from backup.',
  );
}

function unreadableLedger(path: string, reason: string): LedgerError {
  return new LedgerError(`the privacy ledger at ${path} is unreadable: ${reason}. Veil refuses to release with an unknown budget: ${RESTORE_OR_RESTART}`);
}

function rollingPeriodLedger(path: string): LedgerError {
  return new LedgerError(
    `the privacy ledger at ${path} is format version ${ROLLING_PERIOD_VERSION}, a rolling budget per camera: its ` +
      'spends record when each release happened, not which span of footage it covered, so this Veil (format ' +
      `version ${LEDGER_VERSION}, a budget per span of footage) cannot charge them to spans. Move it aside (keep it ` +
      'as the record of what was released) and start a per-span ledger with --new-ledger. Live cameras then release ' +
      'only footage filmed from now on; footage already released in batch before the move is unknown to the new ' +
      'ledger, so do not release it again.',
  );
}

const PERMISSION_CODES = new Set(['EACCES', 'EPERM', 'EROFS']);

/**
 * The folder that holds `path`, or the nearest one above it that exists (where a missing folder would be made).
 * What exists there may be a regular file (a path that runs through a file): `pathProblem` says so first.
 */
function nearestFolder(path: string): string {
  let folder = dirname(path);
  while (!existsSync(folder) && dirname(folder) !== folder) folder = dirname(folder);
  return folder;
}

interface AccessProblem {
  /** What may not be read and written, e.g. "the ledger file". */
  what: string;
  /** Its path, and whether it is a folder (which must also be entered). */
  refused: string;
  refusedIsFolder: boolean;
  /** The folder to give to the user Veil runs as, when someone else owns what was refused. */
  folder: string;
  readOnlyFileSystem: boolean;
}

const folderMustHoldLog = (folder: string) => `the folder ${folder}, which must hold the ledger's -wal and -shm files`;

/**
 * Which part of the ledger this process may not read and write, if any: the file, or the folder, which must take
 * the -wal and -shm files beside it (and the file itself when it is created). Only for the message: SQLite decides.
 */
function accessProblem(path: string): AccessProblem | undefined {
  const folder = nearestFolder(path);
  const checks: Array<[string, number, string, boolean]> = [
    [path, constants.R_OK | constants.W_OK, 'the ledger file', false],
    [folder, constants.W_OK | constants.X_OK, folderMustHoldLog(folder), true],
  ];
  for (const [target, mode, what, refusedIsFolder] of checks) {
    try {
      if (existsSync(target)) accessSync(target, mode);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? '';
      if (PERMISSION_CODES.has(code)) return { what, refused: target, refusedIsFolder, folder, readOnlyFileSystem: code === 'EROFS' };
    }
  }
  return undefined;
}

/** The ledger is there but this process may not use it: a deployment problem, never a reason to reset the budget. */
function inaccessibleLedger(path: string, problem: AccessProblem): LedgerSetupError {
  const user = processUser();
  const grant = grantCommand(problem.refused, { folder: problem.refusedIsFolder, grantTarget: problem.folder });
  const [cause, fix] = problem.readOnlyFileSystem
    ? [`${problem.what} is on a read-only file system`, 'remount that file system read-write (or move the ledger, with its -wal file, to a writable one and point Veil at it)']
    : [
        `this process (${user.described}) may not read and write ${problem.what}`,
        grant.ownedAlready
          ? `that user owns it already, and its permissions refuse it: allow it, e.g. \`${grant.command}\``
          : `give the user Veil runs as ownership of the folder and the ledger files, e.g. \`${grant.command}\``,
      ];
  return new LedgerSetupError(`cannot open the privacy ledger at ${path}: ${cause}. The ledger and the spending it records are kept as they are: ${fix}, then start Veil again.`);
}

/**
 * What makes a ledger path unusable whoever this process runs as, if anything: the regular file it runs through
 * (`state/privacy-ledger` where `state` is a file), or a folder where the ledger file belongs. The advice is then
 * about the path, not about permissions.
 */
function pathProblem(path: string): { problem: string; fix: string } | undefined {
  const above = nearestFolder(path);
  const otherFolder = 'choose another state folder (--state-dir, or stateDir in the site config)';
  if (!statSync(above).isDirectory()) {
    return { problem: `${above} is a file, not a folder, so the ledger cannot be kept inside it`, fix: `${otherFolder} whose path runs through folders only, or move that file aside if it is in the wrong place` };
  }
  if (existsSync(path) && statSync(path).isDirectory()) {
    return { problem: 'that is a folder, not a ledger file', fix: `move that folder aside if it is in the wrong place (Veil keeps the ledger there as one file), or ${otherFolder}` };
  }
  return undefined;
}

function unusablePath(path: string, { problem, fix }: { problem: string; fix: string }): LedgerSetupError {
  return new LedgerSetupError(`cannot open the privacy ledger at ${path}: ${problem}. Nothing there was changed: ${fix}, then start Veil again.`);
}

/** Words for the errors creating a ledger can meet, so no raw errno text reaches a person. */
const CREATE_FAILURES: Record<string, string> = {
  ENOSPC: 'the disk is full',
  ENAMETOOLONG: 'the path is too long',
};

function uncreatableLedger(path: string, error: unknown): LedgerSetupError {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  const reason = CREATE_FAILURES[code] ?? 'the system refused to create the file';
  return new LedgerSetupError(`cannot create the privacy ledger at ${path}: ${reason}. Choose a state folder on a writable disk with free space.`);
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

/**
 * Throws SQLite's SQLITE_READONLY error when this connection may not write. SQLite opens a file it may only read
 * read-only, without an error (better-sqlite3's `readonly` only echoes the option it was given), and the first
 * spend would fail; a write rolled back at once finds out at opening. Nothing reaches the file.
 */
function probeWrite(database: Database.Database): void {
  database.exec('BEGIN IMMEDIATE');
  try {
    database.prepare('UPDATE ledger_format SET version = version').run();
  } finally {
    database.exec('ROLLBACK');
  }
}

/**
 * The part of the ledger SQLite found it may not write (its error `code`), when access(2) saw no problem: access
 * checks the real uid, the kernel refuses by the effective one. SQLITE_READONLY_DIRECTORY: the folder may not take
 * the -wal and -shm files; another SQLITE_READONLY code: the file may only be read.
 */
function readOnlyProblem(path: string, error: unknown): AccessProblem | undefined {
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_READONLY')) return undefined;
  const folder = nearestFolder(path);
  const folderRefused = code === 'SQLITE_READONLY_DIRECTORY';
  return { what: folderRefused ? folderMustHoldLog(folder) : 'the ledger file', refused: folderRefused ? folder : path, refusedIsFolder: folderRefused, folder, readOnlyFileSystem: false };
}

function checkLedger(database: Database.Database, path: string): void {
  const integrity = database.pragma('quick_check', { simple: true });
  if (integrity !== 'ok') throw unreadableLedger(path, `SQLite integrity check failed (${String(integrity)})`);
  const formatTable = database.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'ledger_format'").get();
  if (!formatTable) throw unreadableLedger(path, 'it is not a Veil privacy ledger (no ledger_format table; an empty or foreign file)');
  const formats = database.prepare('SELECT format, version FROM ledger_format').all() as Array<{ format: unknown; version: unknown }>;
  const [format] = formats;
  if (formats.length === 1 && format?.format === LEDGER_FORMAT && format.version === ROLLING_PERIOD_VERSION) throw rollingPeriodLedger(path);
  if (formats.length !== 1 || format?.format !== LEDGER_FORMAT || format.version !== LEDGER_VERSION) {
    throw unreadableLedger(path, `unexpected ledger format ${JSON.stringify(formats)} (this Veil reads ${LEDGER_FORMAT} version ${LEDGER_VERSION})`);
  }
}

/**
 * Opens the ledger at `path` (created, folder included, when missing and `createIfMissing`). Throws a LedgerError
 * whose message says what to do. LedgerSetupError: a path through a regular file or to a folder (choose another
 * path), missing (restore it, or --new-ledger on a first run), not readable and writable by this process (fix
 * ownership or permissions; the budget is intact), or a file that cannot be created (disk full, name too long).
 * LedgerError: unreadable or corrupt (restore it), or in the rolling-period format version 1 (move it aside).
 */
export function openLedger(path: string, options: { createIfMissing: boolean }): Ledger {
  const absolute = resolve(path);
  const unusable = pathProblem(absolute);
  if (unusable) throw unusablePath(absolute, unusable);
  // Permissions first: a ledger in a folder this process may not enter looks missing, and "start a new ledger"
  // would be the wrong advice for a budget that is intact.
  const inaccessible = accessProblem(absolute);
  if (inaccessible) throw inaccessibleLedger(absolute, inaccessible);
  if (!existsSync(absolute)) {
    if (!options.createIfMissing) throw missingLedger(absolute);
    try {
      createLedgerFile(absolute);
    } catch (error) {
      const problem = accessProblem(absolute);
      throw problem ? inaccessibleLedger(absolute, problem) : uncreatableLedger(absolute, error);
    }
  }
  let database: Database.Database | undefined;
  try {
    database = new Database(absolute, { fileMustExist: true });
    // Check before the first write: a corrupt or foreign file must be reported as found, not "repaired".
    checkLedger(database, absolute);
    database.pragma('journal_mode = WAL');
    database.pragma('synchronous = FULL');
    probeWrite(database);
  } catch (error) {
    database?.close();
    if (error instanceof LedgerError) throw error;
    const problem = accessProblem(absolute) ?? readOnlyProblem(absolute, error);
    if (problem) throw inaccessibleLedger(absolute, problem);
    throw unreadableLedger(absolute, (error as Error).message);
  }
  return new SqliteLedger(database, absolute);
}

// ── policy ───────────────────────────────────────────────────────────────────────────────────────────────────────

function checkCamera(camera: unknown): asserts camera is string {
  if (typeof camera !== 'string' || camera.length === 0) throw new LedgerError('a spend needs a camera id (a non-empty string)');
}

function isRational(value: Rational | undefined): value is Rational {
  return typeof value?.numerator === 'bigint' && typeof value.denominator === 'bigint' && value.numerator >= 0n && value.denominator > 0n;
}

function checkPolicy(camera: string, policy: SpanPolicy): void {
  const wrong = (field: string, problem: string) => new LedgerError(`camera "${camera}": policy.${field} ${problem}`);
  if (policy.mechanism !== 'discrete-laplace' && policy.mechanism !== 'discrete-gaussian') {
    throw wrong('mechanism', `must be "discrete-laplace" or "discrete-gaussian" (got ${JSON.stringify(policy.mechanism)})`);
  }
  if (!isRational(policy.epsilonPerEvent) || policy.epsilonPerEvent.numerator === 0n) throw wrong('epsilonPerEvent', 'must be a positive rational');
  if (!(policy.eventReachSeconds >= 0) || !Number.isFinite(policy.eventReachSeconds)) {
    throw wrong('eventReachSeconds', `must be a finite number of seconds ≥ 0 (got ${policy.eventReachSeconds})`);
  }
  if (!(policy.delta >= 0 && policy.delta < 1)) throw wrong('delta', `must be in [0, 1) (got ${policy.delta})`);
  if (policy.mechanism === 'discrete-gaussian' && policy.delta === 0) throw wrong('delta', 'must be above 0 for the discrete Gaussian (zCDP converts to ε only at some δ > 0)');
  if ((policy.periodSeconds === undefined) !== (policy.epsilonPerPeriod === undefined)) {
    throw wrong('periodSeconds', 'and policy.epsilonPerPeriod go together: give both (a cap per rolling period) or neither');
  }
  if (policy.periodSeconds !== undefined && (!(policy.periodSeconds > 0) || !Number.isFinite(policy.periodSeconds))) {
    throw wrong('periodSeconds', `must be a positive, finite number of seconds (got ${policy.periodSeconds})`);
  }
  if (policy.epsilonPerPeriod !== undefined && (!isRational(policy.epsilonPerPeriod) || policy.epsilonPerPeriod.numerator === 0n)) {
    throw wrong('epsilonPerPeriod', 'must be a positive rational');
  }
}

/** The policy as stored: fixed key order and exact rationals, so equal policies are equal strings. */
function policyJson(policy: SpanPolicy): string {
  return JSON.stringify({
    mechanism: policy.mechanism,
    epsilonPerEvent: rationalText(policy.epsilonPerEvent),
    eventReachSeconds: policy.eventReachSeconds,
    delta: policy.delta,
    // checkPolicy has made sure periodSeconds and epsilonPerPeriod come together.
    ...(policy.epsilonPerPeriod === undefined
      ? {}
      : { periodSeconds: policy.periodSeconds, epsilonPerPeriod: rationalText(policy.epsilonPerPeriod) }),
  });
}

/** A stored policy as its fields; anything but a JSON object reads as no fields, so every field shows as changed. */
function parsePolicy(json: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(json);
    return parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function policyChanged(camera: string, storedJson: string, requestedJson: string): PolicyChangedError {
  const stored = parsePolicy(storedJson);
  const requested = parsePolicy(requestedJson);
  const shown = (value: unknown) => (value === undefined ? 'none' : String(value).replace(/\/1$/, ''));
  const changes = [...new Set([...Object.keys(stored), ...Object.keys(requested)])]
    .filter((field) => stored[field] !== requested[field])
    .map((field) => `${field} ${shown(stored[field])} → ${shown(requested[field])}`);
  return new PolicyChangedError(
    `camera "${camera}": the privacy policy changed (${changes.join('; ')}) since this camera's past releases were ` +
      'judged by the old one, and a new policy would re-judge that spending. Restore the previous settings, or accept ' +
      'the change explicitly with --accept-policy-change "REASON" (the old policy, the new one and your reason are ' +
      'recorded in the ledger).',
  );
}

// ── loads ────────────────────────────────────────────────────────────────────────────────────────────────────────

interface RecordedSpan {
  startSeconds: number;
  endSeconds: number;
  eventCost: ReleaseCost;
  instantCost: ReleaseCost;
}

/** A load that is constant for x in [fromSeconds, toSeconds). */
interface LoadPiece {
  fromSeconds: number;
  toSeconds: number;
  load: ReleaseCost;
}

const isFree = (cost: ReleaseCost) => cost.pureEpsilon.numerator === 0n && cost.zcdpRho.numerator === 0n;

const subtractCosts = (a: ReleaseCost, b: ReleaseCost): ReleaseCost => ({
  pureEpsilon: subtract(a.pureEpsilon, b.pureEpsilon),
  zcdpRho: subtract(a.zcdpRho, b.zcdpRho),
});

/**
 * load(x) = Σ costOf(span) over the spans with start − reach ≤ x < end, as the pieces of [fromSeconds, toSeconds)
 * on which it is constant. It steps up at start − reach and down at end, so a sweep over those points is exact.
 */
function loadPieces(
  spans: readonly RecordedSpan[],
  reachSeconds: number,
  costOf: (span: RecordedSpan) => ReleaseCost,
  fromSeconds: number,
  toSeconds: number,
): LoadPiece[] {
  const steps = spans.flatMap((span) => {
    const cost = costOf(span);
    return isFree(cost) ? [] : [{ atSeconds: span.startSeconds - reachSeconds, cost, up: true }, { atSeconds: span.endSeconds, cost, up: false }];
  });
  // Rises before falls at the same point, so the running sum never dips below zero (rationals here are ≥ 0).
  steps.sort((a, b) => a.atSeconds - b.atSeconds || Number(b.up) - Number(a.up));
  let load = NO_COST;
  let next = 0;
  const stepThrough = (seconds: number) => {
    for (; next < steps.length && steps[next]!.atSeconds <= seconds; next++) {
      const step = steps[next]!;
      load = step.up ? addCosts(load, step.cost) : subtractCosts(load, step.cost);
    }
  };
  stepThrough(fromSeconds);
  const pieces: LoadPiece[] = [];
  for (let pieceStart = fromSeconds; pieceStart < toSeconds; ) {
    const pieceEnd = next < steps.length ? Math.min(steps[next]!.atSeconds, toSeconds) : toSeconds;
    pieces.push({ fromSeconds: pieceStart, toSeconds: pieceEnd, load });
    stepThrough(pieceEnd);
    pieceStart = pieceEnd;
  }
  return pieces;
}

interface Charges {
  /** Every total fits the budget. */
  fits: boolean;
  /** The largest total, as ε. */
  heaviestEpsilon: number;
}

function gaussianSpendWithoutDelta(camera: string): LedgerError {
  return new LedgerError(
    `camera "${camera}": footage near this span was released with the discrete Gaussian (zCDP), whose spending ` +
      'converts to ε only at some δ > 0, but the policy now has δ = 0 (discrete Laplace): keep mechanism ' +
      '"discrete-gaussian" and its delta for footage this close to what was released under it',
  );
}

function judge(totals: Iterable<ReleaseCost>, budget: Rational, delta: number, camera: string): Charges {
  let fits = true;
  let heaviestEpsilon = 0;
  for (const total of totals) {
    if (total.zcdpRho.numerator > 0n && !(delta > 0)) throw gaussianSpendWithoutDelta(camera);
    fits &&= fitsBudget(total, budget, delta);
    heaviestEpsilon = Math.max(heaviestEpsilon, composedEpsilon(total, delta).epsilon);
  }
  return { fits, heaviestEpsilon };
}

/** occ(E) + inst(u) for every event E = [t, t + R] meeting [start, end) and every instant u ∈ E. */
function* eventTotals(spans: readonly RecordedSpan[], startSeconds: number, endSeconds: number, reachSeconds: number): Generator<ReleaseCost> {
  const occupancy = loadPieces(spans, reachSeconds, (span) => span.eventCost, startSeconds - reachSeconds, endSeconds);
  const instants = loadPieces(spans, 0, (span) => span.instantCost, startSeconds - reachSeconds, endSeconds + reachSeconds);
  let firstReached = 0;
  for (const piece of occupancy) {
    // Events starting in [from, to) together hold the instants [from, to + R): every instant piece meeting those.
    while (instants[firstReached]!.toSeconds <= piece.fromSeconds) firstReached += 1;
    for (let index = firstReached; index < instants.length && instants[index]!.fromSeconds < piece.toSeconds + reachSeconds; index++) {
      yield addCosts(piece.load, instants[index]!.load);
    }
  }
}

/** What every period [a, a + P] meeting [start, end) carries: the full cost of each span meeting it. */
function* periodTotals(spans: readonly RecordedSpan[], startSeconds: number, endSeconds: number, periodSeconds: number): Generator<ReleaseCost> {
  for (const piece of loadPieces(spans, periodSeconds, (span) => addCosts(span.eventCost, span.instantCost), startSeconds - periodSeconds, endSeconds)) {
    yield piece.load;
  }
}

interface Assessment {
  event: Charges;
  period?: Charges;
}

function assess(spans: readonly RecordedSpan[], request: SpanSpend): Assessment {
  const { camera, startSeconds, endSeconds, policy } = request;
  const event = judge(eventTotals(spans, startSeconds, endSeconds, policy.eventReachSeconds), policy.epsilonPerEvent, policy.delta, camera);
  if (policy.periodSeconds === undefined || policy.epsilonPerPeriod === undefined) return { event };
  const period = judge(periodTotals(spans, startSeconds, endSeconds, policy.periodSeconds), policy.epsilonPerPeriod, policy.delta, camera);
  return { event, period };
}

function spanBudget(policy: SpanPolicy, assessment: Assessment): SpanBudget {
  const epsilonPerEvent = toNumber(policy.epsilonPerEvent);
  const budget: SpanBudget = {
    epsilonPerEvent,
    epsilonSpent: assessment.event.heaviestEpsilon,
    epsilonLeft: Math.max(0, epsilonPerEvent - assessment.event.heaviestEpsilon),
  };
  if (assessment.period && policy.periodSeconds !== undefined && policy.epsilonPerPeriod !== undefined) {
    budget.periodSeconds = policy.periodSeconds;
    budget.epsilonPerPeriod = toNumber(policy.epsilonPerPeriod);
    budget.epsilonSpentInPeriod = assessment.period.heaviestEpsilon;
  }
  return budget;
}

function checkRequest(request: SpanSpend): void {
  const { camera, startSeconds, endSeconds } = request;
  checkCamera(camera);
  if (!Number.isFinite(startSeconds) || !Number.isFinite(endSeconds) || !(startSeconds < endSeconds)) {
    throw new LedgerError(`camera "${camera}": a spend covers a span [startSeconds, endSeconds) of finite seconds with start before end (got [${startSeconds}, ${endSeconds}))`);
  }
  for (const [name, cost] of [['eventCost', request.eventCost], ['instantCost', request.instantCost]] as const) {
    if (!isRational(cost?.pureEpsilon) || !isRational(cost.zcdpRho)) {
      throw new LedgerError(`camera "${camera}": ${name} must hold non-negative rationals pureEpsilon and zcdpRho`);
    }
  }
  checkPolicy(camera, request.policy);
}

// ── storage ──────────────────────────────────────────────────────────────────────────────────────────────────────

interface CameraRow {
  policy: string;
  longest_span_seconds: number;
  latest_end_seconds: number | null;
}

interface SpanRow {
  id: number;
  start_seconds: number;
  end_seconds: number;
  event_pure_epsilon: string;
  event_zcdp_rho: string;
  instant_pure_epsilon: string;
  instant_zcdp_rho: string;
}

/**
 * Slack on the index range's lower bound on start: a span near the new one ends after `lo` and is at most `longest`
 * long, so it starts after lo − longest; a second of slack keeps float rounding of that difference from hiding one.
 * The exact test (end > lo) is applied to every row read.
 */
const INDEX_SLACK_SECONDS = 1;

/** A request of spendAll that did not fit: thrown inside its transaction to roll the others back. */
class RefusedSpend extends Error {
  constructor(
    readonly index: number,
    readonly outcome: SpendOutcome,
  ) {
    super(`spend ${index} refused`);
  }
}

class SqliteLedger implements Ledger {
  readonly #database: Database.Database;
  readonly #camera: Database.Statement<[string], CameraRow>;
  readonly #insertCamera: Database.Statement<[string, string]>;
  readonly #setPolicy: Database.Statement<[string, string]>;
  readonly #recordGrant: Database.Statement<[{ camera: string; length: number; end: number }]>;
  readonly #near: Database.Statement<[string, number, number, number], SpanRow>;
  readonly #insertSpan: Database.Statement<[string, number, number, string, string, string, string, number]>;
  readonly #insertMigration: Database.Statement<[string, string, string, string, number]>;

  constructor(
    database: Database.Database,
    readonly path: string,
  ) {
    this.#database = database;
    this.#camera = database.prepare('SELECT policy, longest_span_seconds, latest_end_seconds FROM cameras WHERE camera = ?');
    this.#insertCamera = database.prepare('INSERT INTO cameras (camera, policy, longest_span_seconds) VALUES (?, ?, 0)');
    this.#setPolicy = database.prepare('UPDATE cameras SET policy = ? WHERE camera = ?');
    this.#recordGrant = database.prepare(
      'UPDATE cameras SET longest_span_seconds = max(longest_span_seconds, @length), latest_end_seconds = max(coalesce(latest_end_seconds, @end), @end) WHERE camera = @camera',
    );
    this.#near = database.prepare(
      'SELECT id, start_seconds, end_seconds, event_pure_epsilon, event_zcdp_rho, instant_pure_epsilon, instant_zcdp_rho FROM spans ' +
        'WHERE camera = ? AND start_seconds >= ? AND start_seconds < ? AND end_seconds > ?',
    );
    this.#insertSpan = database.prepare(
      'INSERT INTO spans (camera, start_seconds, end_seconds, event_pure_epsilon, event_zcdp_rho, instant_pure_epsilon, instant_zcdp_rho, recorded_unix_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.#insertMigration = database.prepare('INSERT INTO policy_migrations (camera, old_policy, new_policy, reason, migrated_unix_ms) VALUES (?, ?, ?, ?, ?)');
  }

  spend(request: SpanSpend): SpendOutcome {
    checkRequest(request);
    // IMMEDIATE: take the write lock before reading, so no other process can spend between our check and our row.
    return this.#database.transaction(() => this.#checkAndRecord(request)).immediate();
  }

  spendAll(requests: readonly SpanSpend[]): SpendAllOutcome {
    requests.forEach(checkRequest);
    const budgets: SpanBudget[] = [];
    try {
      this.#database
        .transaction(() => {
          requests.forEach((request, index) => {
            const outcome = this.#checkAndRecord(request);
            // Thrown, so that better-sqlite3 rolls back the spans the earlier requests recorded.
            if (!outcome.granted) throw new RefusedSpend(index, outcome);
            budgets.push(outcome.budget);
          });
        })
        .immediate();
    } catch (error) {
      if (!(error instanceof RefusedSpend)) throw error;
      return { granted: false, refused: error.index, reason: error.outcome.reason!, budget: error.outcome.budget };
    }
    return { granted: true, budgets };
  }

  /** spend's check and record, inside the caller's transaction. */
  #checkAndRecord(request: SpanSpend): SpendOutcome {
    const { camera, startSeconds, endSeconds, eventCost, instantCost, policy } = request;
    const requestedPolicy = policyJson(policy);
    let stored = this.#camera.get(camera);
    if (!stored) {
      this.#insertCamera.run(camera, requestedPolicy);
      stored = { policy: requestedPolicy, longest_span_seconds: 0, latest_end_seconds: null };
    } else if (stored.policy !== requestedPolicy) {
      throw policyChanged(camera, stored.policy, requestedPolicy);
    }
    const spans = this.#spansNear(camera, startSeconds, endSeconds, policy, stored.longest_span_seconds);
    if (request.monotonic && stored.latest_end_seconds !== null && startSeconds < stored.latest_end_seconds) {
      return { granted: false, reason: 'clock went backwards', budget: spanBudget(policy, assess(spans, request)) };
    }
    const released: RecordedSpan = { startSeconds, endSeconds, eventCost, instantCost };
    const withRelease = assess([...spans, released], request);
    const reason: WithheldReason | undefined = !withRelease.event.fits ? 'span budget spent' : withRelease.period?.fits === false ? 'period budget spent' : undefined;
    if (reason) return { granted: false, reason, budget: spanBudget(policy, assess(spans, request)) };
    this.#insertSpan.run(
      camera,
      startSeconds,
      endSeconds,
      rationalText(eventCost.pureEpsilon),
      rationalText(eventCost.zcdpRho),
      rationalText(instantCost.pureEpsilon),
      rationalText(instantCost.zcdpRho),
      Date.now(),
    );
    this.#recordGrant.run({ camera, length: endSeconds - startSeconds, end: endSeconds });
    return { granted: true, budget: spanBudget(policy, withRelease) };
  }

  migratePolicy(camera: string, policy: SpanPolicy, reason: string): void {
    checkCamera(camera);
    checkPolicy(camera, policy);
    if (typeof reason !== 'string' || reason.trim().length === 0) {
      throw new LedgerError(`camera "${camera}": a policy change needs a reason, recorded in the ledger with the old and the new policy`);
    }
    const requestedPolicy = policyJson(policy);
    const migrate = this.#database.transaction(() => {
      const stored = this.#camera.get(camera);
      if (!stored) this.#insertCamera.run(camera, requestedPolicy);
      else if (stored.policy !== requestedPolicy) {
        this.#setPolicy.run(requestedPolicy, camera);
        this.#insertMigration.run(camera, stored.policy, requestedPolicy, reason, Date.now());
      }
    });
    migrate.immediate();
  }

  assertPolicy(camera: string, policy: SpanPolicy): void {
    checkCamera(camera);
    checkPolicy(camera, policy);
    const stored = this.#camera.get(camera);
    const requestedPolicy = policyJson(policy);
    if (stored && stored.policy !== requestedPolicy) throw policyChanged(camera, stored.policy, requestedPolicy);
  }

  close(): void {
    this.#database.close();
  }

  /** The spans that can meet an event or a period meeting [start, end). */
  #spansNear(camera: string, startSeconds: number, endSeconds: number, policy: SpanPolicy, longestSeconds: number): RecordedSpan[] {
    const reachSeconds = Math.max(policy.eventReachSeconds, policy.periodSeconds ?? 0);
    const lowSeconds = startSeconds - reachSeconds;
    const rows = this.#near.all(camera, lowSeconds - longestSeconds - INDEX_SLACK_SECONDS, endSeconds + reachSeconds, lowSeconds);
    return rows.map((row) => ({
      startSeconds: row.start_seconds,
      endSeconds: row.end_seconds,
      eventCost: { pureEpsilon: this.#parseCost(row.event_pure_epsilon, row.id), zcdpRho: this.#parseCost(row.event_zcdp_rho, row.id) },
      instantCost: { pureEpsilon: this.#parseCost(row.instant_pure_epsilon, row.id), zcdpRho: this.#parseCost(row.instant_zcdp_rho, row.id) },
    }));
  }

  #parseCost(text: string, id: number): Rational {
    const match = RATIONAL_TEXT.exec(String(text));
    if (!match) throw unreadableLedger(this.path, `span #${id} has the cost ${JSON.stringify(text)}, not a rational "n/d"`);
    return rational(BigInt(match[1]!), BigInt(match[2]!));
  }
}
