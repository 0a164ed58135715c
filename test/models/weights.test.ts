import { createHash } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BUNDLED_MODEL_DIR, BUNDLED_MODEL_SHA256, BUNDLED_UINT8_MODEL_DIR, BUNDLED_UINT8_MODEL_SHA256, folderModelHandler } from '../../models/weights.ts';

let copyDir: string;

beforeEach(async () => {
  copyDir = await mkdtemp(path.join(os.tmpdir(), 'veil-weights-'));
  await cp(BUNDLED_MODEL_DIR, copyDir, { recursive: true });
});

afterEach(() => rm(copyDir, { recursive: true, force: true }));

async function flipOneByte(file: string, offset: number) {
  const bytes = await readFile(file);
  bytes[offset] = bytes[offset]! ^ 0x01;
  await writeFile(file, bytes);
}

describe('folderModelHandler', () => {
  it.each([
    ['float32', BUNDLED_MODEL_DIR, BUNDLED_MODEL_SHA256],
    ['uint8', BUNDLED_UINT8_MODEL_DIR, BUNDLED_UINT8_MODEL_SHA256],
  ])('the checksum list covers exactly the bundled %s files, and each matches', async (_, dir, sha256) => {
    const model = JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8')) as { weightsManifest: Array<{ paths: string[] }> };
    const shards = model.weightsManifest.flatMap((group) => group.paths);
    expect(Object.keys(sha256).sort()).toEqual(['model.json', ...shards].sort());
    for (const [name, expected] of Object.entries(sha256)) {
      const actual = createHash('sha256').update(await readFile(path.join(dir, name))).digest('hex');
      expect(actual, name).toBe(expected);
    }
  });

  it('loads the uint8 weights in TF.js’s quantised format: one byte per quantised value, each with its min and scale', async () => {
    const artifacts = await folderModelHandler(BUNDLED_UINT8_MODEL_DIR, BUNDLED_UINT8_MODEL_SHA256).load();
    const float = await folderModelHandler(BUNDLED_MODEL_DIR, BUNDLED_MODEL_SHA256).load();
    const specs = artifacts.weightSpecs!;
    // The same weights, in the same order, under the same names and shapes.
    expect(specs.map(({ name, shape, dtype }) => ({ name, shape, dtype }))).toEqual(float.weightSpecs!.map(({ name, shape, dtype }) => ({ name, shape, dtype })));
    const size = (shape: number[]) => shape.reduce((product, n) => product * n, 1);
    const bytes = specs.reduce((total, spec) => total + size(spec.shape) * (spec.quantization ? 1 : 4), 0);
    expect((artifacts.weightData as ArrayBuffer).byteLength).toBe(bytes);
    for (const spec of specs.filter((s) => s.quantization)) expect(spec.quantization).toMatchObject({ dtype: 'uint8', min: expect.any(Number), scale: expect.any(Number) });
    // At least 3.5 times smaller than the float32 weights.
    expect(bytes * 3.5).toBeLessThan((float.weightData as ArrayBuffer).byteLength);
  });

  it('loads an intact copy with all its weights', async () => {
    const artifacts = await folderModelHandler(copyDir, BUNDLED_MODEL_SHA256).load();
    expect(artifacts.weightSpecs?.length).toBeGreaterThan(0);
    const shardBytes = await Promise.all(
      Object.keys(BUNDLED_MODEL_SHA256)
        .filter((name) => name !== 'model.json')
        .map(async (name) => (await readFile(path.join(copyDir, name))).length),
    );
    expect((artifacts.weightData as ArrayBuffer).byteLength).toBe(shardBytes.reduce((a, b) => a + b, 0));
  });

  it('refuses a shard with one flipped byte, naming the file and the fix', async () => {
    const shard = path.join(copyDir, 'group1-shard3of5');
    await flipOneByte(shard, 1000);
    const load = folderModelHandler(copyDir, BUNDLED_MODEL_SHA256).load();
    await expect(load).rejects.toThrow(`model file ${shard} is corrupt`);
    await expect(load).rejects.toThrow(/expected 50383033f893.*Reinstall Veil/);
  });

  it('refuses a model.json with one flipped byte before parsing it', async () => {
    await flipOneByte(path.join(copyDir, 'model.json'), 10);
    await expect(folderModelHandler(copyDir, BUNDLED_MODEL_SHA256).load()).rejects.toThrow(/model\.json is corrupt/);
  });

  it('says which file is missing', async () => {
    await rm(path.join(copyDir, 'group1-shard5of5'));
    await expect(folderModelHandler(copyDir, BUNDLED_MODEL_SHA256).load()).rejects.toThrow(/group1-shard5of5 could not be read \(ENOENT\)/);
  });

  it('refuses a file the checksum list does not know', async () => {
    const { 'group1-shard2of5': _dropped, ...withoutShard2 } = BUNDLED_MODEL_SHA256;
    await expect(folderModelHandler(copyDir, withoutShard2).load()).rejects.toThrow(/group1-shard2of5 is not in the checksum list/);
  });

  it('without checksums (user-supplied weights) names a model.json that is not JSON at all', async () => {
    const modelJson = path.join(copyDir, 'model.json');
    await writeFile(modelJson, '{"modelTopology": {"node": [');
    await expect(folderModelHandler(copyDir).load()).rejects.toThrow(`${modelJson} is not valid JSON`);
  });

  it('without checksums (user-supplied weights) explains a model.json that is not a graph model', async () => {
    await writeFile(path.join(copyDir, 'model.json'), JSON.stringify({ hello: 'world' }));
    await expect(folderModelHandler(copyDir).load()).rejects.toThrow(/model\.json is not a TF\.js graph model/);
  });
});
