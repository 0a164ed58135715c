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
/** Two starts of veil (each loads the detector) and the waits between them, on a machine shared with other tests. */
const TEST_TIMEOUT_MS = 300_000;
const WINDOW_SECONDS = 2;
const SITE = 'north';
const sandbox = useLiveSandbox('veil-mqtt-live-');

/** The first copy of each window in arrival order: what a subscriber keeps when it drops copies by window id. */
function firstCopies(windows: ReleasedWindow[]): ReleasedWindow[] {
  const seen = new Set<string>();
  return windows.filter((window) => !seen.has(windowId(SITE, window)) && seen.add(windowId(SITE, window)));
}

/** The state a subscriber that connects now is told first: the retained one. */
async function latestRetainedState(url: string, clientId: string): Promise<string> {
  const latecomer = await watchBroker(url, clientId, { persistent: false });
  const [first] = await eventually('the retained status', 10, () => latecomer.statuses('yard').length > 0 && latecomer.statuses('yard'));
  await latecomer.close();
  expect(first?.retained).toBe(true);
  return first!.state;
}

describe('veil run publishing to an MQTT broker', () => {
  it('loses no window when the broker crashes mid-stream or the box is killed, keeps them in order, and retains offline or stopped', async () => {
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
    expect(await latestRetainedState(broker.url, 'after-kill')).toBe('offline');
    const windowsOfFirstRun = firstCopies(city.windows('yard')).length;

    // The box comes back: whatever the kill left unacknowledged goes first, then new windows; a clean stop says goodbye.
    const restarted = startVeilRun(configFile, { home: sandbox(), newLedger: false });
    await restarted.listening(START_TIMEOUT_SECONDS);
    await eventually('a window of the restarted box at the city', 40, () => firstCopies(city.windows('yard')).length > windowsOfFirstRun + 1);
    restarted.child.signal('SIGTERM');
    expect(await restarted.child.exited).toEqual({ code: 0, signal: null });
    expect(await latestRetainedState(broker.url, 'after-stop')).toBe('stopped');

    // What the box stored over both runs is the truth: the city holds every window the broker acknowledged, in stored
    // order, and nothing else; only a window whose PUBACK the stop cut off may be there as well, the next in order.
    const db = new Database(path.join(sandbox(), 'state', 'releases.sqlite'), { readonly: true });
    const rows = db.prepare("SELECT body, broker_acknowledged AS acknowledged FROM released_windows WHERE camera = 'yard' ORDER BY id").all() as Array<{ body: string; acknowledged: number }>;
    db.close();
    const stored = rows.map((row) => releasedWindowSchema.parse(JSON.parse(row.body)));
    const acknowledged = rows.filter((row) => row.acknowledged === 1).length;
    expect(acknowledged).toBeGreaterThan(windowsOfFirstRun);
    const atCity = firstCopies(city.windows('yard'));
    expect(atCity.length).toBeGreaterThanOrEqual(acknowledged);
    expect(atCity).toEqual(stored.slice(0, atCity.length));
    expect(feedWindows()).toEqual(stored.slice(0, feedWindows().length));
    expect(rows.slice(0, acknowledged).every((row) => row.acknowledged === 1)).toBe(true);
    // Copies are allowed (at least once), and each is the same window under the same id.
    const byId = new Map(atCity.map((window) => [windowId(SITE, window), window]));
    for (const copy of city.windows('yard')) expect(copy).toEqual(byId.get(windowId(SITE, copy)));
    console.info(`${city.windows('yard').length} window messages for ${atCity.length} windows; ${stored.length} stored, ${acknowledged} acknowledged`);
    expect(city.problems).toEqual([]);
    await city.close();
    await broker.stop();
  }, TEST_TIMEOUT_MS);
});
