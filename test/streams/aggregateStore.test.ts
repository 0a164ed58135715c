import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openAggregateStore } from '../../streams/aggregateStore.ts';
import type { EvalFigures } from '../../streams/feedMessages.ts';
import { CROSSINGS_WINDOW_SECONDS, releasedWindow } from './releasedWindowFixture.ts';

const figures = (camera: string, error: number): EvalFigures => ({
  camera,
  evaluatedAt: '2026-11-30T01:00:00.000Z',
  clipSeconds: 60,
  fps: 5,
  lines: [{ line: 'overpass', category: 'vehicle', error, tolerance: 2, withinTolerance: Math.abs(error) <= 2 }],
});

describe('aggregator store', () => {
  let directory: string;
  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'veil-fleet-store-'));
  });
  afterEach(() => rmSync(directory, { recursive: true, force: true }));

  it('stores a window once per id: a redelivery is a duplicate, different values under the same id a conflict', () => {
    const store = openAggregateStore(join(directory, 'fleet.sqlite'));
    const window = releasedWindow({ camera: 'north/gate' });
    expect(store.putWindow(window)).toBe('stored');
    expect(store.putWindow(structuredClone(window))).toBe('duplicate');
    const altered = structuredClone(window);
    altered.zones.entrance!.classes.person!.peakOccupancy! += 5;
    expect(store.putWindow(altered)).toBe('conflict');
    expect(store.windowCount()).toBe(1);
    expect(store.latest('north/gate', 10)).toEqual([window]);
    // The same start in another series (900 s) or of another camera is another window.
    expect(store.putWindow(releasedWindow({ camera: 'north/gate', windowSeconds: CROSSINGS_WINDOW_SECONDS }))).toBe('stored');
    expect(store.putWindow(releasedWindow({ camera: 'north/yard' }))).toBe('stored');
    expect(store.windowCount()).toBe(3);
    store.close();
  });

  it('finds the windows of a span for a district and its recent spans, oldest first, across a reopen', () => {
    const path = join(directory, 'fleet.sqlite');
    const store = openAggregateStore(path);
    for (let index = 0; index < 4; index += 1) for (const camera of ['north/gate', 'north/yard', 'south/bridge']) store.putWindow(releasedWindow({ camera, index }));
    store.close();
    const reopened = openAggregateStore(path);
    const second = releasedWindow({ camera: 'north/gate', index: 1 });
    const span = { windowSeconds: second.windowSeconds, startSeconds: second.startSeconds };
    expect(reopened.windowsAt(span, ['north/gate', 'south/bridge']).map((w) => w.camera)).toEqual(['north/gate', 'south/bridge']);
    expect(reopened.windowsAt(span, [])).toEqual([]);
    const starts = [2, 3].map((index) => releasedWindow({ camera: 'north/gate', index }).startSeconds);
    expect(reopened.recentSpans(['north/yard'], 2)).toEqual(starts.map((startSeconds) => ({ windowSeconds: 60, startSeconds })));
    expect(reopened.cameras()).toEqual(['north/gate', 'north/yard', 'south/bridge']);
    reopened.close();
  });

  it('keeps the latest evaluation of each camera', () => {
    const store = openAggregateStore(join(directory, 'fleet.sqlite'));
    store.putEval(figures('north/gate', 4));
    store.putEval(figures('south/bridge', -1));
    store.putEval(figures('north/gate', 1));
    expect(store.evals()).toEqual([figures('north/gate', 1), figures('south/bridge', -1)]);
    expect(() => store.putEval({ ...figures('north/gate', 0), counted: 27 } as EvalFigures)).toThrow();
    store.close();
  });

  it('refuses a file of another layout version, naming the file and what to do', () => {
    const path = join(directory, 'fleet.sqlite');
    const db = new Database(path);
    db.pragma('user_version = 7');
    db.close();
    expect(() => openAggregateStore(path)).toThrow(`Aggregator store ${path} has layout version 7, this Veil reads version 1: move the file aside`);
  });
});
