/**
 * What a new user setting up a fleet ran into, against a real mosquitto and a real `veil aggregate` child:
 *
 * - Two boxes with one `mqtt.site` (a copied site.yaml): both release the same camera's windows, each with its own
 *   ledger and noise, so every window of the second reaches the aggregator as a conflict. The aggregator names the
 *   camera, the count and the likely cause on /healthz (degraded), in its log and in /metrics.
 * - A retired box: south is gone from city.yaml, but its retained `stopped` status and its district settings are
 *   still on the broker. Health counts only the cameras city.yaml names; south's status and settings are each
 *   reported once (across a broker restart that delivers them again), with the topic to clear; clearing a named
 *   camera's retained status with the command docs/fleet.md gives (`mosquitto_pub -r -n`, Debian's
 *   mosquitto-clients) takes it out of /healthz without a restart, and the docs' listing (`mosquitto_sub
 *   --retained-only`) shows what south left until it is cleared.
 */
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { publishDistrictSettings } from '../../pipeline/districtSettings.ts';
import { districtSecureAggregationSchema } from '../../pipeline/secureAggregationDistrict.ts';
import { cameraTopic } from '../../streams/mqtt/topics.ts';
import { publishWindows, releaseCameras } from '../helpers/fleet.ts';
import { useFleetPerTest } from '../helpers/fleetPerTest.ts';
import { useLiveSandbox } from '../helpers/liveChildren.ts';
import { fetchHealth, fetchMetrics } from '../helpers/liveEndpoints.ts';
import { FEED_TOKEN, startVeil, writeSiteConfig } from '../helpers/liveVeil.ts';
import { eventually } from '../helpers/liveWait.ts';
import { startMosquitto } from '../helpers/mosquitto.ts';
import { occupancy, vehicleCrossings } from '../helpers/releasedReport.ts';

const sandbox = useLiveSandbox('veil-fleet-problems-');
const run = promisify(execFile);
const WINDOW_SECONDS = 60;
const WINDOWS = 5;
const PRIVACY = { epsilon: 1, releases: [{ statistic: 'crossings', windowSeconds: WINDOW_SECONDS, share: 1 }] };

const fleet = useFleetPerTest();
/** A box's connection as `veil run` opens it: a persistent session that reconnects. */
const connect = (clientId: string) => fleet.connect(clientId, { clean: false, reconnectPeriod: 200 });

/** A broker of its own in folder `name` of the sandbox (nothing retained from another test); returns the folder. */
async function startBroker(name: string): Promise<string> {
  const folder = path.join(sandbox(), name);
  await mkdir(folder);
  fleet.started({ broker: await startMosquitto(path.join(folder, 'broker')) });
  return folder;
}

async function startAggregator(folder: string, districts: unknown[]): Promise<string> {
  const cityFile = await writeSiteConfig(folder, 'city.yaml', { broker: { url: fleet.broker().url, clientId: 'city', reconnectSeconds: 0.2 }, stateDir: 'city', feed: { port: 0 }, districts });
  const aggregator = startVeil(['aggregate', '--config', cityFile], { home: folder });
  fleet.started({ aggregator });
  const url = await aggregator.listening(60);
  await eventually('the aggregator to subscribe', 30, () => aggregator.log().some((entry) => entry.message === 'connected to the broker'));
  return url;
}

const sample = async (url: string, family: string, labels: Record<string, string>) =>
  (await fetchMetrics(url, FEED_TOKEN)).get(family)?.samples.find((s) => Object.entries(labels).every(([key, value]) => s.labels[key] === value))?.value;

/** The `mosquitto_pub` command docs/fleet.md ("Retiring a box") gives to clear a retained topic, on the test's broker. */
const clearRetained = (topic: string) => run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(fleet.broker().port), '-r', '-n', '-t', topic]);

/** The `mosquitto_sub` listing of what box `box` left retained, as docs/fleet.md gives it: "topic payload" lines. */
async function retainedOf(box: string): Promise<string[]> {
  const args = ['-h', '127.0.0.1', '-p', String(fleet.broker().port), '-v', '--retained-only', '-W', '2', '-t', `veil/v1/${box}/+/+`, '-t', `veil/v1/+/secagg/+/settings/${box}`];
  // -W ends the listing after 2 s with exit code 27 ("Timed out"), which is how it always ends here.
  const output = await run('mosquitto_sub', args).catch((error: { code?: number; stdout?: string }) => {
    if (error.code !== 27) throw error;
    return { stdout: error.stdout ?? '' };
  });
  return output.stdout.split('\n').filter((line) => line !== '').map((line) => line.slice(0, line.indexOf(' ')));
}

describe('fleet problems a new user found', () => {
  it('two boxes publishing as one mqtt.site: their window conflicts are a fleet problem naming the camera, the count and the fix', async () => {
    const folder = await startBroker('copied-site');
    const url = await startAggregator(folder, [{ name: 'centre', cameras: ['south/road'] }]);
    // The same camera id on two boxes, each with its own ledger: the same windows, independently noised.
    const camera = { site: 'south', camera: 'road', exact: () => ({ zones: { square: occupancy({ meanOccupancy: 2, peakOccupancy: 3 }) }, lines: { main: vehicleCrossings(20, 4) } }) };
    const [first] = releaseCameras(path.join(folder, 'box-a'), [camera], PRIVACY, WINDOWS * WINDOW_SECONDS, { zones: ['square'], lines: ['main'] });
    const [copy] = releaseCameras(path.join(folder, 'box-b'), [camera], PRIVACY, WINDOWS * WINDOW_SECONDS, { zones: ['square'], lines: ['main'] });
    const differing = copy!.windows.filter((window, index) => JSON.stringify(window) !== JSON.stringify(first!.windows[index])).length;
    // Noise may make a window come out the same on both boxes (then it is a redelivery, stored once): what conflicts is
    // the windows whose values differ, nearly always all of them.
    expect(differing).toBeGreaterThan(0);
    await publishWindows(await connect('box-a'), 'south', first!.windows);
    await publishWindows(await connect('box-b'), 'south', copy!.windows);

    await eventually('every conflict counted', 30, async () => (await sample(url, 'veil_fleet_window_conflicts', { camera: 'south/road' })) === differing);
    const { httpStatus, health } = await fetchHealth(url, FEED_TOKEN);
    expect(httpStatus).toBe(200);
    expect(health.status).toBe('degraded');
    expect(health.fleetProblems).toEqual([{ message: expect.any(String), camera: 'south/road', conflicts: String(differing), since: expect.any(String) }]);
    const [problem] = health.fleetProblems!;
    expect(problem!.message).toContain(`window conflicts on camera south/road: ${differing === 1 ? '1 window' : `${differing} windows`} since`);
    expect(problem!.message).toContain('two boxes may publish as mqtt.site "south" — a copied site.yaml? Give each box its own mqtt.site');
    expect(await sample(url, 'veil_fleet_messages_total', { kind: 'window', outcome: 'conflict' })).toBe(differing);
    // The store's warning per window, and one error for the camera, not one per window.
    expect(fleet.aggregator().log().filter((entry) => entry.message.startsWith('window rejected'))).toHaveLength(differing);
    expect(fleet.aggregator().log().filter((entry) => entry.level === 'error')).toMatchObject([{ camera: 'south/road', site: 'south' }]);
  }, 120_000);

  it('a retired box: health counts only the cameras city.yaml names, its retained status and settings are said once, and a cleared status leaves at once', async () => {
    const folder = await startBroker('retired-box');
    const district = { district: 'centre', boxes: ['east', 'north'], dropoutsTolerated: 0, windowSeconds: 900, epsilon: 0.5 };
    // What south left on the broker when it was stopped: its camera's retained `stopped`, and its district settings
    // from when the district had three boxes.
    const south = await connect('veil-south.road');
    const southStopped = () => south.publishAsync(cameraTopic('south', 'road', 'status'), JSON.stringify({ v: 1, type: 'status', camera: 'road', state: 'stopped', since: '2026-11-30T08:00:00.000Z', restarts: 0 }), { qos: 1, retain: true });
    await southStopped();
    await publishDistrictSettings(south, 'south', districtSecureAggregationSchema.parse({ ...district, boxes: ['east', 'north', 'south'] }));
    const north = await connect('veil-north.gate');
    const streaming = { v: 1, type: 'status', camera: 'gate', state: 'streaming', since: '2026-11-30T08:00:00.000Z', restarts: 0 };
    await north.publishAsync(cameraTopic('north', 'gate', 'status'), JSON.stringify(streaming), { qos: 1, retain: true });
    const url = await startAggregator(folder, [{ name: 'old town', cameras: ['north/gate'], secureAggregation: district }]);

    await eventually('north/gate in /healthz', 30, async () => (await fetchHealth(url, FEED_TOKEN)).health.cameras.length === 1);
    // Two connections (the camera's and the settings'): either may speak first.
    const said = () => fleet.aggregator().log().filter((entry) => entry.camera === 'south/road' || entry.box === 'south');
    await eventually('south\'s status and settings heard', 30, () => said().some((entry) => entry.camera) && said().some((entry) => entry.box));
    const { health } = await fetchHealth(url, FEED_TOKEN);
    expect(health.status).toBe('ok');
    expect(health.cameras.map((camera) => camera.camera)).toEqual(['north/gate']);
    expect(health.fleetProblems).toEqual([]);
    const [status, settings] = [said().find((entry) => entry.camera), said().find((entry) => entry.box)];
    expect(said()).toHaveLength(2);
    expect(status).toMatchObject({ level: 'warn', camera: 'south/road', state: 'stopped', topic: 'veil/v1/south/road/status' });
    expect(status!.message).toContain('mosquitto_pub -h BROKER -r -n -t veil/v1/south/road/status');
    expect(settings).toMatchObject({ level: 'warn', box: 'south', topic: 'veil/v1/city/secagg/centre/settings/south' });
    expect(settings!.message).toContain('box "south" is not in district "centre"\'s boxes');
    expect(fleet.aggregator().log().filter((entry) => entry.level === 'error')).toEqual([]);

    // A broker restart: the settings connection (a clean session) subscribes again and gets south's retained settings
    // again, and south's status comes a second time: nothing new is said.
    await fleet.broker().kill();
    await fleet.broker().restart();
    await eventually('the aggregator back on the broker', 30, () => fleet.aggregator().log().filter((entry) => entry.message === 'connected to the broker').length === 2);
    await eventually('south\'s settings delivered again', 30, async () => (await sample(url, 'veil_fleet_messages_total', { kind: 'settings', outcome: 'accepted' })) === 2);
    await southStopped();
    await eventually('south\'s status counted again', 30, async () => (await sample(url, 'veil_fleet_messages_total', { kind: 'status', outcome: 'unknown' })) === 2);
    expect(said()).toHaveLength(2);

    // A named camera's retained `stopped` counts, until the documented command clears it; no restart.
    await north.publishAsync(cameraTopic('north', 'gate', 'status'), JSON.stringify({ ...streaming, state: 'stopped' }), { qos: 1, retain: true });
    await eventually('north/gate stopped makes the aggregator degraded', 30, async () => (await fetchHealth(url, FEED_TOKEN)).health.status === 'degraded');
    await clearRetained(cameraTopic('north', 'gate', 'status'));
    await eventually('north/gate gone from /healthz', 30, async () => (await fetchHealth(url, FEED_TOKEN)).health.cameras.length === 0);
    expect((await fetchHealth(url, FEED_TOKEN)).health.status).toBe('ok');
    expect(await sample(url, 'veil_camera_up', { camera: 'north/gate' })).toBeUndefined();

    // The docs' procedure for what south left retained: list it, clear each topic, list again.
    expect((await retainedOf('south')).sort()).toEqual(['veil/v1/city/secagg/centre/settings/south', 'veil/v1/south/road/status']);
    await clearRetained('veil/v1/south/road/status');
    await clearRetained('veil/v1/city/secagg/centre/settings/south');
    expect(await retainedOf('south')).toEqual([]);
    // The broker's restart may meet a reconnection attempt while it is down: that error is the broker's, not south's.
    expect(fleet.aggregator().log().filter((entry) => entry.level === 'error' && !entry.message.includes('broker unreachable'))).toEqual([]);
    expect(fleet.aggregator().child.running()).toBe(true);
  }, 180_000);
});
