/**
 * `npm run bench:frugality [-- --only NAME] [--fps N]`: what the motion gate (stages/motion.ts) saves, and what it
 * costs in counts, on the shared footage (../shared/footage, labels and cases). Each clip goes through the analysis
 * `veil eval` runs (the whole frame as one zone, the labelled lines), twice, with the real detector and ffmpeg: gate
 * off, then gate on. Per clip it prints:
 *
 *   inferences         frames the detector ran on / frames, gate on; the ratio is how many times fewer inferences
 *   quiet stretches    the same ratio over the stretches where the scene is empty: runs of at least
 *                      QUIET_STRETCH_SECONDS in which the ungated run counts no object
 *   lines, instants    `veil eval`'s line counts and labelled-instant counts, gate off and on
 *   occupancy          objects in view per frame, summed over the clip, gate off and on (every frame an instant)
 *   CPU s per hour     process CPU time (detector threads included) per hour of footage, gate off and on
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

/** Every labels file in ../shared/labels and ../shared/cases, and the parking lot (no labels: gated vs ungated only). */
async function subjects(): Promise<Subject[]> {
  const found: Subject[] = [];
  for (const folder of ['labels', 'cases']) {
    for (const file of readdirSync(path.join(SHARED, folder)).filter((name) => name.endsWith('.json')).sort()) {
      const labelsFile = path.join(SHARED, folder, file);
      const labels = await readLabels(labelsFile);
      found.push({ name: `${folder}/${file}`, clip: labelledClip(labelsFile, labels)!, labels });
    }
  }
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

const { values } = parseArgs({ args: process.argv.slice(2), options: { only: { type: 'string' }, fps: { type: 'string', default: '5' } } });
const log = createLogger('text', () => undefined);
const ffmpeg = await findFfmpeg(undefined, log);
const config = await clipJobConfig({ fps: values.fps }, { epsilon: 'off' });
const parts = await startParts(config, ffmpeg, log);

function objectsIn(counts: ClassCounts | undefined): number {
  return counts ? [...classesOf('person'), ...classesOf('vehicle')].reduce((sum, name) => sum + counts[name], 0) : 0;
}

async function analyse(subject: Subject, gate: boolean): Promise<RunResult> {
  const frames: FrameRecord[] = [];
  let clipSeconds = 0;
  const cpuBefore = process.cpuUsage();
  const outcome = await runBatch({
    input: subject.clip,
    ffmpeg,
    detector: parts.detector,
    analysis: { ...config, motionGate: { ...config.motionGate, enabled: gate }, zones: [WHOLE_FRAME_ZONE], lines: subject.labels.lines, windowLengths: [60] },
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
const within = (gated: number, ungated: number) => Math.abs(gated - ungated) <= COUNT_TOLERANCE * Math.max(ungated, 1);

try {
  for (const subject of await subjects()) {
    if (values.only && !subject.name.includes(values.only)) continue;
    const ungated = await analyse(subject, false);
    const gated = await analyse(subject, true);
    const out = [`${subject.name} (${path.basename(subject.clip)}, ${config.fps} frames/s)`];
    const { run, skipped } = gated.inferences;
    out.push(`  inferences: ${run} of ${run + skipped} frames (${ratio(run + skipped, run)} fewer); ungated ${ungated.inferences.run}`);
    const stretches = quietStretches(ungated.frames);
    const quiet = gated.frames.filter((_, index) => stretches.some(([first, last]) => index >= first && index <= last));
    const quietRun = quiet.filter((frame) => !frame.skipped).length;
    const spans = stretches.map(([first, last]) => `${ungated.frames[first]!.ptsSeconds.toFixed(1)}–${ungated.frames[last]!.ptsSeconds.toFixed(1)} s`);
    out.push(`  quiet stretches (${spans.join(', ') || 'none'}): detector on ${quietRun} of ${quiet.length} frames (${quiet.length ? ratio(quiet.length, quietRun) : '–'} fewer)`);
    gated.lines.forEach((line, index) => {
      const off = ungated.lines[index]!;
      out.push(`  line ${line.line} ${line.category}: ungated ${off.counted} (fwd ${off.forward}, back ${off.backward}), gated ${line.counted} (fwd ${line.forward}, back ${line.backward}), hand ${line.expected} ± ${line.tolerance} — ${within(line.counted, off.counted) ? 'within 5%' : 'DIFFERS BY MORE THAN 5%'}`);
    });
    if (subject.labels.frames.length) {
      const hand = subject.labels.frames.map((instant) => (instant.person ?? 0) + (instant.vehicle ?? 0));
      out.push(`  instants (hand / ungated / gated): ${subject.labels.frames.map((instant, i) => `t=${instant.t} ${hand[i]}/${ungated.instants[i]}/${gated.instants[i]}`).join(', ')}`);
    }
    const sum = (result: RunResult) => result.frames.reduce((total, frame) => total + frame.objects, 0);
    const frameDifferences = gated.frames.filter((frame, index) => frame.objects !== ungated.frames[index]?.objects).length;
    out.push(`  occupancy, objects × frames: ungated ${sum(ungated)}, gated ${sum(gated)} — ${within(sum(gated), sum(ungated)) ? 'within 5%' : 'DIFFERS BY MORE THAN 5%'}; frames whose count differs: ${frameDifferences} of ${gated.frames.length}`);
    out.push(`  tracks confirmed: ungated ${ungated.tracksConfirmed}, gated ${gated.tracksConfirmed}`);
    const perHour = (result: RunResult) => ((result.cpuSeconds / result.clipSeconds) * 3600).toFixed(0);
    out.push(`  CPU s per hour of footage (as measured, machine load included): ungated ${perHour(ungated)}, gated ${perHour(gated)}`);
    console.log(out.join('\n'));
  }
} finally {
  await parts.detector.close();
}
