/**
 * A subscriber for fleet tests, as a city's consumer would be: a real MQTT client on the test's broker that keeps
 * every message with its topic, checks each against the feed's schema (a `{v:1}` window or status message) and notes
 * anything that fails instead of throwing inside the client's callback.
 */
import type { MqttClient } from 'mqtt';
import type { ReleasedWindow } from '../../stages/released.ts';
import { serverMessageSchema, type ServerMessage, type StatusMessage } from '../../streams/feedMessages.ts';
import { mqttConnectionSchema, openMqttClient } from '../../streams/mqtt/connection.ts';
import { kindFilter, parseCameraTopic } from '../../streams/mqtt/topics.ts';
import { eventually } from './liveWait.ts';

export interface ReceivedMessage {
  site: string;
  camera: string;
  message: ServerMessage;
  retained: boolean;
}

export interface MqttWatcher {
  client: MqttClient;
  received: ReceivedMessage[];
  /** Messages that were not schema-valid feed messages on a camera topic; a test expects none. */
  problems: string[];
  /** Every window message of the camera, in arrival order, copies included. */
  windows(camera: string): ReleasedWindow[];
  statuses(camera: string): Array<StatusMessage & { retained: boolean }>;
  close(): Promise<void>;
}

/**
 * Connects to `url` as `clientId` and subscribes (QoS 1) to every camera's windows and states. `persistent` keeps
 * its session on the broker, so what is published while it is away (a broker restart) reaches it when it returns.
 * `extra` adds connection settings (credentials, TLS), `env` holds the password variable. Resolves once subscribed.
 */
export async function watchBroker(url: string, clientId: string, { persistent, extra = {}, env }: { persistent: boolean; extra?: Record<string, unknown>; env?: NodeJS.ProcessEnv }): Promise<MqttWatcher> {
  const connection = mqttConnectionSchema.parse({ url, clientId, persistentSession: persistent, reconnectSeconds: 0.2, keepaliveSeconds: 5, ...extra });
  const client = openMqttClient(connection, { clientId, where: 'test subscriber', ...(env ? { env } : {}) });
  const received: ReceivedMessage[] = [];
  const problems: string[] = [];
  client.on('message', (topic, payload, packet) => {
    const where = parseCameraTopic(topic);
    let json: unknown;
    try {
      json = JSON.parse(payload.toString('utf8'));
    } catch {
      problems.push(`${topic}: not JSON`);
      return;
    }
    const checked = serverMessageSchema.safeParse(json);
    if (!where || !checked.success) {
      problems.push(`${topic}: ${where ? checked.error?.message : 'not a camera topic'}`);
      return;
    }
    const kindMatches = (where.kind === 'window' && checked.data.type === 'window') || (where.kind === 'status' && checked.data.type === 'status');
    if (!kindMatches) problems.push(`${topic}: a ${checked.data.type} message on a ${where.kind} topic`);
    received.push({ site: where.site, camera: where.camera, message: checked.data, retained: packet.retain });
  });
  let subscribed = false;
  client.on('connect', () => {
    client.subscribe([kindFilter('window'), kindFilter('status')], { qos: 1 }, (error) => {
      if (error) problems.push(`subscribe failed: ${error.message}`);
      else subscribed = true;
    });
  });
  await eventually(`a subscriber connected to ${url}`, 20, () => subscribed);
  return {
    client,
    received,
    problems,
    windows: (camera) => received.flatMap(({ camera: c, message }) => (c === camera && message.type === 'window' ? [message.window] : [])),
    statuses: (camera) => received.flatMap(({ camera: c, message, retained }) => (c === camera && message.type === 'status' ? [{ ...message, retained }] : [])),
    close: async () => {
      await client.endAsync(true);
    },
  };
}
