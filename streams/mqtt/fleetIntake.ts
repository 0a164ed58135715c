/**
 * What `veil aggregate` accepts from the broker. Every message is checked before anything is stored: its topic is
 * one of the fleet's (streams/mqtt/topics.ts), its payload is one JSON message of the feed's schemas for that kind
 * (streams/feedMessages.ts: a publishable window, a camera status, eval figures), and the camera it names is the
 * camera of its topic — a box can only speak for the cameras whose topics it may publish on (the broker's ACL).
 * Anything else is refused with a problem a person can act on; the caller logs it with the topic.
 *
 *   const parsed = parseFleetMessage(topic, payload);
 *   if (!parsed.ok) log.warn('message rejected', { topic, problem: parsed.problem });
 */
import { z } from 'zod';
import type { ReleasedWindow } from '../../stages/released.ts';
import { CAMERA_STATES, type CameraStateName } from '../cameraState.ts';
import { evalMessageSchema, statusMessageSchema, windowMessageSchema, type EvalFigures } from '../feedMessages.ts';
import { parseCameraTopic, type TopicKind } from './topics.ts';

/**
 * A window with a few zones and lines is 1–3 KiB, one with 150 zones ~60 KiB; past this a payload is not a Veil
 * message, and parsing it would only cost memory.
 */
export const MAX_FLEET_PAYLOAD_BYTES = 256 * 1024;

/** "site/camera": a camera id is unique within its site only. */
export function fleetCameraId(site: string, camera: string): string {
  return `${site}/${camera}`;
}

export type FleetMessage =
  | { kind: 'window'; camera: string; window: ReleasedWindow }
  | { kind: 'status'; camera: string; state: CameraStateName; detail?: string }
  | { kind: 'eval'; camera: string; figures: EvalFigures }
  /**
   * An empty retained message: someone cleared the topic's retained message (`of`: a status, an eval), e.g. of a
   * retired box's camera. Nothing to store; a cleared status takes the camera out of the aggregator's view.
   */
  | { kind: 'cleared'; camera: string; of: TopicKind };

export type FleetParse = { ok: true; message: FleetMessage } | { ok: false; problem: string };

const SCHEMAS = { window: windowMessageSchema, status: statusMessageSchema, eval: evalMessageSchema } as const;

function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  const where = issue && issue.path.length > 0 ? issue.path.join('.') : 'message';
  return `invalid ${where}: ${issue?.message ?? 'unknown problem'}`;
}

/**
 * Parses one message; camera ids in what it returns are fleet ids (`fleetCameraId`), so a window's `camera` is
 * "site/camera". Never throws.
 */
export function parseFleetMessage(topic: string, payload: Buffer): FleetParse {
  const parts = parseCameraTopic(topic);
  if (!parts) return { ok: false, problem: 'not a Veil fleet topic (veil/v1/{site}/{camera}/{window|status|eval})' };
  const camera = fleetCameraId(parts.site, parts.camera);
  if (payload.length === 0) return { ok: true, message: { kind: 'cleared', camera, of: parts.kind } };
  if (payload.length > MAX_FLEET_PAYLOAD_BYTES) {
    return { ok: false, problem: `payload of ${payload.length} bytes is over the ${MAX_FLEET_PAYLOAD_BYTES} a Veil message may have` };
  }
  let json: unknown;
  try {
    json = JSON.parse(payload.toString('utf8'));
  } catch {
    return { ok: false, problem: 'payload is not JSON' };
  }
  const checked = SCHEMAS[parts.kind].safeParse(json);
  if (!checked.success) return { ok: false, problem: firstIssue(checked.error) };
  const message = checked.data;
  const named = message.type === 'window' ? message.window.camera : message.camera;
  if (named !== parts.camera) {
    return { ok: false, problem: `the message names camera "${named}" but came on camera "${parts.camera}"'s topic` };
  }
  if (message.type === 'window') return { ok: true, message: { kind: 'window', camera, window: { ...message.window, camera } } };
  if (message.type === 'status') {
    // A box's last will announces a state of the box, not of a camera ("offline"): to the city, its cameras are
    // out of reach, as a camera is while its box reconnects to it.
    const known = (CAMERA_STATES as readonly string[]).includes(message.state);
    const state = known ? (message.state as CameraStateName) : 'reconnecting';
    const detail = known ? message.detail : `its box is ${message.state}`;
    return { ok: true, message: { kind: 'status', camera, state, ...(detail === undefined ? {} : { detail }) } };
  }
  const { v: _version, type: _type, ...figures } = message;
  return { ok: true, message: { kind: 'eval', camera, figures: { ...figures, camera } } };
}
