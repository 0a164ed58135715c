/**
 * How secure-aggregation messages travel over MQTT, for both ends: JSON at QoS 1, and every payload checked against
 * its zod schema on arrival — the broker passes on whatever anyone publishes. A round's messages are never retained
 * (they mean nothing after it); a box's district settings are (they hold until its config changes).
 */
import type { MqttClient } from 'mqtt';
import type { z } from 'zod';

/**
 * Publishes `message` as JSON at QoS 1, retained only when asked; resolves once the broker has acknowledged it
 * (PUBACK).
 */
export async function publishMessage(client: MqttClient, topic: string, message: object, { retain = false } = {}): Promise<void> {
  await client.publishAsync(topic, JSON.stringify(message), { qos: 1, retain });
}

/** The payload checked against `schema`, or a one-line problem for the log (never the payload itself). */
export function decodeMessage<T>(schema: z.ZodType<T>, payload: Buffer): { message: T } | { problem: string } {
  let json: unknown;
  try {
    json = JSON.parse(payload.toString('utf8'));
  } catch {
    return { problem: `not JSON (${payload.length} bytes)` };
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return { message: parsed.data };
  const issue = parsed.error.issues[0]!;
  return { problem: `${issue.path.length > 0 ? issue.path.join('.') : 'message'}: ${issue.message}` };
}
