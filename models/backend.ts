/**
 * Chooses the tfjs backend at run time. The native TensorFlow bindings are optional: they cannot be installed on
 * every box (their install script downloads libtensorflow), so they are used only when already importable.
 *
 *   auto:  tensorflow-gpu → tensorflow → wasm → cpu   (first that loads wins; the log says why each was skipped)
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';

export const BACKEND_CHOICES = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];
type ConcreteBackend = Exclude<BackendChoice, 'auto'>;

export interface ChosenBackend {
  /** The backend Veil asked for, as named in `--backend`. */
  name: ConcreteBackend;
  /** The tfjs backend that now runs the model ('tensorflow', 'wasm' or 'cpu'). */
  tfjsBackend: string;
  /** One line a person can read: why this backend, and why the faster ones were not used. */
  reason: string;
}

/** The one command that adds each native backend, on a box whose install can reach the network (and CUDA for -gpu). */
export const NATIVE_INSTALL_COMMAND = {
  'tensorflow-gpu': 'npm install @tensorflow/tfjs-node-gpu@4.22.0',
  tensorflow: 'npm install @tensorflow/tfjs-node@4.22.0',
} as const;

const AUTO_ORDER: ConcreteBackend[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];
const require = createRequire(import.meta.url);

async function activate(name: ConcreteBackend): Promise<string> {
  switch (name) {
    case 'tensorflow-gpu':
    case 'tensorflow': {
      const pkg = name === 'tensorflow-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
      // Importing the package registers the 'tensorflow' backend with the tfjs-core it was installed against.
      await import(pkg);
      if (!(await tf.setBackend('tensorflow'))) throw new Error(`${pkg} loaded but its backend failed to start`);
      return 'tensorflow';
    }
    case 'wasm': {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      const wasmDir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
      wasm.setWasmPaths(wasmDir + path.sep);
      // wasm's own threads are not used in Node: parallelism comes from one backend per worker thread.
      wasm.setThreadsCount(1);
      // setBackend resolves false (it does not throw) when the .wasm binaries can't be found.
      if (!(await tf.setBackend('wasm'))) throw new Error(`the wasm binaries were not found in ${wasmDir}`);
      return 'wasm';
    }
    case 'cpu':
      await import('@tensorflow/tfjs-backend-cpu');
      if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend failed to start');
      return 'cpu';
  }
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (/Cannot find (module|package)/.test(message)) return 'not installed';
  return message.split('\n')[0] ?? message;
}

export async function chooseBackend(choice: BackendChoice): Promise<ChosenBackend> {
  if (choice !== 'auto') {
    try {
      return { name: choice, tfjsBackend: await activate(choice), reason: `forced by --backend ${choice}` };
    } catch (error) {
      const hint = choice === 'tensorflow-gpu' || choice === 'tensorflow' ? ` (to add it: ${NATIVE_INSTALL_COMMAND[choice]})` : '';
      throw new Error(`--backend ${choice} is not usable here: ${firstLine(error)}${hint}`);
    }
  }
  const skipped: string[] = [];
  for (const candidate of AUTO_ORDER) {
    try {
      const tfjsBackend = await activate(candidate);
      const why = skipped.length ? `fastest available (skipped ${skipped.join('; ')})` : 'fastest available';
      return { name: candidate, tfjsBackend, reason: why };
    } catch (error) {
      skipped.push(`${candidate}: ${firstLine(error)}`);
    }
  }
  throw new Error(`no tfjs backend could start: ${skipped.join('; ')}`);
}
