/**
 * The bundled coco-ssd graphs with their convolutions fused (models/fuseGraph.ts) against the same graphs as
 * published, on real frames decoded by real ffmpeg: the raw scores and boxes must agree to float32 rounding, so
 * fusing cannot change what the detector finds.
 */
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { chooseBackend } from '../../models/backend.ts';
import { fuseConvolutions, fusingHandler } from '../../models/fuseGraph.ts';
import { BUNDLED_MODEL_DIR, BUNDLED_MODEL_SHA256, BUNDLED_UINT8_MODEL_DIR, BUNDLED_UINT8_MODEL_SHA256, folderModelHandler } from '../../models/weights.ts';
import type { Frame } from '../../streams/frame.ts';
import { SAMPLE_CLIP } from '../../streams/sampleClip.ts';
import { decodeFrameAt } from '../helpers/frames.ts';
import { FOOTAGE } from '../helpers/paths.ts';

/** Differences in the last bits of float32 sums taken in another order; a wrong fold moves scores by tenths. */
const FLOAT32_ROUNDING = 1e-4;
const CONVOLUTIONS = new Set(['Conv2D', 'DepthwiseConv2dNative']);
const FOLDABLE = new Set(['FusedBatchNorm', 'Mul', 'Add', 'AddV2', 'BiasAdd', 'Relu6', 'Relu']);

let frames: Frame[];

beforeAll(async () => {
  await chooseBackend('wasm');
  // A man at the table and the empty room in the indoor clip, and people crossing the bundled campus clip.
  frames = [await decodeFrameAt(FOOTAGE.indoor, 77), await decodeFrameAt(FOOTAGE.indoor, 3), await decodeFrameAt(SAMPLE_CLIP, 14)];
});

async function rawOutputs(model: GraphModel, frame: Frame): Promise<Float32Array[]> {
  const input = tf.tensor4d(Int32Array.from(frame.pixels), [1, frame.height, frame.width, 3], 'int32');
  const outputs = (await model.executeAsync(input)) as tf.Tensor[];
  const values = await Promise.all(outputs.map((output) => output.data() as Promise<Float32Array>));
  tf.dispose([input, ...outputs]);
  return values;
}

describe.each([
  ['float32', BUNDLED_MODEL_DIR, BUNDLED_MODEL_SHA256],
  ['uint8', BUNDLED_UINT8_MODEL_DIR, BUNDLED_UINT8_MODEL_SHA256],
])('the bundled %s coco-ssd graph, fused', (_weights, dir, sha256) => {
  it('leaves no batch norm, scale, bias or activation reading a convolution directly', async () => {
    const { artifacts, fusedConvolutions } = await fuseConvolutions(await folderModelHandler(dir, sha256).load());
    expect(fusedConvolutions).toBeGreaterThan(50);
    const nodes = (artifacts.modelTopology as { node: { name: string; op: string; input?: string[] }[] }).node;
    const convolutions = new Set(nodes.filter((node) => CONVOLUTIONS.has(node.op)).map((node) => node.name));
    const readersOfConvolutions = nodes.filter((node) => node.input?.some((input) => convolutions.has(input)));
    // What still reads a plain convolution: sums of several branches (AddN) and reshapes, which are not per-channel steps.
    expect(readersOfConvolutions.filter((node) => FOLDABLE.has(node.op))).toEqual([]);
  });

  it('gives the published graph’s scores and boxes, to float32 rounding, on real frames', async () => {
    const published = await loadGraphModel(folderModelHandler(dir, sha256));
    const fused = await loadGraphModel(fusingHandler(folderModelHandler(dir, sha256)));
    for (const frame of frames) {
      const [expected, actual] = [await rawOutputs(published, frame), await rawOutputs(fused, frame)];
      expect(actual.map((values) => values.length)).toEqual(expected.map((values) => values.length));
      expected.forEach((values, output) => {
        let largestDifference = 0;
        values.forEach((value, index) => (largestDifference = Math.max(largestDifference, Math.abs(value - actual[output]![index]!))));
        expect(largestDifference).toBeLessThan(FLOAT32_ROUNDING);
      });
    }
    const [fullRoomScores] = await rawOutputs(fused, frames[0]!);
    expect(fullRoomScores!.reduce((best, score) => Math.max(best, score), 0)).toBeGreaterThan(0.5);
    published.dispose();
    fused.dispose();
  });
});
