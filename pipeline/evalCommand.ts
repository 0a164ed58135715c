/**
 * `veil eval --labels FILE [CLIP]`: how far Veil's exact, noise-free counts are from a person's hand counts. This is
 * how an operator checks a camera placement before going live. Nothing is released: no noise, no budget spent,
 * no file written but the drift baseline asked for (`--drift-baseline`, local); the comparison is printed (and with
 * `--json`, printed as JSON). `veil eval CLIP --drift-baseline FILE` without `--labels` writes the baseline alone:
 * a calibration recording needs no hand counts.
 */
import { classesOf, type Category, type CountedClass } from '../models/detection.ts';
import type { WindowAggregate } from '../stages/aggregates.ts';
import type { ClassCounts } from '../stages/zones.ts';
import { parseFlags, UsageError } from './args.ts';
import { runBatch } from './batch.ts';
import { CLIP_FLAGS, CLIP_FLAGS_HELP, checkClipInput, clipExcerpt, clipInput, clipJobConfig, displayName, logBlindDetector, logFormatFlag, progressTotalSeconds, findFfmpeg, startParts } from './clipJob.ts';
import { WHOLE_FRAME_ZONE } from '../stages/zones.ts';
import { labelledClip, readLabels, type Labels } from './labels.ts';
import { createLogger } from './log.ts';
import { createProgress } from './progress.ts';
import { evalFigures, publishEvalFigures, readEvalPublishTarget } from './evalPublish.ts';
import { describeInferences } from './summary.ts';
import { baselineTracks, checkBaselineDestination, RECOMMENDED_BASELINE_TRACKS, writeDriftBaseline } from './driftBaseline.ts';

export const EVAL_HELP = `Usage: veil eval --labels FILE [CLIP] [options]
       veil eval CLIP --drift-baseline FILE [options]

Runs the analysis with no noise on CLIP (default: the clip the labels file names) and compares it with hand counts:
crossings of each labelled counting line, and objects visible at labelled instants. Prints the error of each and
overall, and the tracks per labelled crossing and per labelled visit (fragmentation); --json prints the same as JSON. Exit code 0 when every line is within its tolerance, 3 when one is not. Labelled crossings and visits
count the whole clip: with --start or --duration they are shown but not compared (nor instants outside the excerpt).
Without --labels, --drift-baseline FILE is required: the clip's drift baseline is written and its track count printed,
with no comparison (exit code 0).

  --labels FILE        hand counts (format: docs/eval.md, e.g. ../shared/labels/traffic_overpass.json)
  --json               print the comparison as JSON
  --publish SITE.yaml  also send the error figures only (per line and category, the instants' mean error, the
                       clip's length; no count) to the broker in the box's mqtt section, retained, for
                       veil aggregate's fleet accuracy table (federated evaluation, docs/fleet.md)
  --camera ID          with --publish: the camera of SITE.yaml this evaluation is for
  --drift-baseline FILE
                       also write the clip's drift histograms (each confirmed track's median detection score and
                       box size) to FILE, as the baseline \`veil run\` compares the camera's released drift with
                       (drift.baseline in site.yaml, docs/drift.md); exact, local, never published. FILE's folder
                       must exist; an existing FILE is never replaced unless it is a drift baseline and
                       --replace-baseline is given. Warns below ${RECOMMENDED_BASELINE_TRACKS} tracks.
  --replace-baseline   with --drift-baseline: write over an existing drift baseline
${CLIP_FLAGS_HELP}`;

const FLAGS = { ...CLIP_FLAGS, labels: { type: 'string' }, json: { type: 'boolean' }, publish: { type: 'string' }, camera: { type: 'string' }, 'drift-baseline': { type: 'string' }, 'replace-baseline': { type: 'boolean' } } as const;
const EXIT_OUTSIDE_TOLERANCE = 3;
/** Eval compares whole-clip totals and instants, so windows only bound memory; their length changes no result. */
const EVAL_WINDOW_SECONDS = 60;

export interface LineComparison {
  line: string;
  category: Category;
  expected: number;
  counted: number;
  forward: number;
  backward: number;
  error: number;
  tolerance: number;
  withinTolerance: boolean;
  /** When the labels name the direction all traffic takes: the crossings counted the other way (phantoms). */
  expectedDirection?: 'forward' | 'backward';
  againstExpectedDirection?: number;
  /**
   * Why the count cannot be held against the hand count, when it cannot: the labels count the whole clip and only an
   * excerpt was analysed. Such a line is not judged (it does not make eval exit 3).
   */
  notComparable?: string;
}

/** The part of the clip analysed, in seconds of the clip, when it is less than the whole clip the labels count. */
export interface PartialExcerpt {
  startSeconds: number;
  /** Infinity when the clip's length is unknown and no `--duration` was given. */
  endSeconds: number;
  /** The clip's length as ffmpeg reported it; undefined for a stream that reports none. */
  clipSeconds: number | undefined;
}

/**
 * The excerpt (`--start`, `--duration`) when it leaves out part of the clip, else undefined. Labelled crossings and
 * visits are whole-clip totals with no times (docs/eval.md), so they can only be compared over the whole clip. With
 * `clipSeconds` unknown, any `--start` or `--duration` counts as partial, since nothing says it reaches the end.
 */
export function partialExcerpt(clipSeconds: number | undefined, excerpt: { startSeconds?: number; durationSeconds?: number }): PartialExcerpt | undefined {
  const startSeconds = excerpt.startSeconds ?? 0;
  const endSeconds = Math.min(startSeconds + (excerpt.durationSeconds ?? Infinity), clipSeconds ?? Infinity);
  const reachesEnd = clipSeconds === undefined ? excerpt.durationSeconds === undefined : endSeconds >= clipSeconds;
  return startSeconds <= 0 && reachesEnd ? undefined : { startSeconds, endSeconds, clipSeconds };
}

const seconds = (value: number) => `${Number(value.toFixed(1))} s`;

/** Says why whole-clip labels cannot be held against an excerpt's counts, with both spans. */
export function excerptNotComparable(excerpt: PartialExcerpt): string {
  const clip = excerpt.clipSeconds === undefined ? 'the whole clip' : `the whole clip (${seconds(excerpt.clipSeconds)})`;
  const span = Number.isFinite(excerpt.endSeconds)
    ? `the excerpt is ${seconds(excerpt.endSeconds - excerpt.startSeconds)} (${Number(excerpt.startSeconds.toFixed(1))}–${seconds(excerpt.endSeconds)})`
    : `the excerpt starts at ${seconds(excerpt.startSeconds)}`;
  return `not comparable: the labels count ${clip}, ${span}; run without --start and --duration to compare`;
}

/** How `forward` reads for a line drawn from `from` to `to` (stages/lines.ts's convention). */
export const FORWARD_MEANING = 'forward = from left to right, walking from→to';

/**
 * Track fragmentation on one line: the tracks that reached it per labelled crossing. 1 when each object that crossed
 * was one track; above 1 when objects were split into several tracks (an identity lost and not re-acquired); below 1
 * when objects were missed. The privacy stage's unit is a track, so this says how often one person becomes two.
 */
export interface LineFragmentation {
  line: string;
  tracksReaching: number;
  labelledCrossings: number;
  tracksPerCrossing: number | undefined;
}

/**
 * Track fragmentation over visits: the tracks confirmed in the whole frame per labelled visit, for one category. 1 when
 * each object that came into view was one track for as long as it stayed; above 1 when a stay was split into several
 * tracks (an object standing still that the detector lost for longer than the tracker bridges); below 1 when objects
 * were missed. Occupancy's privacy unit is a track's visit, so this is the figure behind it.
 */
export interface VisitFragmentation {
  category: Category;
  tracksConfirmed: number;
  labelledVisits: number;
  tracksPerVisit: number | undefined;
}

export interface InstantComparison {
  t: number;
  frameSeconds: number;
  category: Category;
  expected: number;
  counted: number;
  error: number;
}

function categoryTotal(counts: ClassCounts, category: Category): number {
  return classesOf(category).reduce((sum, name) => sum + counts[name], 0);
}

/**
 * Per labelled line and category, the crossings counted against the hand count. With `excerpt` (a part of the clip),
 * every row is marked `notComparable`: the hand counts are whole-clip totals.
 */
export function compareLines(labels: Labels, windows: readonly WindowAggregate[], excerpt?: PartialExcerpt): LineComparison[] {
  return labels.lines.flatMap((line) =>
    (Object.entries(line.crossings) as Array<[Category, number | undefined]>)
      .filter((entry): entry is [Category, number] => entry[1] !== undefined)
      .map(([category, expected]) => {
        let forward = 0;
        let backward = 0;
        const inCategory = classesOf(category);
        for (const window of windows) {
          for (const name of inCategory) {
            forward += window.lines[line.name]?.[name]?.forward ?? 0;
            backward += window.lines[line.name]?.[name]?.backward ?? 0;
          }
        }
        const counted = forward + backward;
        const against = line.expectedDirection === undefined ? {} : { expectedDirection: line.expectedDirection, againstExpectedDirection: line.expectedDirection === 'forward' ? backward : forward };
        const judged = excerpt === undefined ? {} : { notComparable: excerptNotComparable(excerpt) };
        return { line: line.name, category, expected, counted, forward, backward, error: counted - expected, tolerance: line.tolerance, withinTolerance: Math.abs(counted - expected) <= line.tolerance, ...against, ...judged };
      }),
  );
}

/** Per labelled line, tracks that reached it per labelled crossing (all categories together). */
export function lineFragmentation(labels: Labels, tracksReachingLine: Record<string, number>): LineFragmentation[] {
  return labels.lines.map((line) => {
    const labelledCrossings = Object.values(line.crossings).reduce<number>((sum, count) => sum + (count ?? 0), 0);
    const tracksReaching = tracksReachingLine[line.name] ?? 0;
    return { line: line.name, tracksReaching, labelledCrossings, tracksPerCrossing: labelledCrossings > 0 ? tracksReaching / labelledCrossings : undefined };
  });
}

/** Per category with labelled visits, the tracks confirmed (as a class of that category) per visit. */
export function visitFragmentation(labels: Labels, tracksConfirmedByClass: Partial<Record<CountedClass, number>>): VisitFragmentation[] {
  return (Object.entries(labels.visits ?? {}) as Array<[Category, number | undefined]>)
    .filter((entry): entry is [Category, number] => entry[1] !== undefined)
    .map(([category, labelledVisits]) => {
      const tracksConfirmed = classesOf(category).reduce((sum, name) => sum + (tracksConfirmedByClass[name] ?? 0), 0);
      return { category, tracksConfirmed, labelledVisits, tracksPerVisit: labelledVisits > 0 ? tracksConfirmed / labelledVisits : undefined };
    });
}

export async function evalCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, FLAGS, 'eval');
  const driftBaseline = values['drift-baseline'];
  if (!values.labels && !driftBaseline) throw new UsageError('--labels FILE is required: the hand counts to compare with (or, to write a drift baseline only, `veil eval CLIP --drift-baseline FILE`). See `veil eval --help`.');
  if (values['replace-baseline'] && !driftBaseline) throw new UsageError('--replace-baseline goes with --drift-baseline FILE: it allows writing over an existing drift baseline');
  const log = createLogger(logFormatFlag(values));
  if ((values.publish === undefined) !== (values.camera === undefined)) throw new UsageError('--publish SITE.yaml and --camera ID go together: the camera of the site config this evaluation is for');
  if (values.publish !== undefined && !values.labels) throw new UsageError('--publish sends the error figures against hand counts: it needs --labels FILE');
  // Read before the analysis, so a wrong --publish or --drift-baseline is reported in a second, not after the whole clip.
  const publishTo = values.publish === undefined ? undefined : await readEvalPublishTarget(values.publish, values.camera!);
  if (driftBaseline) checkBaselineDestination(driftBaseline, '--drift-baseline', values['replace-baseline'] === true);
  const labels: Labels = values.labels ? await readLabels(values.labels) : { lines: [], frames: [] };
  const input = clipInput(positionals, 'eval', values.labels ? labelledClip(values.labels, labels) : undefined);
  if (!input) throw new UsageError(values.labels ? `${values.labels} names no clip: give one, e.g. \`veil eval --labels ${values.labels} CLIP\`` : `--drift-baseline ${driftBaseline} needs the clip to make it from: \`veil eval CLIP --drift-baseline ${driftBaseline}\``);
  checkClipInput(input);
  const excerpt = clipExcerpt(values);
  const config = await clipJobConfig(values, { epsilon: 'off' });
  const lines = labels.lines.map(({ name, from, to }) => ({ name, from, to }));
  const parts = await startParts(config, await findFfmpeg(values.ffmpeg, log), log);
  // Per labelled instant, the analysed frame nearest to it.
  const nearest = labels.frames.map(() => ({ distance: Infinity, frameSeconds: 0, counts: undefined as ClassCounts | undefined }));
  let durationSeconds: number | undefined;
  try {
    if (values.labels) log.info(`evaluating ${displayName(input)} against ${values.labels}`, { fps: config.fps, lines: lines.length, instants: labels.frames.length });
    else log.info(`analysing ${displayName(input)} for a drift baseline`, { fps: config.fps, file: driftBaseline });
    const outcome = await runBatch({
      input,
      ffmpeg: parts.ffmpeg,
      detector: parts.detector,
      analysis: { ...config, zones: [WHOLE_FRAME_ZONE], lines, windowLengths: [config.windowSeconds ?? EVAL_WINDOW_SECONDS], ...(driftBaseline ? { driftWindowSeconds: EVAL_WINDOW_SECONDS } : {}) },
      release: (aggregate) => aggregate,
      onFrameOccupancy: (ptsSeconds, occupancy) => {
        labels.frames.forEach((instant, index) => {
          const distance = Math.abs(ptsSeconds - instant.t);
          if (distance < nearest[index]!.distance) nearest[index] = { distance, frameSeconds: ptsSeconds, counts: occupancy[WHOLE_FRAME_ZONE.name] };
        });
      },
      ...excerpt,
      onDuration: (seconds) => (durationSeconds = seconds),
      onDecodeWarning: (warning) => log.warn(warning),
      onBlindDetector: logBlindDetector(log, input),
      progress: createProgress(() => progressTotalSeconds(durationSeconds, excerpt)),
    });
    if (driftBaseline) {
      const tracks = baselineTracks(outcome.drift!);
      writeDriftBaseline(driftBaseline, { source: 'calibration', description: `veil eval ${displayName(input)} at ${config.fps} frames/s, ${tracks} tracks`, windows: 1, histograms: outcome.drift! });
      log.info('drift baseline written: keep it on this box, never publish it', { file: driftBaseline, tracks });
      if (tracks < RECOMMENDED_BASELINE_TRACKS) {
        log.warn(`the drift baseline holds only ${tracks} tracks, fewer than the ${RECOMMENDED_BASELINE_TRACKS} docs/drift.md asks for: its bin shares are too coarse to compare hours with. Record longer, or at busier hours, and write it again (--replace-baseline)`, { file: driftBaseline, tracks });
      }
      if (!values.labels) {
        if (values.json) process.stdout.write(`${JSON.stringify({ clip: input, fps: config.fps, driftBaseline, tracks, inferences: outcome.inferences }, null, 2)}\n`);
        else process.stdout.write(`\nVeil eval — ${displayName(input)} at ${config.fps} frames/s: drift baseline written to ${driftBaseline} (${tracks} tracks; no hand counts, so no comparison)\n  ${describeInferences(outcome.inferences)}\n`);
        return 0;
      }
    }
    const partial = partialExcerpt(durationSeconds, excerpt);
    if (partial) log.warn(`the labels count the whole clip: lines and visits are ${excerptNotComparable(partial)}`, { start: partial.startSeconds, end: partial.endSeconds, clip: durationSeconds });
    const lineResults = compareLines(labels, outcome.windows, partial);
    const fragmentation = lineFragmentation(labels, outcome.tracking.tracksReachingLine);
    const visits = visitFragmentation(labels, outcome.tracking.tracksConfirmedByClass);
    // An instant outside the excerpt has no analysed frame near it: the nearest one could be seconds away.
    const outside = (t: number) => partial !== undefined && (t < partial.startSeconds || t > partial.endSeconds);
    const instantsOutsideExcerpt = labels.frames.map((instant) => instant.t).filter(outside);
    const instantResults: InstantComparison[] = labels.frames.flatMap((instant, index) =>
      (outside(instant.t) ? [] : (['person', 'vehicle'] as const))
        .filter((category) => instant[category] !== undefined)
        .map((category) => {
          const found = nearest[index]!;
          const counted = found.counts ? categoryTotal(found.counts, category) : 0;
          return { t: instant.t, frameSeconds: found.frameSeconds, category, expected: instant[category]!, counted, error: counted - instant[category]! };
        }),
    );
    const meanAbsoluteInstantError = instantResults.length ? instantResults.reduce((sum, r) => sum + Math.abs(r.error), 0) / instantResults.length : undefined;
    const allWithin = lineResults.every((r) => r.notComparable !== undefined || r.withinTolerance);
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ clip: input, fps: config.fps, ...(partial ? { excerpt: partial } : {}), lines: lineResults, instants: instantResults, ...(instantsOutsideExcerpt.length ? { instantsOutsideExcerpt } : {}), meanAbsoluteInstantError, allLinesWithinTolerance: allWithin, tracksConfirmed: outcome.tracking.tracksConfirmed, fragmentation, visitFragmentation: visits, inferences: outcome.inferences }, null, 2)}\n`);
    } else {
      const out: string[] = ['', `Veil eval — ${displayName(input)} at ${config.fps} frames/s (no noise: calibration only)`];
      for (const r of lineResults) {
        const against = r.expectedDirection === undefined ? `; ${FORWARD_MEANING}` : `, ${r.againstExpectedDirection} against the expected ${r.expectedDirection}`;
        const verdict = r.notComparable ?? `error ${r.error >= 0 ? '+' : ''}${r.error} ${r.withinTolerance ? 'OK' : 'OUTSIDE TOLERANCE'}`;
        out.push(`  line ${r.line} ${r.category}: counted ${r.counted} (forward ${r.forward}, backward ${r.backward}${against}), hand count ${r.expected} ± ${r.tolerance}, ${verdict}`);
      }
      for (const f of fragmentation) {
        const ratio = f.tracksPerCrossing === undefined ? 'no labelled crossings' : `${f.tracksPerCrossing.toFixed(2)} tracks per labelled crossing`;
        out.push(`  line ${f.line} fragmentation: ${f.tracksReaching} tracks reached it for ${f.labelledCrossings} labelled crossings (${ratio})${partial ? ', not comparable: the labels count the whole clip' : ''}`);
      }
      for (const v of visits) {
        const ratio = v.tracksPerVisit === undefined ? 'no labelled visits' : `${v.tracksPerVisit.toFixed(2)} tracks per labelled visit`;
        out.push(`  ${v.category} visits fragmentation: ${v.tracksConfirmed} tracks confirmed for ${v.labelledVisits} labelled visits (${ratio})${partial ? ', not comparable: the labels count the whole clip' : ''}`);
      }
      for (const r of instantResults) out.push(`  t=${r.t}s (frame at ${r.frameSeconds.toFixed(1)}s) ${r.category}: counted ${r.counted}, hand count ${r.expected}, error ${r.error >= 0 ? '+' : ''}${r.error}`);
      for (const t of instantsOutsideExcerpt) out.push(`  t=${t}s: outside the excerpt, not compared`);
      if (meanAbsoluteInstantError !== undefined) out.push(`  instants: mean absolute error ${meanAbsoluteInstantError.toFixed(2)} over ${instantResults.length}`);
      if (lineResults.length) out.push(`  lines: ${partial ? 'not comparable with an excerpt of the clip' : allWithin ? 'all within tolerance' : 'some OUTSIDE tolerance'}`);
      out.push(`  tracks confirmed over the clip: ${outcome.tracking.tracksConfirmed}`);
      out.push(`  ${describeInferences(outcome.inferences)}`);
      process.stdout.write(`${out.join('\n')}\n`);
    }
    if (publishTo) {
      const clipSeconds = progressTotalSeconds(durationSeconds, excerpt) ?? outcome.windows.reduce((end, w) => Math.max(end, w.endSeconds), 0);
      // Only figures that compare like with like leave the box: no line of an excerpt against whole-clip labels.
      await publishEvalFigures(publishTo, evalFigures(publishTo.camera, clipSeconds, config.fps, lineResults.filter((r) => r.notComparable === undefined), instantResults));
      log.info('error figures published for the fleet accuracy table', { site: publishTo.site, camera: publishTo.camera, broker: publishTo.connection.url });
    }
    return allWithin ? 0 : EXIT_OUTSIDE_TOLERANCE;
  } finally {
    await parts.detector.close();
  }
}
