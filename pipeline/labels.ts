/**
 * Hand counts for a clip, in the normalised-coordinate format of shared/labels (documented in docs/eval.md):
 * counting lines with the crossings a person counted, and instants with the objects a person saw.
 */
import path from 'node:path';
import { z } from 'zod';
import { parseConfig, readConfigFile } from './config.ts';

const unit = z.number().min(0).max(1);
const categoryCounts = z.strictObject({ person: z.number().int().nonnegative().optional(), vehicle: z.number().int().nonnegative().optional() });

export const labelsSchema = z
  .looseObject({
    /** The clip, relative to the labels folder's parent (shared/ layout: labels/x.json names footage/x.avi). */
    clip: z.string().min(1).optional(),
    lines: z
      .array(
        z.looseObject({
          name: z.string().min(1),
          from: z.tuple([unit, unit]),
          to: z.tuple([unit, unit]),
          crossings: categoryCounts,
          /** How far off the hand count itself may be. */
          tolerance: z.number().nonnegative().default(0),
          /**
           * The direction every object crosses in (a one-way road): crossings counted the other way are phantoms, and
           * `veil eval` reports them. Forward is from the left-hand to the right-hand side walking from `from` to `to`.
           */
          expectedDirection: z.enum(['forward', 'backward']).optional(),
        }),
      )
      .default([]),
    frames: z.array(z.looseObject({ t: z.number().nonnegative(), person: z.number().int().nonnegative().optional(), vehicle: z.number().int().nonnegative().optional() })).default([]),
    /**
     * Visits over the whole clip: the objects of each category that came into view, each once however long it stayed
     * (one who leaves and comes back is two). `veil eval` divides the tracks confirmed by these: tracks per visit.
     */
    visits: categoryCounts.optional(),
  })
  .refine((labels) => labels.lines.length + labels.frames.length > 0 || labels.visits !== undefined, 'a labels file needs `lines`, `frames` or `visits` (or several)');
export type Labels = z.infer<typeof labelsSchema>;

export async function readLabels(file: string): Promise<Labels> {
  return parseConfig(labelsSchema, await readConfigFile(file), `labels file ${file}`);
}

/** The clip a labels file names, resolved as shared/ lays them out; undefined when it names none. */
export function labelledClip(labelsFile: string, labels: Labels): string | undefined {
  return labels.clip && path.resolve(path.dirname(labelsFile), '..', labels.clip);
}
