/**
 * `veil run` publishing to a real mosquitto (test/helpers/mosquitto.ts): the CLI in its own process with a looping
 * file camera and the real detector, a city-side subscriber that checks every message against the feed's schema,
 * and the broker killed (SIGKILL) and restarted mid-stream. Windows are 2 s at 2 frames/s, so it takes seconds.
 */
import Database from 'better-sqlite3';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { releasedWindowSchema, type ReleasedWindow } from '../../stages/released.ts';
import { windowId } from '../../streams/mqtt/windowId.ts';
import { useLiveSandbox } from '../helpers/liveChildren.ts';
import { fetchMetrics, FeedTestClient } from '../helpers/liveEndpoints.ts';
import { FEED_TOKEN, startVeilRun, writeSiteConfig } from '../helpers/liveVeil.ts';
import { eventually } from '../helpers/liveWait.ts';
import { startMosquitto } from '../helpers/mosquitto.ts';
import { watchBroker } from '../helpers/mqttWatcher.ts';
import { FOOTAGE } from '../helpers/paths.ts';
import { sampleValue } from './prometheusText.ts';

const START_TIMEOUT_SECONDS = 60;
const WINDOW_SECONDS = 2;
const SITE = 'north';
const sandbox = useLiveSandbox('veil-mqtt-live-');

/** The first copy of each window in arrival order: what a subscriber keeps when it drops copies by window id. */
function firstCopies(windows: ReleasedWindow[]): ReleasedWindow[] {
  const seen = new Set<string>();
  return windows.filter((window) => !seen.has(windowId(SITE, window)) && seen.add(windowId(SITE, window)));
}

describe('veil run publishing to an MQTT broker', () => {
  it('loses no window when the broker crashes mid-stream, keeps them in order, and leaves "offline" when the box dies', async () => {
    const broker = await startMosquitto(path.join(sandbox(), 'broker'));
    const city = await watchBroker(broker.url, 'city-aggregator', { persistent: true });
    const configFile = await writeSiteConfig(sandbox(), 'site.yaml', {
      stateDir: 'state',
      detector: { workers: 1 },
      feed: { port: 0, replayWindows: 200 },
      cameras: [{ id: 'yard', source: { file: FOOTAGE.parkinglot, loop: true }, fps: 2, windowSeconds: WINDOW_SECONDS, maxWidth: 320 }],
      mqtt: { site: SITE, url: broker.url, reconnectSeconds: 0.5, keepaliveSeconds: 2 },
    });
    const veil = startVeilRun(configFile, { home: sandbox(), newLedger: true });
    const baseUrl = await veil.listening(START_TIMEOUT_SECONDS);
    const feed = await FeedTestClient.connect(baseUrl, FEED_TOKEN);
    feed.subscribe(['yard']);
    const feedWindows = () => feed.windows('yard').map(({ window }) => window);
    const pendingMetric = async () => sampleValue(await fetchMetrics(baseUrl, FEED_TOKEN), 'veil_mqtt_windows_pending', 'veil_mqtt_windows_pending', { camera: 'yard' });

    await eventually('two windows at the city', 40, () => city.windows('yard').length >= 2);
    expect(city.statuses('yard').map((status) => status.state)).toContain('streaming');

    await broker.kill();
    const publishedBeforeOutage = feedWindows().length;
    await eventually('two windows released while the broker is down', 30, () => feedWindows().length >= publishedBeforeOutage + 2);
    expect(await pendingMetric()).toBeGreaterThanOrEqual(1);
    await broker.restart();

    const afterOutage = feedWindows().length;
    await eventually('every window of the outage at the city', 30, () => firstCopies(city.windows('yard')).length > afterOutage);
    await eventually('the backlog drained', 20, async () => (await pendingMetric()) === 0);

    // A death without goodbye (power cut): the broker publishes the box's last will, retained.
    await veil.child.kill();
    await eventually('the retained offline status', 20, () => city.statuses('yard').at(-1)?.state === 'offline');
    const latecomer = await watchBroker(broker.url, 'latecomer', { persistent: false });
    await eventually('the retained status for a latecomer', 10, () => latecomer.statuses('yard').length > 0);
    expect(latecomer.statuses('yard')[0]).toMatchObject({ state: 'offline', retained: true });
    await latecomer.close();

    // What the box stored is the truth: the city holds every window the broker acknowledged, in stored order, and
    // nothing else; a window whose PUBACK the kill cut off may be there too, as the next one in order.
    const db = new Database(path.join(sandbox(), 'state', 'releases.sqlite'), { readonly: true });
    const rows = db.prepare("SELECT body, broker_acknowledged AS acknowledged FROM released_windows WHERE camera = 'yard' ORDER BY id").all() as Array<{ body: string; acknowledged: number }>;
    db.close();
    const stored = rows.map((row) => releasedWindowSchema.parse(JSON.parse(row.body)));
    const acknowledged = rows.filter((row) => row.acknowledged === 1).length;
    expect(acknowledged).toBeGreaterThan(publishedBeforeOutage + 2);
    const atCity = firstCopies(city.windows('yard'));
    expect(atCity.length).toBeGreaterThanOrEqual(acknowledged);
    expect(atCity).toEqual(stored.slice(0, atCity.length));
    expect(feedWindows()).toEqual(stored.slice(0, feedWindows().length));
    // Copies are allowed (at least once), and each is the same window under the same id.
    const byId = new Map(atCity.map((window) => [windowId(SITE, window), window]));
    for (const copy of city.windows('yard')) expect(copy).toEqual(byId.get(windowId(SITE, copy)));
    console.info(`${city.windows('yard').length} window messages for ${atCity.length} windows; ${stored.length} stored, ${acknowledged} acknowledged`);
    expect(city.problems).toEqual([]);
    await city.close();
    await broker.stop();
  });
});
