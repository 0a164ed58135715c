/**
 * Replays detections dumped by bench/dump-detections.ts through the tracker and the counting lines of a labels file
 * (../shared/labels/*.json) and prints Veil's noise-free crossing counts next to the hand counts. Tracker and line
 * options can be overridden to compare settings on the same detections:
 *
 *   npx tsx bench/line-counts.ts /tmp/overpass-5fps.json ../shared/labels/traffic_overpass.json
 *   npx tsx bench/line-counts.ts /tmp/overpass-5fps.json ../shared/labels/traffic_overpass.json \
 *     --tracker '{"minHitsToConfirm":2}' --lines '{"hysteresisBand":0.03}'
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { COCO_CLASS_CATEGORY, COUNTED_CLASSES } from '../models/detection.ts';
import { countingLineSchema, LineCounter, type LineCrossing } from '../stages/lines.ts';
import { Tracker } from '../stages/track.ts';

const box = z.strictObject({ x: z.number(), y: z.number(), width: z.number(), height: z.number() });
const dumpSchema = z.object({
  clip: z.string(),
  fps: z.number(),
  frames: z.array(
    z.strictObject({
      index: z.number(),
      ptsSeconds: z.number(),
      detections: z.array(z.strictObject({ cocoClass: z.enum(COUNTED_CLASSES), score: z.number(), box })),
    }),
  ),
});
const labelsSchema = z.object({
  lines: z.array(
    countingLineSchema.extend({
      crossings: z.record(z.string(), z.number()),
      tolerance: z.number().optional(),
      direction: z.string().optional(),
      by_lane: z.record(z.string(), z.number()).optional(),
    }),
  ),
});

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { tracker: { type: 'string', default: '{}' }, lines: { type: 'string', default: '{}' } },
});
const [dumpFile, labelsFile] = positionals;
if (!dumpFile || !labelsFile) {
  process.stderr.write('usage: tsx bench/line-counts.ts DUMP.json LABELS.json [--tracker JSON] [--lines JSON]\n');
  process.exit(2);
}

const dump = dumpSchema.parse(JSON.parse(await readFile(dumpFile, 'utf8')));
const labels = labelsSchema.parse(JSON.parse(await readFile(labelsFile, 'utf8')));
const tracker = new Tracker(JSON.parse(values.tracker));
const counter = new LineCounter(
  labels.lines.map(({ name, from, to }) => ({ name, from, to })),
  JSON.parse(values.lines),
);
const crossings: LineCrossing[] = dump.frames.flatMap((frame) => counter.update(tracker.update(frame)));

for (const line of labels.lines) {
  const onLine = crossings.filter((crossing) => crossing.line === line.name);
  const byCategory = new Map<string, { forward: number; backward: number }>();
  for (const { cocoClass, direction } of onLine) {
    const category = COCO_CLASS_CATEGORY[cocoClass];
    const counts = byCategory.get(category) ?? { forward: 0, backward: 0 };
    counts[direction] += 1;
    byCategory.set(category, counts);
  }
  for (const [category, expected] of Object.entries(line.crossings)) {
    const counted = byCategory.get(category) ?? { forward: 0, backward: 0 };
    const total = counted.forward + counted.backward;
    const tolerance = line.tolerance ?? 0;
    const verdict = Math.abs(total - expected) <= tolerance ? 'within' : 'OUTSIDE';
    process.stdout.write(
      `${dump.clip} @ ${dump.fps} fps, line ${line.name}, ${category}: ${total} ` +
        `(forward ${counted.forward}, backward ${counted.backward}); hand count ${expected} ± ${tolerance}: ${verdict}\n`,
    );
  }
  const classes = onLine.reduce<Record<string, number>>((tally, { cocoClass }) => {
    tally[cocoClass] = (tally[cocoClass] ?? 0) + 1;
    return tally;
  }, {});
  process.stdout.write(`  by class: ${JSON.stringify(classes)}\n`);
}
