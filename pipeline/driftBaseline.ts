/**
 * A camera's drift baseline on disk: the score and box-size histograms the drift score compares each window with
 * (stages/drift.ts). Local state, like the ledger: never published, never sent on any feed.
 *
 *   writeDriftBaseline('/var/lib/veil/drift-baseline-gate.json', { source: 'calibration', windows: 1, histograms, description: 'veil eval gate.mp4' });
 *   const baseline = readDriftBaseline('/var/lib/veil/drift-baseline-gate.json');   // undefined when there is none
 *
 * Two sources: `calibration`, the exact histograms of an operator's `veil eval --drift-baseline FILE` run on a
 * recording from the camera; `released`, the sum of the camera's first released (noised) windows, which `veil run`
 * builds itself when no calibration baseline is configured. The bins are stored with the counts, so a baseline made
 * with other bins is refused rather than compared bin by bin with the wrong ones.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import { SCORE_BIN_EDGES, SIZE_BIN_EDGES, type DriftHistograms } from '../stages/drift.ts';
import { reasonInWords } from './fsProblems.ts';

const FORMAT = 'veil-drift-baseline';

const baselineFileSchema = z.strictObject({
  format: z.literal(FORMAT),
  version: z.literal(1),
  source: z.enum(['calibration', 'released']),
  /** What it was made from, for a person: the clip, or the released windows' span. */
  description: z.string(),
  /** How many windows were summed (1 for a calibration clip). */
  windows: z.number().int().min(1),
  scoreBinEdges: z.array(z.number()),
  sizeBinEdges: z.array(z.number()),
  histograms: z.strictObject({ score: z.array(z.number()), size: z.array(z.number()) }),
});

export interface DriftBaseline {
  source: 'calibration' | 'released';
  description: string;
  windows: number;
  histograms: DriftHistograms;
}

export class DriftBaselineError extends Error {
  override name = 'DriftBaselineError';
}

const sameEdges = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((edge, index) => edge === b[index]);

/**
 * Reads the baseline at `file`; undefined when there is no such file. Throws DriftBaselineError, naming the file and
 * what to do, when it cannot be read, is not a drift baseline, or was made with other bins.
 */
export function readDriftBaseline(file: string): DriftBaseline | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new DriftBaselineError(`the drift baseline ${file} cannot be read (${reasonInWords(error as NodeJS.ErrnoException)}): fix its permissions, or remove it to build a new one`);
  }
  let parsed;
  try {
    parsed = baselineFileSchema.parse(JSON.parse(text));
  } catch {
    throw new DriftBaselineError(`${file} is not a Veil drift baseline: write one with \`veil eval CLIP --drift-baseline ${file}\`, or remove the file so that \`veil run\` builds one from the camera's first released windows`);
  }
  if (!sameEdges(parsed.scoreBinEdges, SCORE_BIN_EDGES) || !sameEdges(parsed.sizeBinEdges, SIZE_BIN_EDGES) || parsed.histograms.score.length !== SCORE_BIN_EDGES.length + 1 || parsed.histograms.size.length !== SIZE_BIN_EDGES.length + 1) {
    throw new DriftBaselineError(`the drift baseline ${file} uses other bins than this Veil: make it again with \`veil eval CLIP --drift-baseline ${file}\` (or remove it to build one from released windows)`);
  }
  return { source: parsed.source, description: parsed.description, windows: parsed.windows, histograms: parsed.histograms };
}

/**
 * Writes `baseline` to `file` whole or not at all (a temporary file renamed into place). Throws DriftBaselineError
 * naming the file when it cannot be written.
 */
export function writeDriftBaseline(file: string, baseline: DriftBaseline): void {
  const body = { format: FORMAT, version: 1, ...baseline, scoreBinEdges: SCORE_BIN_EDGES, sizeBinEdges: SIZE_BIN_EDGES };
  const draft = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(draft, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600 });
    renameSync(draft, file);
  } catch (error) {
    throw new DriftBaselineError(`the drift baseline ${file} cannot be written (${reasonInWords(error as NodeJS.ErrnoException)}): choose a writable folder`);
  }
}
