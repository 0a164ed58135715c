/**
 * The CenterNet tier: the COCO CenterNet (MobileNetV3 backbone, github.com/610265158/mobilenetv3_centernet) that the
 * npm package `@vladmandic/human` ships as `models/centernet.json` + `centernet.bin` (MIT, 4.0 MB, float16 weights
 * dequantised by TF.js at load). Installed offline with Veil's dependencies; checked by sha256 at every load.
 *
 * The graph, as its signature in centernet.json documents it:
 *   input  `tower_0/images`      float32 [1, 512, 512, 3], RGB values 0–255 (no normalisation)
 *   output `tower_0/detections`  float32 [1, 100, 6]: the 100 strongest heat-map peaks, each
 *          [xMin, yMin, xMax, yMax, score, class] with the corners in pixels of the 512 × 512 input and class the
 *          0-based index into COCO's 80 detection classes (0 person, 1 bicycle, 2 car, 3 motorcycle, 5 bus, 7 truck).
 * The frame is stretched to 512 × 512 (not letterboxed), so dividing a corner by 512 gives it in frame coordinates.
 *
 * Scores: CenterNet's heat-map peaks score people lower than coco-ssd does for the same picture, so one counting
 * threshold cannot serve both. Its scores are mapped onto coco-ssd lite's scale, piecewise linearly, so that its own
 * counting level (CENTERNET_COUNTING_SCORE, chosen on the labelled clips: README, "Detector tiers") lands on Veil's default
 * counting threshold (0.4) and 0 and 1 stay where they are. The order of scores is kept, so NMS and the tracker's
 * two passes see the same ranking; `--score` then means the same on every tier.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import * as tf from '@tensorflow/tfjs-core';
import { chooseBackend } from './backend.ts';
import type { Detector, DetectorOptions } from './cocoSsd.ts';
import { type CountedClass, type Detection } from './detection.ts';
import { suppressOverlaps } from './nms.ts';
import { folderModelHandler } from './weights.ts';
import { scratchDetections } from './frameScratch.ts';

const require = createRequire(import.meta.url);

/**
 * Where npm installed the model: the package's `models/` folder. Its exports map hides package.json, so the folder is
 * found from the entry point Node resolves (`dist/human.node.js`, which is never loaded).
 */
export const CENTERNET_MODEL_DIR = path.resolve(path.dirname(require.resolve('@vladmandic/human')), '..', 'models');
export const CENTERNET_MODEL_JSON = 'centernet.json';

/** sha256 of the two files as @vladmandic/human 3.3.6 publishes them (package-lock.json pins that version). */
export const CENTERNET_SHA256: Readonly<Record<string, string>> = {
  'centernet.json': 'bfb942eaacc5becf738d536663bc4580a0ae9e560722306e6d4dd7fe4a09de05',
  'centernet.bin': '1b635a15009071f506f9f2b3519b31c072c534888989f30d269ffd44734ef7ef',
};

/** The graph's square input side, in pixels (its signature). */
const INPUT_SIDE = 512;
const DETECTIONS_OUTPUT = 'tower_0/detections';
/** Numbers per row of the detections output: four corners, score, class. */
const ROW_LENGTH = 6;

/** 0-based COCO-80 class index → the classes Veil counts. */
const COCO80_TO_CLASS: Readonly<Record<number, CountedClass>> = { 0: 'person', 1: 'bicycle', 2: 'car', 3: 'motorcycle', 5: 'bus', 7: 'truck' };

/**
 * CenterNet's raw score at which a detection counts, mapped to Veil's default threshold of 0.4. Chosen on the campus
 * instants at 5 fps (README, "Detector tiers"): raw 0.30 over-counted by 2 at five of six, 0.42 under-counted by up to
 * 3, 0.36 was within one at five of six; then checked on every labelled clip.
 */
export const CENTERNET_COUNTING_SCORE = 0.36;
/** Veil's default counting threshold (pipeline/config.ts, scoreThreshold), where CENTERNET_COUNTING_SCORE lands. */
const VEIL_COUNTING_SCORE = 0.4;

/**
 * A raw CenterNet score on coco-ssd lite's scale: linear from (0, 0) to (CENTERNET_COUNTING_SCORE, 0.4) and from there
 * to (1, 1). Monotone, so the ranking of detections is unchanged.
 */
export function calibratedScore(raw: number): number {
  const clamped = Math.min(1, Math.max(0, raw));
  if (clamped <= CENTERNET_COUNTING_SCORE) return (clamped / CENTERNET_COUNTING_SCORE) * VEIL_COUNTING_SCORE;
  return VEIL_COUNTING_SCORE + ((clamped - CENTERNET_COUNTING_SCORE) / (1 - CENTERNET_COUNTING_SCORE)) * (1 - VEIL_COUNTING_SCORE);
}

/**
 * Loads the CenterNet tier on `options.backend`, in this thread. `detect` takes packed RGB24 bytes of any size and
 * returns detections in frame coordinates, scored on coco-ssd lite's scale (calibratedScore), from `options.minScore`
 * up, after class-aware NMS at `options.nmsIou`, at most `options.maxDetections`. Throws when a model file is missing,
 * unreadable or fails its sha256 (the message names the file and says to reinstall), or the backend cannot start.
 */
export async function loadCenterNet(options: DetectorOptions): Promise<Detector> {
  const backend = await chooseBackend(options.backend);
  const graph = await loadGraphModel(folderModelHandler(CENTERNET_MODEL_DIR, CENTERNET_SHA256, CENTERNET_MODEL_JSON));

  const detector = scratchDetections(Float32Array, async (input, width, height) => {
    // The graph has no control flow, so it runs synchronously; tidy frees the frame, its resized copy and the output.
    const rows = tf.tidy(() => {
      const resized = tf.image.resizeBilinear(tf.tensor4d(input, [1, height, width, 3], 'float32'), [INPUT_SIDE, INPUT_SIDE]);
      return graph.execute(resized, DETECTIONS_OUTPUT) as tf.Tensor;
    });
    try {
      return toDetections(await rows.data<'float32'>(), options);
    } finally {
      rows.dispose();
    }
  });

  return {
    description: { backend, model: 'CenterNet MobileNetV3 512×512 (from @vladmandic/human, sha256 verified)' },
    get inputScratch() {
      return detector.inputScratch;
    },
    detect: detector.detect,
    dispose() {
      graph.dispose();
    },
  };
}

/** The rows of `tower_0/detections` that are a class Veil counts, scored on coco-ssd lite's scale, after NMS. */
function toDetections(rows: Float32Array, options: Pick<DetectorOptions, 'minScore' | 'nmsIou' | 'maxDetections'>): Detection[] {
  const found: Detection[] = [];
  for (let row = 0; row + ROW_LENGTH <= rows.length; row += ROW_LENGTH) {
    const cocoClass = COCO80_TO_CLASS[Math.round(rows[row + 5]!)];
    const score = calibratedScore(rows[row + 4]!);
    if (!cocoClass || !(score >= options.minScore)) continue;
    const [xMin, yMin, xMax, yMax] = [0, 1, 2, 3].map((k) => Math.min(1, Math.max(0, rows[row + k]! / INPUT_SIDE)));
    const box = { x: xMin!, y: yMin!, width: xMax! - xMin!, height: yMax! - yMin! };
    if (box.width > 0 && box.height > 0) found.push({ cocoClass, score, box });
  }
  return suppressOverlaps(found, options.nmsIou).slice(0, options.maxDetections);
}
