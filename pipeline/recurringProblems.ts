/**
 * `veil aggregate`'s episodes of a fleet problem that recurs with every window while its cause lasts — a camera two
 * boxes publish as (pipeline/windowConflicts.ts), a box id two boxes advertise as in the district's rounds
 * (pipeline/copiedBoxes.ts). Per key, the first occurrence of an episode is logged as an error; each key with an
 * episode going is one /healthz `fleetProblems` entry (and on the dashboard) saying how many since when.
 *
 *   const watch = createRecurringProblems({ log, countField: 'conflicts', describe, names, cleared: '…' });
 *   watch.record('south/road', 60);   // one occurrence, at a window of 60 s
 *   watch.problems();                 // [{ message, camera: 'south/road', conflicts: '1', since: '…' }]
 *
 * **When it clears.** While the cause lasts, every window length it shows at recurs at least once per window, so an
 * episode clears once none came for two of its longest window lengths, and at least QUIET_MINIMUM_SECONDS: then the
 * cause is gone (one of two boxes stopped or runs under a name of its own). The floor rides out what pauses both boxes
 * at once without mending anything — a broker restart, reconnections (two boxes taking one client id from each other
 * wait `reconnectSeconds`, 5 s by default, between turns) — and equals the default plan's crossings window, so
 * windows of a few seconds cannot make a problem flicker.
 */
import type { FleetProblem } from '../streams/feedServer.ts';
import type { Logger } from './log.ts';

/** The shortest quiet spell that clears an episode: the default crossings window (15 minutes). */
export const QUIET_MINIMUM_SECONDS = 900;

/** One key's episode: occurrences since `sinceMs` (ms since the epoch), the latest at `lastMs`. */
export interface Episode {
  count: number;
  sinceMs: number;
  lastMs: number;
  /** The longest window length an occurrence came at in this episode, in seconds. */
  longestWindowSeconds: number;
}

export interface RecurringProblemsOptions {
  log: Logger;
  /** The clock; Date.now unless a test steps it. */
  nowMs?: () => number;
  /** The problem's text for one key's episode: what is wrong, the likely cause and the fix. */
  describe: (key: string, episode: Episode) => string;
  /** The fields that name a key on its problem and in the line that clears it (e.g. `{ camera }`). */
  names: (key: string) => Record<string, string>;
  /** More fields for the error line that starts an episode; none unless given. */
  startFields?: (key: string) => Record<string, string>;
  /** The name of the occurrence count on a problem and in the line that clears it (e.g. "conflicts"). */
  countField: string;
  /** The info line logged when an episode clears. */
  cleared: string;
  /** Called with a key's count as it grows, and 0 when its episode clears (a gauge). */
  onCount?: (key: string, count: number) => void;
}

export interface RecurringProblems {
  /** One occurrence for `key` at a window of `windowSeconds`: the first of an episode is logged. */
  record(key: string, windowSeconds: number): void;
  /** One problem per key whose episode has not cleared, by key; clears (and logs) the others. */
  problems(): FleetProblem[];
}

/** How long a key must go without an occurrence before its episode clears, in ms (see the module's comment). */
function quietMs(episode: Episode): number {
  return Math.max(2 * episode.longestWindowSeconds, QUIET_MINIMUM_SECONDS) * 1000;
}

/** The watch with nothing recorded. Throws nothing. */
export function createRecurringProblems(options: RecurringProblemsOptions): RecurringProblems {
  const { log, describe, names, countField } = options;
  const now = options.nowMs ?? Date.now;
  const episodes = new Map<string, Episode>();

  const clearQuiet = (nowMs: number) => {
    for (const [key, episode] of episodes) {
      if (nowMs - episode.lastMs < quietMs(episode)) continue;
      episodes.delete(key);
      options.onCount?.(key, 0);
      log.info(options.cleared, { ...names(key), [countField]: episode.count, quiet_s: quietMs(episode) / 1000 });
    }
  };

  return {
    record(key, windowSeconds) {
      const nowMs = now();
      clearQuiet(nowMs);
      const episode = episodes.get(key);
      if (episode) {
        episode.count += 1;
        episode.lastMs = nowMs;
        episode.longestWindowSeconds = Math.max(episode.longestWindowSeconds, windowSeconds);
      } else {
        const started: Episode = { count: 1, sinceMs: nowMs, lastMs: nowMs, longestWindowSeconds: windowSeconds };
        episodes.set(key, started);
        // Once per episode: the problem stays listed while it lasts.
        log.error(describe(key, started), { ...names(key), ...options.startFields?.(key) });
      }
      options.onCount?.(key, episodes.get(key)!.count);
    },
    problems() {
      clearQuiet(now());
      return [...episodes]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([key, episode]) => ({ message: describe(key, episode), ...names(key), [countField]: String(episode.count), since: new Date(episode.sinceMs).toISOString() }));
    },
  };
}
