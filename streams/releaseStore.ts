/**
 * The history of released windows, in SQLite, so the feed can replay the last windows to a client that connects and
 * a restart loses none of them. Rows hold exactly what the feed publishes (a ReleasedWindow, checked against its
 * schema on the way in and on the way out); nothing finer is ever written.
 *
 *   const store = openReleaseStore('.veil/releases.sqlite');
 *   store.append(window);
 *   store.latest('gate', 60);   // the gate's last 60 windows, oldest first
 *   store.unacknowledged('gate', 0, 10);  // what the broker has not yet acknowledged, oldest first
 *   store.acknowledge(rowId);   // the broker's PUBACK for that row arrived
 *   store.close();
 *
 * The store is also the MQTT publisher's outbox: each row records whether the broker has acknowledged it, so a box
 * that lost the broker (or restarted) publishes exactly the rows still unacknowledged, in the order they were stored.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { z } from 'zod';
import { releasedWindowSchema, type ReleasedWindow } from '../stages/released.ts';
import { deleteInBatches } from './sqliteFile.ts';

/**
 * Bumped when the table's layout or the released window's schema changes, so an older file is recognised instead of
 * misread. 2: windows carry their series' length and per-statistic privacy terms (stages/released.ts). 3: each row
 * records whether an MQTT broker has acknowledged it (a version 2 file gains the column, its rows unacknowledged).
 */
const STORE_SCHEMA_VERSION = 3;

/** A stored window with its row id, which orders the rows and names one in acknowledge(). */
export interface StoredWindow {
  rowId: number;
  window: ReleasedWindow;
}

export interface ReleaseStore {
  /** Stores the window; returns its row id. Throws, storing nothing, when it is not a valid released window. */
  append(window: ReleasedWindow): number;
  /** The last `count` windows in the order they were appended, oldest first; of one camera, or of all. */
  latest(camera: string | undefined, count: number): ReleasedWindow[];
  /** Every camera with at least one stored window, sorted. */
  cameras(): string[];
  /**
   * Up to `count` of the camera's private windows the broker has not acknowledged, with row ids above
   * `afterRowId`, oldest first. Non-private (calibration) rows are never offered: they are never published.
   */
  unacknowledged(camera: string, afterRowId: number, count: number): StoredWindow[];
  /** How many of the camera's private windows the broker has not acknowledged. */
  unacknowledgedCount(camera: string): number;
  /** Records the broker's acknowledgement (MQTT PUBACK) of the row. */
  acknowledge(rowId: number): void;
  /**
   * Deletes the windows that ended before `cutoffSeconds` (Unix seconds) and returns how many. Only wall-clock
   * windows have an age: one on a recorded clip's clock (seconds from the clip's start) is kept. With `keepUnacknowledged` (the box publishes to a broker), a private window the broker has not
   * acknowledged is kept whatever its age: the outbox must never lose a window (streams/retention.ts).
   */
  pruneEndedBefore(cutoffSeconds: number, options: { keepUnacknowledged: boolean }): number;
  close(): void;
}

interface WindowRow {
  id: number;
  body: string;
}

/** Opens (creating if needed) the store at `path`; `':memory:'` gives a store that lives as long as the process. */
export function openReleaseStore(path: string): ReleaseStore {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  // WAL: the feed reads history while the pipeline appends, and neither should wait for the other. NORMAL sync is
  // durable across a crash of the process; a power cut may lose the last few windows, which is acceptable here.
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  const fileVersion = db.pragma('user_version', { simple: true }) as number;
  // The outbox's columns, for a new file and for a version 2 file alike. `private` is copied out of the body so
  // that the outbox query never offers a calibration row.
  const addOutbox = `
    ALTER TABLE released_windows ADD COLUMN private INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE released_windows ADD COLUMN broker_acknowledged INTEGER NOT NULL DEFAULT 0;
    UPDATE released_windows SET private = coalesce(json_extract(body, '$.privacy.private'), 1);
    CREATE INDEX released_windows_outbox ON released_windows (camera, broker_acknowledged, id);
  `;
  if (fileVersion === 0) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS released_windows (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        camera TEXT NOT NULL,
        start_seconds REAL NOT NULL,
        end_seconds REAL NOT NULL,
        body TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS released_windows_by_camera ON released_windows (camera, id);
    `);
    db.transaction(() => {
      db.exec(addOutbox);
      db.pragma(`user_version = ${STORE_SCHEMA_VERSION}`);
    })();
  } else if (fileVersion === 2) {
    db.transaction(() => {
      db.exec(addOutbox);
      db.pragma(`user_version = ${STORE_SCHEMA_VERSION}`);
    })();
  } else if (fileVersion !== STORE_SCHEMA_VERSION) {
    db.close();
    throw new Error(
      `Release store ${path} has layout version ${fileVersion}, this Veil reads version ${STORE_SCHEMA_VERSION}: ` +
        'move the file aside (history starts afresh) or run the Veil version that wrote it',
    );
  }

  // Retention deletes by end time; an index more changes no row, so older files gain it on open without a new layout.
  db.exec('CREATE INDEX IF NOT EXISTS released_windows_by_end ON released_windows (end_seconds)');

  const insert = db.prepare(
    'INSERT INTO released_windows (camera, start_seconds, end_seconds, private, body) VALUES (?, ?, ?, ?, ?)',
  );
  const pruneBatch = db.prepare<[{ cutoff: number; keepUnacknowledged: number; limit: number }]>(
    'DELETE FROM released_windows WHERE id IN (SELECT id FROM released_windows WHERE end_seconds < @cutoff ' +
      "AND json_extract(body, '$.clock') = 'wall' AND (@keepUnacknowledged = 0 OR broker_acknowledged = 1 OR private = 0) LIMIT @limit)",
  );
  const outbox = db.prepare<[string, number, number], WindowRow>(
    'SELECT id, body FROM released_windows WHERE camera = ? AND broker_acknowledged = 0 AND private = 1 AND id > ? ORDER BY id LIMIT ?',
  );
  const outboxCount = db.prepare<[string], { count: number }>(
    'SELECT count(*) AS count FROM released_windows WHERE camera = ? AND broker_acknowledged = 0 AND private = 1',
  );
  const markAcknowledged = db.prepare<[number]>('UPDATE released_windows SET broker_acknowledged = 1 WHERE id = ?');
  const latestOfCamera = db.prepare<[string, number], WindowRow>(
    'SELECT id, body FROM released_windows WHERE camera = ? ORDER BY id DESC LIMIT ?',
  );
  const latestOfAll = db.prepare<[number], WindowRow>('SELECT id, body FROM released_windows ORDER BY id DESC LIMIT ?');
  const distinctCameras = db.prepare<[], { camera: string }>(
    'SELECT DISTINCT camera FROM released_windows ORDER BY camera',
  );

  const readRow = (row: WindowRow): ReleasedWindow => {
    const problem = (why: string) =>
      new Error(
        `Release store ${path}, row ${row.id}, does not hold a valid released window ` +
          `(written by another program or version?): ${why}`,
      );
    let json: unknown;
    try {
      json = JSON.parse(row.body);
    } catch {
      throw problem('its body is not JSON');
    }
    const checked = releasedWindowSchema.safeParse(json);
    if (!checked.success) throw problem(z.prettifyError(checked.error));
    return checked.data;
  };

  return {
    append(window) {
      const checked = releasedWindowSchema.safeParse(window);
      if (!checked.success) {
        throw new Error(
          `Refusing to store a window of camera "${String(window?.camera)}" that is not a valid released window: ` +
            z.prettifyError(checked.error),
        );
      }
      const valid = checked.data;
      const row = insert.run(valid.camera, valid.startSeconds, valid.endSeconds, valid.privacy.private ? 1 : 0, JSON.stringify(valid));
      return Number(row.lastInsertRowid);
    },

    latest(camera, count) {
      if (!Number.isInteger(count) || count < 0) {
        throw new Error(`Release store: asked for the latest ${count} windows; the count must be a whole number ≥ 0`);
      }
      const rows = camera === undefined ? latestOfAll.all(count) : latestOfCamera.all(camera, count);
      return rows.reverse().map(readRow);
    },

    cameras() {
      return distinctCameras.all().map((row) => row.camera);
    },

    unacknowledged(camera, afterRowId, count) {
      return outbox.all(camera, afterRowId, count).map((row) => ({ rowId: row.id, window: readRow(row) }));
    },

    unacknowledgedCount(camera) {
      return outboxCount.get(camera)!.count;
    },

    acknowledge(rowId) {
      markAcknowledged.run(rowId);
    },

    pruneEndedBefore(cutoffSeconds, { keepUnacknowledged }) {
      return deleteInBatches((batch) => pruneBatch.run({ cutoff: cutoffSeconds, keepUnacknowledged: keepUnacknowledged ? 1 : 0, limit: batch }).changes);
    },

    close() {
      db.close();
    },
  };
}
