/**
 * Retention on real SQLite files: the release store (also the MQTT outbox) and the aggregator's store delete the
 * windows that ended before the cutoff and keep the rest, the outbox keeps what the broker has not acknowledged,
 * district totals of the kept spans are what they were, and startRetention prunes at start with the real clock.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_RETENTION_DAYS, siteConfigSchema } from '../../pipeline/siteConfig.ts';
import { aggregateConfigSchema } from '../../pipeline/aggregateConfig.ts';
import { parseConfig } from '../../pipeline/config.ts';
import { districtWindow } from '../../pipeline/districtTotals.ts';
import type { ReleasedWindow } from '../../stages/released.ts';
import { openAggregateStore } from '../../streams/aggregateStore.ts';
import type { DistrictWindow } from '../../streams/feedMessages.ts';
import { openReleaseStore } from '../../streams/releaseStore.ts';
import { startRetention } from '../../streams/retention.ts';
import { CROSSINGS_WINDOW_SECONDS, releasedWindow, WINDOW_SECONDS } from './releasedWindowFixture.ts';

const SECONDS_PER_DAY = 86_400;
const WINDOWS_PER_DAY = SECONDS_PER_DAY / WINDOW_SECONDS;

describe('retention', () => {
  let directory: string;
  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'veil-retention-'));
  });
  afterEach(() => rmSync(directory, { recursive: true, force: true }));

  const startsOf = (windows: ReleasedWindow[]) => windows.map((window) => window.startSeconds);

  it('deletes the release store\'s windows that ended before the cutoff and keeps the newer ones', () => {
    const path = join(directory, 'releases.sqlite');
    const store = openReleaseStore(path);
    const windows = [0, 1, 2, 3, 4].map((index) => releasedWindow({ camera: 'gate', index }));
    for (const window of windows) store.append(window);
    // Seconds from a recorded clip's start are no date: such a window has no age, and stays.
    const onClipClock: ReleasedWindow = { ...releasedWindow({ camera: 'clip', index: 0 }), clock: 'clip', startSeconds: 0, endSeconds: WINDOW_SECONDS };
    store.append(onClipClock);
    // The cutoff falls inside window 2: windows 0 and 1 ended before it, window 2 ends after it.
    const cutoff = windows[2]!.startSeconds + WINDOW_SECONDS / 2;
    expect(windows[1]!.endSeconds).toBeLessThan(cutoff);
    expect(store.pruneEndedBefore(cutoff, { keepUnacknowledged: false })).toBe(2);
    store.close();
    const reopened = openReleaseStore(path);
    // What the feed replays: only the kept windows, oldest first.
    expect(reopened.latest('gate', 20)).toEqual(windows.slice(2));
    expect(reopened.latest('clip', 20)).toEqual([onClipClock]);
    expect(reopened.pruneEndedBefore(cutoff, { keepUnacknowledged: false })).toBe(0);
    reopened.close();
  });

  it('keeps an outbox window the broker has not acknowledged, however old, and deletes the acknowledged ones', () => {
    const store = openReleaseStore(join(directory, 'releases.sqlite'));
    const rows = [0, 1, 2, 3].map((index) => store.append(releasedWindow({ camera: 'gate', index })));
    const calibration = releasedWindow({ camera: 'gate', index: 0, isPrivate: false });
    store.append(calibration);
    store.acknowledge(rows[0]!);
    store.acknowledge(rows[2]!);
    // Every window ended long before this cutoff (a century after them).
    const cutoff = releasedWindow({ camera: 'gate', index: 3 }).endSeconds + 100 * 365 * SECONDS_PER_DAY;
    // Removed: the two acknowledged and the calibration row, which is never published. Kept: rows 1 and 3.
    expect(store.pruneEndedBefore(cutoff, { keepUnacknowledged: true })).toBe(3);
    expect(store.unacknowledged('gate', 0, 10).map((row) => row.rowId)).toEqual([rows[1], rows[3]]);
    expect(startsOf(store.latest('gate', 10))).toEqual([1, 3].map((index) => releasedWindow({ camera: 'gate', index }).startSeconds));
    // A box with no broker has no outbox: nothing will ever acknowledge these, so age alone decides.
    expect(store.pruneEndedBefore(cutoff, { keepUnacknowledged: false })).toBe(2);
    expect(store.latest(undefined, 10)).toEqual([]);
    store.close();
  });

  it('deletes the aggregator\'s old spans whole and leaves the district totals of the kept spans unchanged', () => {
    const path = join(directory, 'fleet.sqlite');
    const cameras = ['north/gate', 'north/yard', 'south/bridge'];
    const district = { name: 'centre', cameras: cameras.map((camera) => ({ camera })) };
    const store = openAggregateStore(path);
    const indexes = [0, 1, 2, 3];
    for (const index of indexes) {
      for (const camera of cameras) store.putWindow(releasedWindow({ camera, index, windowSeconds: CROSSINGS_WINDOW_SECONDS }));
    }
    const secureTotal = (startSeconds: number): DistrictWindow => ({
      district: 'centre',
      startSeconds,
      endSeconds: startSeconds + CROSSINGS_WINDOW_SECONDS,
      windowSeconds: CROSSINGS_WINDOW_SECONDS,
      clock: 'wall',
      complete: true,
      cameras: { released: ['north', 'south'], withheld: [], missing: [] },
      crossings: { vehicle: { forward: { value: 12, standardDeviation: 1.5 }, backward: { value: 3, standardDeviation: 1.5 } } },
      peakOccupancy: {},
      meanOccupancy: {},
      secureAggregation: { round: `crossings-900-${startSeconds}`, status: 'released', epsilon: 1, delta: 1e-6, standardDeviation: 1.5 },
    });
    const spans = indexes.map((index) => ({ windowSeconds: CROSSINGS_WINDOW_SECONDS, startSeconds: releasedWindow({ camera: cameras[0], index, windowSeconds: CROSSINGS_WINDOW_SECONDS }).startSeconds }));
    for (const span of spans) store.putSecureTotal(secureTotal(span.startSeconds));
    const onClipClock: ReleasedWindow = { ...releasedWindow({ camera: 'north/gate', index: 0, windowSeconds: CROSSINGS_WINDOW_SECONDS }), clock: 'clip', startSeconds: 0, endSeconds: CROSSINGS_WINDOW_SECONDS };
    store.putWindow(onClipClock);
    const totalsBefore = spans.map((span) => districtWindow(district, store.windowsAt(span, cameras)));

    // The cutoff is the end of span 1: span 0 ended before it and goes; span 1 ends exactly at it and stays.
    const cutoff = spans[1]!.startSeconds + CROSSINGS_WINDOW_SECONDS;
    expect(store.pruneEndedBefore(cutoff)).toEqual({ windows: 1 * cameras.length, secureTotals: 1 });
    store.close();

    const reopened = openAggregateStore(path);
    expect(reopened.windowCount()).toBe(3 * cameras.length + 1);
    expect(reopened.windowsAt(spans[0]!, cameras)).toEqual([]);
    expect(reopened.windowsAt({ windowSeconds: CROSSINGS_WINDOW_SECONDS, startSeconds: 0 }, cameras)).toEqual([onClipClock]);
    expect(spans.slice(1).map((span) => districtWindow(district, reopened.windowsAt(span, cameras)))).toEqual(totalsBefore.slice(1));
    expect(reopened.recentSpans(cameras, 3)).toEqual(spans.slice(1));
    expect(reopened.secureTotals('centre', 10).map((total) => total.startSeconds)).toEqual(spans.slice(1).map((span) => span.startSeconds));
    reopened.close();
  });

  it('prunes at start with the real clock, and logs how many windows it removed', () => {
    const store = openReleaseStore(join(directory, 'releases.sqlite'));
    const old = releasedWindow({ camera: 'gate', index: 0 });
    // Two days after the old window: whole-day retention puts the cutoff between them whatever today's date.
    const recent = releasedWindow({ camera: 'gate', index: 2 * WINDOWS_PER_DAY });
    store.append(old);
    store.append(recent);
    const retentionDays = Math.floor((Date.now() / 1000 - (old.startSeconds + SECONDS_PER_DAY)) / SECONDS_PER_DAY);
    const logged: Array<[string, Record<string, unknown> | undefined]> = [];
    const log = { info: (message: string, fields?: Record<string, unknown>) => logged.push([message, fields]), error: (message: string) => logged.push([message, undefined]) };
    const retention = startRetention({ store: 'release store', retentionDays, prune: (cutoff) => ({ windows: store.pruneEndedBefore(cutoff, { keepUnacknowledged: false }) }), log });
    retention.stop();
    expect(store.latest('gate', 10)).toEqual([recent]);
    expect(logged).toHaveLength(1);
    expect(logged[0]![1]).toMatchObject({ store: 'release store', retention_days: retentionDays, pruned_windows: 1 });
    store.close();
  });

  it('prunes again at each interval, logging only prunes that removed something, and logs a failed prune instead of throwing', async () => {
    const store = openReleaseStore(join(directory, 'releases.sqlite'));
    const logged: Array<[string, Record<string, unknown> | undefined]> = [];
    const log = { info: (message: string, fields?: Record<string, unknown>) => logged.push([message, fields]), error: (message: string, fields?: Record<string, unknown>) => logged.push([message, fields]) };
    const retention = startRetention({ store: 'release store', retentionDays: 1, prune: (cutoff) => ({ windows: store.pruneEndedBefore(cutoff, { keepUnacknowledged: false }) }), log, everyMs: 20 });
    const waitFor = (count: number) => vi.waitFor(() => expect(logged.length).toBeGreaterThanOrEqual(count), { timeout: 10_000, interval: 10 });
    expect(logged.map(([, fields]) => fields?.pruned_windows)).toEqual([0]);
    // Stored after the first prune, ended years before the cutoff: the next prune takes it and says so.
    store.append(releasedWindow({ camera: 'gate', index: 7 }));
    await waitFor(2);
    expect(logged[1]).toEqual(['retention: pruned what ended before the cutoff', expect.objectContaining({ pruned_windows: 1 })]);
    expect(store.latest('gate', 10)).toEqual([]);
    store.close();
    await waitFor(3);
    retention.stop();
    expect(logged[2]).toEqual(['retention: could not prune; trying again at the next interval', { store: 'release store', error: 'The database connection is not open' }]);
  });

  it('defaults to 400 days in both configs and refuses a retention that is not a whole number of days ≥ 1, naming the field', () => {
    const site = { cameras: [{ id: 'gate', source: { rtsp: 'rtsp://camera.local/stream' }, zones: [], lines: [{ name: 'road', from: [0, 0.5], to: [1, 0.5] }] }] };
    const city = { broker: { url: 'mqtt://127.0.0.1:1883' }, stateDir: 'city' };
    expect(DEFAULT_RETENTION_DAYS).toBe(400);
    expect(parseConfig(siteConfigSchema, site, 'config site.yaml').retentionDays).toBe(400);
    expect(parseConfig(aggregateConfigSchema, city, 'config city.yaml').retentionDays).toBe(400);
    expect(parseConfig(siteConfigSchema, { ...site, retentionDays: 30 }, 'config site.yaml').retentionDays).toBe(30);
    for (const bad of [0, 7.5, '13 months', 40_000]) {
      expect(() => parseConfig(siteConfigSchema, { ...site, retentionDays: bad }, 'config site.yaml')).toThrow(/config site\.yaml has an invalid setting:\n {2}retentionDays: a whole number of days from 1 to 36500, e\.g\. 400/);
      expect(() => parseConfig(aggregateConfigSchema, { ...city, retentionDays: bad }, 'config city.yaml')).toThrow(/config city\.yaml has an invalid setting:\n {2}retentionDays: a whole number of days/);
    }
  });
});
