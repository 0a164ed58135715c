import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ReleasedWindow } from '../../stages/released.ts';
import { openReleaseStore } from '../../streams/releaseStore.ts';
import { releasedWindow } from './releasedWindowFixture.ts';

describe('release store', () => {
  let directory: string;
  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'veil-store-'));
  });
  afterEach(() => rmSync(directory, { recursive: true, force: true }));

  it('returns the latest windows oldest first, per camera or of all, and keeps them across a reopen', () => {
    const path = join(directory, 'nested', 'releases.sqlite');
    const store = openReleaseStore(path);
    for (let index = 0; index < 5; index += 1) {
      store.append(releasedWindow({ camera: 'gate', index }));
      store.append(releasedWindow({ camera: 'yard', index }));
    }
    store.close();

    const reopened = openReleaseStore(path);
    const startsOf = (windows: ReleasedWindow[]) => windows.map((w) => `${w.camera}#${w.startSeconds}`);
    const gate = reopened.latest('gate', 3);
    expect(gate).toEqual([2, 3, 4].map((index) => releasedWindow({ camera: 'gate', index })));
    expect(startsOf(reopened.latest(undefined, 3))).toEqual(
      startsOf([
        releasedWindow({ camera: 'yard', index: 3 }),
        releasedWindow({ camera: 'gate', index: 4 }),
        releasedWindow({ camera: 'yard', index: 4 }),
      ]),
    );
    expect(reopened.latest('gate', 50)).toHaveLength(5);
    expect(reopened.latest('nobody', 5)).toEqual([]);
    expect(reopened.latest('gate', 0)).toEqual([]);
    expect(reopened.cameras()).toEqual(['gate', 'yard']);
    reopened.close();
  });

  it('uses WAL so the feed can read while the pipeline writes', () => {
    const path = join(directory, 'releases.sqlite');
    openReleaseStore(path).close();
    const db = new Database(path, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });

  it('refuses to store anything that is not a released window, naming the field', () => {
    const store = openReleaseStore(':memory:');
    const withBoxes = { ...releasedWindow(), boxes: [{ x: 0.1, y: 0.2, width: 0.1, height: 0.3 }] };
    expect(() => store.append(withBoxes as ReleasedWindow)).toThrow(/boxes/);
    const fractional = releasedWindow();
    fractional.zones.entrance!.classes.person!.peakOccupancy = 2.5;
    expect(() => store.append(fractional)).toThrow(/peakOccupancy/);
    expect(store.latest(undefined, 10)).toEqual([]);
    store.close();
  });

  it('checks rows on the way out too: a row another program wrote is reported with its id', () => {
    const path = join(directory, 'releases.sqlite');
    const store = openReleaseStore(path);
    store.append(releasedWindow());
    store.close();
    const db = new Database(path);
    db.prepare("UPDATE released_windows SET body = json_set(body, '$.trackIds', json('[7, 9]'))").run();
    db.close();
    const tampered = openReleaseStore(path);
    expect(() => tampered.latest('gate', 1)).toThrow(/row 1,.*trackIds/s);
    tampered.close();
  });

  it('refuses a file of a newer layout instead of misreading it', () => {
    const path = join(directory, 'releases.sqlite');
    const db = new Database(path);
    db.pragma('user_version = 99');
    db.close();
    expect(() => openReleaseStore(path)).toThrow(/layout version 99/);
  });

  it('rejects a count that is not a whole number', () => {
    const store = openReleaseStore(':memory:');
    expect(() => store.latest('gate', -1)).toThrow(/whole number/);
    expect(() => store.latest('gate', 2.5)).toThrow(/whole number/);
    store.close();
  });

  it('is the broker outbox: offers unacknowledged private windows of one camera in stored order, across a reopen', () => {
    const path = join(directory, 'releases.sqlite');
    const store = openReleaseStore(path);
    const gateRows = [0, 1, 2, 3].map((index) => store.append(releasedWindow({ camera: 'gate', index })));
    store.append(releasedWindow({ camera: 'yard', index: 0 }));
    store.append(releasedWindow({ camera: 'gate', index: 4, isPrivate: false }));
    expect(store.unacknowledgedCount('gate')).toBe(4);
    store.acknowledge(gateRows[1]!);
    const startsOf = (rows: { window: ReleasedWindow }[]) => rows.map((row) => row.window.startSeconds);
    const gateStart = (index: number) => releasedWindow({ camera: 'gate', index }).startSeconds;
    expect(startsOf(store.unacknowledged('gate', 0, 10))).toEqual([0, 2, 3].map(gateStart));
    expect(store.unacknowledged('gate', 0, 2).map((row) => row.rowId)).toEqual([gateRows[0], gateRows[2]]);
    expect(startsOf(store.unacknowledged('gate', gateRows[2]!, 10))).toEqual([gateStart(3)]);
    store.close();

    const reopened = openReleaseStore(path);
    expect(reopened.unacknowledgedCount('gate')).toBe(3);
    for (const row of reopened.unacknowledged('gate', 0, 10)) reopened.acknowledge(row.rowId);
    expect(reopened.unacknowledged('gate', 0, 10)).toEqual([]);
    expect(reopened.unacknowledgedCount('yard')).toBe(1);
    reopened.close();
  });

  it('opens a version 2 file: its windows kept, all of them waiting for the broker', () => {
    const path = join(directory, 'releases.sqlite');
    const db = new Database(path);
    // Version 2's layout, as the previous Veil created it.
    db.exec(`
      CREATE TABLE released_windows (id INTEGER PRIMARY KEY AUTOINCREMENT, camera TEXT NOT NULL, start_seconds REAL NOT NULL, end_seconds REAL NOT NULL, body TEXT NOT NULL);
      CREATE INDEX released_windows_by_camera ON released_windows (camera, id);
    `);
    const insert = db.prepare('INSERT INTO released_windows (camera, start_seconds, end_seconds, body) VALUES (?, ?, ?, ?)');
    const windows = [releasedWindow({ index: 0 }), releasedWindow({ index: 1, isPrivate: false })];
    for (const window of windows) insert.run(window.camera, window.startSeconds, window.endSeconds, JSON.stringify(window));
    db.pragma('user_version = 2');
    db.close();

    const store = openReleaseStore(path);
    expect(store.latest('gate', 10)).toEqual(windows);
    expect(store.unacknowledged('gate', 0, 10).map((row) => row.window)).toEqual([windows[0]]);
    store.close();
    const check = new Database(path, { readonly: true });
    expect(check.pragma('user_version', { simple: true })).toBe(3);
    check.close();
  });
});
