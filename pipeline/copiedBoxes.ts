/**
 * `veil aggregate`'s watch on copied boxes in a securely aggregated district: a box id that two boxes advertised as
 * in one round, with different keys — a site.yaml copied to a second box keeps its `mqtt.site`, and so its box id.
 * The round keeps that box out (stages/privacy/secureAggregationAggregator.ts: it cannot tell which copy is the
 * district's) and goes on without it; here each such box is a fleet problem (/healthz `fleetProblems`, the
 * dashboard) naming the district and the box, how many rounds since when, the likely cause and the fix, logged once
 * per episode. An episode clears as pipeline/recurringProblems.ts sets out (two of the district's windows without a
 * copy, at least 15 minutes).
 *
 *   const copies = createCopiedBoxes({ log });
 *   copies.record('old town', 'east', 900);   // a round of district "old town" (900-s windows) refused box "east"
 *   copies.problems();                        // [{ message: 'two boxes advertise as "east" in district …', … }]
 */
import type { FleetProblem } from '../streams/feedServer.ts';
import type { Logger } from './log.ts';
import { createRecurringProblems, type Episode } from './recurringProblems.ts';

export interface CopiedBoxes {
  /** One round of `district` (its name in city.yaml, windows of `windowSeconds`) that refused box `box` as copied. */
  record(district: string, box: string, windowSeconds: number): void;
  /** One problem per district and box still copied, sorted. */
  problems(): FleetProblem[];
}

/** The key of a district's box; a box id has no "/" (mqtt.site: letters, digits, `_`, `-`, `.`). */
const keyOf = (district: string, box: string) => `${district}/${box}`;
const partsOf = (key: string) => ({ district: key.slice(0, key.lastIndexOf('/')), box: key.slice(key.lastIndexOf('/') + 1) });

function problemText(key: string, episode: Episode): string {
  const { district, box } = partsOf(key);
  const rounds = episode.count === 1 ? '1 round' : `${episode.count} rounds`;
  return `two boxes advertise as "${box}" in district "${district}": ${rounds} since ${new Date(episode.sinceMs).toISOString()} went on without it (the aggregator cannot tell which is the district's). A copied site.yaml? Give each its own mqtt.site, and rename it in every district's boxes (city.yaml and each box's site.yaml)`;
}

/** The watch with no copy seen. Throws nothing. */
export function createCopiedBoxes(options: { log: Logger; nowMs?: () => number }): CopiedBoxes {
  const watch = createRecurringProblems({
    log: options.log,
    ...(options.nowMs ? { nowMs: options.nowMs } : {}),
    describe: problemText,
    names: partsOf,
    countField: 'rounds',
    cleared: 'secure aggregation: the box advertises from one box again',
  });
  return {
    record: (district, box, windowSeconds) => watch.record(keyOf(district, box), windowSeconds),
    problems: () => watch.problems(),
  };
}
