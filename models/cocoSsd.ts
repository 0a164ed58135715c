/**
 * The coco-ssd detector, in this thread. Everything about tensors stays in this file: callers hand in RGB bytes and
 * get back `Detection[]`.
 *
 * coco-ssd's own `detect(img, maxBoxes, minScore)` uses minScore as the NMS IoU threshold too, so a low score
 * threshold (which the tracker's second pass needs) would merge neighbouring people. Veil therefore loads the model
 * through coco-ssd and runs its graph itself, with a class-aware NMS whose IoU threshold is independent. The graph is
 * loaded with each convolution's batch norm, bias and ReLU6 folded into it (models/fuseGraph.ts): the same numbers to
 * float32 rounding, 14 % less CPU a frame on wasm.
 */
import * as cocoSsd from '@tensorflow-models/coco-ssd';
import type { GraphModel } from '@tensorflow/tfjs-converter';
import * as tf from '@tensorflow/tfjs-core';
import { chooseBackend, type BackendChoice, type ChosenBackend } from './backend.ts';
import { type Box, type CountedClass, type Detection } from './detection.ts';
import { BUNDLED_MODEL_DIR, BUNDLED_MODEL_SHA256, BUNDLED_UINT8_MODEL_DIR, BUNDLED_UINT8_MODEL_SHA256, folderModelHandler } from './weights.ts';
import { scratchDetections } from './frameScratch.ts';
import { fusingHandler } from './fuseGraph.ts';
import { suppressOverlaps } from './nms.ts';
import { MOBILENET_V2_URL, OFFLINE_TIERS, type DetectorTier } from './tiers.ts';

/** COCO label map of the SSD graph: output column j is COCO id j + 1. Only the classes Veil can count. */
const COCO_ID_TO_CLASS: Readonly<Record<number, CountedClass>> = {
  1: 'person',
  2: 'bicycle',
  3: 'car',
  4: 'motorcycle',
  6: 'bus',
  8: 'truck',
};

/**
 * minScore 0.1: detections below the counting threshold still reach the tracker, whose second (ByteTrack) pass uses
 * them to keep occluded objects' tracks alive. nmsIou 0.5: boxes of one category overlapping more are one object.
 */
export const DETECTION_LIMITS = { minScore: 0.1, nmsIou: 0.5, maxDetections: 100 } as const;

export interface DetectorOptions {
  backend: BackendChoice;
  /** Which tier to load (models/tiers.ts); default lite_mobilenet_v2. models/detectors.ts dispatches on it. */
  model?: DetectorTier;
  /**
   * coco-ssd's normal loading path (an http(s) URL to model.json, or a local folder); default: the bundled weights,
   * or coco-ssd's published mobilenet_v2 weights for that tier.
   */
  modelUrl?: string;
  /**
   * Which bundled weights: float32 as published (default), or uint8, 3.6× smaller (5.07 MB against 18.03 MB), dequantised by TF.js at load
   * (models/quantiseWeights.ts; counts compared in docs/frugality.md). Ignored with `modelUrl`.
   */
  weights?: BundledWeights;
  /** Lowest score returned. The tracker's second pass uses the ones below the counting threshold. */
  minScore: number;
  /** Boxes of one category overlapping more than this are the same object. */
  nmsIou: number;
  maxDetections: number;
}

export interface DetectorDescription {
  backend: ChosenBackend;
  model: string;
}

export interface Detector {
  readonly description: DetectorDescription;
  /** Detect in one packed RGB24 frame. Does not keep or modify `pixels`. */
  detect(pixels: Uint8Array, width: number, height: number): Promise<Detection[]>;
  /** The widened copy of the frame that the graph's input is built from (models/frameScratch.ts): all zeros whenever no detection runs. */
  readonly inputScratch: Int32Array | Float32Array;
  dispose(): void;
}

function isHttpUrl(location: string): boolean {
  return /^https?:\/\//i.test(location);
}

export const BUNDLED_WEIGHTS = ['float32', 'uint8'] as const;
export type BundledWeights = (typeof BUNDLED_WEIGHTS)[number];

function modelSource(model: DetectorTier, givenUrl: string | undefined, weights: BundledWeights = 'float32') {
  const modelUrl = givenUrl ?? (model === 'mobilenet_v2' ? MOBILENET_V2_URL : undefined);
  if (!modelUrl && weights === 'uint8') return { source: folderModelHandler(BUNDLED_UINT8_MODEL_DIR, BUNDLED_UINT8_MODEL_SHA256), name: 'coco-ssd lite_mobilenet_v2 (bundled, uint8-quantised weights, sha256 verified)' };
  if (!modelUrl) return { source: folderModelHandler(BUNDLED_MODEL_DIR, BUNDLED_MODEL_SHA256), name: 'coco-ssd lite_mobilenet_v2 (bundled, sha256 verified)' };
  if (isHttpUrl(modelUrl)) return { source: modelUrl, name: `coco-ssd ${model === 'mobilenet_v2' ? 'mobilenet_v2 ' : ''}from ${modelUrl}` };
  const dir = modelUrl.replace(/\/model\.json$/, '');
  return { source: folderModelHandler(dir), name: `coco-ssd from folder ${dir}` };
}

export async function loadCocoSsd(options: DetectorOptions): Promise<Detector> {
  const backend = await chooseBackend(options.backend);
  const { source, name } = modelSource(options.model ?? 'lite_mobilenet_v2', options.modelUrl, options.weights);
  const remote = typeof source === 'string';
  // Each convolution's batch norm, bias and ReLU6 run inside it (models/fuseGraph.ts): 14 % less CPU a frame.
  const fused = fusingHandler(remote ? tf.io.http(source) : source);
  // coco-ssd types modelUrl as a string, but passes it straight to loadGraphModel, which also takes an IOHandler.
  const loaded = await cocoSsd.load({ base: 'lite_mobilenet_v2', modelUrl: fused as unknown as string }).catch((error: Error) => {
    if (!remote) throw error;
    throw new Error(
      `${name} could not be loaded (${error.message.split('\n')[0]}): weights from a URL need the network when Veil starts. ` +
        'Connect the box, or point --model-url (detector.modelUrl) at a local folder holding model.json and its shards, ' +
        `or choose a tier that installs with Veil: --model ${OFFLINE_TIERS.join(' or ')}`,
    );
  });
  // The graph coco-ssd loaded; see the file comment for why Veil runs it directly.
  const graph = (loaded as unknown as { model: GraphModel }).model;

  // The graph takes int32: models/frameScratch.ts widens each frame into a buffer it zero-fills after each detection.
  const detector = scratchDetections(Int32Array, async (widened, width, height) => {
    let input: tf.Tensor | undefined;
    let outputs: tf.Tensor[] = [];
    let best: tf.Tensor[] = [];
    try {
      input = tf.tensor4d(widened, [1, height, width, 3], 'int32');
      outputs = (await graph.executeAsync(input)) as tf.Tensor[];
      const [scoresTensor, boxesTensor] = outputs;
      if (!scoresTensor || !boxesTensor) throw new Error('coco-ssd graph returned fewer outputs than expected');
      // Each anchor's best class and its score, taken by the backend: 2 numbers an anchor leave it instead of 90
      // (0.7 MB a frame that the worker would copy out and collect).
      best = tf.tidy(() => [tf.max(scoresTensor, 2), tf.argMax(scoresTensor, 2)]);
      const [bestScores, bestColumns, boxes] = await Promise.all([best[0]!.data<'float32'>(), best[1]!.data<'int32'>(), boxesTensor.data<'float32'>()]);
      return suppressOverlaps(candidates(bestScores, bestColumns, boxes, options.minScore), options.nmsIou).slice(0, options.maxDetections);
    } finally {
      input?.dispose();
      tf.dispose([...outputs, ...best]);
    }
  });

  return {
    description: { backend, model: name },
    get inputScratch() {
      return detector.inputScratch;
    },
    detect: detector.detect,
    dispose() {
      loaded.dispose();
    },
  };
}

/**
 * Each anchor's best class (`bestColumns`, a column of the graph's [anchors, 90] scores) and its score; kept when that
 * class is one Veil counts and its score reaches `minScore`. `boxes` holds 4 numbers an anchor.
 */
function candidates(bestScores: Float32Array, bestColumns: Int32Array, boxes: Float32Array, minScore: number): Detection[] {
  const found: Detection[] = [];
  for (let anchor = 0; anchor < bestScores.length; anchor++) {
    const bestScore = bestScores[anchor]!;
    const bestColumn = bestColumns[anchor]!;
    const cocoClass = COCO_ID_TO_CLASS[bestColumn + 1];
    if (!cocoClass || bestScore < minScore) continue;
    // Graph boxes are [yMin, xMin, yMax, xMax], already normalised to the frame.
    const [yMin, xMin, yMax, xMax] = [0, 1, 2, 3].map((k) => Math.min(1, Math.max(0, boxes[anchor * 4 + k]!)));
    const box: Box = { x: xMin!, y: yMin!, width: xMax! - xMin!, height: yMax! - yMin! };
    if (box.width > 0 && box.height > 0) found.push({ cocoClass, score: bestScore, box });
  }
  return found;
}

