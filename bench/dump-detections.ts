/**
 * Runs Veil's default detector (the same pool, settings and decoder as `veil batch`) over a clip once and writes
 * every analysed frame's detections to a JSON file, so that tracker and counting-line settings can be compared on
 * real detections in milliseconds instead of re-running inference (see bench/line-counts.ts).
 *
 * The file holds boxes: it is a development artefact for footage Veil's developers already have, never something
 * the product writes. Keep it out of the repository.
 *
 *   npx tsx bench/dump-detections.ts ../shared/footage/traffic_overpass_cars-trucks_320x240.avi --fps 5 --out /tmp/overpass-5fps.json
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { clipJobConfig, startParts } from '../pipeline/clipJob.ts';
import { createLogger } from '../pipeline/log.ts';
import { decodeFrames } from '../streams/ffmpegFrames.ts';
import type { AnalysedFrame } from '../streams/frame.ts';
import { detectFrames } from '../stages/detect.ts';
import { dropFrames } from '../stages/drop.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { fps: { type: 'string', default: '5' }, out: { type: 'string' }, backend: { type: 'string' } },
});
const [clip] = positionals;
if (!clip || !values.out) {
  process.stderr.write('usage: tsx bench/dump-detections.ts CLIP --out FILE.json [--fps N] [--backend NAME]\n');
  process.exit(2);
}

const config = await clipJobConfig({ fps: values.fps, backend: values.backend }, {});
const { ffmpeg, detector } = await startParts(config, undefined, createLogger('text'));
const frames: AnalysedFrame[] = [];
try {
  const decoded = decodeFrames({ ffmpeg, input: clip, fps: config.fps, maxWidth: config.maxWidth });
  for await (const frame of dropFrames(detectFrames(decoded, detector, detector.workerCount))) frames.push(frame);
} finally {
  await detector.close();
}
await writeFile(values.out, JSON.stringify({ clip, fps: config.fps, frames }));
process.stderr.write(`${frames.length} frames from ${clip} at ${config.fps} fps written to ${values.out}\n`);
