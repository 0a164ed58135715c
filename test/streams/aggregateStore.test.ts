import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openAggregateStore } from '../../streams/aggregateStore.ts';
import type { DistrictWindow, EvalFigures } from '../../streams/feedMessages.ts';
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

  it('keeps securely aggregated district totals across a reopen, once per round, latest last', () => {
    const path = join(directory, 'fleet.sqlite');
    const total = (startSeconds: number, forward: number): DistrictWindow => ({
      district: 'centre',
      startSeconds,
      endSeconds: startSeconds + 900,
      windowSeconds: 900,
      clock: 'wall',
      complete: true,
      cameras: { released: ['north', 'east', 'south'], withheld: [], missing: [] },
      crossings: { vehicle: { forward: { value: forward, standardDeviation: 1.5 }, backward: { value: -1, standardDeviation: 1.5 } } },
      peakOccupancy: {},
      meanOccupancy: {},
      secureAggregation: { round: `crossings-900-${startSeconds}`, status: 'released', epsilon: 1, delta: 1e-6, standardDeviation: 1.5 },
    });
    const first = openAggregateStore(path);
    first.putSecureTotal(total(1800, 40));
    first.putSecureTotal(total(900, 31));
    first.putSecureTotal(total(1800, 99)); // the same round again: the first result stands
    first.close();
    const reopened = openAggregateStore(path);
    expect(reopened.secureTotals('centre', 10).map((t) => [t.startSeconds, t.crossings.vehicle?.forward.value])).toEqual([[900, 31], [1800, 40]]);
    expect(reopened.secureTotals('centre', 1).map((t) => t.startSeconds)).toEqual([1800]);
    expect(reopened.secureTotals('elsewhere', 10)).toEqual([]);
    expect(() => reopened.putSecureTotal({ ...total(2700, 1), unexpected: true } as DistrictWindow)).toThrow();
    reopened.close();
  });
});
