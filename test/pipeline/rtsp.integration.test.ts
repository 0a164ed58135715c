/**
 * `veil run` reading an RTSP camera from a real RTSP server on 127.0.0.1 (Debian's rtsp-server-perl, ffmpeg
 * publishing a clip to it), over UDP, beside a looping file camera: frames arrive, the server is restarted, Veil
 * reconnects, and the file camera's windows run on without a gap. The real CLI in its own process, the real detector,
 * /healthz and /metrics over HTTP, a `ws` feed client. Every wait is bounded; nothing asserts how fast anything is.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { useLiveSandbox } from '../helpers/liveChildren.ts';
import { cameraHealth, fetchHealth, fetchMetrics, FeedTestClient } from '../helpers/liveEndpoints.ts';
import { serveRtsp, unusedPort, type RtspPorts, type RtspServer } from '../helpers/liveSource.ts';
import { FEED_TOKEN, startVeilRun, writeSiteConfig, type VeilRun } from '../helpers/liveVeil.ts';
import { eventually } from '../helpers/liveWait.ts';
import { FOOTAGE } from '../helpers/paths.ts';
import { sampleValue } from './prometheusText.ts';

/** Starting veil means loading the detector: seconds on an idle machine, more when other test files run beside. */
const START_TIMEOUT_SECONDS = 60;
const WINDOW_SECONDS = 2;
/** A camera with no frame for this long is restarted: the server's death is noticed in seconds, not ffmpeg's 10 s. */
const STALL_SECONDS = 3;

const sandbox = useLiveSandbox('veil-rtsp-');

describe('veil run with an RTSP camera (UDP) and a file camera', () => {
  let ports: RtspPorts;
  let server: RtspServer;
  let veil: VeilRun;
  let baseUrl: string;
  let client: FeedTestClient;

  beforeAll(async () => {
    ports = { clientPort: await unusedPort(), sourcePort: await unusedPort() };
    server = await serveRtsp(FOOTAGE.highway, ports);
    const configFile = await writeSiteConfig(sandbox(), 'site.yaml', {
      stateDir: 'state',
      detector: { workers: 1 },
      feed: { port: 0, replayWindows: 200 },
      cameras: [
        {
          id: 'motorway',
          source: { rtsp: server.url, transport: 'udp' },
          fps: 2,
          windowSeconds: WINDOW_SECONDS,
          maxWidth: 320,
          stallSeconds: STALL_SECONDS,
          backoff: { initialSeconds: 0.5, maxSeconds: 1 },
        },
        { id: 'yard', source: { file: FOOTAGE.parkinglot, loop: true }, fps: 2, windowSeconds: WINDOW_SECONDS, maxWidth: 320 },
      ],
    });
    veil = startVeilRun(configFile, { home: sandbox(), newLedger: true });
    baseUrl = await veil.listening(START_TIMEOUT_SECONDS);
    client = await FeedTestClient.connect(baseUrl, FEED_TOKEN);
    client.subscribe(['motorway', 'yard']);
  });

  const framesAnalysed = async (camera: string) => sampleValue(await fetchMetrics(baseUrl, FEED_TOKEN), 'veil_frames_analysed_total', 'veil_frames_analysed_total', { camera });
  const state = async (camera: string) => cameraHealth((await fetchHealth(baseUrl, FEED_TOKEN)).health, camera).state;

  it('analyses the RTSP stream, reconnects after the server restarts, and the file camera never stops', async () => {
    await eventually('/healthz: the RTSP camera streaming', 60, async () => (await state('motorway')) === 'streaming');
    await eventually('frames from the RTSP camera through the detector', 30, async () => (await framesAnalysed('motorway')) > 0);
    await eventually('a window from each camera', 30, () => client.windows('motorway').length >= 1 && client.windows('yard').length >= 1);

    // The server goes (a restart, a power cut at the camera): Veil notices, says so, and retries.
    await server.stop();
    const outage = await eventually('/healthz: the RTSP camera reconnecting while the file camera streams', 30, async () => {
      const { health } = await fetchHealth(baseUrl, FEED_TOKEN);
      const motorway = cameraHealth(health, 'motorway');
      return motorway.state === 'reconnecting' && cameraHealth(health, 'yard').state === 'streaming' && motorway;
    });
    expect(outage.restarts).toBeGreaterThanOrEqual(1);
    const analysedBeforeRestart = await framesAnalysed('motorway');

    // The server comes back on the same ports: the camera streams again with no one touching Veil.
    server = await serveRtsp(FOOTAGE.highway, ports);
    await eventually('/healthz: the RTSP camera streaming again', 60, async () => (await state('motorway')) === 'streaming');
    await eventually('new frames from the RTSP camera after the restart', 30, async () => (await framesAnalysed('motorway')) > analysedBeforeRestart);
    const reconnectedAtSeconds = Date.now() / 1000;
    await eventually('a yard window that ends after the reconnect', 30, () => client.windows('yard').some(({ window }) => window.endSeconds > reconnectedAtSeconds));

    // The file camera's windows tile time, from its first to the last, across the outage: each starts where the
    // previous one ended (windows are aligned to the clock, WINDOW_SECONDS long).
    const yard = client.windows('yard').map(({ window }) => window);
    for (let i = 1; i < yard.length; i++) expect(yard[i]!.startSeconds).toBe(yard[i - 1]!.endSeconds);
    expect(yard.at(-1)!.endSeconds - yard[0]!.startSeconds).toBe(yard.length * WINDOW_SECONDS);
    expect(client.states('yard')).not.toContain('reconnecting');
    expect(client.states('motorway')).toEqual(expect.arrayContaining(['streaming', 'reconnecting']));
    expect(client.problems).toEqual([]);
  });
});
