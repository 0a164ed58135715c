/**
 * `npx tsx models/quantiseWeights.ts`: writes the bundled coco-ssd weights quantised to uint8, in TensorFlow.js's own
 * quantised weight format, beside the float32 originals (models/weights/coco-ssd-lite_mobilenet_v2-uint8/), and
 * prints the sha256 of each file written for models/weights.ts.
 *
 * The format (tfjs-core io/types.ts, `WeightsManifestEntry.quantization`): a weight stays `dtype: 'float32'` in the
 * manifest, its bytes are one uint8 per value, and `quantization: {dtype: 'uint8', min, scale}` tells the loader to
 * dequantise each value q to `min + q · scale` (tfjs-core io/io_utils.ts, decodeWeights). TensorFlow.js does that at
 * load; the graph then runs in float32 as before, so only the weights' precision changes, not the arithmetic.
 *
 * Per tensor, affine ("asymmetric") quantisation over [min(0, lo), max(0, hi)], nudged so that 0 is exactly a level
 * (Jacob et al. 2018, "Quantization and Training of Neural Networks for Efficient Integer-Arithmetic-Only Inference",
 * §2.1, and the TF.js converter's quantize_weights): a zero weight or padding stays exactly zero.
 *
 * What is left in float32, and why: see `quantised` below.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { BUNDLED_MODEL_DIR, BUNDLED_MODEL_SHA256, BUNDLED_UINT8_MODEL_DIR, folderModelHandler } from './weights.ts';

const UINT8_LEVELS = 255;

/**
 * Which weights are quantised: the convolution kernels (4-D) but the depthwise ones. A depthwise kernel's channels
 * span ranges orders of magnitude apart, and one range per tensor flattens the small ones (Krishnamoorthi 2018,
 * "Quantizing deep convolutional networks for efficient inference": per-layer weight quantisation of MobileNets loses
 * most where depthwise kernels are quantised with one range). Measured here on the overpass frame at 23 s: with them quantised, a
 * car drops from 0.68 to 0.51 and a person on the parking lot from 0.74 to 0.47; without, to 0.60 and 0.67. Biases,
 * batch-norm terms (1-D), anchors (`Postprocessor/…`) and int32 tensors stay as they are. Together with the depthwise
 * kernels that is 0.74 MB of the float model's 18.03 MB: the uint8 files hold 5.07 MB, 3.6× smaller.
 */
function quantised(spec: ManifestEntry): boolean {
  return spec.dtype === 'float32' && spec.shape.length === 4 && !spec.name.includes('depthwise') && !spec.name.startsWith('Postprocessor/');
}

interface ManifestEntry {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  quantization?: { dtype: 'uint8'; min: number; scale: number };
}

/**
 * Quantises `values` to uint8: returns the levels and the `min` and `scale` that map level q back to min + q · scale.
 * An all-zero tensor (the only one whose range, widened to hold 0, is empty) gets min 0 and scale 1.
 */
export function quantiseUint8(values: Float32Array): { levels: Uint8Array; min: number; scale: number } {
  let low = 0;
  let high = 0;
  for (const value of values) {
    low = Math.min(low, value);
    high = Math.max(high, value);
  }
  if (high === low) return { levels: new Uint8Array(values.length), min: low, scale: 1 };
  const scale = (high - low) / UINT8_LEVELS;
  // Nudge: the level nearest to 0 becomes exactly 0.
  const zeroLevel = Math.round(-low / scale);
  const min = -zeroLevel * scale;
  const levels = new Uint8Array(values.length);
  for (let index = 0; index < values.length; index++) levels[index] = Math.min(UINT8_LEVELS, Math.max(0, Math.round((values[index]! - min) / scale)));
  return { levels, min, scale };
}

async function main() {
  const artifacts = await folderModelHandler(BUNDLED_MODEL_DIR, BUNDLED_MODEL_SHA256).load();
  const model = JSON.parse(await readFile(path.join(BUNDLED_MODEL_DIR, 'model.json'), 'utf8')) as { weightsManifest: Array<{ paths: string[]; weights: ManifestEntry[] }> };
  const specs = model.weightsManifest.flatMap((group) => group.weights);
  const data = artifacts.weightData as ArrayBuffer;
  const parts: Uint8Array[] = [];
  const entries: ManifestEntry[] = [];
  let offset = 0;
  for (const spec of specs) {
    const count = spec.shape.reduce((product, size) => product * size, 1);
    const bytes = new Uint8Array(data, offset, count * 4);
    offset += count * 4;
    if (!quantised(spec)) {
      parts.push(bytes);
      entries.push(spec);
      continue;
    }
    const { levels, min, scale } = quantiseUint8(new Float32Array(data.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)));
    parts.push(levels);
    entries.push({ ...spec, quantization: { dtype: 'uint8', min, scale } });
  }
  if (offset !== data.byteLength) throw new Error(`the manifest describes ${offset} bytes of weights, the shards hold ${data.byteLength}`);
  const shard = Buffer.concat(parts);
  const shardName = 'group1-shard1of1';
  const json = JSON.stringify({ ...model, weightsManifest: [{ paths: [shardName], weights: entries }] });
  await mkdir(BUNDLED_UINT8_MODEL_DIR, { recursive: true });
  await writeFile(path.join(BUNDLED_UINT8_MODEL_DIR, 'model.json'), json);
  await writeFile(path.join(BUNDLED_UINT8_MODEL_DIR, shardName), shard);
  const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');
  console.log(`wrote ${BUNDLED_UINT8_MODEL_DIR}: weights ${(shard.length / 1e6).toFixed(2)} MB (float32: ${(data.byteLength / 1e6).toFixed(2)} MB)`);
  console.log(JSON.stringify({ 'model.json': sha256(json), [shardName]: sha256(shard) }, null, 2));
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
