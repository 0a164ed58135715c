/**
 * The aggregator's watch on a box id two boxes advertise as, round by round, with the real logger and a clock the
 * test steps: the problem names the district, the box, the count, since when and the fix; one error per episode;
 * it clears after two of the district's windows without a copy, at least 15 minutes (pipeline/recurringProblems.ts).
 */
import { describe, expect, it } from 'vitest';
import { createCopiedBoxes } from '../../pipeline/copiedBoxes.ts';
import { createLogger } from '../../pipeline/log.ts';

const START_MS = Date.parse('2026-11-30T08:00:00.000Z');

describe('a copied box as a fleet problem', () => {
  it('names the district and box, how many rounds since when and the fix; one error per episode; clears when the copies stop', () => {
    const lines: Array<Record<string, unknown>> = [];
    let nowMs = START_MS;
    const copies = createCopiedBoxes({ log: createLogger('json', (line) => lines.push(JSON.parse(line))), nowMs: () => nowMs });
    // Rounds of 15-minute windows, each refusing "east".
    for (let round = 0; round < 3; round += 1) {
      nowMs = START_MS + round * 900_000;
      copies.record('old town', 'east', 900);
    }
    expect(copies.problems()).toEqual([
      {
        message: 'two boxes advertise as "east" in district "old town": 3 rounds since 2026-11-30T08:00:00.000Z went on without it (the aggregator cannot tell which is the district\'s). A copied site.yaml? Give each its own mqtt.site, and rename it in every district\'s boxes (city.yaml and each box\'s site.yaml)',
        district: 'old town',
        box: 'east',
        rounds: '3',
        since: '2026-11-30T08:00:00.000Z',
      },
    ]);
    expect(lines.map((line) => [line.level, line.district, line.box])).toEqual([['error', 'old town', 'east']]);
    // Quiet for 2 × 900 s after the last round (at 1800 s): cleared at 3600 s, not a second before.
    nowMs = START_MS + 3_599_000;
    expect(copies.problems()).toHaveLength(1);
    nowMs = START_MS + 3_600_000;
    expect(copies.problems()).toEqual([]);
    expect(lines.at(-1)).toMatchObject({ level: 'info', district: 'old town', box: 'east', rounds: 3, quiet_s: 1800 });
  });
});
