/**
 * `veil` — the command line. Each subcommand parses its flags, builds its job from them (and from `--config`), and
 * returns an exit code: 0 done, 1 the work failed (bad input clip, dead camera, ...), 2 a usage or config mistake.
 */
import { BACKEND_CHOICES, NATIVE_INSTALL_COMMAND } from '../models/backend.ts';
import { UsageError } from './args.ts';
import { batchCommand, BATCH_HELP } from './batchCommand.ts';
import { ConfigError } from './config.ts';
import { evalCommand, EVAL_HELP } from './evalCommand.ts';
import { PrivacyConfigError } from '../stages/privacy/settings.ts';
import { runCommand, RUN_HELP } from './runCommand.ts';

const COMMANDS = {
  batch: { run: batchCommand, help: BATCH_HELP },
  eval: { run: evalCommand, help: EVAL_HELP },
  run: { run: runCommand, help: RUN_HELP },
} as const;

const MAIN_HELP = `veil — privacy-preserving camera analytics: counts people and vehicles on the device and publishes only
differentially private aggregates. No frame, crop or track ever leaves the process.

Usage:
  veil batch [CLIP] [options]        analyse a recorded clip into report.json / .csv / .svg / .png
  veil eval --labels FILE CLIP       compare noise-free counts with hand counts (camera placement check)
  veil run --config site.yaml        supervise live cameras, serve the WebSocket feed and dashboard

Run \`veil <command> --help\` for its options.

Detector backends (--backend): ${BACKEND_CHOICES.join(', ')}. 'auto' takes the first that loads, in the order
tensorflow-gpu → tensorflow → wasm → cpu, and the log says which it chose and why. The native backends are optional:
  GPU:  ${NATIVE_INSTALL_COMMAND['tensorflow-gpu']}   (needs CUDA; its install downloads libtensorflow)
  CPU:  ${NATIVE_INSTALL_COMMAND.tensorflow}
`;

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(MAIN_HELP);
    return name ? 0 : 2;
  }
  const command = COMMANDS[name as keyof typeof COMMANDS];
  if (!command) {
    process.stderr.write(`veil: unknown command "${name}". Commands: ${Object.keys(COMMANDS).join(', ')}. See \`veil --help\`.\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(command.help);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    if (error instanceof UsageError || error instanceof ConfigError || error instanceof PrivacyConfigError) {
      process.stderr.write(`veil ${name}: ${error.message}\n`);
      return 2;
    }
    if (error instanceof Error) {
      process.stderr.write(`veil ${name}: ${error.message}\n`);
      if (process.env.VEIL_DEBUG && error.stack) process.stderr.write(`${error.stack}\n`);
      return 1;
    }
    throw error;
  }
}
