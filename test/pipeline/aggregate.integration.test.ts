/**
 * `veil aggregate` against a real mosquitto, with three simulated boxes publishing real released windows (the
 * release stage with a real plan and each box's own ledger). Checks: district totals are the sums of what the
 * boxes released, with √(Σσ²); a broker killed and restarted mid-stream loses and duplicates nothing at the
 * aggregator; an aggregator killed and restarted loses nothing; tampered and malformed messages are refused and
 * logged, and the aggregator keeps running.
 */
import path from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReleasedWindow } from '../../stages/released.ts';
import { openAggregateStore } from '../../streams/aggregateStore.ts';
import type { DistrictWindow } from '../../streams/feedMessages.ts';
import { cameraTopic } from '../../streams/mqtt/topics.ts';
import { connectBox, publishWindows, releaseCameras, windowId, windowPayload, type ReleasedCamera } from '../helpers/fleet.ts';
import { useLiveSandbox } from '../helpers/liveChildren.ts';
import { cameraHealth, FeedTestClient, fetchHealth, fetchMetrics } from '../helpers/liveEndpoints.ts';
import { FEED_TOKEN, startVeil, writeSiteConfig, type VeilRun } from '../helpers/liveVeil.ts';
import { eventually } from '../helpers/liveWait.ts';
import { startMosquitto, type Broker } from '../helpers/mosquitto.ts';
import { FOOTAGE_DIR, REPO_ROOT } from '../helpers/paths.ts';
import { occupancy, vehicleCrossings } from '../helpers/releasedReport.ts';
import { createSandbox, runVeil } from '../helpers/veilCli.ts';

const sandbox = useLiveSandbox('veil-aggregate-');
const WINDOW_SECONDS = 60;
const WINDOWS_PER_CAMERA = 12;
/** Crossings and peak occupancy in the same one-minute windows, so every window holds both. */
const PRIVACY = {
  epsilon: 1,
  releases: [
    { statistic: 'crossings', windowSeconds: WINDOW_SECONDS, share: 0.5 },
    { statistic: 'peakOccupancy', windowSeconds: WINDOW_SECONDS, share: 0.5 },
  ],
};
const CAMERAS = [
  { site: 'north', camera: 'gate', lanes: 3 },
  { site: 'north', camera: 'yard', lanes: 1 },
  { site: 'south', camera: 'bridge', lanes: 5 },
];

let broker: Broker;
let boxes: ReleasedCamera[];
let clients: MqttClient[];
let cityFile: string;
let stateDir: string;

const fleetId = (box: { site: string; camera: string }) => `${box.site}/${box.camera}`;

function startAggregator(): VeilRun {
  return startVeil(['aggregate', '--config', cityFile], { home: sandbox() });
}

/** The last district message for this district and window start, as a feed client received them. */
function lastDistrict(client: FeedTestClient, district: string, startSeconds: number): DistrictWindow | undefined {
  return client.received
    .flatMap(({ message }) => (message.type === 'district' && message.district.district === district && message.district.startSeconds === startSeconds ? [message.district] : []))
    .at(-1);
}

function windowIds(client: FeedTestClient): string[] {
  return client.received.flatMap(({ message }) => (message.type === 'window' ? [windowId(message.window.camera, message.window)] : []));
}

const half = (windows: ReleasedWindow[], which: 0 | 1) => windows.filter((w) => (w.startSeconds < (WINDOWS_PER_CAMERA / 2) * WINDOW_SECONDS) === (which === 0));

beforeAll(async () => {
  broker = await startMosquitto(path.join(sandbox(), 'broker'));
  boxes = releaseCameras(
    path.join(sandbox(), 'boxes'),
    CAMERAS.map(({ site, camera, lanes }) => ({
      site,
      camera,
      exact: (span) => ({
        zones: { square: occupancy({ meanOccupancy: lanes, peakOccupancy: lanes + 1 }) },
        lines: { main: vehicleCrossings(lanes * 4 + span.startSeconds / WINDOW_SECONDS, lanes) },
      }),
    })),
    PRIVACY,
    WINDOWS_PER_CAMERA * WINDOW_SECONDS,
    { zones: ['square'], lines: ['main'] },
  );
  stateDir = path.join(sandbox(), 'city');
  cityFile = await writeSiteConfig(sandbox(), 'city.yaml', {
    broker: { url: broker.url, clientId: 'city-test', reconnectSeconds: 0.2 },
    stateDir,
    feed: { port: 0, replayWindows: 1000 },
    districtReplayWindows: 1000,
    districts: [
      { name: 'centre', cameras: CAMERAS.map(fleetId) },
      { name: 'north-traffic', cameras: [{ camera: 'north/gate', lines: ['main'], zones: [] }, { camera: 'north/yard', lines: ['main'], zones: [] }] },
    ],
  });
  clients = await Promise.all(boxes.map((box) => connectBox(broker.url, box.site, box.camera)));
}, 60_000);

afterAll(async () => {
  await Promise.all((clients ?? []).map((client) => client.endAsync(true)));
});

describe('veil aggregate with three boxes and a real broker', () => {
  let aggregator: VeilRun;
  let aggregatorUrl: string;
  let feed: FeedTestClient;

  /** The aggregator's count of fleet messages of this kind and outcome, from /metrics. */
  const counted = async (kind: string, outcome: string) => {
    const family = (await fetchMetrics(aggregatorUrl, FEED_TOKEN)).get('veil_fleet_messages_total');
    return family?.samples.find((sample) => sample.labels.kind === kind && sample.labels.outcome === outcome)?.value ?? 0;
  };

  it('totals each district per window: the sum of what its cameras released, with √(Σσ²)', async () => {
    aggregator = startAggregator();
    aggregatorUrl = await aggregator.listening(60);
    feed = await FeedTestClient.connect(aggregatorUrl, FEED_TOKEN);
    await eventually('the aggregator to subscribe', 30, () => aggregator.log().some((e) => e.message === 'connected to the broker'));
    await Promise.all(boxes.map((box, index) => publishWindows(clients[index]!, box.site, half(box.windows, 0))));
    const firstStart = 0;
    const centre = await eventually('a complete centre total for the first window', 30, () => {
      const total = lastDistrict(feed, 'centre', firstStart);
      return total?.complete ? total : undefined;
    });
    const released = boxes.map((box) => box.windows.find((w) => w.startSeconds === firstStart)!);
    const forward = released.reduce((sum, w) => sum + w.lines.main!.classes.vehicle!.forward, 0);
    const crossingsSd = Math.sqrt(released.reduce((sum, w) => sum + w.privacy.statistics.crossings!.standardDeviation ** 2, 0));
    const peak = released.reduce((sum, w) => sum + w.zones.square!.classes.person!.peakOccupancy!, 0);
    const peakSd = Math.sqrt(released.reduce((sum, w) => sum + w.privacy.statistics.peakOccupancy!.standardDeviation ** 2, 0));
    expect(centre.cameras).toEqual({ released: ['north/gate', 'north/yard', 'south/bridge'], withheld: [], missing: [] });
    expect(centre.crossings.vehicle!.forward.value).toBe(forward);
    expect(centre.crossings.vehicle!.forward.standardDeviation).toBeCloseTo(crossingsSd, 12);
    expect(centre.peakOccupancy.person!.value).toBe(peak);
    expect(centre.peakOccupancy.person!.standardDeviation).toBeCloseTo(peakSd, 12);
    // One camera's σ, three cameras' √3 σ: the noise of a district sum of separate releases.
    expect(crossingsSd).toBeCloseTo(released[0]!.privacy.statistics.crossings!.standardDeviation * Math.sqrt(3), 12);
    const north = lastDistrict(feed, 'north-traffic', firstStart)!;
    expect(north.crossings.vehicle!.backward.value).toBe(released[0]!.lines.main!.classes.vehicle!.backward + released[1]!.lines.main!.classes.vehicle!.backward);
    expect(north.peakOccupancy).toEqual({});
  }, 120_000);

  it('mirrors each camera\'s retained status on its feed and /healthz, by fleet id', async () => {
    const status = { v: 1, type: 'status', camera: 'bridge', state: 'reconnecting', since: '2026-11-30T01:00:00.000Z', restarts: 3, detail: 'stream ended' };
    await clients[2]!.publishAsync(cameraTopic('south', 'bridge', 'status'), JSON.stringify(status), { qos: 1, retain: true });
    await eventually('the status on the aggregator\'s feed', 30, () => feed.states('south/bridge').includes('reconnecting'));
    const { health } = await fetchHealth(aggregatorUrl, FEED_TOKEN);
    expect(cameraHealth(health, 'south/bridge')).toMatchObject({ state: 'reconnecting', lastError: 'stream ended' });
    expect(health.status).toBe('degraded');
  }, 60_000);

  it('loses and duplicates nothing when the broker is killed and restarted mid-stream', async () => {
    await broker.kill();
    const publishing = Promise.all(boxes.map((box, index) => publishWindows(clients[index]!, box.site, half(box.windows, 1))));
    await broker.restart();
    await publishing;
    await eventually('the aggregator to have seen the outage', 30, () => aggregator.log().some((e) => e.message.startsWith('broker unreachable')));
    // A box that republishes its backlog after an outage sends some windows twice; the aggregator stores them once.
    await publishWindows(clients[0]!, boxes[0]!.site, boxes[0]!.windows.slice(0, 3));
    const expected = boxes.flatMap((box) => box.windows.map((w) => windowId(fleetId(box), w))).sort();
    await eventually('every window at the aggregator', 60, () => new Set(windowIds(feed)).size === expected.length);
    await eventually('the republished windows to be logged as redeliveries', 30, () => aggregator.log().filter((e) => e.message.startsWith('window received again')).length >= 3);
    expect(windowIds(feed).sort()).toEqual(expected);
    expect(await counted('window', 'stored')).toBe(expected.length);
    expect(await counted('window', 'redelivery')).toBeGreaterThanOrEqual(3);
    const lastStart = (WINDOWS_PER_CAMERA - 1) * WINDOW_SECONDS;
    expect(lastDistrict(feed, 'centre', lastStart)?.complete).toBe(true);
  }, 180_000);

  it('refuses and logs tampered or malformed messages, and keeps running', async () => {
    const gate = boxes[0]!;
    const topic = cameraTopic('north', 'gate', 'window');
    const genuine = gate.windows[0]!;
    const tampered = [
      'not json at all',
      JSON.stringify({ v: 1, type: 'window', window: { ...genuine, startSeconds: 9_999, boxes: [{ x: 0.1, y: 0.2 }] } }),
      JSON.stringify({ v: 1, type: 'window', window: { ...genuine, startSeconds: 9_999, camera: 'yard' } }),
      JSON.stringify({ v: 1, type: 'window', window: { ...genuine, startSeconds: 9_999, privacy: { ...genuine.privacy, private: false } } }),
      // Same id as a stored window, different values: a conflict, the first is kept.
      windowPayload({ ...genuine, lines: { main: { classes: { vehicle: { forward: 1000, backward: 0 }, person: { forward: 0, backward: 0 } } } } }),
    ];
    for (const payload of tampered) await clients[0]!.publishAsync(topic, payload, { qos: 1 });
    const rejections = await eventually('four rejections and a conflict in the log', 30, () => {
      const rejected = aggregator.log().filter((e) => e.message === 'message rejected');
      const conflicts = aggregator.log().filter((e) => e.message.startsWith('window rejected'));
      return rejected.length >= 4 && conflicts.length >= 1 ? rejected : undefined;
    });
    expect(rejections.map((e) => e.topic)).toEqual([topic, topic, topic, topic]);
    expect(rejections.map((e) => String(e.problem))).toEqual([
      'payload is not JSON',
      expect.stringContaining('boxes'),
      expect.stringContaining('names camera "yard"'),
      expect.stringContaining('privacy.private'),
    ]);
    expect(aggregator.child.running()).toBe(true);
    expect(await counted('window', 'rejected')).toBe(4);
    expect(await counted('window', 'conflict')).toBe(1);
    expect(windowIds(feed).filter((id) => id.includes('@9999'))).toEqual([]);
  }, 60_000);

  it('federated evaluation: a box publishes its error figures only, and the aggregator shows them per camera', async () => {
    const evalSandbox = await createSandbox();
    try {
      const siteFile = await writeSiteConfig(evalSandbox.inputs, 'site.yaml', {
        cameras: [{ id: 'gate', source: { file: path.join(FOOTAGE_DIR, 'traffic_overpass_cars-trucks_320x240.avi') } }],
        mqtt: { url: broker.url, site: 'north' },
      });
      const labels = path.join(REPO_ROOT, '../shared/labels/traffic_overpass.json');
      // The whole clip (its line labels are whole-clip totals: an excerpt's lines would not be published) at 2 frames/s.
      const run = await runVeil(['eval', '--labels', labels, '--fps', '2', '--json', '--publish', siteFile, '--camera', 'gate'], evalSandbox);
      expect(run.stderr).toContain('error figures published');
      const printed = JSON.parse(run.stdout) as { lines: Array<{ line: string; category: string; error: number; counted: number; expected: number }> };
      const accuracy = await eventually('the fleet accuracy table on the feed', 30, () =>
        feed.received.flatMap(({ message }) => (message.type === 'accuracy' ? message.cameras : [])).find((c) => c.camera === 'north/gate'),
      );
      expect(accuracy.lines.map(({ line, category, error }) => ({ line, category, error }))).toEqual(printed.lines.map(({ line, category, error }) => ({ line, category, error })));
      expect(printed.lines).toHaveLength(1);
      // The overpass clip lasts 28.3 s (ffprobe).
      expect(accuracy.clipSeconds).toBeCloseTo(28.3, 0);
      // What left the box, read back from the broker's retained message: error figures, no count.
      const reader = await connectAsync(broker.url, { clientId: 'eval-reader', clean: true });
      try {
        const retained = new Promise<Record<string, unknown>>((resolve) => reader.once('message', (_topic, payload) => resolve(JSON.parse(payload.toString('utf8')))));
        await reader.subscribeAsync(cameraTopic('north', 'gate', 'eval'), { qos: 1 });
        const message = await retained;
        expect(Object.keys(message).sort()).toEqual(['camera', 'clipSeconds', 'evaluatedAt', 'fps', 'lines', 'type', 'v']);
        expect((message.lines as Array<Record<string, unknown>>).map((line) => Object.keys(line).sort())).toEqual(printed.lines.map(() => ['category', 'error', 'line', 'tolerance', 'withinTolerance']));
      } finally {
        await reader.endAsync();
      }
    } finally {
      await evalSandbox.remove();
    }
  }, 240_000);

  it('refuses an unreadable TLS file at start, naming the field, before its feed listens', async () => {
    const badCity = await writeSiteConfig(sandbox(), 'city-bad-ca.yaml', {
      broker: { url: broker.url.replace('mqtt://', 'mqtts://'), tls: { ca: 'no-such-ca.pem' } },
      stateDir: path.join(sandbox(), 'city-bad-ca'),
      districts: [{ name: 'centre', cameras: CAMERAS.map(fleetId) }],
    });
    const run = startVeil(['aggregate', '--config', badCity], { home: sandbox() });
    const exit = await run.child.exited;
    expect(exit.code).not.toBe(0);
    expect(run.stderr()).toContain('broker.tls.ca');
    expect(run.stderr()).toContain('no-such-ca.pem could not be read');
    expect(run.log().some((entry) => entry.message.includes('listening'))).toBe(false);
  }, 60_000);

  it('loses nothing when the aggregator is killed and restarted: the broker holds its session, the store the rest', async () => {
    await aggregator.child.kill();
    feed.close();
    // Published while the aggregator is down: a later stretch of each camera, released by the same boxes' ledgers.
    const later = releaseCameras(
      path.join(sandbox(), 'boxes'),
      boxes,
      PRIVACY,
      WINDOWS_PER_CAMERA * WINDOW_SECONDS * 2,
      { zones: ['square'], lines: ['main'] },
    ).map((box) => ({ ...box, windows: box.windows.filter((w) => w.startSeconds >= WINDOWS_PER_CAMERA * WINDOW_SECONDS) }));
    await Promise.all(later.map((box, index) => publishWindows(clients[index]!, box.site, box.windows)));
    aggregator = startAggregator();
    await aggregator.listening(60);
    const expected = [...boxes, ...later].flatMap((box) => box.windows.map((w) => windowId(fleetId(box), w))).sort();
    const storedCount = () => {
      const store = openAggregateStore(path.join(stateDir, 'fleet.sqlite'));
      try {
        return store.windowCount();
      } finally {
        store.close();
      }
    };
    await eventually('the windows published while it was down', 60, () => storedCount() === expected.length);
    // Retention ran at start and removed nothing: these windows are on their clip's clock, which has no age.
    expect(aggregator.log().filter((entry) => entry.message === 'retention: pruned what ended before the cutoff')).toMatchObject([{ store: 'aggregator store', retention_days: 400, pruned_windows: 0, pruned_secure_totals: 0 }]);
    aggregator.child.signal('SIGTERM');
    expect(await aggregator.child.exited).toEqual({ code: 0, signal: null });
    expect(aggregator.log().at(-1)?.message).toBe('stopped cleanly');
    const store = openAggregateStore(path.join(stateDir, 'fleet.sqlite'));
    try {
      const stored = boxes.flatMap((box) => store.latest(fleetId(box), 1000).map((w) => windowId(w.camera, w))).sort();
      expect(stored).toEqual(expected);
      expect(store.windowCount()).toBe(expected.length);
    } finally {
      store.close();
    }
    const tableSandbox = await createSandbox();
    const table = await runVeil(['aggregate', '--config', cityFile, '--accuracy'], tableSandbox).finally(() => tableSandbox.remove());
    expect(table.exitCode).toBe(0);
    expect(table.stdout).toMatch(/^north\/gate .* overpass-y0\.625 +vehicle +[+-]\d+ +±2 +(OK|OUTSIDE)$/m);
  }, 180_000);
});
