/**
 * `veil run` prunes its release store at start: a real child process on a store file seeded with windows of a year
 * ago and of yesterday, publishing to an MQTT broker that is not there, so the old window it never got keeps its
 * place in the outbox while the acknowledged one of the same age goes.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openReleaseStore } from '../../streams/releaseStore.ts';
import { releasedWindow, WINDOW_SECONDS } from '../streams/releasedWindowFixture.ts';
import { useLiveSandbox } from '../helpers/liveChildren.ts';
import { startVeilRun, writeSiteConfig } from '../helpers/liveVeil.ts';
import { eventually } from '../helpers/liveWait.ts';
import { FOOTAGE } from '../helpers/paths.ts';

const sandbox = useLiveSandbox('veil-retention-');
const RETENTION_MESSAGE = 'retention: pruned what ended before the cutoff';

describe('veil run with retentionDays', () => {
  it('deletes the windows older than retentionDays at start, except those the broker has not acknowledged', async () => {
    const stateDir = path.join(sandbox(), 'state');
    const seeded = openReleaseStore(path.join(stateDir, 'releases.sqlite'));
    // The fixture's first windows are of 2025-11-25; the recent one ended about a day before now. With 2 days of
    // retention the cutoff falls between them whatever today's date.
    const recentIndex = Math.floor((Date.now() / 1000 - 86_400 - releasedWindow({ camera: 'yard', index: 0 }).startSeconds) / WINDOW_SECONDS);
    const acknowledged = seeded.append(releasedWindow({ camera: 'yard', index: 0 }));
    seeded.acknowledge(acknowledged);
    const neverSent = seeded.append(releasedWindow({ camera: 'yard', index: 1 }));
    const recent = seeded.append(releasedWindow({ camera: 'yard', index: recentIndex }));
    seeded.acknowledge(recent);
    seeded.close();

    const configFile = await writeSiteConfig(sandbox(), 'site.yaml', {
      stateDir,
      retentionDays: 2,
      detector: { workers: 1 },
      feed: { port: 0 },
      cameras: [{ id: 'yard', source: { file: FOOTAGE.parkinglot, loop: true }, fps: 2, windowSeconds: 60, maxWidth: 320 }],
      // Port 1: nothing listens, so nothing is acknowledged while the test runs.
      mqtt: { site: 'north', url: 'mqtt://127.0.0.1:1', reconnectSeconds: 5 },
    });
    const veil = startVeilRun(configFile, { home: sandbox(), newLedger: true });
    await eventually('veil to prune its store', 60, () => {
      if (veil.log().some((entry) => entry.message === RETENTION_MESSAGE)) return true;
      if (!veil.child.running()) throw new Error(`veil exited before pruning:\n${veil.stderr()}`);
      return false;
    });
    veil.child.signal('SIGTERM');
    expect(await veil.child.exited, veil.stderr()).toEqual({ code: 0, signal: null });
    expect(veil.log().filter((entry) => entry.message === RETENTION_MESSAGE)).toMatchObject([{ store: 'release store', retention_days: 2, pruned_windows: 1 }]);

    const store = openReleaseStore(path.join(stateDir, 'releases.sqlite'));
    try {
      expect(store.unacknowledged('yard', 0, 10).map((row) => row.rowId)).toEqual([neverSent]);
      expect(store.latest('yard', 10).map((window) => window.startSeconds)).toEqual([1, recentIndex].map((index) => releasedWindow({ camera: 'yard', index }).startSeconds));
    } finally {
      store.close();
    }
  }, 120_000);
});
