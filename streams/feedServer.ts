/**
 * Veil's one listening port: the WebSocket feed of released windows and camera states (/feed), health (/healthz),
 * Prometheus metrics (/metrics) and the reference dashboard (/). Only what feedMessages.ts defines ever goes out.
 *
 * The feed token guards everything that says more than "up or down" (issue 8: no unnoised signal leaves): /feed,
 * /metrics and the per-camera detail of /healthz. Without it, /healthz answers only its status code and
 * `{"status": …}`, which is what a load balancer or `curl -f` needs.
 *
 *   const feed = await startFeedServer({ host: '127.0.0.1', port: 8080, token, replayWindows: 60,
 *                                        store, metrics, cameraStates });
 *   feed.publishWindow(window);   // sent to every client subscribed to window.camera (the store sink stores it)
 *   await feed.close();           // clients get 1001 "going away"
 *
 * A client authenticates before the upgrade, with `Authorization: Bearer <token>` or, from a browser (which cannot
 * set headers on a WebSocket), the subprotocol `veil.bearer.<base64url(token)>` offered next to `veil.v1`.
 *
 * Close codes the feed uses:
 *   1001 server shutting down          1007 malformed or schema-invalid message
 *   1003 binary message                1008 too many messages
 *   1009 message over MAX_CLIENT_MESSAGE_BYTES (sent by ws itself)
 *   1013 client too slow: its send buffer passed the bound (if the close frame cannot get through within
 *        CLOSE_HANDSHAKE_TIMEOUT_MS, the socket is destroyed and the client sees 1006)
 */
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { PROMETHEUS_CONTENT_TYPE, type VeilMetrics } from './metrics.ts';
import type { ReleasedWindow } from '../stages/released.ts';
import type { CameraState, CameraStateRegistry } from './cameraState.ts';
import {
  cameraStatusMessage,
  encodeServerMessage,
  FEED_PROTOCOL_VERSION,
  parseClientMessage,
  type ClientMessage,
  type ServerMessage,
} from './feedMessages.ts';
import { judgeFeedUpgrade, presentsFeedToken } from './feedGate.ts';
import type { ReleaseStore } from './releaseStore.ts';

/** Clients only ever send a subscribe; one naming a hundred cameras is ~4 KiB. */
export const MAX_CLIENT_MESSAGE_BYTES = 16 * 1024;
/**
 * A window message with a few zones and lines is 1–3 KiB, so 1 MiB unsent is a client hundreds of windows behind:
 * it is no longer live, and holding more for it would only grow the process's memory.
 */
export const MAX_CLIENT_BUFFER_BYTES = 1 << 20;
/** A dead peer (a closed laptop, a dropped NAT mapping) is noticed within two intervals. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 30_000;
/** A dashboard per operator, not a public broadcast: past this, connections are refused with 503. */
export const DEFAULT_MAX_FEED_CLIENTS = 100;
/** Subscribes replay history from SQLite; this keeps a client from making the server re-read it in a loop. */
const CLIENT_MESSAGE_LIMIT = { messages: 30, perMs: 60_000 };
/** How long a closing client has to answer the close frame before its socket is destroyed. */
const CLOSE_HANDSHAKE_TIMEOUT_MS = 2_000;

/** A camera that has not streamed for a minute is down for an operator, whether or not its retries go on. */
export const DEFAULT_CAMERA_DOWN_AFTER_SECONDS = 60;

export const FEED_PATH = '/feed';
export const FEED_SUBPROTOCOL = `veil.v${FEED_PROTOCOL_VERSION}`;
/** Shorter tokens can be guessed by anyone who can reach the port. */
export const MIN_TOKEN_LENGTH = 16;

export const FEED_CLOSE_CODES = {
  goingAway: 1001,
  unsupportedData: 1003,
  invalidPayload: 1007,
  policyViolation: 1008,
  messageTooBig: 1009,
  tryAgainLater: 1013,
} as const;

/** The part of a logger the feed uses; pipeline/log.ts's Logger fits it. */
export interface FeedLogger {
  info(message: string, fields?: Record<string, string | number | boolean | undefined>): void;
  warn(message: string, fields?: Record<string, string | number | boolean | undefined>): void;
  error(message: string, fields?: Record<string, string | number | boolean | undefined>): void;
}

/** What the feed reads to replay a camera's latest windows to a client that subscribes: a store it never writes. */
export type FeedReplaySource = Pick<ReleaseStore, 'latest' | 'cameras'>;

export interface FeedServerOptions {
  host: string;
  /** 0 picks a free port (tests); the chosen one is in the returned `port` and `url`. */
  port: number;
  /** Bearer token every feed client must present; at least 16 characters. */
  token: string;
  /**
   * Browser origins allowed to open the feed, e.g. `['https://ops.example.org']`. The dashboard's own origin is
   * always allowed; a request without an Origin header (not a browser) is judged by its token alone.
   * Undefined: any origin with the right token.
   */
  allowedOrigins?: string[];
  /** Windows per camera replayed to a client when it connects or subscribes to the camera. */
  replayWindows: number;
  /** Read only, for replays: the release store sink writes it. */
  store: FeedReplaySource;
  metrics: VeilMetrics;
  cameraStates: CameraStateRegistry;
  heartbeatIntervalMs?: number;
  maxClientBufferBytes?: number;
  maxClients?: number;
  /**
   * A camera reconnecting for longer than this is down: /healthz answers 503, as for a camera that gave up (`failed`).
   * Shorter spells are the supervisor at work and answer 200 "degraded". Default DEFAULT_CAMERA_DOWN_AFTER_SECONDS.
   */
  cameraDownAfterSeconds?: number;
  log: FeedLogger;
  /**
   * Messages about no one camera that a new client gets after its cameras' snapshots, e.g. `veil aggregate`'s
   * recent district totals and its fleet accuracy table. Left out: none.
   */
  snapshot?: () => ServerMessage[];
  /**
   * Which detector tier runs and why (the measured speeds and the need when chosen at start-up), as `veil run`
   * logged it: shown on /healthz to a client with the token, under `detector`. Left out: no detector (aggregator).
   */
  detector?: object;
  /**
   * What an operator must fix in the fleet although every camera streams (`veil aggregate`: a box whose district
   * settings differ from city.yaml): shown on /healthz to a client with the token, under `fleetProblems`, and any
   * makes an "ok" status "degraded". Left out: none.
   */
  fleetProblems?: () => readonly FleetProblem[];
}

/** One fleet problem: `message` says what is wrong and where to fix it; the other fields name it for monitoring. */
export interface FleetProblem {
  message: string;
  [field: string]: string;
}

export interface FeedServer {
  /** `http://host:port`, without a trailing slash. */
  url: string;
  port: number;
  /**
   * Sends the window to every client subscribed to its camera. Throws, sending nothing, when the window is not
   * publishable (schema-invalid, or `privacy.private === false`). Storing it is the release store sink's job
   * (streams/sinks/releaseStoreSink.ts); the feed only reads the store, to replay. Camera states need no call: the
   * server listens to `cameraStates` and sends every change.
   */
  publishWindow(window: ReleasedWindow): void;
  /**
   * Sends a message to every client that watches it (a window or status: the clients subscribed to its camera;
   * anything else: every client) without storing anything: for a server whose owner stores what it publishes
   * (`veil aggregate`). Throws, sending nothing, when the message breaks its schema.
   */
  broadcast(message: ServerMessage): void;
  /** Feed clients currently receiving. */
  clientCount(): number;
  /** Closes every client with `code` (default 1001), then the port. The store stays open: its owner closes it. */
  close(code?: number): Promise<void>;
}

interface FeedClient {
  ws: WebSocket;
  remoteAddress: string;
  subscription: Set<string> | '*';
  /** Cleared before each ping, set by the pong; still clear at the next heartbeat means the peer is gone. */
  answeredPing: boolean;
  recentMessageTimesMs: number[];
}

/** Answers an upgrade request with a plain HTTP error on the raw socket: the WebSocket never opens. */
function refuseUpgrade(socket: Duplex, status: number, reason: string, body: string, headers: string[] = []): void {
  socket.on('error', () => socket.destroy());
  const lines = [
    `HTTP/1.1 ${status} ${reason}`,
    'Connection: close',
    'Content-Type: text/plain; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...headers,
  ];
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
}

/** WebSocket close reasons are limited to 123 bytes. */
function closeReason(text: string): string {
  const bytes = Buffer.from(text, 'utf8');
  return bytes.length <= 123 ? text : `${bytes.subarray(0, 120).toString('utf8').replace(/\uFFFD$/, '')}...`;
}

interface StaticFile {
  contentType: string;
  body: Buffer;
}

/** The dashboard's files: an explicit list, read once, so no request path ever reaches the file system. */
async function loadDashboardFiles(): Promise<Map<string, StaticFile>> {
  const require = createRequire(import.meta.url);
  const dashboard = (name: string) => fileURLToPath(new URL(`./dashboard/${name}`, import.meta.url));
  const sources: [string, string, string][] = [
    ['/', dashboard('index.html'), 'text/html; charset=utf-8'],
    ['/app.js', dashboard('app.js'), 'text/javascript; charset=utf-8'],
    ['/style.css', dashboard('style.css'), 'text/css; charset=utf-8'],
    ['/vendor/uPlot.iife.min.js', require.resolve('uplot/dist/uPlot.iife.min.js'), 'text/javascript; charset=utf-8'],
    ['/vendor/uPlot.min.css', require.resolve('uplot/dist/uPlot.min.css'), 'text/css; charset=utf-8'],
  ];
  const files = new Map<string, StaticFile>();
  for (const [urlPath, filePath, contentType] of sources) {
    files.set(urlPath, { contentType, body: await readFile(filePath) });
  }
  return files;
}

const COMMON_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  // The dashboard's URL may carry ?token=; it must not travel to anyone in a Referer.
  'Referrer-Policy': 'no-referrer',
};

const TEXT = 'text/plain; charset=utf-8';
const NO_STORE = { 'Cache-Control': 'no-store' };
const DASHBOARD_HEADERS = {
  'Content-Security-Policy': [
    "default-src 'self'",
    "connect-src 'self'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; '),
  'Cache-Control': 'no-cache',
};

export async function startFeedServer(options: FeedServerOptions): Promise<FeedServer> {
  const { store, metrics, cameraStates } = options;
  if (options.token.length < MIN_TOKEN_LENGTH) {
    throw new Error(
      `The feed token is ${options.token.length} characters; it needs at least ${MIN_TOKEN_LENGTH}. ` +
        'Generate one with `openssl rand -hex 24` and put it in the environment variable named by feed.tokenEnv (VEIL_FEED_TOKEN by default).',
    );
  }
  if (!Number.isInteger(options.replayWindows) || options.replayWindows < 0) {
    throw new Error(`feed replayWindows must be a whole number ≥ 0; got ${options.replayWindows}`);
  }
  const { log } = options;
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
  const maxClientBufferBytes = options.maxClientBufferBytes ?? MAX_CLIENT_BUFFER_BYTES;
  const maxClients = options.maxClients ?? DEFAULT_MAX_FEED_CLIENTS;
  const cameraDownAfterSeconds = options.cameraDownAfterSeconds ?? DEFAULT_CAMERA_DOWN_AFTER_SECONDS;
  const dashboardFiles = await loadDashboardFiles();

  /** Clients that receive publications; a client leaves it the moment it is being closed. */
  const receiving = new Map<WebSocket, FeedClient>();
  const updateClientGauge = () => metrics.feedClients.set({}, receiving.size);

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_CLIENT_MESSAGE_BYTES,
    perMessageDeflate: false,
    handleProtocols: (offered) => (offered.has(FEED_SUBPROTOCOL) ? FEED_SUBPROTOCOL : false),
  });

  /** Stops sending to the client at once; the close frame then has a short while to get through. */
  const closeClient = (ws: WebSocket, code: number, reason: string) => {
    receiving.delete(ws);
    updateClientGauge();
    ws.close(code, closeReason(reason));
    setTimeout(() => ws.terminate(), CLOSE_HANDSHAKE_TIMEOUT_MS).unref();
  };

  const send = (client: FeedClient, data: Buffer) => {
    if (client.ws.readyState !== WebSocket.OPEN) return;
    if (client.ws.bufferedAmount > maxClientBufferBytes) {
      log.warn('feed client too slow, disconnected', {
        remoteAddress: client.remoteAddress,
        bufferedBytes: client.ws.bufferedAmount,
        maxClientBufferBytes,
      });
      closeClient(client.ws, FEED_CLOSE_CODES.tryAgainLater, 'too slow: send buffer full, reconnect when ready');
      return;
    }
    client.ws.send(data, { binary: false });
  };

  const broadcast = (camera: string, message: Buffer) => {
    for (const client of receiving.values()) if (subscribed(client.subscription, camera)) send(client, message);
  };

  const knownCameras = () => {
    const cameras = new Set(cameraStates.all().map((s) => s.camera));
    try {
      for (const camera of store.cameras()) cameras.add(camera);
    } catch (error) {
      log.error('feed could not list the stored cameras', { error: (error as Error).message });
    }
    return [...cameras].sort();
  };

  const subscribed = (subscription: FeedClient['subscription'], camera: string) =>
    subscription === '*' || subscription.has(camera);

  const statusMessage = (state: CameraState) => Buffer.from(encodeServerMessage(cameraStatusMessage(state)));

  const windowMessage = (window: ReleasedWindow) =>
    Buffer.from(encodeServerMessage({ v: FEED_PROTOCOL_VERSION, type: 'window', window }));

  /**
   * What a client that just started watching these cameras needs: their state and their recent history. A store
   * that cannot be read costs the client its history, never the process: this runs inside socket events.
   */
  const sendCameraSnapshots = (client: FeedClient, cameras: string[]) => {
    for (const camera of cameras) {
      const state = cameraStates.get(camera);
      if (state) send(client, statusMessage(state));
      try {
        // A store shared with a calibration run may hold non-private windows; those are never replayed.
        for (const window of store.latest(camera, options.replayWindows)) {
          if (window.privacy.private) send(client, windowMessage(window));
        }
      } catch (error) {
        const reason = (error as Error).message;
        log.error('feed replay failed: the release store could not be read', { camera, error: reason });
      }
    }
  };

  const onSubscribe = (client: FeedClient, cameras: ClientMessage['cameras']) => {
    const before = client.subscription;
    client.subscription = cameras === '*' ? '*' : new Set(cameras);
    const newlyWatched = (cameras === '*' ? knownCameras() : [...new Set(cameras)]).filter(
      (camera) => !subscribed(before, camera),
    );
    sendCameraSnapshots(client, newlyWatched);
  };

  const onClientMessage = (client: FeedClient, data: RawData, isBinary: boolean) => {
    if (!receiving.has(client.ws)) return;
    if (isBinary) {
      const reason = 'binary messages are not part of the feed; send JSON text';
      closeClient(client.ws, FEED_CLOSE_CODES.unsupportedData, reason);
      return;
    }
    const nowMs = Date.now();
    client.recentMessageTimesMs = client.recentMessageTimesMs.filter((t) => nowMs - t < CLIENT_MESSAGE_LIMIT.perMs);
    client.recentMessageTimesMs.push(nowMs);
    if (client.recentMessageTimesMs.length > CLIENT_MESSAGE_LIMIT.messages) {
      const limit = `at most ${CLIENT_MESSAGE_LIMIT.messages} in ${CLIENT_MESSAGE_LIMIT.perMs / 1000} s`;
      closeClient(client.ws, FEED_CLOSE_CODES.policyViolation, `too many messages: ${limit}`);
      return;
    }
    // With ws's default binaryType ('nodebuffer') a message is always one Buffer, fragments already joined.
    const parsed = parseClientMessage((data as Buffer).toString('utf8'));
    if (!parsed.ok) {
      log.warn('feed client sent an invalid message', { remoteAddress: client.remoteAddress, problem: parsed.problem });
      closeClient(client.ws, FEED_CLOSE_CODES.invalidPayload, parsed.problem);
      return;
    }
    onSubscribe(client, parsed.message.cameras);
  };

  const onConnection = (ws: WebSocket, request: IncomingMessage) => {
    const client: FeedClient = {
      ws,
      remoteAddress: request.socket.remoteAddress ?? 'unknown',
      subscription: '*',
      answeredPing: true,
      recentMessageTimesMs: [],
    };
    receiving.set(ws, client);
    updateClientGauge();
    log.info('feed client connected', { remoteAddress: client.remoteAddress, clients: receiving.size });
    ws.on('pong', () => {
      client.answeredPing = true;
    });
    ws.on('message', (data, isBinary) => onClientMessage(client, data, isBinary));
    // ws reports protocol errors (an oversized frame: 1009) here and closes the socket itself.
    ws.on('error', (error) => {
      log.warn('feed client protocol error', { remoteAddress: client.remoteAddress, error: error.message });
    });
    ws.on('close', (code) => {
      receiving.delete(ws);
      updateClientGauge();
      log.info('feed client disconnected', { remoteAddress: client.remoteAddress, code, clients: receiving.size });
    });
    const cameras = knownCameras();
    send(client, Buffer.from(encodeServerMessage({ v: FEED_PROTOCOL_VERSION, type: 'hello', cameras })));
    sendCameraSnapshots(client, cameras);
    try {
      for (const message of options.snapshot?.() ?? []) send(client, Buffer.from(encodeServerMessage(message)));
    } catch (error) {
      log.error('feed snapshot not sent', { remoteAddress: client.remoteAddress, error: (error as Error).message });
    }
  };

  /** Who may open the feed: origin, token, client cap (streams/feedGate.ts). */
  const gate = { token: options.token, allowedOrigins: options.allowedOrigins, maxClients };
  /** The feed token, from the Authorization header or (browsers) the WebSocket subprotocol. */
  const authorised = (request: IncomingMessage) => presentsFeedToken(request.headers, gate.token);

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = new URL(request.url ?? '/', 'http://feed.invalid').pathname;
    if (path !== FEED_PATH) {
      refuseUpgrade(socket, 404, 'Not Found', `No WebSocket here; the feed is at ${FEED_PATH}\n`);
      return;
    }
    const verdict = judgeFeedUpgrade(request, gate, receiving.size);
    if (!verdict.admit) {
      if (verdict.warning) log.warn(verdict.warning.message, verdict.warning.fields);
      refuseUpgrade(socket, verdict.status, verdict.reason, verdict.body, verdict.headers);
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => onConnection(ws, request));
  };

  const respond = (
    response: ServerResponse,
    status: number,
    contentType: string,
    body: string | Buffer,
    headers: Record<string, string> = {},
  ) => {
    response.writeHead(status, {
      ...COMMON_HEADERS,
      ...headers,
      'Content-Type': contentType,
      'Content-Length': Buffer.byteLength(body),
    });
    response.end(body);
  };

  /**
   * The rule an operator's monitoring reads: 503 while any camera is down — it gave up (`failed`) or has been
   * reconnecting for more than cameraDownAfterSeconds; otherwise 200, "ok" when every camera streams and the fleet
   * has no problem, else "degraded".
   */
  const healthReport = () => {
    const cameras = cameraStates.all();
    const nowMs = Date.now();
    const down = (camera: CameraState) =>
      camera.state === 'failed' ||
      (camera.state === 'reconnecting' && nowMs - Date.parse(camera.since) > cameraDownAfterSeconds * 1000);
    const anyDown = cameras.some(down);
    const allStreaming = cameras.every((c) => c.state === 'streaming');
    const fleetProblems = options.fleetProblems?.();
    return {
      httpStatus: anyDown ? 503 : 200,
      status: anyDown ? 'failed' : allStreaming && !fleetProblems?.length ? 'ok' : 'degraded',
      detail: { feedClients: receiving.size, cameras, ...(options.detector ? { detector: options.detector } : {}), ...(fleetProblems ? { fleetProblems } : {}) },
    };
  };

  const onRequest = (request: IncomingMessage, response: ServerResponse) => {
    const path = new URL(request.url ?? '/', 'http://feed.invalid').pathname;
    const file = dashboardFiles.get(path);
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      respond(response, 405, TEXT, 'Only GET and HEAD\n', { Allow: 'GET, HEAD' });
    } else if (path === '/healthz') {
      const health = healthReport();
      const body = authorised(request) ? { status: health.status, ...health.detail } : { status: health.status };
      respond(response, health.httpStatus, 'application/json', JSON.stringify(body), NO_STORE);
    } else if (path === '/metrics') {
      if (!authorised(request)) {
        respond(response, 401, TEXT, 'A valid bearer token is required for /metrics\n', { 'WWW-Authenticate': 'Bearer realm="veil-metrics"' });
        return;
      }
      metrics.registry.metrics().then(
        (text) => respond(response, 200, PROMETHEUS_CONTENT_TYPE, text, NO_STORE),
        (error: Error) => {
          log.error('metrics could not be collected', { error: error.message });
          respond(response, 500, TEXT, 'metrics could not be collected\n');
        },
      );
    } else if (path === FEED_PATH) {
      respond(response, 426, TEXT, 'The feed is a WebSocket: connect with ws:// or wss://\n', { Upgrade: 'websocket' });
    } else if (file) {
      respond(response, 200, file.contentType, file.body, DASHBOARD_HEADERS);
    } else {
      respond(response, 404, TEXT, 'Not found\n');
    }
  };

  const server = createServer(onRequest);
  server.on('upgrade', onUpgrade);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const hint =
        error.code === 'EADDRINUSE' ? ': another program uses it; choose another feed port in the config' : '';
      reject(new Error(`The feed cannot listen on ${options.host}:${options.port}${hint} (${error.message})`));
    });
    server.listen(options.port, options.host, resolve);
  });
  server.on('error', (error) => log.error('feed server error', { error: error.message }));

  const heartbeat = setInterval(() => {
    for (const client of wss.clients) {
      const feedClient = receiving.get(client);
      if (feedClient && !feedClient.answeredPing) {
        log.warn('feed client missed a heartbeat, disconnected', { remoteAddress: feedClient.remoteAddress });
        receiving.delete(client);
        updateClientGauge();
        client.terminate();
      } else if (feedClient) {
        feedClient.answeredPing = false;
        client.ping();
      }
    }
  }, heartbeatIntervalMs);
  heartbeat.unref();

  const mirrorCameraUp = (state: CameraState) =>
    metrics.cameraUp.set({ camera: state.camera }, state.state === 'streaming' ? 1 : 0);
  cameraStates.all().forEach(mirrorCameraUp);
  const stopListening = cameraStates.onChange((state) => {
    mirrorCameraUp(state);
    // The supervisor calls set(); a feed problem must not become the supervisor's exception.
    try {
      broadcast(state.camera, statusMessage(state));
    } catch (error) {
      log.error('camera status not sent on the feed', { camera: state.camera, error: (error as Error).message });
    }
  });
  // A camera the registry forgets (a city clearing a retired box's status) leaves /metrics too, not stuck at 0.
  const stopListeningRemovals = cameraStates.onRemove((camera) => metrics.cameraUp.remove({ camera }));
  updateClientGauge();

  const port = (server.address() as AddressInfo).port;
  const urlHost = options.host.includes(':') ? `[${options.host}]` : options.host;

  return {
    url: `http://${urlHost}:${port}`,
    port,

    publishWindow(window) {
      broadcast(window.camera, windowMessage(window));
    },

    broadcast(message) {
      const data = Buffer.from(encodeServerMessage(message));
      const camera = message.type === 'window' ? message.window.camera : message.type === 'status' ? message.camera : undefined;
      if (camera !== undefined) broadcast(camera, data);
      else for (const client of receiving.values()) send(client, data);
    },

    clientCount: () => receiving.size,

    async close(code = FEED_CLOSE_CODES.goingAway) {
      clearInterval(heartbeat);
      stopListening();
      stopListeningRemovals();
      const closed = [...wss.clients].map(
        (ws) =>
          new Promise<void>((resolve) => {
            if (ws.readyState === WebSocket.CLOSED) return resolve();
            ws.once('close', () => resolve());
            closeClient(ws, code, 'server shutting down');
          }),
      );
      await Promise.all(closed);
      wss.close();
      const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await serverClosed;
    },
  };
}
