/**
 * What the boxes and the aggregator of a secure-aggregation round say to each other, as zod schemas: every message
 * is checked where it arrives (a broker passes on whatever it is given). JSON-safe: keys, shares and vectors travel
 * as base64. One round per district window, four phases (Bonawitz et al., CCS 2017, Fig. 4, semi-honest variant):
 *
 *   box → aggregator         aggregator → boxes
 *   advertise (keys)    →    roster    U1: the boxes whose keys arrived, with their keys
 *   shares (sealed)     →    sharers   U2: the boxes whose Shamir shares went out (masks are fixed among U2 now)
 *   masked (input)      →    survivors U3: the boxes whose masked input arrived
 *   unmask (shares)     →    result    the sum over U3, or withheld with the reason
 */
import { z } from 'zod';

/** A box or district id, and a round id: the MQTT id rule, so each can be a topic level. */
const idSchema = z.string().regex(/^[\w.-]{1,64}$/, 'an id is 1–64 letters, digits, "_", "-" or "."');
const base64Schema = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'base64').max(1 << 20);
const boxListSchema = z.array(idSchema).max(255);

/**
 * The most boxes in one round: the Shamir implementation (shamir-secret-sharing) makes at most 255 shares, one
 * per box of the round.
 */
const MAX_ROUND_BOXES = 255;
/**
 * The largest |value| a box may contribute (input plus its noise share): 255 × 2^55 < 2^63, so the sum over any
 * round decodes exactly from its residue mod 2^64. Counts are many orders of magnitude below it.
 */
export const MAX_BOX_VALUE = 1n << 55n;

/**
 * What every party of a district's rounds agrees on in advance (the district config), never taken from a message:
 * `boxes` the district's box ids; `threshold` t, the Shamir threshold, more than half the boxes — fewer than t
 * colluding parties learn nothing of an honest box's input, and a round needs t boxes at every phase; `coordinates` d, the length of each box's
 * integer vector; `minimumInputs` the fewest masked inputs whose sum still carries the noise of one release
 * (distributedNoise.ts: boxes − dropouts tolerated).
 */
export interface SecureAggregationParameters {
  district: string;
  boxes: readonly string[];
  threshold: number;
  coordinates: number;
  minimumInputs: number;
}

/** Throws an Error naming the field when parameters cannot run a round; returns them with `boxes` sorted. */
export function checkParameters(parameters: SecureAggregationParameters): SecureAggregationParameters {
  const { district, boxes, threshold, coordinates, minimumInputs } = parameters;
  const where = `secure aggregation of district "${district}"`;
  if (!idSchema.safeParse(district).success) throw new Error(`${where}: the district id must be 1–64 letters, digits, "_", "-" or "."`);
  const sorted = [...new Set(boxes)].sort();
  if (sorted.length !== boxes.length) throw new Error(`${where}: a box is listed twice in boxes`);
  if (sorted.length < 2 || sorted.length > MAX_ROUND_BOXES) throw new Error(`${where}: boxes must list 2–${MAX_ROUND_BOXES} boxes, got ${sorted.length}`);
  for (const box of sorted) if (!idSchema.safeParse(box).success) throw new Error(`${where}: box id "${box}" must be 1–64 letters, digits, "_", "-" or "."`);
  // t > n/2: an aggregator that tells some boxes a box dropped out and others that it did not would need t shares
  // of each of its two secrets from disjoint sets of boxes (each box gives one kind only), impossible when 2t > n.
  const fewest = Math.max(2, Math.floor(sorted.length / 2) + 1);
  if (!Number.isInteger(threshold) || threshold < fewest || threshold > sorted.length) throw new Error(`${where}: threshold must be a whole number from ${fewest} (more than half the boxes) to ${sorted.length} (all of them), got ${threshold}`);
  if (!Number.isInteger(coordinates) || coordinates < 1) throw new Error(`${where}: coordinates must be a positive whole number, got ${coordinates}`);
  if (!Number.isInteger(minimumInputs) || minimumInputs < 1 || minimumInputs > sorted.length) throw new Error(`${where}: minimumInputs must be from 1 to the number of boxes (${sorted.length}), got ${minimumInputs}`);
  return { ...parameters, boxes: sorted };
}

/**
 * The round id every box of a district derives for the same window of the same statistic, with no coordination:
 * "crossings-1764460800-900" (statistic, window start in Unix seconds, window length in seconds).
 */
export function secureAggregationRoundId(statistic: string, windowStartSeconds: number, windowSeconds: number): string {
  const round = `${statistic}-${Math.floor(windowStartSeconds)}-${windowSeconds}`;
  if (!idSchema.safeParse(round).success) throw new Error(`round id "${round}" is not 1–64 letters, digits, "_", "-" or "."`);
  return round;
}

/** Throws an Error when `box` is not one of the district's boxes (a config naming the wrong district or box id). */
export function checkMembership(parameters: SecureAggregationParameters, box: string): void {
  if (!parameters.boxes.includes(box)) throw new Error(`box "${box}" is not one of district "${parameters.district}"'s boxes (${parameters.boxes.join(', ')})`);
}

const advertiseSchema = z.strictObject({
  type: z.literal('advertise'),
  round: idSchema,
  box: idSchema,
  /** X25519 public key c_u^PK: encrypts the Shamir shares sent to this box. */
  shareKey: base64Schema,
  /** X25519 public key s_u^PK: agrees the pairwise masks. */
  maskKey: base64Schema,
  /** SHA-256 of the self-mask seed b_u, so its reconstruction can be checked. */
  selfMaskCommitment: base64Schema,
});

const rosterSchema = z.strictObject({
  type: z.literal('roster'),
  round: idSchema,
  boxes: z.array(advertiseSchema).max(MAX_ROUND_BOXES),
});

const sharesSchema = z.strictObject({
  type: z.literal('shares'),
  round: idSchema,
  box: idSchema,
  /** To each other box of U1: AES-GCM(sender ‖ recipient ‖ share of s_u^SK ‖ share of b_u). */
  sealed: z.array(z.strictObject({ to: idSchema, ciphertext: base64Schema })).max(MAX_ROUND_BOXES),
});

const sharersSchema = z.strictObject({ type: z.literal('sharers'), round: idSchema, boxes: boxListSchema });

const maskedSchema = z.strictObject({ type: z.literal('masked'), round: idSchema, box: idSchema, values: base64Schema });

const survivorsSchema = z.strictObject({ type: z.literal('survivors'), round: idSchema, boxes: boxListSchema });

const shareOfSchema = z.strictObject({ box: idSchema, share: base64Schema });
const unmaskSchema = z.strictObject({
  type: z.literal('unmask'),
  round: idSchema,
  box: idSchema,
  /** Shares of the mask keys s_v^SK of boxes in U2 \ U3 (they dropped out after the masks were fixed). */
  maskKeyShares: z.array(shareOfSchema).max(MAX_ROUND_BOXES),
  /** Shares of the self-mask seeds b_v of boxes in U3. Never both for one box. */
  selfMaskShares: z.array(shareOfSchema).max(MAX_ROUND_BOXES),
});

/** The longest reason a withheld result carries (the aggregator cuts a longer one: every box must accept it). */
export const MAX_REASON_CHARS = 500;

const resultSchema = z.discriminatedUnion('status', [
  z.strictObject({
    type: z.literal('result'),
    status: z.literal('released'),
    round: idSchema,
    /** The district total per coordinate, decimal integers (input plus noise of every box in `boxes`). */
    sum: z.array(z.string().regex(/^-?\d{1,20}$/)),
    /** U3: the boxes whose input (and noise share) the sum holds. */
    boxes: boxListSchema,
  }),
  z.strictObject({ type: z.literal('result'), status: z.literal('withheld'), round: idSchema, reason: z.string().max(MAX_REASON_CHARS) }),
]);

export const boxMessageSchema = z.discriminatedUnion('type', [advertiseSchema, sharesSchema, maskedSchema, unmaskSchema]);
export const aggregatorMessageSchema = z.discriminatedUnion('type', [rosterSchema, sharersSchema, survivorsSchema, resultSchema]);

export type AdvertiseMessage = z.infer<typeof advertiseSchema>;
export type RosterMessage = z.infer<typeof rosterSchema>;
export type SharesMessage = z.infer<typeof sharesSchema>;
export type SharersMessage = z.infer<typeof sharersSchema>;
export type MaskedMessage = z.infer<typeof maskedSchema>;
export type SurvivorsMessage = z.infer<typeof survivorsSchema>;
export type UnmaskMessage = z.infer<typeof unmaskSchema>;
export type ResultMessage = z.infer<typeof resultSchema>;
export type BoxMessage = z.infer<typeof boxMessageSchema>;
export type AggregatorMessage = z.infer<typeof aggregatorMessageSchema>;

/** Whether two advertisements carry the same keys and commitment (a copy resent, not another box's). */
export function sameAdvertisement(a: AdvertiseMessage, b: AdvertiseMessage): boolean {
  return a.shareKey === b.shareKey && a.maskKey === b.maskKey && a.selfMaskCommitment === b.selfMaskCommitment;
}

/** A protocol rule broken by a message: the round goes on without it (or is withheld), and the reason is logged. */
export class SecureAggregationError extends Error {
  override name = 'SecureAggregationError';
}
