/**
 * The history of released windows, in SQLite, so the feed can replay the last windows to a client that connects and
 * a restart loses none of them. Rows hold exactly what the feed publishes (a ReleasedWindow, checked against its
 * schema on the way in and on the way out); nothing finer is ever written.
 *
 *   const store = openReleaseStore('.veil/releases.sqlite');
 *   store.append(window);
 *   store.latest('gate', 60);   // the gate's last 60 windows, oldest first
 *   store.close();
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { z } from 'zod';
import { releasedWindowSchema, type ReleasedWindow } from '../stages/released.ts';

/**
 * Bumped when the table's layout or the released window's schema changes, so an older file is recognised instead of
 * misread. 2: windows carry their series' length and per-statistic privacy terms (stages/released.ts).
 */
const STORE_SCHEMA_VERSION = 2;

export interface ReleaseStore {
  append(window: ReleasedWindow): void;
  /** The last `count` windows in the order they were appended, oldest first; of one camera, or of all. */
  latest(camera: string | undefined, count: number): ReleasedWindow[];
  /** Every camera with at least one stored window, sorted. */
  cameras(): string[];
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
    db.pragma(`user_version = ${STORE_SCHEMA_VERSION}`);
  } else if (fileVersion !== STORE_SCHEMA_VERSION) {
    db.close();
    throw new Error(
      `Release store ${path} has layout version ${fileVersion}, this Veil reads version ${STORE_SCHEMA_VERSION}: ` +
        'move the file aside (history starts afresh) or run the Veil version that wrote it',
    );
  }

  const insert = db.prepare(
    'INSERT INTO released_windows (camera, start_seconds, end_seconds, body) VALUES (?, ?, ?, ?)',
  );
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
      insert.run(valid.camera, valid.startSeconds, valid.endSeconds, JSON.stringify(valid));
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

    close() {
      db.close();
    },
  };
}
