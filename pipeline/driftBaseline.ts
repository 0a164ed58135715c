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
import { accessSync, constants, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { SCORE_BIN_EDGES, SIZE_BIN_EDGES, type DriftHistograms } from '../stages/drift.ts';
import { errnoOf, PathError, reasonInWords } from './fsProblems.ts';

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

/**
 * A baseline file that cannot be used. The message says what is wrong with the file only: the caller knows where
 * the path came from (a config field, Veil's own state folder) and adds what to do.
 */
export class DriftBaselineError extends Error {
  override name = 'DriftBaselineError';
  /**
   * @param file the baseline's path
   * @param problem what is wrong, e.g. "is not a Veil drift baseline"
   * @param isBaseline whether the file is a drift baseline at all (one with other bins is; a labels file is not)
   */
  constructor(readonly file: string, readonly problem: string, readonly isBaseline: boolean) {
    super(`${file} ${problem}`);
  }
}

/**
 * Tracks a calibration baseline should hold at least: docs/drift.md asks for "a few hundred". A histogram of a dozen
 * tracks is a dozen samples, and its bin shares move by whole tenths from one track to the next.
 */
export const RECOMMENDED_BASELINE_TRACKS = 300;

/** How many tracks a baseline's histograms hold: each track adds exactly one count to the score histogram. */
export const baselineTracks = (histograms: DriftHistograms): number => histograms.score.reduce((sum, count) => sum + count, 0);

const sameEdges = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((edge, index) => edge === b[index]);

/**
 * Reads the baseline at `file`; undefined when there is no such file. Throws DriftBaselineError, naming the file and
 * what is wrong (never what to do: see DriftBaselineError), when it cannot be read, is not a drift baseline, or was
 * made with other bins.
 */
export function readDriftBaseline(file: string): DriftBaseline | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new DriftBaselineError(file, `cannot be read (${reasonInWords(error as NodeJS.ErrnoException)})`, false);
  }
  let parsed;
  try {
    parsed = baselineFileSchema.parse(JSON.parse(text));
  } catch {
    throw new DriftBaselineError(file, 'is not a Veil drift baseline (those are written by `veil eval CLIP --drift-baseline FILE`)', false);
  }
  if (!sameEdges(parsed.scoreBinEdges, SCORE_BIN_EDGES) || !sameEdges(parsed.sizeBinEdges, SIZE_BIN_EDGES) || parsed.histograms.score.length !== SCORE_BIN_EDGES.length + 1 || parsed.histograms.size.length !== SIZE_BIN_EDGES.length + 1) {
    throw new DriftBaselineError(file, 'is a drift baseline made with other bins than this Veil\'s', true);
  }
  return { source: parsed.source, description: parsed.description, windows: parsed.windows, histograms: parsed.histograms };
}

/**
 * Before an analysis that ends by writing a calibration baseline to `file`: throws PathError, naming `setting` (e.g.
 * "--drift-baseline"), when its folder is missing or not writable, when `file` exists and is not a drift baseline
 * (someone's other file: never replaced), or when it is one and `replace` is false (a baseline `veil run` may be
 * comparing with: replaced only when asked). Seconds of checking instead of a whole clip's analysis and then a failure.
 */
export function checkBaselineDestination(file: string, setting: string, replace: boolean): void {
  const folder = path.dirname(path.resolve(file));
  try {
    if (!statSync(folder).isDirectory()) throw new PathError(`${setting} ${file}: ${folder} is a file, not a folder: choose a path in a folder`);
    accessSync(folder, constants.W_OK | constants.X_OK);
  } catch (error) {
    const errno = errnoOf(error);
    if (!errno) throw error;
    if (errno.code === 'ENOENT' || errno.code === 'ENOTDIR') throw new PathError(`${setting} ${file}: the folder ${folder} does not exist: create it first (mkdir -p ${folder}), or choose a path in an existing folder`);
    throw new PathError(`${setting} ${file}: the folder ${folder} cannot be written (${reasonInWords(errno)}): choose a folder the user running Veil can write`);
  }
  let existing: string | undefined;
  try {
    const baseline = readDriftBaseline(file);
    if (baseline) existing = `${baseline.source}: ${baseline.description}`;
  } catch (error) {
    if (!(error instanceof DriftBaselineError)) throw error;
    if (!error.isBaseline) throw new PathError(`${setting} ${file} already exists and ${error.problem}: Veil never replaces such a file; name a new file for the baseline`);
    existing = 'made with other bins than this Veil\'s';
  }
  if (existing !== undefined && !replace) {
    throw new PathError(`${setting} ${file} already holds a drift baseline (${existing}): add --replace-baseline to write over it, or name a new file`);
  }
}

/**
 * Writes `baseline` to `file` whole or not at all (a temporary file renamed into place). Throws DriftBaselineError
 * naming the file (or its folder, when that is what is missing) when it cannot be written.
 */
export function writeDriftBaseline(file: string, baseline: DriftBaseline): void {
  const body = { format: FORMAT, version: 1, ...baseline, scoreBinEdges: SCORE_BIN_EDGES, sizeBinEdges: SIZE_BIN_EDGES };
  const draft = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(draft, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600 });
    renameSync(draft, file);
  } catch (error) {
    const errno = error as NodeJS.ErrnoException;
    if (errno.code === 'ENOENT') throw new DriftBaselineError(file, `cannot be written: its folder ${path.dirname(path.resolve(file))} does not exist`, false);
    throw new DriftBaselineError(file, `cannot be written (${reasonInWords(errno)}): choose a writable folder`, false);
  }
}
