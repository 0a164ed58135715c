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
});
