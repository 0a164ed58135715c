/**
 * The aggregator's watch on window conflicts, conflict by conflict, with the real logger and a real metrics registry
 * and a clock the test steps: the problem names the camera, the count, since when, the likely cause and the fix; it
 * holds while conflicts recur and clears after the quiet spell the module documents (two of the longest conflicting
 * window lengths, at least 15 minutes), computed here from that rule.
 */
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createFleetMetrics } from '../../pipeline/fleetMetrics.ts';
import { createLogger } from '../../pipeline/log.ts';
import { createWindowConflicts } from '../../pipeline/windowConflicts.ts';

const START_MS = Date.parse('2026-11-30T08:00:00.000Z');

function setUp() {
  const lines: Array<Record<string, unknown>> = [];
  const log = createLogger('json', (line) => lines.push(JSON.parse(line)));
  const registry = new Registry();
  let nowMs = START_MS;
  const conflicts = createWindowConflicts({ log, metrics: createFleetMetrics(registry), nowMs: () => nowMs });
  const at = (seconds: number) => (nowMs = START_MS + seconds * 1000);
  const gauge = async () => Object.fromEntries((await registry.getSingleMetric('veil_fleet_window_conflicts')!.get()).values.map((value) => [value.labels.camera, value.value]));
  return { lines, conflicts, at, gauge };
}

describe('window conflicts as a fleet problem', () => {
  it('names the camera, how many conflicts since when, the likely cause and the fix; logged once per episode', async () => {
    const { lines, conflicts, at, gauge } = setUp();
    // Two boxes releasing one-minute windows: a conflict at each window boundary.
    for (let minute = 0; minute < 3; minute += 1) {
      at(minute * 60);
      conflicts.record('south/road', 60);
    }
    expect(conflicts.problems()).toEqual([
      {
        message: expect.stringContaining('window conflicts on camera south/road: 3 windows since 2026-11-30T08:00:00.000Z'),
        camera: 'south/road',
        conflicts: '3',
        since: '2026-11-30T08:00:00.000Z',
      },
    ]);
    expect(conflicts.problems()[0]!.message).toContain('two boxes may publish as mqtt.site "south" — a copied site.yaml? Give each box its own mqtt.site');
    expect(lines.map((line) => [line.level, line.camera, line.site])).toEqual([['error', 'south/road', 'south']]);
    expect(await gauge()).toEqual({ 'south/road': 3 });
  });

  it('holds through a quiet spell shorter than 15 minutes and clears after it, logging that once; a new conflict starts a new count', async () => {
    const { lines, conflicts, at, gauge } = setUp();
    at(0);
    conflicts.record('south/road', 60);
    // 2 × 60 s is under the 900 s floor: the floor rules.
    at(899);
    expect(conflicts.problems()).toHaveLength(1);
    at(900);
    expect(conflicts.problems()).toEqual([]);
    expect(lines.at(-1)).toMatchObject({ level: 'info', camera: 'south/road', conflicts: 1, quiet_s: 900 });
    expect(await gauge()).toEqual({ 'south/road': 0 });
    at(1000);
    conflicts.record('south/road', 60);
    expect(conflicts.problems()).toMatchObject([{ conflicts: '1', since: '2026-11-30T08:16:40.000Z' }]);
    expect(lines.filter((line) => line.level === 'error')).toHaveLength(2);
  });

  it('waits two of the longest conflicting windows when they are longer than the floor, and keeps cameras apart', () => {
    const { conflicts, at } = setUp();
    at(0);
    conflicts.record('south/road', 3600);
    conflicts.record('south/road', 60);
    conflicts.record('east/quay', 60);
    // east's floor of 900 s passes; south's hour-long windows need 2 × 3600 s.
    at(7199);
    expect(conflicts.problems().map((problem) => problem.camera)).toEqual(['south/road']);
    at(7200);
    expect(conflicts.problems()).toEqual([]);
  });
});
