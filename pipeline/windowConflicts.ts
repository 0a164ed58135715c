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
 * **When it clears.** While two boxes publish one camera, every window length of its plan brings a conflict at each
 * of its windows (both boxes release every window), so conflicts recur at least once per window length. A camera's
 * problem clears once none came for two of its longest conflicting window lengths, and at least
 * CONFLICT_QUIET_MINIMUM_SECONDS: then one of the two boxes stopped or publishes under a site of its own. The floor
 * rides out what pauses both boxes at once without mending anything — a broker restart, reconnections (two boxes
 * taking one client id from each other wait `reconnectSeconds`, 5 s by default, between turns) — and equals the
 * default plan's crossings window, so windows of a few seconds cannot make the problem flicker.
 */
import type { FleetProblem } from '../streams/feedServer.ts';
import type { FleetMetrics } from './fleetMetrics.ts';
import type { Logger } from './log.ts';

/** The shortest quiet spell that clears a camera's conflicts: the default crossings window (15 minutes). */
export const CONFLICT_QUIET_MINIMUM_SECONDS = 900;

export interface WindowConflictsOptions {
  log: Logger;
  metrics: FleetMetrics;
  /** The clock; Date.now unless a test steps it. */
  nowMs?: () => number;
}

export interface WindowConflicts {
  /** One conflict of `camera` ("site/camera") on a window of `windowSeconds`: the first of an episode is logged. */
  record(camera: string, windowSeconds: number): void;
  /** One problem per camera whose conflicts have not cleared yet, by camera name; clears (and logs) the others. */
  problems(): FleetProblem[];
}

interface Episode {
  count: number;
  sinceMs: number;
  lastMs: number;
  /** The longest window length that conflicted in this episode, in seconds. */
  longestWindowSeconds: number;
}

/** How long a camera must go without a conflict before its problem clears, in ms (see the module's comment). */
function quietMs(episode: Episode): number {
  return Math.max(2 * episode.longestWindowSeconds, CONFLICT_QUIET_MINIMUM_SECONDS) * 1000;
}

/** The camera's "site" part: the box's `mqtt.site`. */
const siteOf = (camera: string) => camera.slice(0, camera.indexOf('/'));

function problemText(camera: string, episode: Episode): string {
  const site = siteOf(camera);
  const times = episode.count === 1 ? '1 window' : `${episode.count} windows`;
  return `window conflicts on camera ${camera}: ${times} since ${new Date(episode.sinceMs).toISOString()} came with an id stored already but other values (the first one is kept): two boxes may publish as mqtt.site "${site}" — a copied site.yaml? Give each box its own mqtt.site (and mqtt.clientId, if set; a box in a secure-aggregation district is renamed in its boxes too, in city.yaml and every box's site.yaml)`;
}

/** The watch with no conflict seen. Throws nothing. */
export function createWindowConflicts(options: WindowConflictsOptions): WindowConflicts {
  const { log, metrics } = options;
  const now = options.nowMs ?? Date.now;
  const episodes = new Map<string, Episode>();

  const clearQuiet = (nowMs: number) => {
    for (const [camera, episode] of episodes) {
      if (nowMs - episode.lastMs < quietMs(episode)) continue;
      episodes.delete(camera);
      metrics.windowConflicts.set({ camera }, 0);
      log.info('window conflicts stopped: the camera\'s windows come from one box again', { camera, conflicts: episode.count, quiet_s: quietMs(episode) / 1000 });
    }
  };

  return {
    record(camera, windowSeconds) {
      const nowMs = now();
      clearQuiet(nowMs);
      const episode = episodes.get(camera);
      if (episode) {
        episode.count += 1;
        episode.lastMs = nowMs;
        episode.longestWindowSeconds = Math.max(episode.longestWindowSeconds, windowSeconds);
      } else {
        const started: Episode = { count: 1, sinceMs: nowMs, lastMs: nowMs, longestWindowSeconds: windowSeconds };
        episodes.set(camera, started);
        // Once per episode: the store's own warning names every conflicting window.
        log.error(problemText(camera, started), { camera, site: siteOf(camera) });
      }
      metrics.windowConflicts.set({ camera }, episodes.get(camera)!.count);
    },
    problems() {
      clearQuiet(now());
      return [...episodes]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([camera, episode]) => ({ message: problemText(camera, episode), camera, conflicts: String(episode.count), since: new Date(episode.sinceMs).toISOString() }));
    },
  };
}
