/**
 * The release store as a sink: every window a box publishes is stored first, so the feed can replay it and the
 * MQTT publisher can send it (again) from the store after an outage.
 */
import type { ReleaseStore } from '../releaseStore.ts';
import type { WindowSink } from './sink.ts';

/**
 * Stores each window. Throws, storing nothing, for a non-private (calibration) window: the store of a live box holds
 * what it published, and calibration output is never published. Closing closes the store.
 */
export function releaseStoreSink(store: ReleaseStore): WindowSink {
  return {
    name: 'release store',
    publish(window) {
      if (window.privacy?.private !== true) {
        throw new Error(`window of camera "${window.camera}" not stored: privacy.private is false (calibration output is never published)`);
      }
      store.append(window);
    },
    async close() {
      store.close();
    },
  };
}
