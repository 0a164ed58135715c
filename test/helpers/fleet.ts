/**
 * Simulated boxes of a fleet: real released windows (the release stage with a real plan and each box's own real
 * ledger, via releaseClip) published the way a box publishes them — the feed's `{v:1, type:'window'}` message on
 * the camera's window topic, QoS 1, from a persistent MQTT session — to a real broker.
 */
import path from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { openLedger } from '../../stages/privacy/ledger.ts';
import type { ReleasedWindow } from '../../stages/released.ts';
import { cameraTopic } from '../../streams/mqtt/topics.ts';
import { windowId as fleetWindowId } from '../../streams/mqtt/windowId.ts';
import { releaseClip, type ExactCounts, type WindowSpan } from './releasedReport.ts';

export interface SimulatedCamera {
  site: string;
  camera: string;
  /** The camera's exact counts per window (the truth the release stage noises). */
  exact: (span: WindowSpan) => ExactCounts;
}

export interface ReleasedCamera extends SimulatedCamera {
  windows: ReleasedWindow[];
}

/**
 * Releases `durationSeconds` of each camera through the release stage, each camera with its own ledger in
 * `folder` (as each box has its own), under `privacy` (config form, e.g. `{ epsilon: 1, releases: [...] }`).
 */
export function releaseCameras(folder: string, cameras: SimulatedCamera[], privacy: Record<string, unknown>, durationSeconds: number, layout: { zones: string[]; lines: string[] }): ReleasedCamera[] {
  return cameras.map((camera) => {
    const ledger = openLedger(path.join(folder, `${camera.site}-${camera.camera}.ledger`), { createIfMissing: true });
    try {
      const report = releaseClip({ privacy, zones: layout.zones.map((name) => ({ name })), lines: layout.lines, durationSeconds, exact: camera.exact, ledger, camera: camera.camera });
      return { ...camera, windows: report.windows };
    } finally {
      ledger.close();
    }
  });
}

/** A box's MQTT client: its own stable client id and a persistent session, as `veil run`'s publisher has. */
export function connectBox(url: string, site: string, camera: string): Promise<MqttClient> {
  return connectAsync(url, { clientId: `box-${site}-${camera}`, clean: false, protocolVersion: 4, reconnectPeriod: 200 });
}

/** The message a box publishes for one window, as bytes. */
export function windowPayload(window: ReleasedWindow): string {
  return JSON.stringify({ v: 1, type: 'window', window });
}

/** Publishes each window at QoS 1 and waits for the broker's PUBACK of each (across broker outages). */
export async function publishWindows(client: MqttClient, site: string, windows: readonly ReleasedWindow[]): Promise<void> {
  for (const window of windows) await client.publishAsync(cameraTopic(site, window.camera, 'window'), windowPayload(window), { qos: 1 });
}

/** A released window's fleet id (streams/mqtt/windowId.ts), from the aggregator's "site/camera" camera id. */
export function windowId(fleetCamera: string, window: Pick<ReleasedWindow, 'windowSeconds' | 'startSeconds'>): string {
  const slash = fleetCamera.indexOf('/');
  return fleetWindowId(fleetCamera.slice(0, slash), { ...window, camera: fleetCamera.slice(slash + 1) });
}
