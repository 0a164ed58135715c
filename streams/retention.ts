/**
 * Retention for Veil's SQLite stores: windows that ended more than `retentionDays` ago are deleted when the store
 * opens and then once an hour, so a box or an aggregator running for months keeps a bounded file (README,
 * "Retention").
 *
 *   const retention = startRetention({ store: 'release store', retentionDays: 400, prune: (cutoff) => ({ windows: store.pruneEndedBefore(cutoff, { keepUnacknowledged: true }) }), log });
 *   retention.stop();
 *
 * Each prune is an indexed DELETE by end time in batches (streams/sqliteFile.ts, deleteInBatches); the file is not
 * vacuumed: it stops growing once its free pages are being reused.
 */
import type { FeedLogger } from './feedServer.ts';

const SECONDS_PER_DAY = 86_400;
/** Between prunes: an hour's windows are about 64 rows per camera at the default plan, deleted in milliseconds. */
const PRUNE_INTERVAL_MS = 3_600_000;

export interface RetentionOptions {
  /** Names the store in the log, e.g. "release store". */
  store: string;
  /** Windows that ended more than this many days ago are deleted. */
  retentionDays: number;
  /** Deletes what ended before the cutoff (Unix seconds) and says how many rows of each kind it removed. */
  prune(cutoffSeconds: number): Record<string, number>;
  log: Pick<FeedLogger, 'info' | 'error'>;
  /** Milliseconds between prunes after the first; an hour unless given. */
  everyMs?: number;
}

/**
 * Prunes at once, then every `everyMs` (an hour) until stop(). The first prune's failure throws (a store that cannot
 * be pruned at start is worth stopping for); a later one is logged and retried at the next interval. Each prune is
 * logged with the rows pruned per kind, in the log's snake case (`pruned_windows`, `pruned_secure_totals`); the periodic ones only when they removed any.
 */
export function startRetention(options: RetentionOptions): { stop(): void } {
  const pruneNow = (atStart: boolean) => {
    const cutoffSeconds = Date.now() / 1000 - options.retentionDays * SECONDS_PER_DAY;
    const removed = options.prune(cutoffSeconds);
    if (!atStart && Object.values(removed).every((count) => count === 0)) return;
    const fields = Object.fromEntries(Object.entries(removed).map(([kind, count]) => [`pruned_${kind.replace(/[A-Z]/g, (capital) => `_${capital.toLowerCase()}`)}`, count]));
    options.log.info('retention: pruned what ended before the cutoff', {
      store: options.store,
      retention_days: options.retentionDays,
      cutoff: new Date(cutoffSeconds * 1000).toISOString(),
      ...fields,
    });
  };
  pruneNow(true);
  const timer = setInterval(() => {
    try {
      pruneNow(false);
    } catch (error) {
      options.log.error('retention: could not prune; trying again at the next interval', { store: options.store, error: (error as Error).message });
    }
  }, options.everyMs ?? PRUNE_INTERVAL_MS);
  // The process ends when its work does, not when the next prune is due.
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
