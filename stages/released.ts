/**
 * The only thing Veil publishes: one window's noised, post-processed aggregates with the privacy terms they were
 * released under. The schema is shared by the report writer, the release store and the WebSocket feed, and it is
 * the privacy boundary: it has no field that could hold a box, a track, a pixel or a per-frame time.
 */
import { z } from 'zod';
import { COUNTED_CLASSES } from '../models/detection.ts';

const count = z.number().int().nonnegative();
const level = z.number().nonnegative();

export const privacyBlockSchema = z.strictObject({
  /** false only for `--epsilon off` calibration runs; such windows must never be published on a feed. */
  private: z.boolean(),
  mechanism: z.enum(['discrete-laplace', 'discrete-gaussian', 'none']),
  /** ε spent by this release (after dividing the per-event ε over the windows one ρ-long event can touch). */
  epsilon: z.number().nonnegative(),
  delta: z.number().min(0).max(1),
  /** How much one person or vehicle can change each released statistic, in the statistic's own unit. */
  sensitivity: z.record(z.string(), z.number().nonnegative()),
  /** Longest visit protected, in seconds (0: presence within one window). */
  rhoSeconds: z.number().nonnegative(),
  budget: z.strictObject({
    periodSeconds: z.number().positive(),
    epsilonPerPeriod: z.number().nonnegative(),
    epsilonSpent: z.number().nonnegative(),
    epsilonLeft: z.number().nonnegative(),
  }),
  minimumCount: count.optional(),
  /**
   * Standard deviation of the noise on each released count, in objects (mean occupancy: the same, in objects). It
   * follows from the settings alone, not from the data, so it can be published: it tells a reader how far to trust
   * small numbers. Absent when nothing was noised.
   */
  noiseStandardDeviation: z.number().nonnegative().optional(),
});
export type PrivacyBlock = z.infer<typeof privacyBlockSchema>;

const classRecord = <T extends z.ZodType>(value: T) =>
  z.partialRecord(z.enum([...COUNTED_CLASSES, 'vehicle']), value);

export const zoneReleaseSchema = z.strictObject({
  areaSquareMetres: z.number().positive().optional(),
  /** class (and the `vehicle` total) → noised occupancy; densities only when the zone's area is configured. */
  classes: classRecord(
    z.strictObject({
      meanOccupancy: level,
      peakOccupancy: count,
      meanDensityPerSquareMetre: level.optional(),
      peakDensityPerSquareMetre: level.optional(),
    }),
  ),
});

export const lineReleaseSchema = z.strictObject({
  classes: classRecord(z.strictObject({ forward: count, backward: count })),
});

export const releasedWindowSchema = z.strictObject({
  camera: z.string().min(1),
  startSeconds: z.number(),
  endSeconds: z.number(),
  clock: z.enum(['clip', 'wall']),
  status: z.enum(['released', 'withheld']),
  /** Why a window was withheld, e.g. "budget exhausted". */
  withheldReason: z.string().optional(),
  zones: z.record(z.string(), zoneReleaseSchema),
  lines: z.record(z.string(), lineReleaseSchema),
  privacy: privacyBlockSchema,
});
export type ReleasedWindow = z.infer<typeof releasedWindowSchema>;
