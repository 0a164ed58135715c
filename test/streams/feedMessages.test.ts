/**
 * The feed's schema is the privacy boundary on the wire: whatever is not in it cannot go out. These tests take valid
 * messages of every type and slip an extra key into each object in them, one level at a time, from the message itself
 * down to a class's statistics; every one must be refused.
 */
import { describe, expect, it } from 'vitest';
import { districtWindow } from '../../pipeline/districtTotals.ts';
import { clientMessageSchema, serverMessageSchema, type ServerMessage } from '../../streams/feedMessages.ts';
import { objectPaths, withExtraKey, type Json } from '../helpers/extraKeys.ts';
import { CROSSINGS_WINDOW_SECONDS, releasedWindow } from './releasedWindowFixture.ts';

/**
 * Built when a test asks, not when the file loads: a window released while the file loads would count, under
 * mutation testing, as code run outside any test, and make Stryker run every test against each mutant it touches.
 */
const messages: Record<string, () => ServerMessage> = {
  hello: () => ({ v: 1, type: 'hello', cameras: ['gate', 'yard'] }),
  status: () => ({ v: 1, type: 'status', camera: 'gate', state: 'reconnecting', since: '2025-11-25T10:00:00.000Z', restarts: 2, detail: 'stream ended' }),
  occupancyWindow: () => ({ v: 1, type: 'window', window: releasedWindow({ zoneCount: 2 }) }),
  crossingsWindow: () => ({ v: 1, type: 'window', window: releasedWindow({ windowSeconds: CROSSINGS_WINDOW_SECONDS }) }),
  // veil aggregate's: a district's total (occupancy and crossings series) and the fleet accuracy table.
  occupancyDistrict: () => ({ v: 1, type: 'district', district: districtWindow({ name: 'centre', cameras: [{ camera: 'gate' }, { camera: 'yard' }] }, [releasedWindow({ zoneCount: 2 })]) }),
  crossingsDistrict: () => ({ v: 1, type: 'district', district: districtWindow({ name: 'centre', cameras: [{ camera: 'gate' }] }, [releasedWindow({ windowSeconds: CROSSINGS_WINDOW_SECONDS })]) }),
  accuracy: () => ({
    v: 1,
    type: 'accuracy',
    cameras: [{ camera: 'north/gate', evaluatedAt: '2026-11-30T01:00:00.000Z', clipSeconds: 60, fps: 5, lines: [{ line: 'overpass', category: 'vehicle', error: 1, tolerance: 2, withinTolerance: true }], instants: { count: 6, meanAbsoluteError: 0.5 } }],
  }),
};

/** What a loosened schema would let through: the very thing the feed must never carry. */
const boxes: Json = [{ x: 0.1, y: 0.2, width: 0.3, height: 0.4 }];

describe('feed messages refuse an extra key at every level', () => {
  it.each(Object.keys(messages))('%s: the message itself is valid', (name) => {
    const message = messages[name]!();
    expect(serverMessageSchema.safeParse(message).success).toBe(true);
  });

  it.each(Object.keys(messages))('%s: a "boxes" key holding a box is refused in every object', (name) => {
    const message = messages[name]!();
    const paths = objectPaths(message as Json);
    expect(paths.length).toBeGreaterThanOrEqual(message.type === 'window' ? 8 : 1);
    const accepted = paths.filter((path) => serverMessageSchema.safeParse(withExtraKey(message as Json, path, 'boxes', boxes)).success);
    expect(accepted.map((path) => path.join('.'))).toEqual([]);
  });

  it.each(Object.keys(messages))('%s: a "frameTimes" number is refused in every object', (name) => {
    const message = messages[name]!();
    const paths = objectPaths(message as Json);
    const accepted = paths.filter((path) => serverMessageSchema.safeParse(withExtraKey(message as Json, path, 'frameTimes', 12.4)).success);
    expect(accepted.map((path) => path.join('.'))).toEqual([]);
  });

  it('walks a class’s statistics in zones and lines, the deepest levels', () => {
    const paths = (message: ServerMessage) => objectPaths(message as Json).map((path) => path.join('.'));
    expect(paths(messages.occupancyWindow!())).toEqual(expect.arrayContaining([
      '', 'window', 'window.zones', 'window.zones.entrance', 'window.zones.entrance.classes', 'window.zones.entrance.classes.person',
      'window.privacy', 'window.privacy.budget',
    ]));
    expect(paths(messages.crossingsWindow!())).toEqual(expect.arrayContaining(['window.lines.main-road.classes.vehicle']));
  });

  it('a client subscribe refuses an extra key too', () => {
    expect(clientMessageSchema.safeParse({ v: 1, type: 'subscribe', cameras: '*' }).success).toBe(true);
    expect(clientMessageSchema.safeParse({ v: 1, type: 'subscribe', cameras: '*', since: 0 }).success).toBe(false);
  });
});
