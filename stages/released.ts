/**
 * The only thing Veil publishes: one window's noised aggregates with the privacy terms they were released under.
 * The schema is shared by the report writer, the release store and the WebSocket feed, and it is the privacy
 * boundary: it has no field that could hold a box, a track, a pixel or a per-frame time.
 *
 * Values are the noised values themselves, unbiased and unclamped: a count of 0 may be released as −2. Clamping
 * before summing would add the positive part of every draw's noise to every total (an empty road would read as
 * traffic); readers clamp for display after summing (see stages/privacy/figures.ts), never before.
 */
import { z } from 'zod';
import { COUNTED_CLASSES } from '../models/detection.ts';
import { STATISTICS } from './privacy/settings.ts';

const noisedCount = z.number().int();
const nonNegative = z.number().nonnegative();

/** The terms one statistic of this window was released under. */
export const statisticTermsSchema = z.strictObject({
  /** ε this statistic's release spent ((ε, δ) at the block's δ for the Gaussian). */
  epsilon: nonNegative,
  /** The whole window's L1 (Laplace) or L2 (Gaussian) sensitivity of this statistic, in objects. */
  sensitivity: nonNegative,
  /**
   * Standard deviation of the noise on each released value, in objects. It follows from the settings alone, not
   * from the data, so it can be published: a sum of n values of this statistic has s.d. √n times this.
   */
  standardDeviation: nonNegative,
});
export type StatisticTerms = z.infer<typeof statisticTermsSchema>;

export const privacyBlockSchema = z.strictObject({
  /** false only for `--epsilon off` calibration runs; such windows must never be published on a feed. */
  private: z.boolean(),
  mechanism: z.enum(['discrete-laplace', 'discrete-gaussian', 'none']),
  /** ε this window's release charged one event: the sum of its statistics' ε (0 when withheld or not private). */
  epsilon: nonNegative,
  delta: z.number().min(0).max(1),
  /** Longest visit protected as one event, in seconds. */
  rhoSeconds: nonNegative,
  /** ρ plus how long the tracker may coast: two windows this far apart can hold the same event. */
  eventReachSeconds: nonNegative,
  /** Each released statistic's terms; only the statistics this window holds. */
  statistics: z.partialRecord(z.enum(STATISTICS), statisticTermsSchema),
  /** The ledger's view of the footage this window covers. */
  budget: z.strictObject({
    epsilonPerEvent: nonNegative,
    /** The most ε any one event touching this window has been charged, this release included. */
    epsilonSpent: nonNegative,
    epsilonLeft: nonNegative,
    periodSeconds: z.number().positive().optional(),
    epsilonPerPeriod: nonNegative.optional(),
    epsilonSpentInPeriod: nonNegative.optional(),
  }),
});
export type PrivacyBlock = z.infer<typeof privacyBlockSchema>;

/** Categories (person, vehicle) or COCO classes, as the settings' `breakdown` says. */
export const RELEASED_CLASSES = [...COUNTED_CLASSES, 'vehicle'] as const;
export type ReleasedClass = (typeof RELEASED_CLASSES)[number];
const classRecord = <T extends z.ZodType>(value: T) => z.partialRecord(z.enum(RELEASED_CLASSES), value);

export const zoneReleaseSchema = z.strictObject({
  areaSquareMetres: z.number().positive().optional(),
  /** Noised occupancy per class; only the statistics released at this window length. */
  classes: classRecord(
    z.strictObject({
      /** Mean number present over the window, to 1/100 object. */
      meanOccupancy: z.number().optional(),
      /** Largest number present in one analysed frame. */
      peakOccupancy: noisedCount.optional(),
    }),
  ),
});

export const lineReleaseSchema = z.strictObject({
  classes: classRecord(z.strictObject({ forward: noisedCount, backward: noisedCount })),
});

export const releasedWindowSchema = z.strictObject({
  camera: z.string().min(1),
  startSeconds: z.number(),
  endSeconds: z.number(),
  /** The release series' window length; a camera may release at several (e.g. 60 s occupancy, 900 s crossings). */
  windowSeconds: z.number().positive(),
  clock: z.enum(['clip', 'wall']),
  status: z.enum(['released', 'withheld']),
  /** Why a window was withheld, e.g. "span budget spent". */
  withheldReason: z.string().optional(),
  zones: z.record(z.string(), zoneReleaseSchema),
  lines: z.record(z.string(), lineReleaseSchema),
  privacy: privacyBlockSchema,
});
export type ReleasedWindow = z.infer<typeof releasedWindowSchema>;
