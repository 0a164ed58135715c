/**
 * `veil aggregate`'s watch on window conflicts: a window id (`{site}/{camera}/{windowSeconds}s/{start}`) stored
 * already with other content. One box never causes one — every copy it sends of a window is the same stored row —
 * so a camera with conflicts is one that two boxes publish as: a site.yaml copied to a second box, both with the same
 * `mqtt.site` and camera id. The first window of each id is kept and the store looks healthy, but the camera's series
 * mixes two cameras, so each such camera is a fleet problem (/healthz `fleetProblems`, the dashboard) naming it, how
 * many conflicts since when, the likely cause and the fix, with the episode's count in a gauge.
 *
 *   const conflicts = createWindowConflicts({ log, metrics });
 *   conflicts.record('south/road', 60);   // after the store refused a window of 60 s as a conflict
 *   conflicts.problems();                 // [{ message: 'window conflicts on camera south/road: …', camera, … }]
 *
 * A camera's problem clears after the quiet spell pipeline/recurringProblems.ts sets out (two of its longest
 * conflicting window lengths, at least 15 minutes): then one of the two boxes stopped or publishes under a site of
 * its own.
 */
import type { FleetMetrics } from './fleetMetrics.ts';
import type { Logger } from './log.ts';
import { createRecurringProblems, type Episode, type RecurringProblems } from './recurringProblems.ts';

export interface WindowConflictsOptions {
  log: Logger;
  metrics: FleetMetrics;
  /** The clock; Date.now unless a test steps it. */
  nowMs?: () => number;
}

/** `record(camera, windowSeconds)`: one conflict of `camera` ("site/camera") on a window of `windowSeconds`. */
export type WindowConflicts = RecurringProblems;

/** The camera's "site" part: the box's `mqtt.site`. */
const siteOf = (camera: string) => camera.slice(0, camera.indexOf('/'));

function problemText(camera: string, episode: Episode): string {
  const site = siteOf(camera);
  const times = episode.count === 1 ? '1 window' : `${episode.count} windows`;
  return `window conflicts on camera ${camera}: ${times} since ${new Date(episode.sinceMs).toISOString()} came with an id stored already but other values (the first one is kept): two boxes may publish as mqtt.site "${site}" — a copied site.yaml? Give each box its own mqtt.site (and mqtt.clientId, if set; a box in a secure-aggregation district is renamed in its boxes too, in city.yaml and every box's site.yaml)`;
}

/** The watch with no conflict seen. Throws nothing. */
export function createWindowConflicts(options: WindowConflictsOptions): WindowConflicts {
  return createRecurringProblems({
    log: options.log,
    ...(options.nowMs ? { nowMs: options.nowMs } : {}),
    describe: problemText,
    names: (camera) => ({ camera }),
    startFields: (camera) => ({ site: siteOf(camera) }),
    countField: 'conflicts',
    cleared: 'window conflicts stopped: the camera\'s windows come from one box again',
    onCount: (camera, count) => options.metrics.windowConflicts.set({ camera }, count),
  });
}
