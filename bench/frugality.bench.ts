/**
 * `npm run bench:frugality [-- --compare gate|weights] [--only NAME] [--fps N]`: what a frugal setting saves, and what
 * it costs in counts, on the shared footage (../shared/footage, labels and cases). Each clip goes through the analysis
 * `veil eval` runs (the whole frame as one zone, the labelled lines), twice, with the real detector and ffmpeg:
 *
 *   --compare gate     (default) motion gate off, then on (stages/motion.ts)
 *   --compare weights  float32 weights, then uint8 (models/quantiseWeights.ts); the gate off in both
 *
 * Per clip it prints:
 *
 *   inferences         frames the detector ran on / frames, second run; the ratio is how many times fewer inferences
 *   quiet stretches    the same ratio over the stretches where the scene is empty: runs of at least
 *                      QUIET_STRETCH_SECONDS in which the ungated run counts no object
 *   lines, instants    `veil eval`'s line counts and labelled-instant counts, both runs
 *   occupancy          objects in view per frame, summed over the clip, both runs (every frame an instant)
 *   CPU s per hour     process CPU time (detector threads included) per hour of footage, both runs
 *
 * Counts are the result: they are deterministic. CPU seconds are printed as measured; they depend on the machine and
 * on whatever else runs on it, and nothing here asserts one.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runBatch } from '../pipeline/batch.ts';
import { clipJobConfig, findFfmpeg, startParts } from '../pipeline/clipJob.ts';
import { compareLines } from '../pipeline/evalCommand.ts';
import { labelledClip, readLabels, type Labels } from '../pipeline/labels.ts';
import { createLogger } from '../pipeline/log.ts';
import { classesOf } from '../models/detection.ts';
import { WHOLE_FRAME_ZONE, type ClassCounts } from '../stages/zones.ts';
import type { InferenceCounts } from '../stages/motion.ts';

const SHARED = path.resolve(import.meta.dirname, '../../shared');
/** Counts gated within this fraction of the ungated ones: the issue's goal. */
const COUNT_TOLERANCE = 0.05;

/** An empty scene this long or longer is a quiet stretch: long enough for the gate's pattern to show (0.8 s cycles). */
const QUIET_STRETCH_SECONDS = 3;

interface Subject {
  name: string;
  clip: string;
  labels: Labels;
}

/** Veil's own labels, for the bundled sample. */
const CAMPUS_LABELS = path.resolve(import.meta.dirname, '../test/fixtures/labels/campus_people.json');

/**
 * Every labels file in ../shared/labels and ../shared/cases, the bundled sample with Veil's own labels, and the
 * parking lot (no labels: the two runs compared with each other only).
 */
async function subjects(): Promise<Subject[]> {
  const found: Subject[] = [];
  for (const folder of ['labels', 'cases']) {
    for (const file of readdirSync(path.join(SHARED, folder)).filter((name) => name.endsWith('.json')).sort()) {
      const labelsFile = path.join(SHARED, folder, file);
      const labels = await readLabels(labelsFile);
      found.push({ name: `${folder}/${file}`, clip: labelledClip(labelsFile, labels)!, labels });
    }
  }
  const campus = await readLabels(CAMPUS_LABELS);
  found.push({ name: 'test/fixtures/labels/campus_people.json', clip: labelledClip(CAMPUS_LABELS, campus)!, labels: campus });
  found.push({ name: 'footage/parkinglot (no labels)', clip: path.join(SHARED, 'footage/parkinglot_person-bicycle-car_768x432.mp4'), labels: { lines: [], frames: [] } });
  return found;
}

interface FrameRecord {
  ptsSeconds: number;
  objects: number;
  skipped: boolean;
}

interface RunResult {
  lines: ReturnType<typeof compareLines>;
  instants: number[];
  frames: FrameRecord[];
  inferences: InferenceCounts;
  tracksConfirmed: number;
  cpuSeconds: number;
  clipSeconds: number;
}

const { values } = parseArgs({ args: process.argv.slice(2), options: { compare: { type: 'string', default: 'gate' }, only: { type: 'string' }, fps: { type: 'string', default: '5' } } });
const log = createLogger('text', () => undefined);
const ffmpeg = await findFfmpeg(undefined, log);

/** The two settings compared: a name for each, and the clip-job flags that make it. */
const COMPARISONS = {
  gate: [
    { name: 'ungated', flags: { 'motion-gate': 'off' } },
    { name: 'gated', flags: { 'motion-gate': 'on' } },
  ],
  weights: [
    { name: 'float32', flags: { 'motion-gate': 'off', weights: 'float32' } },
    { name: 'uint8', flags: { 'motion-gate': 'off', weights: 'uint8' } },
  ],
} as const;
if (!(values.compare in COMPARISONS)) throw new Error(`--compare ${values.compare}: expected gate or weights`);
const variants = await Promise.all(
  COMPARISONS[values.compare as keyof typeof COMPARISONS].map(async ({ name, flags }) => {
    const config = await clipJobConfig({ fps: values.fps, ...flags }, { epsilon: 'off' });
    return { name, config, parts: await startParts(config, ffmpeg, log) };
  }),
);
type Variant = (typeof variants)[number];

function objectsIn(counts: ClassCounts | undefined): number {
  return counts ? [...classesOf('person'), ...classesOf('vehicle')].reduce((sum, name) => sum + counts[name], 0) : 0;
}

async function analyse(subject: Subject, { config, parts }: Variant): Promise<RunResult> {
  const frames: FrameRecord[] = [];
  let clipSeconds = 0;
  const cpuBefore = process.cpuUsage();
  const outcome = await runBatch({
    input: subject.clip,
    ffmpeg,
    detector: parts.detector,
    analysis: { ...config, zones: [WHOLE_FRAME_ZONE], lines: subject.labels.lines, windowLengths: [60] },
    release: (aggregate) => aggregate,
    onDuration: (seconds) => (clipSeconds = seconds),
    onFrameOccupancy: (ptsSeconds, occupancy, skipped) => frames.push({ ptsSeconds, objects: objectsIn(occupancy[WHOLE_FRAME_ZONE.name]), skipped }),
  });
  const cpu = process.cpuUsage(cpuBefore);
  const nearest = (t: number) => frames.reduce((best, frame) => (Math.abs(frame.ptsSeconds - t) < Math.abs(best.ptsSeconds - t) ? frame : best));
  return {
    lines: compareLines(subject.labels, outcome.windows),
    instants: subject.labels.frames.map((instant) => nearest(instant.t).objects),
    frames,
    inferences: outcome.inferences,
    tracksConfirmed: outcome.tracking.tracksConfirmed,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    clipSeconds: clipSeconds || (frames.at(-1)?.ptsSeconds ?? 0),
  };
}

/** [first, last] frame indices of each run of frames, QUIET_STRETCH_SECONDS or longer, in which no object was counted. */
function quietStretches(frames: FrameRecord[]): Array<[number, number]> {
  const stretches: Array<[number, number]> = [];
  let first: number | undefined;
  frames.forEach((frame, index) => {
    if (frame.objects === 0) first ??= index;
    const ends = frame.objects !== 0 || index === frames.length - 1;
    if (ends && first !== undefined) {
      const last = frame.objects === 0 ? index : index - 1;
      if (frames[last]!.ptsSeconds - frames[first]!.ptsSeconds >= QUIET_STRETCH_SECONDS) stretches.push([first, last]);
      first = undefined;
    }
  });
  return stretches;
}

const ratio = (frames: number, run: number) => (run === 0 ? '∞' : `${(frames / run).toFixed(2)}×`);
const within = (candidate: number, baseline: number) => Math.abs(candidate - baseline) <= COUNT_TOLERANCE * Math.max(baseline, 1);
const verdict = (candidate: number, baseline: number) => (within(candidate, baseline) ? 'within 5%' : 'DIFFERS BY MORE THAN 5%');

try {
  const [first, second] = variants as [Variant, Variant];
  const names = `${first.name} / ${second.name}`;
  for (const subject of await subjects()) {
    if (values.only && !subject.name.includes(values.only)) continue;
    const base = await analyse(subject, first);
    const other = await analyse(subject, second);
    const out = [`${subject.name} (${path.basename(subject.clip)}, ${first.config.fps} frames/s; ${names})`];
    const { run, skipped } = other.inferences;
    out.push(`  inferences, ${second.name}: ${run} of ${run + skipped} frames (${ratio(run + skipped, run)} fewer); ${first.name}: ${base.inferences.run}`);
    const stretches = quietStretches(base.frames);
    const quiet = other.frames.filter((_, index) => stretches.some(([from, to]) => index >= from && index <= to));
    const quietRun = quiet.filter((frame) => !frame.skipped).length;
    const spans = stretches.map(([from, to]) => `${base.frames[from]!.ptsSeconds.toFixed(1)}–${base.frames[to]!.ptsSeconds.toFixed(1)} s`);
    out.push(`  quiet stretches (${spans.join(', ') || 'none'}): ${second.name}, detector on ${quietRun} of ${quiet.length} frames (${quiet.length ? ratio(quiet.length, quietRun) : '–'} fewer)`);
    other.lines.forEach((line, index) => {
      const was = base.lines[index]!;
      out.push(`  line ${line.line} ${line.category} (${names}): ${was.counted} (fwd ${was.forward}, back ${was.backward}) / ${line.counted} (fwd ${line.forward}, back ${line.backward}), hand ${line.expected} ± ${line.tolerance} — ${verdict(line.counted, was.counted)}`);
    });
    if (subject.labels.frames.length) {
      const hand = subject.labels.frames.map((instant) => (instant.person ?? 0) + (instant.vehicle ?? 0));
      out.push(`  instants (hand / ${names}): ${subject.labels.frames.map((instant, i) => `t=${instant.t} ${hand[i]}/${base.instants[i]}/${other.instants[i]}`).join(', ')}`);
    }
    const sum = (result: RunResult) => result.frames.reduce((total, frame) => total + frame.objects, 0);
    const frameDifferences = other.frames.filter((frame, index) => frame.objects !== base.frames[index]?.objects).length;
    out.push(`  occupancy, objects × frames (${names}): ${sum(base)} / ${sum(other)} — ${verdict(sum(other), sum(base))}; frames whose count differs: ${frameDifferences} of ${other.frames.length}`);
    out.push(`  tracks confirmed (${names}): ${base.tracksConfirmed} / ${other.tracksConfirmed}`);
    const perHour = (result: RunResult) => ((result.cpuSeconds / result.clipSeconds) * 3600).toFixed(0);
    out.push(`  CPU s per hour of footage (${names}; as measured, machine load included): ${perHour(base)} / ${perHour(other)}`);
    console.log(out.join('\n'));
  }
} finally {
  await Promise.all(variants.map(({ parts }) => parts.detector.close()));
}
