/**
 * Every message of the WebSocket feed, version 1. The feed carries two things only: released windows (noised
 * aggregates with their privacy block) and camera states. There is deliberately no message type that could carry
 * a box, a track, a frame time or a pixel.
 *
 *   server → client  {"v":1,"type":"hello","cameras":["gate","yard"]}
 *                    {"v":1,"type":"status","camera":"gate","state":"streaming","since":"…","restarts":0}
 *                    {"v":1,"type":"window","window":{…ReleasedWindow…}}
 *   client → server  {"v":1,"type":"subscribe","cameras":["gate"]}   or   {"v":1,"type":"subscribe","cameras":"*"}
 *
 * `veil aggregate` (the city side) serves the same feed with camera ids "site/camera", and two more types:
 *
 *                    {"v":1,"type":"district","district":{…DistrictWindow…}}   a district's total for one window
 *                    {"v":1,"type":"accuracy","cameras":[{…EvalFigures…}]}    the fleet accuracy table
 *
 * Boxes publish `{"v":1,"type":"eval","camera":…,…}` on their eval topic (federated evaluation, `veil eval --publish`):
 * error figures only, never a count of people (see evalFiguresSchema).
 */
import { z } from 'zod';
import { RELEASED_CLASSES, releasedWindowSchema } from '../stages/released.ts';
import { CAMERA_STATES, type CameraState } from './cameraState.ts';

export const FEED_PROTOCOL_VERSION = 1;
const version = z.literal(FEED_PROTOCOL_VERSION);
const cameraName = z.string().min(1);
/** Bounds what one client message may name; camera names in config are far shorter. */
const subscribedCameraName = cameraName.max(128);

/**
 * A released window that may go on a feed: `privacy.private === false` marks `--epsilon off` calibration output,
 * exact counts that must never leave the machine they were computed on.
 */
export const publishableWindowSchema = releasedWindowSchema.refine((window) => window.privacy.private, {
  message: 'privacy.private is false: calibration output (--epsilon off) is never published on a feed',
  path: ['privacy', 'private'],
});

export const helloMessageSchema = z.strictObject({
  v: version,
  type: z.literal('hello'),
  /** Every camera the server knows, so a client can choose what to subscribe to. */
  cameras: z.array(cameraName),
});

export const windowMessageSchema = z.strictObject({
  v: version,
  type: z.literal('window'),
  window: publishableWindowSchema,
});

/**
 * The state a broker announces for a camera whose box vanished without a word (its MQTT last will, see
 * streams/mqtt/publisher.ts); a box never sends it about itself.
 */
export const OFFLINE_STATE = 'offline';

export const statusMessageSchema = z.strictObject({
  v: version,
  type: z.literal('status'),
  camera: cameraName,
  state: z.enum([...CAMERA_STATES, OFFLINE_STATE]),
  since: z.iso.datetime(),
  restarts: z.number().int().nonnegative(),
  /** Why the camera is reconnecting or failed; absent in the other states. */
  detail: z.string().max(1000).optional(),
});

/** A sum of released values with the s.d. of its noise (stages/privacy/figures.ts's Figure). */
const figureSchema = z.strictObject({ value: z.number(), standardDeviation: z.number().nonnegative() });
const classFigures = <T extends z.ZodType>(value: T) => z.partialRecord(z.enum(RELEASED_CLASSES), value);

/**
 * One district's total for one window (`veil aggregate`): per released class, the sum over the district's cameras
 * (and their chosen lines or zones) of the released values, each with √(Σσ²), the s.d. of a sum of independent
 * draws. Only released windows are summed; `cameras` says which released, which withheld and which have not been
 * heard from yet. `complete` is true once every camera has released or withheld this window: only then is the total
 * final. A sum of peaks is not the district's peak (they may fall at different moments): it bounds it from above.
 */
export const districtWindowSchema = z.strictObject({
  district: z.string().min(1),
  startSeconds: z.number(),
  endSeconds: z.number(),
  windowSeconds: z.number().positive(),
  clock: z.enum(['clip', 'wall']),
  complete: z.boolean(),
  cameras: z.strictObject({
    released: z.array(cameraName),
    withheld: z.array(cameraName),
    missing: z.array(cameraName),
  }),
  crossings: classFigures(z.strictObject({ forward: figureSchema, backward: figureSchema })),
  peakOccupancy: classFigures(figureSchema),
  meanOccupancy: classFigures(figureSchema),
  /**
   * Present when the total came from secure aggregation (docs/fleet.md): the boxes' masked vectors were summed, so
   * `crossings` carries the noise of one release of ε (at δ) and no party saw one box's count; `cameras` then names
   * boxes (released: those in the sum, missing: the rest, `keptOut` those refused and why). `status` withheld: no
   * total, for `withheldReason`.
   */
  secureAggregation: z
    .strictObject({
      round: z.string().min(1).max(64),
      status: z.enum(['released', 'withheld']),
      epsilon: z.number().positive(),
      delta: z.number().gt(0).lt(1),
      /** The s.d. of the noise on each total, √(inputs · v) (stages/privacy/distributedNoise.ts); released only. */
      standardDeviation: z.number().nonnegative().optional(),
      withheldReason: z.string().max(500).optional(),
      /**
       * Boxes of the district kept out of the round, each with why: its published settings differ from the city's
       * ("settings differ: epsilon") or its masked vector had another length. Absent when none was.
       */
      keptOut: z.array(z.strictObject({ box: cameraName, reason: z.string().max(500) })).max(255).optional(),
    })
    .optional(),
});
export type DistrictWindow = z.infer<typeof districtWindowSchema>;

export const districtMessageSchema = z.strictObject({
  v: version,
  type: z.literal('district'),
  district: districtWindowSchema,
});

/**
 * What federated evaluation lets leave a box (`veil eval --publish`): per labelled line and category the error of
 * the noise-free count against the hand count (counted − expected, so a count of people cannot be read back from
 * it without the hand count, which stays on the box), its tolerance and verdict; the labelled instants' mean
 * absolute error; the clip's length and the frame rate. No count, no timestamp inside the clip, no track.
 */
export const evalFiguresSchema = z.strictObject({
  camera: cameraName,
  evaluatedAt: z.iso.datetime(),
  clipSeconds: z.number().positive(),
  fps: z.number().positive(),
  lines: z
    .array(
      z.strictObject({
        line: z.string().min(1).max(128),
        category: z.enum(['person', 'vehicle']),
        error: z.number().int(),
        tolerance: z.number().nonnegative(),
        withinTolerance: z.boolean(),
      }),
    )
    .max(256),
  instants: z.strictObject({ count: z.number().int().positive(), meanAbsoluteError: z.number().nonnegative() }).optional(),
});
export type EvalFigures = z.infer<typeof evalFiguresSchema>;

/** A box's federated-evaluation message on its eval topic (retained: the latest evaluation of the camera). */
export const evalMessageSchema = z.strictObject({ v: version, type: z.literal('eval'), ...evalFiguresSchema.shape });
export type EvalMessage = z.infer<typeof evalMessageSchema>;

/** The fleet accuracy table on `veil aggregate`'s feed: each camera's latest evaluation, camera ids "site/camera". */
export const accuracyMessageSchema = z.strictObject({
  v: version,
  type: z.literal('accuracy'),
  cameras: z.array(evalFiguresSchema),
});

export const serverMessageSchema = z.discriminatedUnion('type', [
  helloMessageSchema,
  windowMessageSchema,
  statusMessageSchema,
  districtMessageSchema,
  accuracyMessageSchema,
]);
export type ServerMessage = z.infer<typeof serverMessageSchema>;
export type StatusMessage = z.infer<typeof statusMessageSchema>;

/** A camera's state as a status message, the supervisor's last error as its detail while that explains the state. */
export function cameraStatusMessage(state: CameraState): StatusMessage {
  return {
    v: FEED_PROTOCOL_VERSION,
    type: 'status',
    camera: state.camera,
    state: state.state,
    since: state.since,
    restarts: state.restarts,
    ...((state.state === 'reconnecting' || state.state === 'failed') && state.lastError !== undefined
      ? { detail: state.lastError.slice(0, 1000) }
      : {}),
  };
}

/** A feed client names the cameras it wants; the bound keeps one subscribe from naming an unbounded list. */
export const subscribeMessageSchema = z.strictObject({
  v: version,
  type: z.literal('subscribe'),
  cameras: z.union([z.literal('*'), z.array(subscribedCameraName).max(256)]),
});

export const clientMessageSchema = z.discriminatedUnion('type', [subscribeMessageSchema]);
export type ClientMessage = z.infer<typeof clientMessageSchema>;

/**
 * Validates an outgoing message and serialises it once, so a broadcast encodes it once for every client.
 * Throws with the offending field when the message breaks the schema (e.g. a non-private window).
 */
export function encodeServerMessage(message: ServerMessage): string {
  const checked = serverMessageSchema.safeParse(message);
  if (!checked.success) {
    const camera = message.type === 'window' ? message.window.camera : message.type === 'status' ? message.camera : '';
    const forCamera = camera ? ` for camera "${camera}"` : '';
    throw new Error(`Refusing to send a feed "${message.type}" message${forCamera}: ${z.prettifyError(checked.error)}`);
  }
  return JSON.stringify(checked.data);
}

export type ClientMessageParse = { ok: true; message: ClientMessage } | { ok: false; problem: string };

/** Parses one text frame from a client; `problem` is short enough for a WebSocket close reason. */
export function parseClientMessage(text: string): ClientMessageParse {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, problem: 'message is not JSON' };
  }
  const checked = clientMessageSchema.safeParse(json);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    const where = issue && issue.path.length > 0 ? issue.path.join('.') : 'message';
    return { ok: false, problem: `invalid ${where}: ${issue?.message ?? 'unknown problem'}` };
  }
  return { ok: true, message: checked.data };
}
