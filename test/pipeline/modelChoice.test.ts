/**
 * Where a detector tier is asked for: `--model` on batch and eval, `detector.model` in a config file, the flag
 * winning over the file, and a name that is not a tier refused with the list of tiers.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clipJobConfig } from '../../pipeline/clipJob.ts';

let dir: string;
beforeEach(async () => (dir = await mkdtemp(path.join(os.tmpdir(), 'veil-model-'))));
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('the detector tier in a clip job', () => {
  it('is left unset by default (the command decides), taken from --model, and from detector.model in --config', async () => {
    expect((await clipJobConfig({}, {})).detector.model).toBeUndefined();
    expect((await clipJobConfig({ model: 'centernet' }, {})).detector.model).toBe('centernet');
    const config = path.join(dir, 'camera.yaml');
    await writeFile(config, 'detector: { model: auto }\n');
    expect((await clipJobConfig({ config }, {})).detector.model).toBe('auto');
    expect((await clipJobConfig({ config, model: 'lite_mobilenet_v2' }, {})).detector.model).toBe('lite_mobilenet_v2');
  });

  it('refuses a name that is no tier, listing the tiers, from the flag and from the file', async () => {
    await expect(clipJobConfig({ model: 'yolo' }, {})).rejects.toThrow('--model yolo: expected one of auto, lite_mobilenet_v2, centernet, mobilenet_v2');
    const config = path.join(dir, 'camera.yaml');
    await writeFile(config, 'detector: { model: yolo }\n');
    await expect(clipJobConfig({ config }, {})).rejects.toThrow('detector.model: Invalid option: expected one of "auto"|"lite_mobilenet_v2"|"centernet"|"mobilenet_v2" (got "yolo")');
  });

  it('refuses --weights uint8 and --model-url with a tier they do not apply to, naming both flags and what each is for', async () => {
    await expect(clipJobConfig({ model: 'centernet', weights: 'uint8' }, {})).rejects.toThrow(
      '--weights (detector.weights) uint8 applies to lite_mobilenet_v2 only (its bundled weights, quantised), but --model (detector.model) is centernet',
    );
    await expect(clipJobConfig({ model: 'mobilenet_v2', weights: 'uint8' }, {})).rejects.toThrow('but --model (detector.model) is mobilenet_v2');
    await expect(clipJobConfig({ 'model-url': '/weights/model.json', weights: 'uint8' }, {})).rejects.toThrow('and --model-url (detector.modelUrl) loads other weights instead');
    await expect(clipJobConfig({ model: 'centernet', 'model-url': 'https://example.org/model.json' }, {})).rejects.toThrow(
      '--model-url (detector.modelUrl) applies to mobilenet_v2 only (other weights for it), or, with no --model (detector.model), to any coco-ssd weights loaded as they are, but --model (detector.model) is centernet',
    );
    await expect(clipJobConfig({ model: 'lite_mobilenet_v2', 'model-url': '/weights' }, {})).rejects.toThrow('but --model (detector.model) is lite_mobilenet_v2');
  });

  it('refuses the same combinations from the config file, and keeps the ones that apply', async () => {
    const config = path.join(dir, 'camera.yaml');
    await writeFile(config, 'detector: { model: centernet, modelUrl: /weights/model.json }\n');
    await expect(clipJobConfig({ config }, {})).rejects.toThrow('but --model (detector.model) is centernet');
    expect((await clipJobConfig({ model: 'lite_mobilenet_v2', weights: 'uint8' }, {})).detector.weights).toBe('uint8');
    expect((await clipJobConfig({ model: 'auto', weights: 'uint8' }, {})).detector.weights).toBe('uint8');
    expect((await clipJobConfig({ model: 'mobilenet_v2', 'model-url': '/weights' }, {})).detector.modelUrl).toBe('/weights');
    expect((await clipJobConfig({ 'model-url': '/weights' }, {})).detector.model).toBeUndefined();
  });
});
