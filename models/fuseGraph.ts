/**
 * Folds the per-channel arithmetic that follows each convolution of a TF.js graph model into the convolution itself,
 * at load time, so that the backend runs one fused kernel (convolution + bias + activation) instead of three or four
 * passes over the same activations:
 *
 *   Conv2D ─▶ [FusedBatchNorm | Mul c] ─▶ [Add c | AddV2 c | BiasAdd c] ─▶ [Relu6 | Relu]
 *     becomes  _FusedConv2D(x, W·s, b, fused_ops = [BiasAdd, activation])          (DepthwiseConv2dNative alike)
 *
 * The graph converter that wrote coco-ssd's model.json left these steps apart: on the wasm backend they took 14 of
 * the graph's 90 ms a frame (tf.profile on a 640×360 frame: Add 7.4, FusedBatchNorm 2.6, Relu6 2.2, Mul 2.1 ms).
 *
 * The algebra (Ioffe & Szegedy 2015 for batch normalisation at inference; the same folding as TensorFlow's graph
 * optimiser, grappler's "remapper"): a convolution is linear in its filter, so for an output channel k with scale s_k
 * and bias b_k,
 *
 *   s_k · conv(x, W)_k + b_k = conv(x, W')_k + b_k,   W'[…, k] = s_k · W[…, k]
 *   FusedBatchNorm(y; γ, β, μ, σ², ε) = s·y + (β − μ·s),   s = γ / √(σ² + ε)
 *
 * The results equal the unfused graph's up to float32 rounding (test/models/fuseGraph.test.ts compares both graphs'
 * outputs on real frames). Only a chain whose every intermediate result has no other reader is folded, and only when
 * the scale and bias are constants of one value per output channel (or one value for all); anything else is left as
 * it was.
 */
import * as tf from '@tensorflow/tfjs-core';

/** A node of the graph in model.json (TensorFlow's NodeDef as JSON); only the fields this file reads or writes. */
interface GraphNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, unknown>;
}

const CONVOLUTIONS: Readonly<Record<string, string>> = { Conv2D: '_FusedConv2D', DepthwiseConv2dNative: 'FusedDepthwiseConv2dNative' };
const BIAS_OPS = new Set(['Add', 'AddV2', 'BiasAdd']);
const ACTIVATIONS = new Set(['Relu6', 'Relu']);
/** TensorFlow's DataType enum value for float32 (types.proto), as model.json writes it. */
const DT_FLOAT = 1;

/** A string attribute the way the converter writes them in model.json: the bytes as numbers. */
function stringBytes(text: string): number[] {
  return [...Buffer.from(text, 'latin1')];
}

/** The node name an input refers to: `name`, `name:1` (output 1) or `^name` (control dependency) all mean `name`. */
function nodeNameOf(input: string): string {
  return input.replace(/^\^/, '').replace(/:\d+$/, '');
}

export interface FusionResult {
  artifacts: tf.io.ModelArtifacts;
  /** How many convolutions absorbed the steps after them. */
  fusedConvolutions: number;
}

/**
 * Rewrites a graph model's artifacts (topology and weights) with each convolution's following scale, bias and
 * activation folded into it. Returns new artifacts; the given ones are not changed. Quantised weights come back
 * dequantised to float32 (TF.js dequantises them at load anyway). A model that is not a graph model (no
 * `modelTopology.node`) or has no weights is returned as it is, with `fusedConvolutions: 0`.
 */
export async function fuseConvolutions(artifacts: tf.io.ModelArtifacts): Promise<FusionResult> {
  const topology = artifacts.modelTopology as { node?: GraphNode[] } | undefined;
  if (!topology?.node || !artifacts.weightSpecs || !artifacts.weightData) return { artifacts, fusedConvolutions: 0 };
  const weights = tf.io.decodeWeights(artifacts.weightData, artifacts.weightSpecs);
  try {
    const nodes = new Map(topology.node.map((node) => [node.name, node]));
    const readers = new Map<string, GraphNode[]>();
    for (const node of topology.node) for (const input of node.input ?? []) readers.set(nodeNameOf(input), [...(readers.get(nodeNameOf(input)) ?? []), node]);

    /** The float32 weight a constant node holds, or undefined. */
    const constant = (input: string | undefined): tf.Tensor | undefined => {
      const node = input === undefined || input.startsWith('^') ? undefined : nodes.get(nodeNameOf(input));
      const tensor = node?.op === 'Const' ? weights[node.name] : undefined;
      return tensor?.dtype === 'float32' ? tensor : undefined;
    };
    /** The one node reading `node`, as its first input, when nothing else reads any of its outputs. */
    const soleReader = (node: GraphNode): GraphNode | undefined => {
      const nodeReaders = readers.get(node.name) ?? [];
      return nodeReaders.length === 1 && nodeReaders[0]?.input?.[0] === node.name ? nodeReaders[0] : undefined;
    };
    /**
     * A constant that broadcasts one value per output channel: `channels` values with every size before the last 1
     * ([C], [1, 1, 1, C]), or a single value, given as `channels` values; undefined for any other shape.
     */
    const perChannel = (input: string | undefined, channels: number): Float32Array | undefined => {
      const tensor = constant(input);
      if (!tensor || tensor.shape.slice(0, -1).some((size) => size !== 1)) return undefined;
      const values = tensor.dataSync() as Float32Array;
      if (values.length === channels) return values;
      return values.length === 1 ? new Float32Array(channels).fill(values[0]!) : undefined;
    };

    const removed = new Set<string>();
    const added: GraphNode[] = [];
    const newWeights: tf.NamedTensorMap = {};
    let fusedConvolutions = 0;
    for (const convolution of topology.node) {
      const fusedOp = CONVOLUTIONS[convolution.op];
      const filter = fusedOp ? constant(convolution.input?.[1]) : undefined;
      if (!fusedOp || !filter || filter.rank !== 4) continue;
      const filterValues = filter.dataSync() as Float32Array;
      // Output channels: out for Conv2D's [h, w, in, out]; in × multiplier for a depthwise [h, w, in, multiplier],
      // whose output channel i·multiplier + m is also the filter's flat index modulo in × multiplier.
      const channels = convolution.op === 'Conv2D' ? filter.shape[3]! : filter.shape[2]! * filter.shape[3]!;
      const scale = new Float32Array(channels).fill(1);
      const bias = new Float32Array(channels);
      let last = convolution;
      let activation: string | undefined;
      const chain: GraphNode[] = [];

      let next = soleReader(last);
      if (next?.op === 'FusedBatchNorm' && (next.attr?.is_training as { b?: boolean } | undefined)?.b !== true) {
        const [gamma, beta, mean, variance] = [1, 2, 3, 4].map((k) => perChannel(next!.input?.[k], channels));
        const epsilon = Number((next.attr?.epsilon as { f?: number } | undefined)?.f ?? 0.001);
        if (gamma && beta && mean && variance) {
          for (let k = 0; k < channels; k++) {
            scale[k] = gamma[k]! / Math.sqrt(variance[k]! + epsilon);
            bias[k] = beta[k]! - mean[k]! * scale[k]!;
          }
          chain.push(next);
          last = next;
          next = soleReader(last);
        }
      } else if (next?.op === 'Mul') {
        const factor = perChannel(next.input?.[1], channels);
        if (factor) {
          scale.set(factor);
          chain.push(next);
          last = next;
          next = soleReader(last);
        }
      }
      if (next && BIAS_OPS.has(next.op)) {
        const offset = perChannel(next.input?.[1], channels);
        if (offset) {
          for (let k = 0; k < channels; k++) bias[k] = bias[k]! + offset[k]!;
          chain.push(next);
          last = next;
          next = soleReader(last);
        }
      }
      if (next && ACTIVATIONS.has(next.op)) {
        activation = next.op;
        chain.push(next);
        last = next;
      }
      if (!chain.length) continue;

      const scaledFilter = filterValues.map((value, index) => value * scale[index % channels]!);
      const filterName = `${last.name}/fused_filter`;
      const biasName = `${last.name}/fused_bias`;
      newWeights[filterName] = tf.tensor(scaledFilter, filter.shape, 'float32');
      newWeights[biasName] = tf.tensor1d(bias, 'float32');
      added.push(constantNode(filterName, filter.shape), constantNode(biasName, [channels]), {
        name: last.name,
        op: fusedOp,
        input: [convolution.input![0]!, filterName, biasName],
        attr: {
          ...convolution.attr,
          fused_ops: { list: { s: ['BiasAdd', ...(activation ? [activation] : [])].map(stringBytes) } },
          num_args: { i: '1' },
          epsilon: { f: 0 },
        },
      });
      for (const node of [convolution, ...chain]) removed.add(node.name);
      fusedConvolutions += 1;
    }
    if (!fusedConvolutions) return { artifacts, fusedConvolutions };

    const kept = topology.node.filter((node) => !removed.has(node.name));
    const newTopology = { ...topology, node: [...kept, ...added] };
    // Constants no node reads any more (the original filters, scales and biases) are left out of the weights.
    const stillRead = new Set(newTopology.node.flatMap((node) => (node.input ?? []).map(nodeNameOf)));
    const keptWeights: tf.NamedTensorMap = { ...newWeights };
    for (const [name, tensor] of Object.entries(weights)) if (stillRead.has(name)) keptWeights[name] = tensor;
    newTopology.node = newTopology.node.filter((node) => node.op !== 'Const' || stillRead.has(node.name));
    const encoded = await tf.io.encodeWeights(keptWeights);
    tf.dispose(Object.values(newWeights));
    return { artifacts: { ...artifacts, modelTopology: newTopology, weightSpecs: encoded.specs, weightData: encoded.data }, fusedConvolutions };
  } finally {
    tf.dispose(Object.values(weights));
  }
}

/** A float32 constant node as the converter writes one: its value comes from the weights of the same name. */
function constantNode(name: string, shape: readonly number[]): GraphNode {
  return {
    name,
    op: 'Const',
    input: [],
    attr: { dtype: { type: DT_FLOAT }, value: { tensor: { dtype: DT_FLOAT, tensorShape: { dim: shape.map((size) => ({ size: String(size) })) } } } },
  };
}

/**
 * An IOHandler that loads through `handler` and hands TF.js the fused artifacts (fuseConvolutions). Throws at once
 * when `handler` cannot load (a save-only handler).
 */
export function fusingHandler(handler: tf.io.IOHandler): tf.io.IOHandler {
  const load = handler.load?.bind(handler);
  if (!load) throw new Error('fusingHandler: the model handler given cannot load a model');
  return {
    async load() {
      return (await fuseConvolutions(await load())).artifacts;
    },
  };
}
