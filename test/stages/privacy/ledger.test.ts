/**
 * The ledger in one process: the per-span rule with hand-computed expectations, the policy, requests, and opening.
 * Permissions are in ledgerAccess.test.ts; crashes, concurrent processes and fsync in ledger.integration.test.ts.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { LedgerError, LedgerSetupError, openLedger, PolicyChangedError, type Ledger, type SpanPolicy } from '../../../stages/privacy/ledger.ts';
import type { ReleaseCost } from '../../../stages/privacy/privacyLoss.ts';
import { rational } from '../../../stages/privacy/rational.ts';
import { createEmptyLedger, ledgerPath, open, opened, policyWith, pure, scratchDirectory, spendOn, useScratchLedger } from './ledgerScratch.ts';

useScratchLedger();

/** Windows of `windowSeconds` back to back from 0: whether each was granted. */
function spendWindows(ledger: Ledger, count: number, windowSeconds: number, options: Parameters<typeof spendOn>[3]): boolean[] {
  return Array.from({ length: count }, (_, index) => spendOn(ledger, index * windowSeconds, (index + 1) * windowSeconds, options).granted);
}

/** Spends [0, 60) at ε 1/2 on camera "gate", closes the ledger, and edits its file by hand with `sql`. */
function spendThenEdit(sql: string, ...parameters: unknown[]): void {
  spendOn(open(true), 0, 60, { eventCost: pure(1n, 2n) });
  opened.pop()!.close();
  const raw = new Database(ledgerPath);
  raw.prepare(sql).run(...parameters);
  raw.close();
}

function expectUnreadable(): void {
  expect(() => open(true)).toThrow(LedgerError);
  expect(() => open(true)).toThrow(/is unreadable: .*refuses to release with an unknown budget/);
}

describe('opening the ledger', () => {
  it('refuses a missing ledger unless told to create one, and says how', () => {
    expect(() => open(false)).toThrow(LedgerError);
    expect(() => open(false)).toThrow(/no privacy ledger at .*privacy-ledger.*--new-ledger/s);
  });

  it('creates a new ledger (and its folder) when asked, and never resets an existing one', () => {
    expect(spendOn(open(true), 0, 60, { eventCost: pure(1n) }).granted).toBe(true);
    opened.pop()!.close();
    expect(spendOn(open(true), 0, 60, { eventCost: pure(1n) })).toMatchObject({ granted: false, reason: 'span budget spent' });
  });

  it('refuses garbage, an empty file and a database that is not a Veil ledger, rather than starting afresh', () => {
    createEmptyLedger();
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
    spendThenEdit("UPDATE spans SET event_pure_epsilon = '-1/1'");
    expect(() => spendOn(open(), 0, 60, { eventCost: pure(1n, 2n) })).toThrow(/unreadable: span #1 has the cost "-1\/1"/);
  });

  it('refuses a version-1 (rolling-period) ledger: its spends carry no span, and it says what to do', () => {
    mkdirSync(join(scratchDirectory(), 'state'));
    // The format Veil wrote before spans: a time per spend, no span of footage.
    const old = new Database(ledgerPath);
    old.exec(`
      CREATE TABLE ledger_format (format TEXT NOT NULL, version INTEGER NOT NULL, created_unix_ms INTEGER NOT NULL);
      CREATE TABLE spends (id INTEGER PRIMARY KEY, camera TEXT NOT NULL, at_seconds REAL NOT NULL, pure_epsilon TEXT NOT NULL, zcdp_rho TEXT NOT NULL, recorded_unix_ms INTEGER NOT NULL);
      INSERT INTO ledger_format VALUES ('veil-privacy-ledger', 1, 0);
      INSERT INTO spends VALUES (1, 'gate', 60, '1/1', '0/1', 0);
    `);
    old.close();
    expect(() => open()).toThrow(LedgerError);
    expect(() => open()).toThrow(
      `the privacy ledger at ${ledgerPath} is format version 1, a rolling budget per camera: its spends record when ` +
        'each release happened, not which span of footage it covered, so this Veil (format version 2, a budget per ' +
        'span of footage) cannot charge them to spans. Move it aside (keep it as the record of what was released) and ' +
        'start a per-span ledger with --new-ledger. Live cameras then release only footage filmed from now on; footage ' +
        'already released in batch before the move is unknown to the new ledger, so do not release it again.',
    );
    // That message alone, not wrapped in "is unreadable" (toThrow with a string matches a part of the message).
    expect(() => open()).toThrow(/^the privacy ledger at \S+ is format version 1,/);
  });

  const restoreOrRestart =
    'Veil refuses to release with an unknown budget: restore the ledger (and its -wal file) from backup; only if it is ' +
    'truly lost, move it aside and start with --new-ledger, accepting that past spending is forgotten.';

  it('says word for word what to do about a missing ledger, a foreign database and a tampered cost', () => {
    expect(() => open(false)).toThrow(
      `no privacy ledger at ${ledgerPath}. Veil does not start a fresh budget on its own: a lost ledger would forget what ` +
        'was already released about these cameras. If this is a first run, or you accept that past spending is ' +
        'forgotten, start with --new-ledger; otherwise restore the ledger file (and its -wal file) from backup.',
    );
    mkdirSync(join(scratchDirectory(), 'state'));
    const foreign = new Database(ledgerPath);
    foreign.exec('CREATE TABLE notes (text TEXT)');
    foreign.close();
    expect(() => open()).toThrow(
      `the privacy ledger at ${ledgerPath} is unreadable: it is not a Veil privacy ledger (no ledger_format table; an empty or foreign file). ${restoreOrRestart}`,
    );
  });

  it('refuses a recorded cost with anything after the rational', () => {
    spendThenEdit("UPDATE spans SET event_pure_epsilon = '1/2 x'");
    expect(() => spendOn(open(), 0, 60, { eventCost: pure(1n, 2n) })).toThrow(`the privacy ledger at ${ledgerPath} is unreadable: span #1 has the cost "1/2 x", not a rational "n/d". ${restoreOrRestart}`);
  });

  // A newer Veil's ledger, another program's, or two format rows: never read as this format.
  it.each([
    ['a later version', [['veil-privacy-ledger', 3]]],
    ['another format', [['other-ledger', 2]]],
    ['two rows of this format', [['veil-privacy-ledger', 2], ['veil-privacy-ledger', 2]]],
    ['a version-1 row beside a version-2 row', [['veil-privacy-ledger', 1], ['veil-privacy-ledger', 2]]],
  ] as Array<[string, Array<[string, number]>]>)('refuses a ledger_format table with %s', (_, rows) => {
    createEmptyLedger();
    const raw = new Database(ledgerPath);
    raw.prepare('DELETE FROM ledger_format').run();
    for (const [format, version] of rows) raw.prepare('INSERT INTO ledger_format VALUES (?, ?, 0)').run(format, version);
    raw.close();
    const listed = rows.map(([format, version]) => `{"format":"${format}","version":${version}}`).join(',');
    expect(() => open()).toThrow(
      `the privacy ledger at ${ledgerPath} is unreadable: unexpected ledger format [${listed}] (this Veil reads veil-privacy-ledger version 2). ${restoreOrRestart}`,
    );
  });

  it('says in words why the ledger could not be created, never the raw errno', () => {
    // A folder name of 300 characters: longer than any file system here allows for one name (255 bytes).
    const path = join(scratchDirectory(), 'x'.repeat(300), 'privacy-ledger');
    expect(() => openLedger(path, { createIfMissing: true })).toThrow(
      `cannot create the privacy ledger at ${path}: the path is too long. Choose a state folder on a writable disk with free space.`,
    );
  });

  it('a ledger path that runs through a file, or is a folder: names what is in the way, says to choose another path, not to fix permissions', () => {
    const file = join(scratchDirectory(), 'state');
    writeFileSync(file, 'a file where the state folder belongs');
    const advice = (path: string, problem: string, fix: string) => `cannot open the privacy ledger at ${path}: ${problem}. Nothing there was changed: ${fix}, then start Veil again.`;
    const otherFolder = 'choose another state folder (--state-dir, or stateDir in the site config)';
    const throughFile = `${file} is a file, not a folder, so the ledger cannot be kept inside it`;
    const throughFileFix = `${otherFolder} whose path runs through folders only, or move that file aside if it is in the wrong place`;
    expect(() => open(true)).toThrow(new LedgerSetupError(advice(ledgerPath, throughFile, throughFileFix)));
    expect(() => open(false)).toThrow(new LedgerSetupError(advice(ledgerPath, throughFile, throughFileFix)));
    // Folders to be made below the file: the file is still the one named.
    const deeper = join(file, 'veil', 'privacy-ledger');
    expect(() => openLedger(deeper, { createIfMissing: true })).toThrow(new LedgerSetupError(advice(deeper, throughFile, throughFileFix)));
    expect(readFileSync(file, 'utf8')).toBe('a file where the state folder belongs');
    // A folder where the ledger file belongs (SQLite alone would call it "unable to open database file").
    const folder = join(scratchDirectory(), 'ledger-folder');
    mkdirSync(folder);
    const folderFix = `move that folder aside if it is in the wrong place (Veil keeps the ledger there as one file), or ${otherFolder}`;
    expect(() => openLedger(folder, { createIfMissing: true })).toThrow(new LedgerSetupError(advice(folder, 'that is a folder, not a ledger file', folderFix)));
    expect(readdirSync(folder)).toEqual([]);
  });

  it('leaves no draft beside a ledger it created, and folds the write-ahead log into the file on close', () => {
    const ledger = open(true);
    expect(readdirSync(join(scratchDirectory(), 'state')).filter((name) => name.endsWith('.creating'))).toEqual([]);
    spendOn(ledger, 0, 60, { eventCost: pure(1n) });
    expect(existsSync(`${ledgerPath}-wal`)).toBe(true);
    opened.pop()!.close();
    // The last connection's close checkpoints and removes the -wal file: the ledger file alone now holds the spend.
    expect(existsSync(`${ledgerPath}-wal`)).toBe(false);
  });

  it('names its errors, so a message printed with its name says which kind of refusal it is', () => {
    expect(() => open(false)).toThrow(expect.objectContaining({ name: 'LedgerSetupError' }));
    const ledger = open(true);
    spendOn(ledger, 0, 60, { eventCost: pure(1n, 2n) });
    expect(() => ledger.assertPolicy('gate', policyWith({ eventReachSeconds: 5 }))).toThrow(expect.objectContaining({ name: 'PolicyChangedError' }));
  });

  it('keeps the ledger in WAL mode (the mode in which synchronous=FULL fsyncs every commit)', () => {
    createEmptyLedger();
    open();
    const raw = new Database(ledgerPath, { readonly: true });
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    raw.close();
  });
});

describe('the budget of a span', () => {
  it('withholds the same span released twice at the full ε', () => {
    const ledger = open(true);
    const first = spendOn(ledger, 0, 60, { eventCost: pure(1n) });
    const second = spendOn(ledger, 0, 60, { eventCost: pure(1n) });
    expect(first).toEqual({ granted: true, budget: { epsilonPerEvent: 1, epsilonSpent: 1, epsilonLeft: 0 } });
    expect(second).toEqual({ granted: false, reason: 'span budget spent', budget: { epsilonPerEvent: 1, epsilonSpent: 1, epsilonLeft: 0 } });
  });

  it('grants a span released 1000 times exactly what its budget allows: 7 releases of ε/7', () => {
    const ledger = open(true);
    const outcomes = Array.from({ length: 1000 }, () => spendOn(ledger, 3600, 3660, { eventCost: pure(1n, 7n) }));
    expect(outcomes.filter((outcome) => outcome.granted)).toHaveLength(7);
    expect(outcomes.slice(0, 7).every((outcome) => outcome.granted)).toBe(true);
    // 7 · 1/7 is exactly 1: no float rounding lets an eighth in or keeps the seventh out.
    expect(outcomes[6]!.budget).toEqual({ epsilonPerEvent: 1, epsilonSpent: 1, epsilonLeft: 0 });
    expect(outcomes[999]).toMatchObject({ granted: false, reason: 'span budget spent' });
  });

  it('withholds an excerpt overlapping footage already released, but not the footage beside it', () => {
    const ledger = open(true);
    const full = { eventCost: pure(1n) };
    expect(spendOn(ledger, 0, 60, full).granted).toBe(true);
    expect(spendOn(ledger, 30, 90, full)).toMatchObject({ granted: false, reason: 'span budget spent' }); // shares [30, 60)
    expect(spendOn(ledger, 10, 20, full).granted).toBe(false); // inside it
    expect(spendOn(ledger, 60, 120, full).granted).toBe(true); // [0, 60) and [60, 120) share no instant
    expect(spendOn(ledger, 59.5, 60.5, full).granted).toBe(false);
  });

  it('with a reach of 0, grants every one of back-to-back windows at the full ε', () => {
    expect(spendWindows(open(true), 100, 60, { eventCost: pure(1n) })).toEqual(Array<boolean>(100).fill(true));
  });

  it('with a reach R, fits the ⌈R/W⌉ + 1 windows a visit can touch when each costs ε/(⌈R/W⌉ + 1)', () => {
    // W = 60, R = 100: an event [t, t + 100] touches at most ⌈100/60⌉ + 1 = 3 windows of 60 s (e.g. t = 50: [0, 60),
    // [60, 120), [120, 180)), so ε/3 per window protects it with ε.
    const reach = policyWith({ eventReachSeconds: 100 });
    const ledger = open(true);
    expect(spendWindows(ledger, 30, 60, { eventCost: pure(1n, 3n), policy: reach })).toEqual(Array<boolean>(30).fill(true));
    expect(spendOn(ledger, 1800, 1860, { eventCost: pure(1n, 3n), policy: reach }).budget).toMatchObject({ epsilonSpent: 1, epsilonLeft: 0 });
  });

  it('with a reach R, withholds the third window when each costs ε/2, and grants again past R', () => {
    // W = 60, R = 100, ε/2 per window. Window 2 [120, 180): events with t in [20, 60) meet windows 0, 1 and 2: 3/2 > 1.
    // Window 3 [180, 240): t in [80, 120) meets windows 1 and 3 only (2 was withheld): 1. Window 5 [300, 360): t in
    // [200, 240) meets 3, 4 and 5: withheld again. So every third window goes out, by hand:
    const statuses = spendWindows(open(true), 12, 60, { eventCost: pure(1n, 2n), policy: policyWith({ eventReachSeconds: 100 }) });
    expect(statuses).toEqual([true, true, false, true, true, false, true, true, false, true, true, false]);
  });

  it('with R = W, lets an event touch two neighbouring windows but never two windows R apart', () => {
    // R = W = 60: the event [30, 90] meets [0, 60) and [60, 120): ⌈60/60⌉ + 1 = 2 windows. [0, 60) and [120, 180)
    // are met by t < 60 and by t ≥ 60 respectively: no event meets both.
    const reach = policyWith({ eventReachSeconds: 60 });
    expect(spendWindows(open(true), 3, 60, { eventCost: pure(2n, 3n), policy: reach })).toEqual([true, false, true]);
  });

  it('charges instant costs in parallel over back-to-back spans, and adds them up where spans overlap', () => {
    const reach = policyWith({ eventReachSeconds: 300 });
    const ledger = open(true);
    // A crossing happens at one instant: a track's crossings count in one window only, however long its visit.
    expect(spendWindows(ledger, 20, 60, { instantCost: pure(1n), policy: reach })).toEqual(Array<boolean>(20).fill(true));
    // An excerpt [30, 90) shares instants with [0, 60) and [60, 120): a crossing in it is released twice.
    expect(spendOn(ledger, 30, 90, { instantCost: pure(1n, 10n), policy: reach })).toMatchObject({ granted: false, reason: 'span budget spent' });

    const other = { camera: 'door', policy: reach };
    expect(spendOn(ledger, 0, 60, { ...other, instantCost: pure(1n, 2n) }).granted).toBe(true);
    expect(spendOn(ledger, 30, 90, { ...other, instantCost: pure(1n, 2n) }).granted).toBe(true); // [30, 60) holds 1/2 + 1/2
    expect(spendOn(ledger, 45, 50, { ...other, instantCost: pure(1n, 2n) }).granted).toBe(false); // [45, 50) would hold 3/2
    expect(spendOn(ledger, 90, 95, { ...other, instantCost: pure(1n, 2n) }).granted).toBe(true); // [90, 95) holds only this
  });

  it('adds an event’s occupancy charge to the crossing charge of the instants it contains', () => {
    const reach = policyWith({ eventReachSeconds: 100 });
    // W = 60, R = 100: an event touches up to 3 windows, ¼ each, plus the ¼ of its busiest instant: 1 in all.
    expect(spendWindows(open(true), 10, 60, { eventCost: pure(1n, 4n), instantCost: pure(1n, 4n), policy: reach })).toEqual(Array<boolean>(10).fill(true));
    // With ½ per instant: window 1 makes 2·¼ + ½ = 1; window 2 would make 3·¼ + ½ = 5/4.
    const ledger = open(true);
    const costs = { eventCost: pure(1n, 4n), instantCost: pure(1n, 2n), policy: reach, camera: 'door' };
    expect(spendWindows(ledger, 3, 60, costs)).toEqual([true, true, false]);
  });

  it('charges an instant only to the events that contain it', () => {
    const ledger = open(true);
    expect(spendOn(ledger, 0, 60, { instantCost: pure(1n), policy: policyWith({ eventReachSeconds: 100 }) }).granted).toBe(true);
    // Reach 100: an event [t, t + 100] with t in [−40, 60) holds an instant of [0, 60) (spent) and meets [60, 120).
    expect(spendOn(ledger, 60, 120, { eventCost: pure(1n, 10n), policy: policyWith({ eventReachSeconds: 100 }) }).granted).toBe(false);
    // Reach 0 on another camera: the event [t, t] meeting [60, 120) holds no instant of [0, 60).
    expect(spendOn(ledger, 0, 60, { camera: 'door', instantCost: pure(1n) }).granted).toBe(true);
    expect(spendOn(ledger, 60, 120, { camera: 'door', eventCost: pure(1n, 10n) }).granted).toBe(true);
  });

  it('pairs each event with the instants it holds, later ones included, and no others', () => {
    const reach = policyWith({ eventReachSeconds: 100 });
    const ledger = open(true);
    // Crossings spent in [100, 160): the events [t, t + 100] with t in [0, 60) hold them and meet [0, 60) too.
    expect(spendOn(ledger, 100, 160, { instantCost: pure(1n, 2n), policy: reach }).granted).toBe(true);
    expect(spendOn(ledger, 0, 60, { eventCost: pure(3n, 4n), policy: reach })).toMatchObject({ granted: false, reason: 'span budget spent' });
    // Crossings ½ in X = [0, 60), occupancy ½ in Z = [200, 260), then occupancy ¼ in [100, 160): events meeting it start
    // in [0, 160); those before 60 hold X's instants (¼ + ½), those from 100 on meet Z (¼ + ½), none does both.
    const door = { camera: 'door', policy: reach };
    expect(spendOn(ledger, 0, 60, { ...door, instantCost: pure(1n, 2n) }).granted).toBe(true);
    expect(spendOn(ledger, 200, 260, { ...door, eventCost: pure(1n, 2n) }).granted).toBe(true);
    expect(spendOn(ledger, 100, 160, { ...door, eventCost: pure(1n, 4n) })).toMatchObject({ granted: true, budget: { epsilonSpent: 0.75, epsilonLeft: 0.25 } });
  });

  it('pairs no event with crossings that end exactly where its occupancy begins to count', () => {
    // R = 60, ε = 1. Crossings 0.6 in J = [40, 100), occupancy 0.6 in O = [160, 220), then crossings 0.1 in [100, 160).
    // An event [t, t + 60] meets O only from t = 100 on, and then holds no instant before 100, so none holds J's and
    // meets O: the heaviest events carry 0.6 + 0.1 (O and the new crossings) or 0.6 + 0.1 (J's and the new ones), 0.7.
    const reach = policyWith({ eventReachSeconds: 60 });
    const ledger = open(true);
    expect(spendOn(ledger, 40, 100, { instantCost: pure(3n, 5n), policy: reach }).granted).toBe(true);
    expect(spendOn(ledger, 160, 220, { eventCost: pure(3n, 5n), policy: reach }).granted).toBe(true);
    expect(spendOn(ledger, 100, 160, { instantCost: pure(1n, 10n), policy: reach })).toMatchObject({ granted: true, budget: { epsilonSpent: 0.7 } });
  });

  it('pairs no event with crossings that start exactly one reach after it can last start', () => {
    // R = 60, ε = 1. Occupancy 0.4 in P = [0, 70), crossings 0.4 in J = [130, 190), then occupancy 0.4 in O = [100, 160).
    // Events meeting P and O start in [40, 70) and end before 130, so hold none of J's instants (0.8); those holding
    // J's instants start from 70 on, past P, and meet O (0.8). None carries all three (1.2).
    const reach = policyWith({ eventReachSeconds: 60 });
    const ledger = open(true);
    expect(spendOn(ledger, 0, 70, { eventCost: pure(2n, 5n), policy: reach }).granted).toBe(true);
    expect(spendOn(ledger, 130, 190, { instantCost: pure(2n, 5n), policy: reach }).granted).toBe(true);
    expect(spendOn(ledger, 100, 160, { eventCost: pure(2n, 5n), policy: reach })).toMatchObject({ granted: true, budget: { epsilonSpent: 0.8 } });
  });

  it('records a granted spend before returning: another connection sees it at once', () => {
    const first = open(true);
    const second = open();
    expect(spendOn(first, 0, 60, { eventCost: pure(1n) }).granted).toBe(true);
    expect(spendOn(second, 0, 60, { eventCost: pure(1n) })).toMatchObject({ granted: false, reason: 'span budget spent' });
  });

  it('finds a long span released earlier, after shorter ones', () => {
    const ledger = open(true);
    expect(spendOn(ledger, 0, 1000, { eventCost: pure(1n) }).granted).toBe(true);
    expect(spendOn(ledger, 2000, 2001, { eventCost: pure(1n) }).granted).toBe(true);
    expect(spendOn(ledger, 900, 901, { eventCost: pure(1n) }).granted).toBe(false); // inside [0, 1000)
  });

  it('keeps a separate budget per camera', () => {
    const ledger = open(true);
    expect(spendOn(ledger, 0, 60, { camera: 'a', eventCost: pure(1n) }).granted).toBe(true);
    expect(spendOn(ledger, 0, 60, { camera: 'b', eventCost: pure(1n) }).granted).toBe(true);
    expect(spendOn(ledger, 0, 60, { camera: 'a', eventCost: pure(1n) }).granted).toBe(false);
  });

  it('composes Gaussian spends in zCDP and converts the total at δ', () => {
    const delta = 1e-6;
    const policy = policyWith({ mechanism: 'discrete-gaussian', epsilonPerEvent: rational(3n), delta });
    const gaussian: ReleaseCost = { pureEpsilon: rational(0n), zcdpRho: rational(1n, 1000n) };
    const ledger = open(true);
    const outcomes = Array.from({ length: 200 }, () => spendOn(ledger, 0, 60, { eventCost: gaussian, policy }));
    // ρ-zCDP is (ρ + 2√(ρ ln(1/δ)), δ)-DP (Bun & Steinke 2016, Prop. 1.3): after 100 releases ρ = 0.1.
    expect(outcomes[99]!.budget.epsilonSpent).toBeCloseTo(0.1 + 2 * Math.sqrt(0.1 * Math.log(1e6)), 12);
    // The most ρ within ε = 3: √ρ = √(ln(1/δ) + ε) − √(ln(1/δ)), ρ ≈ 0.1473, so 147 releases of ρ = 0.001.
    const rhoBudget = (Math.sqrt(Math.log(1e6) + 3) - Math.sqrt(Math.log(1e6))) ** 2;
    expect(Math.floor(rhoBudget * 1000)).toBe(147);
    expect(outcomes.filter((outcome) => outcome.granted)).toHaveLength(147);
  });
});

describe('the budget of a period', () => {
  // An event may reach far (ε per event 100); each spend costs 1; any period of 100 s may carry at most 3.
  const capped = policyWith({ epsilonPerEvent: rational(100n), periodSeconds: 100, epsilonPerPeriod: rational(3n) });
  const instant = (ledger: Ledger, endSeconds: number) => spendOn(ledger, endSeconds - 1, endSeconds, { eventCost: pure(1n), policy: capped });

  it('reads spends in time order, not in the order they were recorded (issue 12)', () => {
    const ledger = open(true);
    // Spans ending at 90, 20, 190, 30, recorded in that order. A period [a, a + 100] meets [s, e) iff a ∈ [s − 100, e):
    // 20, 30 and 90 share a ∈ [−11, 20) (3); 90 and 190 share a ∈ [89, 90) (2).
    expect([90, 20, 190, 30].map((end) => instant(ledger, end).granted)).toEqual([true, true, true, true]);
    // [99, 100) would join 20, 30 and 90 for a ∈ [−1, 20): 4 > 3.
    expect(instant(ledger, 100)).toEqual({
      granted: false,
      reason: 'period budget spent',
      // No event (reach 0) touching [99, 100) was charged yet; the periods meeting it carry 3 without it.
      budget: { epsilonPerEvent: 100, epsilonSpent: 0, epsilonLeft: 100, periodSeconds: 100, epsilonPerPeriod: 3, epsilonSpentInPeriod: 3 },
    });
    // [120, 121): a ∈ [20, 121) meets at most 30, 90, 120 (a ∈ [20, 30)) or 90, 190, 120 (a ∈ [89, 90)): 3.
    expect(instant(ledger, 121)).toMatchObject({ granted: true, budget: { epsilonSpentInPeriod: 3 } });
  });

  it('reports only what the events touching the span were charged, though it reads spans a period away', () => {
    const ledger = open(true);
    const policy = policyWith({ periodSeconds: 1000, epsilonPerPeriod: rational(100n) });
    expect(spendOn(ledger, 0, 60, { eventCost: pure(1n), policy }).granted).toBe(true);
    // Reach 0: no event meets both [0, 60) and [100, 160); the period [0, 1000] holds both.
    expect(spendOn(ledger, 100, 160, { eventCost: pure(1n, 2n), policy })).toEqual({
      granted: true,
      budget: { epsilonPerEvent: 1, epsilonSpent: 0.5, epsilonLeft: 0.5, periodSeconds: 1000, epsilonPerPeriod: 100, epsilonSpentInPeriod: 1.5 },
    });
  });

  it('frees the period once spending is more than a period away', () => {
    const ledger = open(true);
    expect([1, 2, 3, 4].map((end) => instant(ledger, end).granted)).toEqual([true, true, true, false]);
    // [100, 101) shares the period [0, 100] (a ∈ [0, 1)) with all three: 4. [101, 102) shares none with [0, 1): 3.
    expect(instant(ledger, 101).granted).toBe(false);
    expect(instant(ledger, 102).granted).toBe(true);
  });
});

describe('the policy a camera is judged by', () => {
  const changes: Array<[string, Partial<SpanPolicy>, RegExp]> = [
    ['ε', { epsilonPerEvent: rational(2n) }, /epsilonPerEvent 1 → 2/],
    ['the reach (ρ)', { eventReachSeconds: 300 }, /eventReachSeconds 0 → 300/],
    ['the mechanism', { mechanism: 'discrete-gaussian', delta: 1e-6 }, /mechanism discrete-laplace → discrete-gaussian; delta 0 → 0.000001/],
    ['the period', { periodSeconds: 86_400, epsilonPerPeriod: rational(24n) }, /periodSeconds none → 86400; epsilonPerPeriod none → 24/],
  ];

  it.each(changes)('refuses a change of %s, naming the camera, the change and the flag that accepts it', (_, change, named) => {
    const ledger = open(true);
    spendOn(ledger, 0, 60, { eventCost: pure(1n, 2n) });
    const changed = () => spendOn(ledger, 60, 120, { eventCost: pure(1n, 2n), policy: policyWith(change) });
    expect(changed).toThrow(PolicyChangedError);
    expect(changed).toThrow(named);
    expect(changed).toThrow(/camera "gate".*--accept-policy-change "REASON"/s);
  });

  it('says what changed, word for word, with a ratio shown as the ratio it is and a whole number without "/1"', () => {
    const ledger = open(true);
    spendOn(ledger, 0, 60, { eventCost: pure(1n, 2n) });
    expect(() => spendOn(ledger, 60, 120, { eventCost: pure(1n, 10n), policy: policyWith({ epsilonPerEvent: rational(3n, 10n) }) })).toThrow(
      'camera "gate": the privacy policy changed (epsilonPerEvent 1 → 3/10) since this camera\'s past releases were judged by ' +
        'the old one, and a new policy would re-judge that spending. Restore the previous settings, or accept the change ' +
        'explicitly with --accept-policy-change "REASON" (the old policy, the new one and your reason are recorded in the ledger).',
    );
  });

  // The stored policy is a cell of the ledger file: edited by hand or damaged inside one cell (SQLite's check still
  // passes), it may hold any text. The refusal then lists every field of the requested policy as new.
  it.each([
    ['JSON null', 'null'],
    ['a JSON string', '"x"'],
    ['a number', '7'],
    ['text that is not JSON', 'policy: laplace'],
  ])('refuses a spend when the stored policy is %s, showing every requested field as changed from none', (_, stored) => {
    spendThenEdit('UPDATE cameras SET policy = ? WHERE camera = ?', stored, 'gate');
    const ledger = open();
    expect(() => spendOn(ledger, 60, 120, { eventCost: pure(1n, 2n) })).toThrow(PolicyChangedError);
    expect(() => spendOn(ledger, 60, 120, { eventCost: pure(1n, 2n) })).toThrow(
      'the privacy policy changed (mechanism none → discrete-laplace; epsilonPerEvent none → 1; eventReachSeconds none → 0; delta none → 0) since',
    );
  });

  it('refuses a changed policy up front with assertPolicy, writing nothing; the stored one passes', () => {
    const ledger = open(true);
    ledger.assertPolicy('gate', policyWith({ epsilonPerEvent: rational(3n) })); // no policy stored yet: nothing to differ from
    spendOn(ledger, 0, 60, { eventCost: pure(1n, 2n) });
    ledger.assertPolicy('gate', policyWith());
    expect(() => ledger.assertPolicy('gate', policyWith({ epsilonPerEvent: rational(3n) }))).toThrow(/camera "gate".*--accept-policy-change "REASON"/s);
    // Nothing was written: the original policy still grants.
    expect(spendOn(ledger, 60, 120, { eventCost: pure(1n, 2n) }).granted).toBe(true);
  });

  it('judges later spends by the new policy once a migration is recorded, and logs it', () => {
    const ledger = open(true);
    expect(spendOn(ledger, 0, 60, { eventCost: pure(1n) }).granted).toBe(true);
    const doubled = policyWith({ epsilonPerEvent: rational(2n) });
    const before = Date.now();
    ledger.migratePolicy('gate', doubled, 'the city raised the budget (decision 2026-114)');
    const after = Date.now();
    // Judged by ε = 2, the span spent at 1 has 1 left.
    expect(spendOn(ledger, 0, 60, { eventCost: pure(1n), policy: doubled })).toMatchObject({ granted: true, budget: { epsilonPerEvent: 2, epsilonSpent: 2 } });
    expect(() => spendOn(ledger, 60, 120, { eventCost: pure(1n) })).toThrow(PolicyChangedError);
    ledger.migratePolicy('gate', doubled, 'the same policy again changes nothing');

    const raw = new Database(ledgerPath, { readonly: true });
    const rows = raw.prepare('SELECT camera, old_policy, new_policy, reason, migrated_unix_ms FROM policy_migrations').all() as Array<Record<string, unknown>>;
    raw.close();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ camera: 'gate', reason: 'the city raised the budget (decision 2026-114)' });
    expect(JSON.parse(String(rows[0]!.old_policy))).toEqual({ mechanism: 'discrete-laplace', epsilonPerEvent: '1/1', eventReachSeconds: 0, delta: 0 });
    expect(JSON.parse(String(rows[0]!.new_policy))).toEqual({ mechanism: 'discrete-laplace', epsilonPerEvent: '2/1', eventReachSeconds: 0, delta: 0 });
    expect(rows[0]!.migrated_unix_ms).toBeGreaterThanOrEqual(before);
    expect(rows[0]!.migrated_unix_ms).toBeLessThanOrEqual(after);
  });

  it('needs a reason to migrate', () => {
    const needed = 'camera "gate": a policy change needs a reason, recorded in the ledger with the old and the new policy';
    expect(() => open(true).migratePolicy('gate', policyWith(), ' ')).toThrow(needed);
    // A caller without types (a script) may leave the reason out: the ledger says so, not a TypeError.
    expect(() => open(true).migratePolicy('gate', policyWith(), undefined as unknown as string)).toThrow(needed);
  });

  it('refuses to convert nearby Gaussian spending after a migration to δ = 0, rather than guess a δ', () => {
    const ledger = open(true);
    const gaussian = policyWith({ mechanism: 'discrete-gaussian', delta: 1e-6 });
    spendOn(ledger, 0, 60, { eventCost: { pureEpsilon: rational(0n), zcdpRho: rational(1n, 100n) }, policy: gaussian });
    ledger.migratePolicy('gate', policyWith(), 'back to the discrete Laplace');
    expect(() => spendOn(ledger, 0, 60, { eventCost: pure(1n, 10n) })).toThrow(
      'camera "gate": footage near this span was released with the discrete Gaussian (zCDP), whose spending converts to ε only at some δ > 0, but the policy now has δ = 0 (discrete Laplace): keep mechanism "discrete-gaussian" and its delta for footage this close to what was released under it',
    );
    expect(spendOn(ledger, 60, 120, { eventCost: pure(1n, 10n) }).granted).toBe(true);
  });
});

describe('live spends', () => {
  it('refuses a span that starts before the latest one granted (a clock set backwards), and records nothing', () => {
    const ledger = open(true);
    const live = { eventCost: pure(1n, 2n), monotonic: true };
    expect(spendOn(ledger, 1000, 1060, live).granted).toBe(true);
    expect(spendOn(ledger, 1060, 1120, live).granted).toBe(true); // back to back is forward
    expect(spendOn(ledger, 1050, 1110, live)).toMatchObject({ granted: false, reason: 'clock went backwards' });
    // Had it been recorded, [1050, 1060) would now carry 1/2 + 1/2 and this would be refused.
    expect(spendOn(ledger, 1050, 1060, { eventCost: pure(1n, 2n) }).granted).toBe(true);
    // Batch footage placed earlier does not move the live clock back: [1110, 1170) still starts before 1120.
    expect(spendOn(ledger, 0, 60, { eventCost: pure(1n, 2n) }).granted).toBe(true);
    expect(spendOn(ledger, 1110, 1170, live)).toMatchObject({ granted: false, reason: 'clock went backwards' });
  });
});

describe('requests', () => {
  it('find an earlier long span however the clock is placed, before 1970 too (its length is end − start)', () => {
    // ε per event 1, reach 0: [−1000, −400) spends the whole ε of its instants, so [−500, −440) inside it has none left.
    const ledger = open(true);
    expect(spendOn(ledger, -1000, -400, { eventCost: pure(1n) }).granted).toBe(true);
    expect(spendOn(ledger, -500, -440, { eventCost: pure(1n) })).toMatchObject({ granted: false, reason: 'span budget spent' });
  });

  it('find an earlier span that ends less than a second into the new one, however long it was', () => {
    // Reach 0, ε 1: [0, 1000) spends the whole ε of its instants, so [999.5, 1000) has none left for a span starting at 999.5.
    const ledger = open(true);
    expect(spendOn(ledger, 0, 1000, { eventCost: pure(1n) }).granted).toBe(true);
    expect(spendOn(ledger, 999.5, 1060, { eventCost: pure(1n) })).toMatchObject({ granted: false, reason: 'span budget spent' });
  });

  it('are refused without a camera, a finite span with start before end, non-negative costs or a valid policy', () => {
    const ledger = open(true);
    const cost = { eventCost: pure(1n) };
    expect(() => spendOn(ledger, 0, 60, { ...cost, camera: '' })).toThrow(/camera id/);
    expect(() => spendOn(ledger, Number.NaN, 60, cost)).toThrow(/finite seconds with start before end/);
    expect(() => spendOn(ledger, 0, Number.POSITIVE_INFINITY, cost)).toThrow(/finite seconds/);
    expect(() => spendOn(ledger, 60, 60, cost)).toThrow(/start before end \(got \[60, 60\)\)/);
    expect(() => spendOn(ledger, 0, 60, { eventCost: { pureEpsilon: { numerator: -1n, denominator: 1n }, zcdpRho: rational(0n) } })).toThrow(/eventCost must hold non-negative/);
    // A caller without types (a config, a script) may leave a cost out: the ledger says which, not a TypeError.
    expect(() => spendOn(ledger, 0, 60, { eventCost: undefined as unknown as ReleaseCost })).toThrow('camera "gate": eventCost must hold non-negative rationals pureEpsilon and zcdpRho');
    expect(() => spendOn(ledger, 0, 60, { ...cost, policy: policyWith({ eventReachSeconds: -1 }) })).toThrow(/eventReachSeconds must be a finite number of seconds ≥ 0/);
    const both = 'policy.periodSeconds and policy.epsilonPerPeriod go together: give both (a cap per rolling period) or neither';
    expect(() => spendOn(ledger, 0, 60, { ...cost, policy: policyWith({ periodSeconds: 100 }) })).toThrow(`camera "gate": ${both}`);
    expect(() => spendOn(ledger, 0, 60, { ...cost, policy: policyWith({ epsilonPerPeriod: rational(1n) }) })).toThrow(`camera "gate": ${both}`);
    expect(() => spendOn(ledger, 0, 60, { ...cost, policy: policyWith({ mechanism: 'discrete-gaussian' }) })).toThrow(/delta must be above 0/);
    const invalid: Array<[Partial<SpanPolicy>, RegExp]> = [
      [{ mechanism: 'laplace' as SpanPolicy['mechanism'] }, /policy.mechanism must be "discrete-laplace" or "discrete-gaussian"/],
      [{ epsilonPerEvent: rational(0n) }, /policy.epsilonPerEvent must be a positive rational/],
      [{ delta: 1 }, /policy.delta must be in \[0, 1\)/],
      [{ delta: -0.1 }, /policy.delta must be in \[0, 1\) \(got -0.1\)/],
      // A caller without types may pass a number where the ledger needs an exact rational (1 >= 0n holds in JavaScript).
      [{ epsilonPerEvent: { numerator: 1 as unknown as bigint, denominator: 1n } }, /policy.epsilonPerEvent must be a positive rational/],
      // The same for the denominator (2 > 0n holds too).
      [{ epsilonPerEvent: { numerator: 1n, denominator: 2 as unknown as bigint } }, /policy.epsilonPerEvent must be a positive rational/],
      [{ periodSeconds: 0, epsilonPerPeriod: rational(1n) }, /policy.periodSeconds must be a positive, finite number/],
      [{ periodSeconds: 100, epsilonPerPeriod: rational(0n) }, /policy.epsilonPerPeriod must be a positive rational/],
    ];
    for (const [change, message] of invalid) expect(() => spendOn(ledger, 0, 60, { ...cost, policy: policyWith(change) })).toThrow(message);
    expect(() => spendOn(ledger, 0, 60, { eventCost: pure(1n), instantCost: { pureEpsilon: rational(0n), zcdpRho: { numerator: 1n, denominator: 0n } } })).toThrow(/instantCost must hold/);
  });
});

describe('spending several cameras as one (spendAll)', () => {
  // ε = 1 per event, an event of one instant: each camera's span [0, 60) holds ε 1 in all.
  const on = (camera: string, epsilon: bigint, denominator = 1n) => ({ camera, startSeconds: 0, endSeconds: 60, eventCost: pure(epsilon, denominator), instantCost: pure(0n), policy: policyWith() });

  it('records every camera\'s span when all fit, each with its own budget left', () => {
    const ledger = open(true);
    spendOn(ledger, 0, 60, { camera: 'bridge', eventCost: pure(1n, 4n) });
    const outcome = ledger.spendAll([on('road', 1n, 2n), on('bridge', 1n, 2n)]);
    // road: 1 − 1/2 = 1/2 left; bridge: 1 − 1/4 − 1/2 = 1/4 left.
    expect(outcome).toMatchObject({ granted: true, budgets: [{ epsilonLeft: 0.5 }, { epsilonLeft: 0.25 }] });
    expect(spendOn(ledger, 0, 60, { camera: 'road', eventCost: pure(1n, 2n) }).granted).toBe(true);
    expect(spendOn(ledger, 0, 60, { camera: 'bridge', eventCost: pure(1n, 2n) })).toMatchObject({ granted: false, reason: 'span budget spent' });
  });

  it('records none when one camera\'s span has no budget left, naming that one', () => {
    const ledger = open(true);
    spendOn(ledger, 0, 60, { camera: 'bridge', eventCost: pure(3n, 4n) });
    expect(ledger.spendAll([on('road', 1n, 2n), on('bridge', 1n, 2n)])).toMatchObject({ granted: false, refused: 1, reason: 'span budget spent', budget: { epsilonLeft: 0.25 } });
    // road was checked first and fitted, but its span was rolled back with the refusal: its whole ε is still there.
    expect(spendOn(ledger, 0, 60, { camera: 'road', eventCost: pure(1n) }).granted).toBe(true);
    expect(spendOn(ledger, 0, 60, { camera: 'bridge', eventCost: pure(1n, 4n) }).granted).toBe(true);
  });

  it('checks each request like spend, recording nothing for an invalid one', () => {
    const ledger = open(true);
    expect(() => ledger.spendAll([on('road', 1n, 2n), { ...on('bridge', 1n, 2n), endSeconds: 0 }])).toThrow(LedgerError);
    expect(spendOn(ledger, 0, 60, { camera: 'road', eventCost: pure(1n) }).granted).toBe(true);
  });
});
