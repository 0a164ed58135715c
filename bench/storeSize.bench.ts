/**
 * `npm run bench:store [-- --minutes 20000 --zones 2]`: what retention has to bound. Fills a release store and an
 * aggregator store with one camera's windows at the default plan (occupancy per minute, crossings per quarter hour,
 * `--zones` zones and one line; real windows from the release stage), checkpoints the WAL, and prints the file's
 * bytes per window (indexes included), the size per camera at the default retention, and how long one prune of every
 * window takes. The README's "Retention" figures come from here.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { DEFAULT_RETENTION_DAYS } from '../pipeline/siteConfig.ts';
import { openAggregateStore } from '../streams/aggregateStore.ts';
import { openReleaseStore } from '../streams/releaseStore.ts';
import { CROSSINGS_WINDOW_SECONDS, releasedWindow, WINDOW_SECONDS } from '../test/streams/releasedWindowFixture.ts';
import { loadAverage } from './measure.ts';

const { values } = parseArgs({ options: { minutes: { type: 'string', default: '20000' }, zones: { type: 'string', default: '2' } } });
const minutes = Number(values.minutes);
const zoneCount = Number(values.zones);
const MINUTES_PER_CROSSINGS_WINDOW = CROSSINGS_WINDOW_SECONDS / WINDOW_SECONDS;
/** The default plan's windows per camera-day: 1,440 of occupancy and 96 of crossings. */
const WINDOWS_PER_DAY = 86_400 / WINDOW_SECONDS + 86_400 / CROSSINGS_WINDOW_SECONDS;

const folder = mkdtempSync(join(tmpdir(), 'veil-store-size-'));
try {
  const boxFile = join(folder, 'releases.sqlite');
  const cityFile = join(folder, 'fleet.sqlite');
  const box = openReleaseStore(boxFile);
  const city = openAggregateStore(cityFile);
  let windows = 0;
  const store = (window: ReturnType<typeof releasedWindow>) => {
    box.append(window);
    city.putWindow({ ...window, camera: `north/${window.camera}` });
    windows += 1;
  };
  for (let minute = 0; minute < minutes; minute += 1) {
    store(releasedWindow({ camera: 'gate', index: minute, zoneCount }));
    if ((minute + 1) % MINUTES_PER_CROSSINGS_WINDOW === 0) {
      store(releasedWindow({ camera: 'gate', index: (minute + 1) / MINUTES_PER_CROSSINGS_WINDOW - 1, zoneCount, windowSeconds: CROSSINGS_WINDOW_SECONDS }));
    }
  }
  box.close();
  city.close();
  for (const file of [boxFile, cityFile]) {
    const db = new Database(file);
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
  }
  const perWindow = (file: string) => statSync(file).size / windows;
  const reopened = openReleaseStore(boxFile);
  const started = process.hrtime.bigint();
  const pruned = reopened.pruneEndedBefore(Number.MAX_SAFE_INTEGER, { keepUnacknowledged: false });
  const pruneMs = Number(process.hrtime.bigint() - started) / 1e6;
  reopened.close();
  const atRetention = (bytes: number) => `${((WINDOWS_PER_DAY * DEFAULT_RETENTION_DAYS * bytes) / 1e6).toFixed(0)} MB`;
  const boxBytes = perWindow(boxFile);
  const cityBytes = perWindow(cityFile);
  console.log(`${windows} windows of one camera (${zoneCount} zones, 1 line), ${loadAverage()}`);
  console.log(`release store:    ${boxBytes.toFixed(0)} bytes a window; ${WINDOWS_PER_DAY} × ${DEFAULT_RETENTION_DAYS} days × ${boxBytes.toFixed(0)} B = ${atRetention(boxBytes)} per camera`);
  console.log(`aggregator store: ${cityBytes.toFixed(0)} bytes a window; ${WINDOWS_PER_DAY} × ${DEFAULT_RETENTION_DAYS} days × ${cityBytes.toFixed(0)} B = ${atRetention(cityBytes)} per camera`);
  console.log(`one prune of all ${pruned} windows: ${pruneMs.toFixed(0)} ms; file size after it: ${statSync(boxFile).size} bytes (not vacuumed)`);
} finally {
  rmSync(folder, { recursive: true, force: true });
}
