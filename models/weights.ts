/**
 * Loads TF.js graph-model weights from a local folder without a network, as a tfjs IOHandler.
 * The bundled coco-ssd weights are checked against their sha256 before a byte reaches the model, so a corrupt
 * or swapped file is an error at start-up rather than silent garbage detections.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { io } from '@tensorflow/tfjs-core';
import { z } from 'zod';

export const BUNDLED_MODEL_DIR = fileURLToPath(new URL('./weights/coco-ssd-lite_mobilenet_v2/', import.meta.url));
/** The same weights quantised to uint8 by models/quantiseWeights.ts (TF.js's quantised format, dequantised at load). */
export const BUNDLED_UINT8_MODEL_DIR = fileURLToPath(new URL('./weights/coco-ssd-lite_mobilenet_v2-uint8/', import.meta.url));

/** sha256 of each bundled file, as published with the weights (see NOTICE). */
export const BUNDLED_MODEL_SHA256: Readonly<Record<string, string>> = {
  'model.json': '3770b2528339b1e3340cb74360e1e40401816b009779aeb8d0cce3a4353ea3a9',
  'group1-shard1of5': '0e7af0f713e98521252321f7f84892c31cefccccec3ac64c84e5065b75ed5646',
  'group1-shard2of5': '74cc6cfc2c4510c9cd81b8ad4cebf6f6a8f305119bb365ce0eb96276da38519a',
  'group1-shard3of5': '50383033f893eae136392a403e8f70ade5efd90867df5695c4ca5ac640e14f38',
  'group1-shard4of5': 'd856dc534c780068bbf6c666ce1516df2c8433d87578aa31fcdf197de7058cc2',
  'group1-shard5of5': '3d356f1fb6dfca6af78c56db34d9326706d0196e303f9de6b04f236ca79ed309',
};

/** sha256 of each file models/quantiseWeights.ts writes from the float32 files above (it prints them). */
export const BUNDLED_UINT8_MODEL_SHA256: Readonly<Record<string, string>> = {
  'model.json': 'fa895fa861cf5a8b7c598a034ffe9253da0ae83a2e0d672249ff928a1f49f879',
  'group1-shard1of1': 'a799d1d1b5242f3806d3ba1edff616d453e2691af2879942d32d8b0e9c5b64d9',
};

const modelJsonSchema = z.looseObject({
  modelTopology: z.unknown(),
  format: z.string().optional(),
  generatedBy: z.string().optional(),
  convertedBy: z.string().nullable().optional(),
  weightsManifest: z.array(
    z.looseObject({ paths: z.array(z.string().min(1)), weights: z.array(z.looseObject({ name: z.string() })) }),
  ),
});

async function readChecked(dir: string, name: string, expectedSha256: Readonly<Record<string, string>> | undefined) {
  const file = path.join(dir, name);
  const bytes = await readFile(file).catch((error: NodeJS.ErrnoException) => {
    throw new Error(`model file ${file} could not be read (${error.code ?? error.message})`);
  });
  const expected = expectedSha256?.[name];
  if (expectedSha256 && !expected) throw new Error(`model file ${file} is not in the checksum list`);
  if (expected) {
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== expected) {
      throw new Error(`model file ${file} is corrupt: sha256 ${actual}, expected ${expected}. Reinstall Veil to restore it.`);
    }
  }
  return bytes;
}

/**
 * An IOHandler reading the model's JSON (`jsonName`, default model.json) and its shards from `dir`, verifying
 * checksums when given.
 */
export function folderModelHandler(dir: string, expectedSha256?: Readonly<Record<string, string>>, jsonName = 'model.json'): io.IOHandler & Required<Pick<io.IOHandler, 'load'>> {
  return {
    async load() {
      const jsonFile = path.join(dir, jsonName);
      const json = await readChecked(dir, jsonName, expectedSha256);
      let content: unknown;
      try {
        content = JSON.parse(json.toString('utf8'));
      } catch (error) {
        throw new Error(`${jsonFile} is not valid JSON (${(error as Error).message}): fix it, or point detector.modelUrl (--model-url) at a model.json written by the TF.js converter`);
      }
      const parsed = modelJsonSchema.safeParse(content);
      if (!parsed.success) throw new Error(`${jsonFile} is not a TF.js graph model: ${parsed.error.message}`);
      const model = parsed.data;
      const shardNames = model.weightsManifest.flatMap((group) => group.paths);
      const shards = await Promise.all(shardNames.map((name) => readChecked(dir, name, expectedSha256)));
      const weightData = new Uint8Array(shards.reduce((total, shard) => total + shard.length, 0));
      let offset = 0;
      for (const shard of shards) {
        weightData.set(shard, offset);
        offset += shard.length;
      }
      return {
        modelTopology: model.modelTopology as io.ModelArtifacts['modelTopology'],
        format: model.format,
        generatedBy: model.generatedBy,
        convertedBy: model.convertedBy ?? undefined,
        weightSpecs: model.weightsManifest.flatMap((group) => group.weights) as unknown as io.WeightsManifestEntry[],
        weightData: weightData.buffer,
      };
    },
  };
}
