/**
 * What Veil's SQLite stores share: how a store file is opened and how a row's JSON body is read back. Rows hold
 * JSON checked against a zod schema on the way in, and are checked again on the way out, so a file written by
 * another program or version is reported instead of misread.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { z } from 'zod';

/**
 * Opens (creating it and its folder if needed) the SQLite file at `path`, `':memory:'` for one that lives as long as
 * the process, and returns it with its layout version (`user_version`; 0 for a new file). WAL: readers (a feed's
 * replay) and the writer never wait for each other. NORMAL sync: durable across a crash of the process; a power cut
 * may lose the last few commits.
 */
export function openStoreFile(path: string): { db: Database.Database; fileVersion: number } {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  return { db, fileVersion: db.pragma('user_version', { simple: true }) as number };
}

/**
 * Parses a row's JSON `body` against `schema`. Throws an Error beginning with `where` (e.g. "Release store
 * x.sqlite, row 12,") that says the row does not hold `what` and why.
 */
export function readJsonBody<T>(schema: z.ZodType<T>, body: string, where: string, what: string): T {
  const problem = (why: string) => new Error(`${where} does not hold ${what} (written by another program or version?): ${why}`);
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw problem('its body is not JSON');
  }
  const checked = schema.safeParse(json);
  if (!checked.success) throw problem(z.prettifyError(checked.error));
  return checked.data;
}

/**
 * Rows deleted per transaction by deleteInBatches: a year's first prune of a busy store removes millions of rows, and
 * one transaction that size would grow the WAL by as much and keep a feed's readers on an old snapshot meanwhile.
 */
const DELETE_BATCH_ROWS = 5000;

/**
 * Runs `deleteBatch(limit)` (a DELETE of at most `limit` rows, returning how many it deleted; each its own
 * transaction) until a batch deletes fewer than the limit, and returns the total. Freed pages go to SQLite's free
 * list and are reused by later rows; no VACUUM, which would rewrite the whole file.
 */
export function deleteInBatches(deleteBatch: (limit: number) => number): number {
  let removed = 0;
  for (;;) {
    const deleted = deleteBatch(DELETE_BATCH_ROWS);
    removed += deleted;
    if (deleted < DELETE_BATCH_ROWS) return removed;
  }
}
