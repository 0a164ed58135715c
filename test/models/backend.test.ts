import { describe, expect, it } from 'vitest';
import { chooseBackend, NATIVE_INSTALL_COMMAND } from '../../models/backend.ts';
import { packageInstalled } from '../helpers/packages.ts';

describe('chooseBackend', () => {
  it.skipIf(packageInstalled('@tensorflow/tfjs-node'))('a forced tensorflow backend that is not installed names the command that adds it', async () => {
    await expect(chooseBackend('tensorflow')).rejects.toThrow(
      `--backend tensorflow is not usable here: not installed (to add it: ${NATIVE_INSTALL_COMMAND.tensorflow})`,
    );
  });

  it.skipIf(packageInstalled('@tensorflow/tfjs-node-gpu'))('so does a forced tensorflow-gpu backend', async () => {
    await expect(chooseBackend('tensorflow-gpu')).rejects.toThrow(`(to add it: ${NATIVE_INSTALL_COMMAND['tensorflow-gpu']})`);
  });

  it('auto falls back to a backend that loads and says why it skipped the faster ones', async () => {
    const chosen = await chooseBackend('auto');
    expect(['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']).toContain(chosen.name);
    if (chosen.name === 'wasm' || chosen.name === 'cpu') expect(chosen.reason).toMatch(/^fastest available \(skipped tensorflow-gpu: .+; tensorflow: .+\)$/);
  });
});
