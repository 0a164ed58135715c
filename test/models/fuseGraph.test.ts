import { loadGraphModel } from '@tensorflow/tfjs-converter';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { chooseBackend } from '../../models/backend.ts';
import { fuseConvolutions, fusingHandler } from '../../models/fuseGraph.ts';

/** The bytes of a string attribute, as model.json writes them. */
const bytes = (text: string) => [...Buffer.from(text, 'latin1')];
const shapeAttr = (shape: number[]) => ({ dim: shape.map((size) => ({ size: String(size) })) });
const FLOAT = { type: 1 };
const CONVOLUTION_ATTRS = {
  T: FLOAT,
  strides: { list: { i: ['1', '1', '1', '1'] } },
  dilations: { list: { i: ['1', '1', '1', '1'] } },
  padding: { s: bytes('VALID') },
  data_format: { s: bytes('NHWC') },
};

interface TinyNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, unknown>;
}

/** A graph model in memory: a placeholder `x` of `inputShape`, the given constants and nodes. */
async function tinyModel(inputShape: number[], constants: Record<string, { values: number[]; shape: number[] }>, nodes: TinyNode[]): Promise<tf.io.ModelArtifacts> {
  const tensors = Object.fromEntries(Object.entries(constants).map(([name, { values, shape }]) => [name, tf.tensor(values, shape, 'float32')]));
  const { data, specs } = await tf.io.encodeWeights(tensors);
  tf.dispose(Object.values(tensors));
  const constantNodes = Object.entries(constants).map(([name, { shape }]) => ({ name, op: 'Const', input: [], attr: { dtype: FLOAT, value: { tensor: { dtype: 1, tensorShape: shapeAttr(shape) } } } }));
  const placeholder = { name: 'x', op: 'Placeholder', input: [], attr: { dtype: FLOAT, shape: { shape: shapeAttr(inputShape) } } };
  return { modelTopology: { node: [placeholder, ...constantNodes, ...nodes], versions: { producer: 27 } }, weightSpecs: specs, weightData: data, format: 'graph-model' };
}

async function run(artifacts: tf.io.ModelArtifacts, input: tf.Tensor, output: string): Promise<number[]> {
  const model = await loadGraphModel({ load: async () => artifacts });
  const result = model.execute(input, output) as tf.Tensor;
  const values = [...(await result.data())];
  result.dispose();
  model.dispose();
  return values;
}

const ops = (artifacts: tf.io.ModelArtifacts) => (artifacts.modelTopology as { node: TinyNode[] }).node.map((node) => node.op);

describe('fuseConvolutions', () => {
  beforeAll(async () => {
    await chooseBackend('cpu');
  });

  it('folds a batch norm and a ReLU6 into a 1×1 convolution, with the values a hand calculation gives', async () => {
    // x: one channel, 2 × 2 pixels. Conv2D 1×1 with filter [2, −1]: channel 0 = 2x, channel 1 = −x.
    // Batch norm, ε = 0.001: σ² + ε = 4 and 0.25, so s = γ/√(σ²+ε) = 1/2 and 2/0.5 = 4; offset β − μ·s = 0.5 − 1·½ = 0 and 0 − 0·4 = 0.
    //   channel 0: ½·2x + 0 = x; channel 1: 4·(−x) = −4x. ReLU6 clamps to [0, 6].
    // x = −1, 2, 3, 8 → channel 0: 0, 2, 3, 6; channel 1: 4, 0, 0, 0.
    const artifacts = await tinyModel(
      [1, 2, 2, 1],
      {
        w: { values: [2, -1], shape: [1, 1, 1, 2] },
        gamma: { values: [1, 2], shape: [2] },
        beta: { values: [0.5, 0], shape: [2] },
        mean: { values: [1, 0], shape: [2] },
        variance: { values: [3.999, 0.249], shape: [2] },
      },
      [
        { name: 'conv', op: 'Conv2D', input: ['x', 'w'], attr: CONVOLUTION_ATTRS },
        { name: 'bn', op: 'FusedBatchNorm', input: ['conv', 'gamma', 'beta', 'mean', 'variance'], attr: { epsilon: { f: 0.001 }, is_training: { b: false }, T: FLOAT } },
        { name: 'out', op: 'Relu6', input: ['bn'], attr: { T: FLOAT } },
      ],
    );
    const input = tf.tensor4d([-1, 2, 3, 8], [1, 2, 2, 1]);
    const { artifacts: fused, fusedConvolutions } = await fuseConvolutions(artifacts);
    expect(fusedConvolutions).toBe(1);
    expect(ops(fused).sort()).toEqual(['Const', 'Const', 'Placeholder', '_FusedConv2D']);
    const expected = [0, 4, 2, 0, 3, 0, 6, 0];
    (await run(artifacts, input, 'out')).forEach((value, index) => expect(value).toBeCloseTo(expected[index]!, 5));
    (await run(fused, input, 'out')).forEach((value, index) => expect(value).toBeCloseTo(expected[index]!, 5));
    input.dispose();
  });

  it('folds a per-channel Mul and Add into a depthwise convolution, with ReLU6 (one multiplier per input channel)', async () => {
    // x: 1 × 1 pixel, 2 channels [3, −2]; depthwise 1×1 with multiplier 2, filter [h, w, in, m] = [[1, 2], [−1, 0.5]]:
    //   outputs (in·2 + m): 3·1, 3·2, −2·−1, −2·0.5 = 3, 6, 2, −1.
    // Mul by [2, 1, −1, 1] → 6, 6, −2, −1; Add [1, 1, 5, 0.5] → 7, 7, 3, −0.5; ReLU6 → 6, 6, 3, 0.
    const artifacts = await tinyModel(
      [1, 1, 1, 2],
      {
        w: { values: [1, 2, -1, 0.5], shape: [1, 1, 2, 2] },
        scale: { values: [2, 1, -1, 1], shape: [4] },
        offset: { values: [1, 1, 5, 0.5], shape: [4] },
      },
      [
        { name: 'dw', op: 'DepthwiseConv2dNative', input: ['x', 'w'], attr: CONVOLUTION_ATTRS },
        { name: 'mul', op: 'Mul', input: ['dw', 'scale'], attr: { T: FLOAT } },
        { name: 'add', op: 'Add', input: ['mul', 'offset'], attr: { T: FLOAT } },
        { name: 'out', op: 'Relu6', input: ['add'], attr: { T: FLOAT } },
      ],
    );
    const input = tf.tensor4d([3, -2], [1, 1, 1, 2]);
    const { artifacts: fused, fusedConvolutions } = await fuseConvolutions(artifacts);
    expect(fusedConvolutions).toBe(1);
    expect(ops(fused)).toContain('FusedDepthwiseConv2dNative');
    expect(ops(fused)).not.toContain('Mul');
    expect(await run(fused, input, 'out')).toEqual([6, 6, 3, 0]);
    input.dispose();
  });

  it('leaves a step that something else also reads, and a bias that is not a constant, where they are', async () => {
    // `add` is read by the ReLU6 and by `tap`: folding the ReLU6 in would take `add`'s value away from `tap`. The
    // Add itself is still folded (the convolution's only reader); the ReLU6 stays a node of its own.
    const shared = await tinyModel(
      [1, 1, 1, 1],
      { w: { values: [2], shape: [1, 1, 1, 1] }, offset: { values: [-5], shape: [1] } },
      [
        { name: 'conv', op: 'Conv2D', input: ['x', 'w'], attr: CONVOLUTION_ATTRS },
        { name: 'add', op: 'Add', input: ['conv', 'offset'], attr: { T: FLOAT } },
        { name: 'out', op: 'Relu6', input: ['add'], attr: { T: FLOAT } },
        { name: 'tap', op: 'Neg', input: ['add'], attr: { T: FLOAT } },
      ],
    );
    const { artifacts: fused } = await fuseConvolutions(shared);
    expect(ops(fused)).toContain('Relu6');
    // x = 1: add = 2·1 − 5 = −3; tap = 3, out = 0.
    const input = tf.tensor4d([1], [1, 1, 1, 1]);
    expect(await run(fused, input, 'tap')).toEqual([3]);
    expect(await run(fused, input, 'out')).toEqual([0]);

    // An Add of two computed tensors is no bias: nothing is folded.
    const computed = await tinyModel([1, 1, 1, 1], { w: { values: [2], shape: [1, 1, 1, 1] } }, [
      { name: 'conv', op: 'Conv2D', input: ['x', 'w'], attr: CONVOLUTION_ATTRS },
      { name: 'out', op: 'Add', input: ['conv', 'x'], attr: { T: FLOAT } },
    ]);
    const unchanged = await fuseConvolutions(computed);
    expect(unchanged.fusedConvolutions).toBe(0);
    expect(unchanged.artifacts).toBe(computed);

    // A scale of shape [2, 1] against 2 output channels broadcasts down the rows, not per channel: not folded.
    const rows = await tinyModel([1, 2, 1, 1], { w: { values: [1, 1], shape: [1, 1, 1, 2] }, scale: { values: [2, 3], shape: [2, 1] } }, [
      { name: 'conv', op: 'Conv2D', input: ['x', 'w'], attr: CONVOLUTION_ATTRS },
      { name: 'out', op: 'Mul', input: ['conv', 'scale'], attr: { T: FLOAT } },
    ]);
    expect((await fuseConvolutions(rows)).fusedConvolutions).toBe(0);
    input.dispose();
  });

  it('refuses a handler that cannot load, when it is wrapped', () => {
    expect(() => fusingHandler({ save: async () => ({ modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }) })).toThrow(
      'fusingHandler: the model handler given cannot load a model',
    );
  });
});
