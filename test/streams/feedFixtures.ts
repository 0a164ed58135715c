/**
 * Test helpers for the feed: a feed server on a free loopback port, and clients that keep every message they receive.
 */
import { WebSocket } from 'ws';
import { createVeilMetrics } from '../../streams/metrics.ts';
import type { ReleasedWindow } from '../../stages/released.ts';
import { CameraStateRegistry } from '../../streams/cameraState.ts';
import { startFeedServer, type FeedLogger, type FeedServerOptions } from '../../streams/feedServer.ts';
import { openReleaseStore, type ReleaseStore } from '../../streams/releaseStore.ts';
import { feedSink } from '../../streams/sinks/feedSink.ts';
import { releaseStoreSink } from '../../streams/sinks/releaseStoreSink.ts';
import { fanOut } from '../../streams/sinks/sink.ts';

export const FEED_TOKEN = 'test-token-0123456789abcdef';

/** Keeps what the feed logs, so a test can assert on it and the test output stays quiet. */
export function recordingLogger(): FeedLogger & { lines: { level: string; message: string }[] } {
  const lines: { level: string; message: string }[] = [];
  return {
    lines,
    info: (message) => lines.push({ level: 'info', message }),
    warn: (message) => lines.push({ level: 'warn', message }),
    error: (message) => lines.push({ level: 'error', message }),
  };
}

/**
 * A feed on 127.0.0.1 with an in-memory store; any option can be replaced. `publish` hands a window to the store and
 * the feed as `veil run` does (store first), so it is replayed as well as sent.
 */
export async function startTestFeed(overrides: Partial<Omit<FeedServerOptions, 'store'>> & { store?: ReleaseStore } = {}) {
  const options: FeedServerOptions & { store: ReleaseStore } = {
    host: '127.0.0.1',
    port: 0,
    token: FEED_TOKEN,
    replayWindows: 10,
    store: openReleaseStore(':memory:'),
    metrics: createVeilMetrics(),
    cameraStates: new CameraStateRegistry(),
    log: recordingLogger(),
    ...overrides,
  };
  const feed = await startFeedServer(options);
  const publish = fanOut([releaseStoreSink(options.store), feedSink(feed)], options.log);
  return { feed, publish, ...options, wsUrl: `${feed.url.replace(/^http/, 'ws')}/feed` };
}

export type FeedMessage = { v: number; type: string; [field: string]: unknown };

/** A connected feed client that records every message and how the connection ended. */
export interface RecordingClient {
  ws: WebSocket;
  messages: FeedMessage[];
  windows(): ReleasedWindow[];
  closed: Promise<{ code: number; reason: string }>;
}

export function recordMessages(ws: WebSocket): RecordingClient {
  const messages: FeedMessage[] = [];
  ws.on('message', (data) => messages.push(JSON.parse(String(data)) as FeedMessage));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString('utf8') }));
  });
  return {
    ws,
    messages,
    windows: () => messages.filter((m) => m.type === 'window').map((m) => m.window as ReleasedWindow),
    closed,
  };
}

/** Opens a client with the bearer header (or the given headers/protocols) and waits until it is open. */
export async function connectClient(
  wsUrl: string,
  { token = FEED_TOKEN, protocols, headers, autoPong }: {
    token?: string;
    protocols?: string[];
    headers?: Record<string, string>;
    autoPong?: boolean;
  } = {},
): Promise<RecordingClient> {
  const ws = new WebSocket(wsUrl, protocols, {
    headers: headers ?? { Authorization: `Bearer ${token}` },
    ...(autoPong === undefined ? {} : { autoPong }),
  });
  const client = recordMessages(ws);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return client;
}

/** Polls until `condition` holds; fails naming what it waited for rather than hanging until the test times out. */
export async function until(condition: () => boolean, waitingFor: string, deadlineMs = 15_000): Promise<void> {
  const giveUpAt = Date.now() + deadlineMs;
  while (!condition()) {
    if (Date.now() > giveUpAt) throw new Error(`Gave up after ${deadlineMs} ms waiting for ${waitingFor}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
