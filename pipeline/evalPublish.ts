/**
 * Federated evaluation: `veil eval --publish site.yaml --camera ID` sends the error figures of an evaluation — and
 * nothing else — to the camera's eval topic on the box's broker, retained, so `veil aggregate` shows the fleet's
 * accuracy without any footage or hand count leaving the box. What leaves is EvalFigures (streams/feedMessages.ts):
 * per labelled line and category the error (counted − hand count), its tolerance and verdict; the labelled instants'
 * count and mean absolute error; the clip's length and the frame rate.
 */
import path from 'node:path';
import { z } from 'zod';
import { evalMessageSchema, FEED_PROTOCOL_VERSION, type EvalFigures, type EvalMessage } from '../streams/feedMessages.ts';
import { mqttConnectionSchema, openMqttClient, sideClientId, withTlsPathsRelativeTo, type MqttConnection } from '../streams/mqtt/connection.ts';
import { cameraTopic, ID_PATTERN } from '../streams/mqtt/topics.ts';
import { ConfigError, parseConfig, readConfigFile } from './config.ts';
import type { InstantComparison, LineComparison } from './evalCommand.ts';

/** The part of a box's site config eval needs: its `mqtt` section (broker and site id) and its camera ids. */
const publishConfigSchema = z.looseObject({
  mqtt: mqttConnectionSchema.safeExtend({ site: z.string().regex(ID_PATTERN, 'a site id is 1–64 letters, digits, "_", "-" or "."') }),
  cameras: z.array(z.looseObject({ id: z.string() })).min(1),
});

/** What a failed connection's errno means, in words (mqtt.js reports the socket's error as it is). */
const NETWORK_REASONS: Record<string, string> = {
  ECONNREFUSED: 'nothing listens at that address and port (is the broker running?)',
  ENOTFOUND: 'no such host',
  ETIMEDOUT: 'the connection timed out',
  ECONNRESET: 'the broker closed the connection (a TLS or protocol mismatch?)',
};

export interface EvalPublishTarget {
  connection: MqttConnection;
  site: string;
  camera: string;
  /** Where the connection came from, for messages. */
  where: string;
}

/**
 * Reads where to publish from the box's site config (its `mqtt` section). Throws ConfigError when the file has no
 * valid `mqtt` section or `camera` is not one of its cameras.
 */
export async function readEvalPublishTarget(file: string, camera: string): Promise<EvalPublishTarget> {
  const site = parseConfig(publishConfigSchema, await readConfigFile(file), `config ${file}`);
  const ids = site.cameras.map((entry) => entry.id);
  if (!ids.includes(camera)) {
    throw new ConfigError(`--camera ${camera} is not a camera of ${file}: its cameras are ${ids.join(', ')}`);
  }
  const { site: siteId, ...connection } = site.mqtt;
  return { connection: withTlsPathsRelativeTo(connection, path.dirname(file)), site: siteId, camera, where: `config ${file}, mqtt` };
}

/** The figures that may leave the box, from eval's comparisons. */
export function evalFigures(camera: string, clipSeconds: number, fps: number, lines: readonly LineComparison[], instants: readonly InstantComparison[], evaluatedAt = new Date()): EvalFigures {
  return {
    camera,
    evaluatedAt: evaluatedAt.toISOString(),
    clipSeconds,
    fps,
    lines: lines.map(({ line, category, error, tolerance, withinTolerance }) => ({ line, category, error, tolerance, withinTolerance })),
    ...(instants.length > 0
      ? { instants: { count: instants.length, meanAbsoluteError: instants.reduce((sum, r) => sum + Math.abs(r.error), 0) / instants.length } }
      : {}),
  };
}

/**
 * Publishes the figures on the camera's eval topic (QoS 1, retained) and resolves once the broker acknowledged
 * them. Throws when the message breaks its schema or the broker cannot be reached within the connection's timeout.
 */
export async function publishEvalFigures(target: EvalPublishTarget, figures: EvalFigures): Promise<void> {
  const message: EvalMessage = evalMessageSchema.parse({ v: FEED_PROTOCOL_VERSION, type: 'eval', ...figures });
  // A one-off client: its session need not outlive this publish.
  const clientId = sideClientId(target.connection, `veil-${target.site}`, `eval-${target.camera}`).slice(0, 64);
  const client = openMqttClient({ ...target.connection, clientId, persistentSession: false }, { clientId, where: target.where });
  try {
    const broker = `the broker ${target.connection.url} (${target.where})`;
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', (error) => reject(new Error(`${broker} could not be reached: ${NETWORK_REASONS[String((error as { code?: unknown }).code)] ?? error.message}; the evaluation was not published`)));
      setTimeout(() => reject(new Error(`${broker} did not answer within ${target.connection.connectTimeoutSeconds} s; the evaluation was not published`)), target.connection.connectTimeoutSeconds * 1000).unref();
    });
    await client.publishAsync(cameraTopic(target.site, target.camera, 'eval'), JSON.stringify(message), { qos: 1, retain: true });
  } finally {
    await client.endAsync();
  }
}
