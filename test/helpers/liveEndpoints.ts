/**
 * A client of everything `veil run` serves on its one port, as outside programs use it: a `ws` feed client with
 * the bearer token, /healthz and /metrics over HTTP. Every answer is schema-checked on arrival, so a test that
 * reads a field knows the wire format held too.
 */
import { WebSocket } from 'ws';
import { z } from 'zod';
import { CAMERA_STATES } from '../../streams/cameraState.ts';
import { FEED_PATH, FEED_SUBPROTOCOL } from '../../streams/feedServer.ts';
import { FEED_PROTOCOL_VERSION, serverMessageSchema, type ServerMessage, type StatusMessage } from '../../streams/feedMessages.ts';
import type { ReleasedWindow } from '../../stages/released.ts';
import { parsePrometheusText, type MetricFamily } from '../pipeline/prometheusText.ts';

export interface ReceivedMessage {
  message: ServerMessage;
  /** Wall-clock time of arrival, seconds since the epoch (the clock live windows use). */
  receivedAtSeconds: number;
}

export interface Closure {
  code: number;
  reason: string;
}

export class FeedTestClient {
  readonly received: ReceivedMessage[] = [];
  /** Messages that broke the feed's schema: a test asserts this stays empty. */
  readonly problems: string[] = [];
  readonly closed: Promise<Closure>;

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      const text = data.toString('utf8');
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        this.problems.push(`not JSON: ${text.slice(0, 200)}`);
        return;
      }
      const checked = serverMessageSchema.safeParse(json);
      if (checked.success) this.received.push({ message: checked.data, receivedAtSeconds: Date.now() / 1000 });
      else this.problems.push(z.prettifyError(checked.error));
    });
    this.closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString('utf8') })));
  }

  /** Opens the feed with `Authorization: Bearer <token>`; resolves once the upgrade succeeded. */
  static async connect(baseUrl: string, token: string): Promise<FeedTestClient> {
    const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}${FEED_PATH}`, FEED_SUBPROTOCOL, { headers: { Authorization: `Bearer ${token}` } });
    const client = new FeedTestClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_request, response) => reject(new Error(`the feed refused the connection: HTTP ${response.statusCode}`)));
    });
    return client;
  }

  subscribe(cameras: string[] | '*'): void {
    this.ws.send(JSON.stringify({ v: FEED_PROTOCOL_VERSION, type: 'subscribe', cameras }));
  }

  /** The windows received for `camera`, in arrival order, with their arrival times. */
  windows(camera: string): Array<{ window: ReleasedWindow; receivedAtSeconds: number }> {
    return this.received.flatMap(({ message, receivedAtSeconds }) =>
      message.type === 'window' && message.window.camera === camera ? [{ window: message.window, receivedAtSeconds }] : [],
    );
  }

  /** The states announced for `camera`, in order. */
  states(camera: string): StatusMessage['state'][] {
    return this.received.flatMap(({ message }) => (message.type === 'status' && message.camera === camera ? [message.state] : []));
  }

  close(): void {
    this.ws.close();
  }
}

const healthSchema = z.strictObject({
  status: z.enum(['ok', 'degraded', 'failed']),
  feedClients: z.number().int().nonnegative(),
  cameras: z.array(
    z.strictObject({
      camera: z.string(),
      state: z.enum(CAMERA_STATES),
      since: z.iso.datetime(),
      restarts: z.number().int().nonnegative(),
      lastError: z.string().optional(),
      warning: z.string().optional(),
      /** A camera with `drift:` (pipeline/driftMonitor.ts); its own tests read it in full. */
      drift: z.record(z.string(), z.unknown()).optional(),
    }),
  ),
  /** Which detector tier runs and why (pipeline/detectorTier.ts); `veil run` always sends it. */
  detector: z
    .strictObject({
      tier: z.string(),
      model: z.string(),
      reason: z.string(),
      needFramesPerSecond: z.number().positive(),
      workers: z.number().int().positive(),
      measured: z.array(z.strictObject({ tier: z.string(), msPerFrame: z.number().positive(), capacityFps: z.number().positive() })),
    })
    .optional(),
  /**
   * `veil aggregate`'s fleet problems: a box whose district settings differ from city.yaml (one entry per field), a
   * camera with window conflicts (pipeline/windowConflicts.ts), a box id two boxes advertise as in a district's rounds
   * (pipeline/copiedBoxes.ts).
   */
  fleetProblems: z
    .array(
      z.union([
        z.strictObject({ message: z.string(), district: z.string(), box: z.string(), field: z.string(), boxValue: z.string(), cityValue: z.string() }),
        z.strictObject({ message: z.string(), camera: z.string(), conflicts: z.string(), since: z.iso.datetime() }),
        z.strictObject({ message: z.string(), district: z.string(), box: z.string(), rounds: z.string(), since: z.iso.datetime() }),
      ]),
    )
    .optional(),
});
export type Health = z.infer<typeof healthSchema>;

/** /healthz with its per-camera detail, which only a holder of the feed token gets. */
export async function fetchHealth(baseUrl: string, token: string): Promise<{ httpStatus: number; health: Health }> {
  const response = await fetch(`${baseUrl}/healthz`, { headers: { Authorization: `Bearer ${token}` } });
  return { httpStatus: response.status, health: healthSchema.parse(await response.json()) };
}

/** The camera's record in a /healthz answer; throws when the camera is missing from it. */
export function cameraHealth(health: Health, camera: string): Health['cameras'][number] {
  const found = health.cameras.find((c) => c.camera === camera);
  if (!found) throw new Error(`/healthz lists no camera "${camera}" (it lists ${health.cameras.map((c) => c.camera).join(', ')})`);
  return found;
}

/** /metrics, read with the strict exposition-format parser: a malformed line fails the test. */
export async function fetchMetrics(baseUrl: string, token: string): Promise<Map<string, MetricFamily>> {
  const response = await fetch(`${baseUrl}/metrics`, { headers: { Authorization: `Bearer ${token}` } });
  if (!response.ok) throw new Error(`/metrics answered HTTP ${response.status}`);
  if (!response.headers.get('content-type')?.startsWith('text/plain; version=0.0.4')) {
    throw new Error(`/metrics has Content-Type ${response.headers.get('content-type')}, not Prometheus text 0.0.4`);
  }
  return parsePrometheusText(await response.text());
}
