import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createVeilMetrics } from '../../streams/metrics.ts';
import { CameraStateRegistry } from '../../streams/cameraState.ts';
import {
  FEED_CLOSE_CODES,
  FEED_SUBPROTOCOL,
  MAX_CLIENT_MESSAGE_BYTES,
  startFeedServer,
  type FeedServer,
} from '../../streams/feedServer.ts';
import { TOKEN_SUBPROTOCOL_PREFIX } from '../../streams/feedGate.ts';
import { openReleaseStore } from '../../streams/releaseStore.ts';
import { parsePrometheusText, sampleValue } from '../pipeline/prometheusText.ts';
import {
  connectClient,
  FEED_TOKEN,
  recordingLogger,
  startTestFeed,
  until,
  type RecordingClient,
} from './feedFixtures.ts';
import { releasedWindow } from './releasedWindowFixture.ts';

const running: FeedServer[] = [];
const clients: WebSocket[] = [];
const rawSockets: Socket[] = [];

afterEach(async () => {
  for (const ws of clients.splice(0)) ws.terminate();
  for (const socket of rawSockets.splice(0)) socket.destroy();
  await Promise.all(running.splice(0).map((feed) => feed.close()));
});

/** A gauge's current value for one label set, read through prom-client's own API. */
async function gaugeValue(gauge: { get(): Promise<{ values: Array<{ labels: object; value: number }> }> }, labels: Record<string, string>) {
  const found = (await gauge.get()).values.find((v) => JSON.stringify(v.labels) === JSON.stringify(labels));
  return found?.value;
}

async function feedForTest(overrides: Parameters<typeof startTestFeed>[0] = {}) {
  const started = await startTestFeed(overrides);
  running.push(started.feed);
  return started;
}

async function client(wsUrl: string, options: Parameters<typeof connectClient>[1] = {}): Promise<RecordingClient> {
  const connected = await connectClient(wsUrl, options);
  clients.push(connected.ws);
  return connected;
}

/** The HTTP status the server answered an upgrade request with, when it refused to upgrade. */
function refusedUpgradeStatus(wsUrl: string, headers: Record<string, string>, protocols?: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl, protocols, { headers });
    ws.on('unexpected-response', (request, response) => {
      resolve(response.statusCode ?? 0);
      request.destroy();
    });
    ws.on('open', () => {
      ws.terminate();
      reject(new Error('the feed accepted a connection it should have refused'));
    });
    ws.on('error', () => undefined);
  });
}

const base64url = (text: string) => Buffer.from(text, 'utf8').toString('base64url');

describe('feed security', () => {
  it('refuses a missing or wrong token with 401 before upgrading, and keeps serving', async () => {
    const { wsUrl, feed, log } = await feedForTest();
    expect(await refusedUpgradeStatus(wsUrl, {})).toBe(401);
    expect(await refusedUpgradeStatus(wsUrl, { Authorization: `Bearer ${FEED_TOKEN.replace(/.$/, 'X')}` })).toBe(401);
    expect(await refusedUpgradeStatus(wsUrl, { Authorization: 'Bearer short' })).toBe(401);
    expect(await refusedUpgradeStatus(wsUrl, { Authorization: `Basic ${FEED_TOKEN}` })).toBe(401);
    expect(await refusedUpgradeStatus(wsUrl, {}, [FEED_SUBPROTOCOL, `${TOKEN_SUBPROTOCOL_PREFIX}${base64url('nope')}`])).toBe(401);
    expect(feed.clientCount()).toBe(0);
    expect((log as ReturnType<typeof recordingLogger>).lines.filter((l) => /wrong token/.test(l.message))).toHaveLength(5);

    const accepted = await client(wsUrl);
    await until(() => accepted.messages.length > 0, 'the hello');
    expect(accepted.messages[0]).toEqual({ v: 1, type: 'hello', cameras: [] });
    expect(feed.clientCount()).toBe(1);
  });

  it('accepts the token as a browser sends it, as a subprotocol, and answers with veil.v1 only', async () => {
    const { wsUrl } = await feedForTest();
    const browserLike = await client(wsUrl, {
      headers: {},
      protocols: [FEED_SUBPROTOCOL, `${TOKEN_SUBPROTOCOL_PREFIX}${base64url(FEED_TOKEN)}`],
    });
    expect(browserLike.ws.protocol).toBe(FEED_SUBPROTOCOL);
  });

  it('answers 403 to an origin outside the allow-list, and lets the listed and its own origin in', async () => {
    const { wsUrl, feed } = await feedForTest({ allowedOrigins: ['https://ops.example.org'] });
    const auth = { Authorization: `Bearer ${FEED_TOKEN}` };
    expect(await refusedUpgradeStatus(wsUrl, { ...auth, Origin: 'https://evil.example.com' })).toBe(403);
    await client(wsUrl, { headers: { ...auth, Origin: 'https://ops.example.org' } });
    await client(wsUrl, { headers: { ...auth, Origin: feed.url } });
    expect(feed.clientCount()).toBe(2);
  });

  it('does not start with a guessable token', async () => {
    await expect(startTestFeed({ token: 'secret' })).rejects.toThrow(/at least 16/);
  });

  it('answers 404 to an upgrade anywhere but /feed', async () => {
    const { feed } = await feedForTest();
    const elsewhere = `${feed.url.replace(/^http/, 'ws')}/metrics`;
    expect(await refusedUpgradeStatus(elsewhere, { Authorization: `Bearer ${FEED_TOKEN}` })).toBe(404);
  });
});

describe('client messages', () => {
  it.each([
    ['not JSON', '{"v":1,"type":"subscribe",', FEED_CLOSE_CODES.invalidPayload, /not JSON/],
    ['a future version', '{"v":2,"type":"subscribe","cameras":"*"}', FEED_CLOSE_CODES.invalidPayload, /invalid v/],
    ['an unknown type', '{"v":1,"type":"publish","window":{}}', FEED_CLOSE_CODES.invalidPayload, /invalid type/],
    ['an empty camera name', '{"v":1,"type":"subscribe","cameras":[""]}', FEED_CLOSE_CODES.invalidPayload, /cameras\.0/],
  ])('closes a client that sends %s with 1007 and a reason, and keeps serving', async (_, text, code, reason) => {
    const { wsUrl, feed } = await feedForTest();
    const offender = await client(wsUrl);
    const bystander = await client(wsUrl);
    offender.ws.send(text);
    const closed = await offender.closed;
    expect(closed.code).toBe(code);
    expect(closed.reason).toMatch(reason);
    await until(() => feed.clientCount() === 1, 'the offender to leave');
    feed.publishWindow(releasedWindow());
    await until(() => bystander.windows().length === 1, 'the bystander to receive the window');
  });

  it('closes a binary message with 1003 and an oversized one with 1009', async () => {
    const { wsUrl, feed } = await feedForTest();
    const binary = await client(wsUrl);
    binary.ws.send(Buffer.from([1, 2, 3]));
    expect((await binary.closed).code).toBe(FEED_CLOSE_CODES.unsupportedData);

    const oversized = await client(wsUrl);
    const cameras = Array.from({ length: 200 }, (_, i) => `camera-with-a-long-name-${i}`.padEnd(100, 'x'));
    const message = JSON.stringify({ v: 1, type: 'subscribe', cameras });
    expect(message.length).toBeGreaterThan(MAX_CLIENT_MESSAGE_BYTES);
    oversized.ws.send(message);
    expect((await oversized.closed).code).toBe(FEED_CLOSE_CODES.messageTooBig);

    await until(() => feed.clientCount() === 0, 'both offenders to leave');
    const next = await client(wsUrl);
    feed.publishWindow(releasedWindow());
    await until(() => next.windows().length === 1, 'a new client to receive a window');
  });

  it('cuts off a client that floods the server with messages', async () => {
    const { wsUrl } = await feedForTest();
    const flooder = await client(wsUrl);
    for (let i = 0; i < 40; i += 1) flooder.ws.send(JSON.stringify({ v: 1, type: 'subscribe', cameras: '*' }));
    const closed = await flooder.closed;
    expect(closed.code).toBe(FEED_CLOSE_CODES.policyViolation);
    expect(closed.reason).toMatch(/too many messages/);
  });
});

describe('publishing', () => {
  it('refuses a non-private (calibration) window: it is neither stored nor sent', async () => {
    const { wsUrl, feed, store, publish, log } = await feedForTest();
    const watcher = await client(wsUrl);
    expect(() => feed.publishWindow(releasedWindow({ isPrivate: false }))).toThrow(
      /camera "gate".*privacy\.private is false/s,
    );
    publish(releasedWindow({ isPrivate: false }));
    expect(store.latest(undefined, 10)).toEqual([]);
    const errors = (log as ReturnType<typeof recordingLogger>).lines.filter((line) => line.level === 'error');
    expect(errors.map((line) => line.message)).toEqual(['window not handed to the release store', 'window not handed to the WebSocket feed']);
    const privateWindow = releasedWindow({ index: 1 });
    publish(privateWindow);
    await until(() => watcher.windows().length > 0, 'the private window');
    expect(watcher.windows()).toEqual([privateWindow]);
    expect(store.latest(undefined, 10)).toEqual([privateWindow]);
  });

  it('sends only the subscribed cameras, and replays a camera when a client starts watching it', async () => {
    const { wsUrl, publish } = await feedForTest();
    for (const camera of ['gate', 'lobby', 'yard']) publish(releasedWindow({ camera, index: 0 }));
    const watcher = await client(wsUrl);
    await until(() => watcher.windows().length === 3, 'the replay of all three cameras');

    // Messages from one client are handled in order, so the lobby replay the second subscribe causes shows that
    // both subscribes are in force before anything else is published.
    watcher.ws.send(JSON.stringify({ v: 1, type: 'subscribe', cameras: ['gate'] }));
    watcher.ws.send(JSON.stringify({ v: 1, type: 'subscribe', cameras: ['gate', 'lobby'] }));
    await until(() => watcher.windows().length === 4, 'the lobby replay');
    for (const camera of ['yard', 'gate', 'lobby']) publish(releasedWindow({ camera, index: 1 }));
    await until(() => watcher.windows().length === 6, 'the new gate and lobby windows');

    watcher.ws.send(JSON.stringify({ v: 1, type: 'subscribe', cameras: '*' }));
    await until(() => watcher.windows().length === 8, 'the yard replay after subscribing to all');
    const received = watcher.windows().map((w) => `${w.camera}#${w.startSeconds}`);
    const expected = (
      [
        ['gate', 0],
        ['lobby', 0],
        ['yard', 0],
        ['lobby', 0],
        ['gate', 1],
        ['lobby', 1],
        ['yard', 0],
        ['yard', 1],
      ] as const
    ).map(([camera, index]) => `${camera}#${releasedWindow({ camera, index }).startSeconds}`);
    expect(received).toEqual(expected);
  });

  it('replays the last N windows per camera from the store after a server restart', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'veil-feed-'));
    try {
      const path = join(directory, 'releases.sqlite');
      const first = await startTestFeed({ store: openReleaseStore(path) });
      for (let index = 0; index < 6; index += 1) first.publish(releasedWindow({ camera: 'gate', index }));
      for (let index = 0; index < 2; index += 1) first.publish(releasedWindow({ camera: 'yard', index }));
      await first.feed.close();
      first.store.close();

      const second = await feedForTest({ store: openReleaseStore(path), replayWindows: 4 });
      const watcher = await client(second.wsUrl);
      await until(() => watcher.windows().length === 6, 'four gate and two yard windows');
      expect(watcher.messages[0]).toEqual({ v: 1, type: 'hello', cameras: ['gate', 'yard'] });
      expect(watcher.windows()).toEqual([
        ...[2, 3, 4, 5].map((index) => releasedWindow({ camera: 'gate', index })),
        ...[0, 1].map((index) => releasedWindow({ camera: 'yard', index })),
      ]);
      second.store.close();
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it('sends camera states as they change, without credentials, and mirrors them in veil_camera_up', async () => {
    const cameraStates = new CameraStateRegistry();
    cameraStates.set('gate', 'streaming');
    const { wsUrl, metrics } = await feedForTest({ cameraStates });
    const watcher = await client(wsUrl);
    await until(() => watcher.messages.length === 2, 'hello and the gate status');
    expect(watcher.messages[1]).toMatchObject({ v: 1, type: 'status', camera: 'gate', state: 'streaming', restarts: 0 });
    expect(await gaugeValue(metrics.cameraUp, { camera: 'gate' })).toBe(1);

    cameraStates.set('gate', 'reconnecting', 'rtsp://admin:hunter2@10.0.0.7/stream1: Connection refused');
    await until(() => watcher.messages.length === 3, 'the reconnecting status');
    const status = watcher.messages[2];
    expect(status).toMatchObject({ type: 'status', state: 'reconnecting', restarts: 1 });
    expect(status?.detail).toBe('rtsp://***@10.0.0.7/stream1: Connection refused');
    expect(JSON.stringify(watcher.messages)).not.toContain('hunter2');
    expect(await gaugeValue(metrics.cameraUp, { camera: 'gate' })).toBe(0);
  });
});

describe('a release store that fails', () => {
  it('costs replays, never the process or the live feed', async () => {
    const cameraStates = new CameraStateRegistry();
    cameraStates.set('gate', 'streaming');
    const { wsUrl, store, log, publish } = await feedForTest({ cameraStates });
    publish(releasedWindow({ index: 0 }));
    store.close();
    const watcher = await client(wsUrl);
    await until(() => watcher.messages.length === 2, 'hello and the gate status');
    expect(watcher.messages[0]).toEqual({ v: 1, type: 'hello', cameras: ['gate'] });
    publish(releasedWindow({ index: 1 }));
    await until(() => watcher.windows().length === 1, 'the live window');
    expect(watcher.windows()).toEqual([releasedWindow({ index: 1 })]);
    const errors = (log as ReturnType<typeof recordingLogger>).lines.filter((line) => line.level === 'error');
    expect(errors.map((line) => line.message)).toEqual([
      'feed could not list the stored cameras',
      'feed replay failed: the release store could not be read',
      'window not handed to the release store',
    ]);
  });
});

/** A client that completes the WebSocket handshake and then never reads: its server-side buffer only grows. */
async function neverReadingClient(port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  rawSockets.push(socket);
  socket.write(
    [
      'GET /feed HTTP/1.1',
      `Host: 127.0.0.1:${port}`,
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
      'Sec-WebSocket-Version: 13',
      `Authorization: Bearer ${FEED_TOKEN}`,
      '',
      '',
    ].join('\r\n'),
  );
  const response = await new Promise<string>((resolve) => socket.once('data', (chunk) => resolve(String(chunk))));
  expect(response).toMatch(/^HTTP\/1\.1 101 /);
  socket.pause();
  return socket;
}

describe('back-pressure and liveness', () => {
  it('cuts off a client that never reads while a normal client gets every window as it is published', async () => {
    const { feed, wsUrl, metrics, log } = await feedForTest({ replayWindows: 0 });
    const normal = await client(wsUrl);
    await neverReadingClient(feed.port);
    await until(() => feed.clientCount() === 2, 'both clients');

    // Each window is ~25 KiB; the loop waits for the normal client after every publish, so it is never more than
    // one window behind while the other client's buffer (kernel, then the server's) fills up.
    let published = 0;
    while (feed.clientCount() === 2 && published < 2_000) {
      feed.publishWindow(releasedWindow({ index: published, zoneCount: 150 }));
      published += 1;
      await until(() => normal.windows().length === published, `the normal client to receive window ${published}`);
    }
    expect(feed.clientCount()).toBe(1);
    expect(await gaugeValue(metrics.feedClients, {})).toBe(1);
    expect((log as ReturnType<typeof recordingLogger>).lines).toContainEqual({
      level: 'warn',
      message: 'feed client too slow, disconnected',
    });
    feed.publishWindow(releasedWindow({ index: published }));
    await until(() => normal.windows().length === published + 1, 'a window after the cut-off');
    expect(normal.ws.readyState).toBe(WebSocket.OPEN);
    console.info(`slow client cut off after ${published} windows of ~25 KiB`);
  });

  it('drops a peer that stops answering pings, and keeps one that answers', async () => {
    const { feed, wsUrl } = await feedForTest({ heartbeatIntervalMs: 200 });
    const alive = await client(wsUrl);
    const dead = await client(wsUrl, { autoPong: false });
    const closed = await dead.closed;
    expect(closed.code).toBe(1006);
    expect(feed.clientCount()).toBe(1);
    expect(alive.ws.readyState).toBe(WebSocket.OPEN);
    feed.publishWindow(releasedWindow());
    await until(() => alive.windows().length === 1, 'a window on the live client');
  });

  it('closes every client with 1001 on shutdown', async () => {
    const { feed, wsUrl } = await feedForTest();
    const watchers = await Promise.all([client(wsUrl), client(wsUrl)]);
    await feed.close();
    running.splice(running.indexOf(feed), 1);
    for (const watcher of watchers) expect(await watcher.closed).toEqual({ code: 1001, reason: 'server shutting down' });
  });
});

describe('HTTP beside the feed', () => {
  it('reports each camera on /healthz to a token holder, and 503 while a camera is down', async () => {
    let nowMs = Date.now();
    const cameraStates = new CameraStateRegistry(() => new Date(nowMs));
    cameraStates.set('gate', 'streaming');
    cameraStates.set('yard', 'streaming');
    const { feed } = await feedForTest({ cameraStates, cameraDownAfterSeconds: 60 });
    const health = async () => {
      const response = await fetch(`${feed.url}/healthz`, { headers: { Authorization: `Bearer ${FEED_TOKEN}` } });
      return { status: response.status, body: (await response.json()) as { status: string; cameras: unknown[] } };
    };
    expect(await health()).toMatchObject({ status: 200, body: { status: 'ok' } });

    cameraStates.set('yard', 'reconnecting', 'ffmpeg exited with code 1');
    expect(await health()).toMatchObject({
      status: 200,
      body: { status: 'degraded', cameras: [{ camera: 'gate', state: 'streaming' }, { camera: 'yard', state: 'reconnecting' }] },
    });

    // Reconnecting since longer than cameraDownAfterSeconds: the camera is down, though its retries go on.
    nowMs -= 61_000;
    cameraStates.set('yard', 'streaming');
    cameraStates.set('yard', 'reconnecting', 'ffmpeg exited with code 1');
    expect(await health()).toMatchObject({ status: 503, body: { status: 'failed' } });

    cameraStates.set('yard', 'failed', 'gave up after 10 attempts');
    const failed = await health();
    expect(failed.status).toBe(503);
    expect(failed.body).toMatchObject({
      status: 'failed',
      cameras: [
        { camera: 'gate', state: 'streaming' },
        { camera: 'yard', state: 'failed', restarts: 2, lastError: 'gave up after 10 attempts' },
      ],
    });
  });

  it('a fleet problem makes an otherwise healthy /healthz "degraded" and is listed to a token holder only', async () => {
    const cameraStates = new CameraStateRegistry();
    cameraStates.set('gate', 'streaming');
    const problems = [{ message: 'district "centre": box "south" runs with epsilon 0.6, the city with 0.5', box: 'south', field: 'epsilon' }];
    const { feed } = await feedForTest({ cameraStates, fleetProblems: () => problems });
    const withToken = await fetch(`${feed.url}/healthz`, { headers: { Authorization: `Bearer ${FEED_TOKEN}` } });
    expect(withToken.status).toBe(200);
    expect(await withToken.json()).toMatchObject({ status: 'degraded', fleetProblems: problems });
    expect(await (await fetch(`${feed.url}/healthz`)).json()).toEqual({ status: 'degraded' });
    // Mended: back to ok, with an empty list.
    problems.length = 0;
    expect(await (await fetch(`${feed.url}/healthz`, { headers: { Authorization: `Bearer ${FEED_TOKEN}` } })).json()).toMatchObject({ status: 'ok', fleetProblems: [] });
  });

  it('answers /healthz without the token with its status alone, and /metrics not at all', async () => {
    const cameraStates = new CameraStateRegistry();
    cameraStates.set('gate', 'streaming');
    cameraStates.set('yard', 'failed', 'rtsp://10.0.0.7/stream1: Connection refused');
    const { feed } = await feedForTest({ cameraStates });
    for (const headers of [{}, { Authorization: 'Bearer wrong-token-0123456789' }] as Record<string, string>[]) {
      const bare = await fetch(`${feed.url}/healthz`, { headers });
      expect(bare.status).toBe(503);
      expect(await bare.json()).toEqual({ status: 'failed' });
      const metrics = await fetch(`${feed.url}/metrics`, { headers });
      expect(metrics.status).toBe(401);
      expect(metrics.headers.get('www-authenticate')).toMatch(/^Bearer /);
      expect(await metrics.text()).not.toContain('veil_');
    }
  });

  it('serves /metrics as Prometheus text with the feed clients and camera states filled in', async () => {
    const metrics = createVeilMetrics();
    const cameraStates = new CameraStateRegistry();
    cameraStates.set('gate', 'streaming');
    cameraStates.set('yard', 'failed', 'no route to host');
    const { feed, wsUrl } = await feedForTest({ metrics, cameraStates });
    await client(wsUrl);
    metrics.framesDecoded.inc({ camera: 'gate' }, 12);
    const response = await fetch(`${feed.url}/metrics`, { headers: { Authorization: `Bearer ${FEED_TOKEN}` } });
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const families = parsePrometheusText(await response.text());
    expect(sampleValue(families, 'veil_feed_clients', 'veil_feed_clients')).toBe(1);
    expect(sampleValue(families, 'veil_camera_up', 'veil_camera_up', { camera: 'gate' })).toBe(1);
    expect(sampleValue(families, 'veil_camera_up', 'veil_camera_up', { camera: 'yard' })).toBe(0);
    expect(sampleValue(families, 'veil_frames_decoded_total', 'veil_frames_decoded_total', { camera: 'gate' })).toBe(12);
  });

  it('serves the dashboard and its chart library by explicit path, and nothing else from disk', async () => {
    const { feed } = await feedForTest();
    const page = await fetch(`${feed.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(await page.text()).toContain('<script type="module" src="/app.js">');
    for (const path of ['/app.js', '/style.css', '/vendor/uPlot.iife.min.js', '/vendor/uPlot.min.css']) {
      expect((await fetch(`${feed.url}${path}`)).status, path).toBe(200);
    }
    for (const path of ['/node_modules/uplot/package.json', '/vendor/../package.json', '/%2e%2e/package.json', '/index.html.bak']) {
      expect((await fetch(`${feed.url}${path}`)).status, path).toBe(404);
    }
    expect((await fetch(`${feed.url}/feed`)).status).toBe(426);
    expect((await fetch(`${feed.url}/healthz`, { method: 'POST' })).status).toBe(405);
  });
});

describe('startFeedServer', () => {
  it('names the port when it cannot listen', async () => {
    const { feed } = await feedForTest();
    const clash = startFeedServer({
      host: '127.0.0.1',
      port: feed.port,
      token: FEED_TOKEN,
      replayWindows: 1,
      store: openReleaseStore(':memory:'),
      metrics: createVeilMetrics(),
      cameraStates: new CameraStateRegistry(),
      log: recordingLogger(),
    });
    await expect(clash).rejects.toThrow(new RegExp(`127\\.0\\.0\\.1:${feed.port}.*another program`));
  });
});
