/**
 * The naive reference Veil's throughput is measured against: the simplest honest script a user would write to run
 * coco-ssd over a clip. ffmpeg decodes the clip to raw RGB on a pipe; this thread cuts the bytes into frames and
 * awaits coco-ssd's own `detect` on each, one after the other:
 *
 *   ffmpeg -vf fps=F,scale=W:H -f rawvideo -pix_fmt rgb24 pipe:1 ──▶ frame bytes ──▶ await model.detect(tensor) ──▶ next
 *
 * Same model (the bundled lite_mobilenet_v2 weights), same backend (whichever `--backend` picks, by Veil's own
 * selection), same frame size as `veil batch`; nothing else of Veil: no worker threads, no read-ahead, no buffer
 * reuse, the graph as coco-ssd loads it (Veil folds its batch norms, biases and activations into the convolutions:
 * models/fuseGraph.ts), coco-ssd's default score threshold and box limit. It uses tfjs and coco-ssd directly, as such a script
 * would; Veil itself keeps them inside models/.
 *
 *   npx tsx bench/naive.ts CLIP [--fps 5] [--max-width 640] [--backend auto]
 *
 * prints the frames analysed, the person detections found and the frames per second. `npm run bench:naive`
 * (bench/naive.bench.ts) imports it to alternate it with Veil in one process.
 */
import { spawn, spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import * as cocoSsd from '@tensorflow-models/coco-ssd';
import * as tf from '@tensorflow/tfjs-core';
import { BACKEND_CHOICES, chooseBackend, type BackendChoice, type ChosenBackend } from '../models/backend.ts';
import { BUNDLED_MODEL_DIR, BUNDLED_MODEL_SHA256, folderModelHandler } from '../models/weights.ts';

export interface NaiveModel {
  model: cocoSsd.ObjectDetection;
  backend: ChosenBackend;
}

/** Loads coco-ssd lite_mobilenet_v2 from the bundled weights (sha256-checked) on `backend`, in this thread. */
export async function loadNaiveModel(backend: BackendChoice): Promise<NaiveModel> {
  const chosen = await chooseBackend(backend);
  // coco-ssd types modelUrl as a string but hands it to loadGraphModel, which takes an IOHandler as well.
  const modelUrl = folderModelHandler(BUNDLED_MODEL_DIR, BUNDLED_MODEL_SHA256) as unknown as string;
  return { model: await cocoSsd.load({ base: 'lite_mobilenet_v2', modelUrl }), backend: chosen };
}

export interface NaiveRun {
  ffmpegPath: string;
  clip: string;
  fps: number;
  /** The frame size ffmpeg scales to, in pixels. */
  width: number;
  height: number;
  /** Analyse only the clip's first seconds (a warm-up). */
  durationSeconds?: number;
}

/** Frames analysed and person detections found (coco-ssd's defaults: score ≥ 0.5, at most 20 boxes a frame). */
export interface NaiveResult {
  frames: number;
  personDetections: number;
}

/** Runs the naive loop over the clip. Throws when ffmpeg fails, with the last line it said. */
export async function runNaive({ model }: NaiveModel, run: NaiveRun): Promise<NaiveResult> {
  const excerpt = run.durationSeconds ? ['-t', String(run.durationSeconds)] : [];
  const ffmpeg = spawn(run.ffmpegPath, ['-v', 'error', '-i', run.clip, ...excerpt, '-an', '-vf', `fps=${run.fps},scale=${run.width}:${run.height}`, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1']);
  let stderr = '';
  ffmpeg.stderr.on('data', (text: Buffer) => (stderr += text.toString()));
  const exited = new Promise<number | null>((resolve) => ffmpeg.once('close', resolve));
  const frameBytes = run.width * run.height * 3;
  const result: NaiveResult = { frames: 0, personDetections: 0 };
  let chunks: Buffer[] = [];
  let buffered = 0;
  for await (const chunk of ffmpeg.stdout as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    buffered += chunk.length;
    while (buffered >= frameBytes) {
      const bytes = Buffer.concat(chunks);
      const image = tf.tensor3d(bytes.subarray(0, frameBytes), [run.height, run.width, 3], 'int32');
      const found = await model.detect(image);
      image.dispose();
      result.frames += 1;
      result.personDetections += found.filter((object) => object.class === 'person').length;
      chunks = [bytes.subarray(frameBytes)];
      buffered -= frameBytes;
    }
  }
  const code = await exited;
  if (code !== 0) throw new Error(`ffmpeg could not decode ${run.clip}: ${stderr.trim().split('\n').at(-1) ?? `exit code ${code}`}`);
  return result;
}

/** The size `veil batch` decodes a `width` × `height` clip at: at most `maxWidth` wide, aspect kept, height even. */
function scaledSize(width: number, height: number, maxWidth: number): { width: number; height: number } {
  const scaledWidth = Math.min(maxWidth, width);
  return { width: scaledWidth, height: 2 * Math.round((scaledWidth * height) / width / 2) };
}

async function main() {
  const { values, positionals } = parseArgs({
    options: { fps: { type: 'string', default: '5' }, 'max-width': { type: 'string', default: '640' }, backend: { type: 'string', default: 'auto' } },
    allowPositionals: true,
  });
  const clip = positionals[0];
  if (!clip) throw new Error('usage: npx tsx bench/naive.ts CLIP [--fps 5] [--max-width 640] [--backend auto]');
  if (!(BACKEND_CHOICES as readonly string[]).includes(values.backend)) throw new Error(`--backend ${values.backend}: expected one of ${BACKEND_CHOICES.join(', ')}`);
  const probe = spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height', '-of', 'csv=p=0', clip], { encoding: 'utf8' });
  const [width, height] = probe.stdout.trim().split(',').map(Number);
  if (probe.status !== 0 || !width || !height) throw new Error(`ffprobe could not read the picture size of ${clip}: ${probe.stderr.trim() || 'is ffprobe installed?'}`);
  const loaded = await loadNaiveModel(values.backend as BackendChoice);
  const startedMs = performance.now();
  const result = await runNaive(loaded, { ffmpegPath: 'ffmpeg', clip, fps: Number(values.fps), ...scaledSize(width, height, Number(values['max-width'])) });
  const seconds = (performance.now() - startedMs) / 1000;
  console.log(`${result.frames} frames, ${result.personDetections} person detections, ${(result.frames / seconds).toFixed(2)} frames/s on the ${loaded.backend.name} backend`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
