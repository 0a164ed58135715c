/**
 * `veil run` end to end, with real parts only: the CLI in its own process, real ffmpeg cameras (an HTTP MJPEG
 * server and looping files), the real detector, a `ws` feed client, /healthz and /metrics over HTTP, all on
 * 127.0.0.1. Every wait is bounded ("eventually within N s"); nothing here asserts how fast anything is.
 *
 * Windows are 2 s and cameras run at 2 frames/s, so a scenario takes seconds, not minutes.
 */
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { PUBLISH_DELAY_SECONDS } from '../../pipeline/liveCamera.ts';
import { useLiveSandbox } from '../helpers/liveChildren.ts';
import { cameraHealth, fetchHealth, fetchMetrics, FeedTestClient } from '../helpers/liveEndpoints.ts';
import { serveMjpeg, unusedPort, type MjpegSource } from '../helpers/liveSource.ts';
import { FEED_TOKEN, startVeilRun, writeSiteConfig, type VeilRun } from '../helpers/liveVeil.ts';
import { eventually, withinSeconds } from '../helpers/liveWait.ts';
import { FOOTAGE } from '../helpers/paths.ts';
import { promtoolCheck } from '../helpers/promtool.ts';
import { sampleValue } from './prometheusText.ts';

/** Starting veil means loading the detector: seconds on an idle machine, more when other test files run beside. */
const START_TIMEOUT_SECONDS = 60;
const WINDOW_SECONDS = 2;
const STREET_FPS = 2;
/** Reconnect quickly, so an outage's end is seen within a second or so. */
const QUICK_BACKOFF = { initialSeconds: 0.5, maxSeconds: 1 };

const sandbox = useLiveSandbox('veil-live-');


describe('veil run with a network camera and a file camera', () => {
  let sourcePort: number;
  let source: MjpegSource;
  let configFile: string;
  let veil: VeilRun;
  let baseUrl: string;
  let client: FeedTestClient;

  beforeAll(async () => {
    sourcePort = await unusedPort();
    source = await serveMjpeg(FOOTAGE.overpass, sourcePort);
    configFile = await writeSiteConfig(sandbox(), 'site.yaml', {
      stateDir: 'state-two-cameras',
      detector: { workers: 1 },
      feed: { port: 0, replayWindows: 200 },
      cameras: [
        { id: 'street', source: { http: source.url }, fps: STREET_FPS, windowSeconds: WINDOW_SECONDS, maxWidth: 320, backoff: QUICK_BACKOFF },
        { id: 'yard', source: { file: FOOTAGE.parkinglot, loop: true }, fps: 2, windowSeconds: WINDOW_SECONDS, maxWidth: 320 },
      ],
    });
    veil = startVeilRun(configFile, { home: sandbox(), newLedger: true });
    baseUrl = await veil.listening(START_TIMEOUT_SECONDS);
    client = await FeedTestClient.connect(baseUrl, FEED_TOKEN);
    client.subscribe(['street', 'yard']);
  });

  it('keeps the file camera publishing while the network camera is lost, and picks the network camera up again', async () => {
    await eventually('two windows from each camera', 40, () => client.windows('street').length >= 2 && client.windows('yard').length >= 2);
    const bothUp = await eventually('/healthz with both cameras streaming', 10, async () => {
      const answer = await fetchHealth(baseUrl, FEED_TOKEN);
      return answer.health.status === 'ok' && answer;
    });
    expect(bothUp.httpStatus).toBe(200);
    expect(client.received[0]?.message).toEqual({ v: 1, type: 'hello', cameras: ['street', 'yard'] });

    // The source sends ~60 frames/s; `fps: 2` must hold on wall-clock time whatever rate the camera sends. A
    // loaded machine can only decode fewer frames, so this bound cannot fail for slowness.
    const decodedFrames = async () => {
      const metrics = await fetchMetrics(baseUrl, FEED_TOKEN);
      const counter = (family: string, camera: string) => sampleValue(metrics, family, family, { camera });
      for (const camera of ['street', 'yard']) {
        expect(counter('veil_frames_analysed_total', camera)).toBeGreaterThan(0);
        // The motion gate's run/skipped split would say when the picture moved: never on /metrics (docs/privacy.md §7).
        expect([...metrics.keys()].filter((name) => /inference/.test(name))).toEqual([]);
      }
      return { atSeconds: Date.now() / 1000, street: counter('veil_frames_decoded_total', 'street') };
    };
    const rateStart = await decodedFrames();
    const streetWindowsSoFar = client.windows('street').length;
    await eventually('three more street windows (4 s or more)', 30, () => client.windows('street').length >= streetWindowsSoFar + 3);
    const rateEnd = await decodedFrames();
    // The counter moves once per window (at its publication), so a reading holds frames from up to one window before
    // it; two more seconds of slack for frames still inside ffmpeg and the fps filter's rounding. Without wall-clock
    // timestamps this camera decodes ~2.4× `fps`, far over the bound.
    expect(rateEnd.street - rateStart.street).toBeLessThanOrEqual(STREET_FPS * (rateEnd.atSeconds - rateStart.atSeconds + WINDOW_SECONDS + 2));

    await source.child.kill();
    const outageStartSeconds = Date.now() / 1000;
    const duringOutage = await eventually('/healthz: street reconnecting while yard streams', 30, async () => {
      const answer = await fetchHealth(baseUrl, FEED_TOKEN);
      const street = cameraHealth(answer.health, 'street');
      return street.state === 'reconnecting' && cameraHealth(answer.health, 'yard').state === 'streaming' && { ...answer, street };
    });
    // Reconnecting is the supervisor at work, not a reason for a service manager to restart Veil.
    expect(duringOutage.httpStatus).toBe(200);
    expect(duringOutage.health.status).toBe('degraded');
    expect(duringOutage.street.restarts).toBeGreaterThanOrEqual(1);
    expect(duringOutage.street.lastError).toContain(source.url);

    const yardDuringOutage = () => client.windows('yard').filter(({ window }) => window.startSeconds >= outageStartSeconds);
    await eventually('two yard windows that start after the street camera was lost', 30, () => yardDuringOutage().length >= 2);
    expect(cameraHealth((await fetchHealth(baseUrl, FEED_TOKEN)).health, 'street').state).not.toBe('streaming');
    const outageEndSeconds = Date.now() / 1000;
    for (const { window } of yardDuringOutage()) expect(window.endSeconds).toBeLessThanOrEqual(outageEndSeconds);

    source = await serveMjpeg(FOOTAGE.overpass, sourcePort);
    await eventually('/healthz: street streaming again', 30, async () => cameraHealth((await fetchHealth(baseUrl, FEED_TOKEN)).health, 'street').state === 'streaming');
    await eventually('a street window after the outage', 30, () => client.windows('street').some(({ window }) => window.startSeconds >= outageEndSeconds));

    // A window is published only for time the camera watched: none for the street while its source was gone.
    // The grace of one window covers frames that were already in ffmpeg's pipe when the source died.
    const streetWindowsInOutage = client
      .windows('street')
      .filter(({ window }) => window.startSeconds >= outageStartSeconds + WINDOW_SECONDS && window.endSeconds <= outageEndSeconds);
    expect(streetWindowsInOutage).toEqual([]);
    expect(client.states('street')).toEqual(expect.arrayContaining(['streaming', 'reconnecting']));
    expect(client.states('street').at(-1)).toBe('streaming');
    expect(client.states('yard')).not.toContain('reconnecting');
    expect(client.problems).toEqual([]);
  });

  it('publishes each window by the clock, a fixed delay after its end, and none the camera did not stream through from its start', async () => {
    await eventually('three yard windows', 30, () => client.windows('yard').length >= 3);
    for (const camera of ['street', 'yard']) {
      // The clock alone publishes: never before the window's end plus the delay, whatever the detector is doing.
      for (const { window, receivedAtSeconds } of client.windows(camera)) expect(receivedAtSeconds).toBeGreaterThanOrEqual(window.endSeconds + PUBLISH_DELAY_SECONDS);
      // The window in which a camera started streaming is partial: it is discarded, as at shutdown.
      const firstStreaming = veil.log().find((entry) => entry.message === 'camera streaming' && entry.camera === camera);
      // The log line follows the first frame by milliseconds; 0.1 s covers that and no partial window (2 s long).
      const streamingSinceSeconds = Date.parse(firstStreaming!.time) / 1000;
      for (const { window } of client.windows(camera)) expect(window.startSeconds).toBeGreaterThanOrEqual(streamingSinceSeconds - 0.1);
    }
    const discarded = veil.log().filter((entry) => entry.message.startsWith('window discarded') && entry.camera === 'yard');
    expect(discarded.length).toBeGreaterThanOrEqual(1);
  });

  it('tells a caller without the feed token only whether Veil is up: no camera detail, no metrics', async () => {
    const bare = await fetch(`${baseUrl}/healthz`);
    expect(Object.keys(await bare.json())).toEqual(['status']);
    const metrics = await fetch(`${baseUrl}/metrics`);
    expect(metrics.status).toBe(401);
    expect(await metrics.text()).not.toContain('veil_');
  });

  it('stops cleanly on SIGTERM, and a restart replays the stored windows and keeps spending the same ledger', async () => {
    await eventually('a yard window', 30, () => client.windows('yard').length > 0);
    veil.child.signal('SIGTERM');
    const [exit, closure] = await withinSeconds('veil to exit and close the feed after SIGTERM', 30, Promise.all([veil.child.exited, client.closed]));
    expect(exit).toEqual({ code: 0, signal: null });
    expect(closure.code).toBe(1001);

    const releasedBefore = (camera: string) => client.windows(camera).map(({ window }) => window);
    const yardBefore = releasedBefore('yard');
    const restarted = startVeilRun(configFile, { home: sandbox(), newLedger: false });
    const restartedUrl = await restarted.listening(START_TIMEOUT_SECONDS);
    const replayClient = await FeedTestClient.connect(restartedUrl, FEED_TOKEN);

    const lastStartBefore = (camera: string) => Math.max(...releasedBefore(camera).map((w) => w.startSeconds));
    const replayed = (camera: string) => replayClient.windows(camera).map(({ window }) => window).filter((w) => w.startSeconds <= lastStartBefore(camera));
    await eventually('the stored windows replayed on connect', 10, () => replayed('yard').length === yardBefore.length && replayed('street').length === releasedBefore('street').length);
    expect(replayed('yard')).toEqual(yardBefore);
    expect(replayed('street')).toEqual(releasedBefore('street'));

    const fresh = await eventually('a new yard window after the restart', 40, () =>
      replayClient.windows('yard').find(({ window }) => window.startSeconds > lastStartBefore('yard')),
    );
    // The kept ledger still holds the spans released before the restart, beside the new one; a reset one would not.
    expect(fresh.window.status).toBe('released');
    const ledger = new Database(path.join(path.dirname(configFile), 'state-two-cameras', 'privacy-ledger'), { readonly: true });
    const spans = ledger.prepare("SELECT count(*) AS count FROM spans WHERE camera = 'yard' AND end_seconds <= ?").get(lastStartBefore('yard') + WINDOW_SECONDS) as { count: number };
    ledger.close();
    expect(spans.count).toBeGreaterThanOrEqual(yardBefore.length);
    expect(replayClient.problems).toEqual([]);
  });
});

describe('veil run with a camera that never came up and a camera faster than the detector', () => {
  let baseUrl: string;

  beforeAll(async () => {
    const closedPort = await unusedPort();
    const configFile = await writeSiteConfig(sandbox(), 'site-busy.yaml', {
      stateDir: 'state-busy',
      detector: { workers: 1 },
      feed: { port: 0 },
      cameras: [
        { id: 'gate', source: { http: `http://127.0.0.1:${closedPort}/cam` }, fps: 2, windowSeconds: WINDOW_SECONDS, backoff: QUICK_BACKOFF },
        // The overpass clip is stored at ~60 fps, so 15 frames/s of it are real frames, not repeats.
        { id: 'overpass', source: { file: FOOTAGE.overpass, loop: true }, fps: 15, windowSeconds: WINDOW_SECONDS, maxWidth: 320 },
      ],
    });
    baseUrl = await startVeilRun(configFile, { home: sandbox(), newLedger: true }).listening(START_TIMEOUT_SECONDS);
  });

  it('/healthz shows the camera that is down from the start as reconnecting, with why', async () => {
    const answer = await eventually('/healthz: gate reconnecting while overpass streams', 30, async () => {
      const health = await fetchHealth(baseUrl, FEED_TOKEN);
      return cameraHealth(health.health, 'gate').state === 'reconnecting' && cameraHealth(health.health, 'overpass').state === 'streaming' && health;
    });
    expect(answer.httpStatus).toBe(200);
    expect(answer.health.status).toBe('degraded');
    expect(cameraHealth(answer.health, 'gate').lastError).toMatch(/Connection refused/);
    const metrics = await fetchMetrics(baseUrl, FEED_TOKEN);
    expect(sampleValue(metrics, 'veil_camera_up', 'veil_camera_up', { camera: 'gate' })).toBe(0);
    expect(sampleValue(metrics, 'veil_camera_up', 'veil_camera_up', { camera: 'overpass' })).toBe(1);
  });

  it('/metrics counts frames dropped while the one detector worker is busy, without failing the camera', async () => {
    const counters = async () => {
      const metrics = await fetchMetrics(baseUrl, FEED_TOKEN);
      const counter = (family: string) => sampleValue(metrics, family, family, { camera: 'overpass' });
      return {
        decoded: counter('veil_frames_decoded_total'),
        analysed: counter('veil_frames_analysed_total'),
        dropped: counter('veil_frames_dropped_total'),
      };
    };
    const first = await eventually('dropped frames on the overpass camera', 30, async () => {
      const now = await counters();
      return now.dropped > 0 && now;
    });
    const later = await eventually('the drop counter to grow', 30, async () => {
      const now = await counters();
      return now.dropped > first.dropped && now.analysed > first.analysed && now;
    });
    for (const sample of [first, later]) {
      expect(sample.analysed).toBeLessThan(sample.decoded);
      // A decoded frame is analysed, dropped, or still queued (at most queueFrames = 2) or in the detector.
      expect(sample.analysed + sample.dropped).toBeLessThanOrEqual(sample.decoded);
    }
    expect(cameraHealth((await fetchHealth(baseUrl, FEED_TOKEN)).health, 'overpass')).toMatchObject({ state: 'streaming', restarts: 0 });
    // What a running Veil serves, per-camera series and process metrics included, is what Prometheus accepts.
    const served = await fetch(`${baseUrl}/metrics`, { headers: { Authorization: `Bearer ${FEED_TOKEN}` } });
    expect(await promtoolCheck(await served.text())).toEqual({ code: 0, output: '' });
  });
});

describe('veil run without a privacy ledger', () => {
  it('refuses to start, names --new-ledger, and creates no ledger of its own', async () => {
    const stateDir = path.join(sandbox(), 'state-without-ledger');
    const configFile = await writeSiteConfig(sandbox(), 'site-no-ledger.yaml', {
      stateDir,
      feed: { port: 0 },
      cameras: [{ id: 'yard', source: { file: FOOTAGE.parkinglot, loop: true } }],
    });
    const veil = startVeilRun(configFile, { home: sandbox(), newLedger: false });
    const exit = await withinSeconds('veil run to exit without a ledger', 30, veil.child.exited);
    expect(exit.code).not.toBe(0);
    expect(exit.code).not.toBeNull();
    expect(veil.stderr()).toMatch(/no privacy ledger.*--new-ledger/s);
    expect(existsSync(path.join(stateDir, 'privacy-ledger'))).toBe(false);
  });
});
