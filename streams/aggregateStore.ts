/**
 * `veil aggregate`'s store, in SQLite: every window the fleet's cameras released or withheld, once per window id,
 * and each camera's latest federated evaluation. Camera ids are fleet ids, "site/camera" (a camera id is unique
 * within its site only). It is also the release store the aggregator's feed replays from (ReleaseStore).
 *
 *   const store = openAggregateStore('city/fleet.sqlite');
 *   store.putWindow(window);            // 'stored', or 'duplicate' for a redelivery (MQTT QoS 1 is at least once)
 *   store.windowsAt(60, 1764064800, ['north/gate', 'north/yard']);
 *
 * A window's id is (camera, windowSeconds, startSeconds): a camera releases each window of a series once (its
 * ledger refuses a second release of the same span), so a second message with that id is a redelivery — stored
 * once — or, when its body differs, a conflict, which keeps the first and is reported.
 */
import { z } from 'zod';
import { releasedWindowSchema, type ReleasedWindow } from '../stages/released.ts';
import { districtWindowSchema, evalFiguresSchema, type DistrictWindow, type EvalFigures } from './feedMessages.ts';
import type { FeedReplaySource } from './feedServer.ts';
import type { ReleaseStore } from './releaseStore.ts';
import { deleteInBatches, openStoreFile, readJsonBody } from './sqliteFile.ts';

/** Bumped when the tables' layout changes, so an older file is recognised instead of misread. */
const AGGREGATE_STORE_VERSION = 1;

export type PutOutcome = 'stored' | 'duplicate' | 'conflict';

/** One window of one series: its length and its start, as in every camera's windows. */
export interface WindowSpan {
  windowSeconds: number;
  startSeconds: number;
}

export interface AggregateStore extends FeedReplaySource, Pick<ReleaseStore, 'close'> {
  /** Stores the window unless its id is stored already. Throws when it is not a valid released window. */
  putWindow(window: ReleasedWindow): PutOutcome;
  /** The windows of these cameras with this length and start (each camera's at most once). */
  windowsAt(span: WindowSpan, cameras: readonly string[]): ReleasedWindow[];
  /** The latest `count` spans (by start, then length) any of these cameras has a window for, oldest first. */
  recentSpans(cameras: readonly string[], count: number): WindowSpan[];
  /** How many windows are stored. */
  windowCount(): number;
  /** Replaces the camera's evaluation (the latest one counts). */
  putEval(figures: EvalFigures): void;
  /** Every camera's latest evaluation, by camera id. */
  evals(): EvalFigures[];
  /**
   * Keeps a district total that secure aggregation produced (once per district, window length and start: a second
   * result for the same round is ignored). Such a total exists nowhere else: the boxes' inputs were masked, so it
   * cannot be recomputed from stored windows as other district totals are. Throws when `total` is not valid.
   */
  putSecureTotal(total: DistrictWindow): void;
  /** The district's latest `count` securely aggregated totals, oldest first. */
  secureTotals(district: string, count: number): DistrictWindow[];
  /**
   * Deletes the windows and the securely aggregated totals that ended before `cutoffSeconds` (Unix seconds) and
   * says how many of each. Only wall-clock windows have an age: one on a recorded clip's clock (seconds from the
   * clip's start, as a simulated box publishes) is kept. Every camera's window of one span ends at the same time, so a
   * span is removed whole and the district totals of the spans kept are unchanged. Evaluations are kept (one per
   * camera, the latest).
   */
  pruneEndedBefore(cutoffSeconds: number): { windows: number; secureTotals: number };
}

interface BodyRow {
  body: string;
}

/** Opens (creating if needed) the store at `path`; `':memory:'` lives as long as the process. */
export function openAggregateStore(path: string): AggregateStore {
  // Durable across a crash of the process, which is what a redelivery cannot cover: the broker forgets a message
  // once the aggregator has acknowledged it, and it acknowledges after storing.
  const { db, fileVersion } = openStoreFile(path);
  if (fileVersion === 0) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS fleet_windows (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        camera TEXT NOT NULL,
        window_seconds REAL NOT NULL,
        start_seconds REAL NOT NULL,
        body TEXT NOT NULL,
        UNIQUE (camera, window_seconds, start_seconds)
      );
      CREATE INDEX IF NOT EXISTS fleet_windows_by_span ON fleet_windows (window_seconds, start_seconds);
      CREATE TABLE IF NOT EXISTS fleet_evals (camera TEXT PRIMARY KEY, body TEXT NOT NULL);
    `);
    db.pragma(`user_version = ${AGGREGATE_STORE_VERSION}`);
  } else if (fileVersion !== AGGREGATE_STORE_VERSION) {
    db.close();
    throw new Error(
      `Aggregator store ${path} has layout version ${fileVersion}, this Veil reads version ${AGGREGATE_STORE_VERSION}: ` +
        'move the file aside (the broker only holds what was not yet acknowledged) or run the Veil version that wrote it',
    );
  }

  // Added after layout 1 shipped; a table more, nothing changed, so older files gain it on open.
  db.exec(`
    CREATE TABLE IF NOT EXISTS secure_totals (
      district TEXT NOT NULL,
      window_seconds REAL NOT NULL,
      start_seconds REAL NOT NULL,
      body TEXT NOT NULL,
      PRIMARY KEY (district, window_seconds, start_seconds)
    );
  `);
  // Retention deletes by end time, start + length: an index on the start bounds the scan to the rows it may remove.
  // Indexes change no row, so older files gain them on open without a new layout.
  db.exec(`
    CREATE INDEX IF NOT EXISTS fleet_windows_by_start ON fleet_windows (start_seconds);
    CREATE INDEX IF NOT EXISTS secure_totals_by_start ON secure_totals (start_seconds);
  `);
  const pruneStatement = (table: string) =>
    db.prepare<[{ cutoff: number; limit: number }]>(
      `DELETE FROM ${table} WHERE rowid IN (SELECT rowid FROM ${table} WHERE start_seconds < @cutoff AND start_seconds + window_seconds < @cutoff ` +
        `AND json_extract(body, '$.clock') = 'wall' LIMIT @limit)`,
    );
  const pruneWindows = pruneStatement('fleet_windows');
  const pruneSecureTotals = pruneStatement('secure_totals');
  const insertSecureTotal = db.prepare('INSERT OR IGNORE INTO secure_totals (district, window_seconds, start_seconds, body) VALUES (?, ?, ?, ?)');
  const latestSecureTotals = db.prepare<[string, number], BodyRow>(
    'SELECT body FROM secure_totals WHERE district = ? ORDER BY start_seconds DESC, window_seconds DESC LIMIT ?',
  );
  const insert = db.prepare(
    'INSERT OR IGNORE INTO fleet_windows (camera, window_seconds, start_seconds, body) VALUES (?, ?, ?, ?)',
  );
  const stored = db.prepare<[string, number, number], BodyRow>(
    'SELECT body FROM fleet_windows WHERE camera = ? AND window_seconds = ? AND start_seconds = ?',
  );
  const latestOfCamera = db.prepare<[string, number], BodyRow>(
    'SELECT body FROM fleet_windows WHERE camera = ? ORDER BY start_seconds DESC, window_seconds DESC, id DESC LIMIT ?',
  );
  const latestOfAll = db.prepare<[number], BodyRow>('SELECT body FROM fleet_windows ORDER BY id DESC LIMIT ?');
  const distinctCameras = db.prepare<[], { camera: string }>('SELECT DISTINCT camera FROM fleet_windows ORDER BY camera');
  const count = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM fleet_windows');
  const upsertEval = db.prepare(
    'INSERT INTO fleet_evals (camera, body) VALUES (?, ?) ON CONFLICT (camera) DO UPDATE SET body = excluded.body',
  );
  const allEvals = db.prepare<[], BodyRow>('SELECT body FROM fleet_evals ORDER BY camera');

  const readWindow = (row: BodyRow) => readJsonBody(releasedWindowSchema, row.body, `Aggregator store ${path}`, 'a valid window');
  const readEval = (row: BodyRow) => readJsonBody(evalFiguresSchema, row.body, `Aggregator store ${path}`, 'a valid evaluation');

  const putWindow = (window: ReleasedWindow): PutOutcome => {
    const checked = releasedWindowSchema.safeParse(window);
    if (!checked.success) {
      throw new Error(`Refusing to store a window of camera "${String(window?.camera)}" that is not a valid released window: ${z.prettifyError(checked.error)}`);
    }
    const valid = checked.data;
    const body = JSON.stringify(valid);
    if (insert.run(valid.camera, valid.windowSeconds, valid.startSeconds, body).changes === 1) return 'stored';
    return stored.get(valid.camera, valid.windowSeconds, valid.startSeconds)?.body === body ? 'duplicate' : 'conflict';
  };

  const placeholders = (cameras: readonly string[]) => cameras.map(() => '?').join(', ');

  return {
    putWindow,

    windowsAt(span, cameras) {
      if (cameras.length === 0) return [];
      const rows = db
        .prepare<unknown[], BodyRow>(`SELECT body FROM fleet_windows WHERE window_seconds = ? AND start_seconds = ? AND camera IN (${placeholders(cameras)}) ORDER BY camera`)
        .all(span.windowSeconds, span.startSeconds, ...cameras);
      return rows.map(readWindow);
    },

    recentSpans(cameras, spanCount) {
      if (cameras.length === 0 || spanCount === 0) return [];
      const rows = db
        .prepare<unknown[], { window_seconds: number; start_seconds: number }>(
          `SELECT DISTINCT window_seconds, start_seconds FROM fleet_windows WHERE camera IN (${placeholders(cameras)}) ` +
            'ORDER BY start_seconds DESC, window_seconds DESC LIMIT ?',
        )
        .all(...cameras, spanCount);
      return rows.reverse().map((row) => ({ windowSeconds: row.window_seconds, startSeconds: row.start_seconds }));
    },

    latest(camera, latestCount) {
      if (!Number.isInteger(latestCount) || latestCount < 0) {
        throw new Error(`Aggregator store: asked for the latest ${latestCount} windows; the count must be a whole number ≥ 0`);
      }
      const rows = camera === undefined ? latestOfAll.all(latestCount) : latestOfCamera.all(camera, latestCount);
      return rows.reverse().map(readWindow);
    },

    cameras: () => distinctCameras.all().map((row) => row.camera),
    windowCount: () => count.get()!.n,

    putEval(figures) {
      const valid = evalFiguresSchema.parse(figures);
      upsertEval.run(valid.camera, JSON.stringify(valid));
    },

    evals: () => allEvals.all().map(readEval),

    putSecureTotal(total) {
      const valid = districtWindowSchema.parse(total);
      insertSecureTotal.run(valid.district, valid.windowSeconds, valid.startSeconds, JSON.stringify(valid));
    },

    secureTotals: (district, totalCount) =>
      latestSecureTotals
        .all(district, totalCount)
        .reverse()
        .map((row) => readJsonBody(districtWindowSchema, row.body, `Aggregator store ${path}`, 'a valid district total')),

    pruneEndedBefore: (cutoffSeconds) => ({
      windows: deleteInBatches((batch) => pruneWindows.run({ cutoff: cutoffSeconds, limit: batch }).changes),
      secureTotals: deleteInBatches((batch) => pruneSecureTotals.run({ cutoff: cutoffSeconds, limit: batch }).changes),
    }),

    close() {
      db.close();
    },
  };
}
