/**
 * `veil` — the command line. Each subcommand parses its flags, builds its job from them (and from `--config`), and
 * returns an exit code: 0 done, 1 the work failed (bad input clip, dead camera, unreadable ledger, ...), 2 a usage,
 * config or setup mistake (paths, permissions, the ledger's place: a PathError), 3 eval outside tolerance.
 */
import { BACKEND_CHOICES, NATIVE_INSTALL_COMMAND } from '../models/backend.ts';
import { aggregateCommand, AGGREGATE_HELP } from './aggregateCommand.ts';
import { UsageError } from './args.ts';
import { batchCommand, BATCH_HELP } from './batchCommand.ts';
import { ConfigError } from './config.ts';
import { evalCommand, EVAL_HELP } from './evalCommand.ts';
import { describeFsError, errnoOf, PathError } from './fsProblems.ts';
import { PrivacyConfigError } from '../stages/privacy/settings.ts';
import { MqttConnectionError } from '../streams/mqtt/connection.ts';
import { runCommand, RUN_HELP } from './runCommand.ts';

/** How the process's stop signals (SIGTERM, SIGINT) reach a command; see pipeline/veil.mjs. */
export interface StopSignals {
  /** Aborts, with the signal's name as its reason, when the first stop signal arrives. */
  stop: AbortSignal;
  /** Gives the signals their default effect (the process dies of them), for commands that keep no state open. */
  releaseSignals(): void;
}

const COMMANDS: Record<string, { run: (argv: string[], stop: AbortSignal) => Promise<number>; help: string; handlesStopSignals: boolean }> = {
  batch: { run: batchCommand, help: BATCH_HELP, handlesStopSignals: false },
  eval: { run: evalCommand, help: EVAL_HELP, handlesStopSignals: false },
  // A live box is stopped by its service manager: it must exit 0, ledger closed, whenever the signal comes.
  run: { run: runCommand, help: RUN_HELP, handlesStopSignals: true },
  // The city side: its store and broker session close cleanly on a stop.
  aggregate: { run: aggregateCommand, help: AGGREGATE_HELP, handlesStopSignals: true },
};

const MAIN_HELP = `veil — privacy-preserving camera analytics: counts people and vehicles on the device and publishes only
differentially private aggregates. No frame, crop or track ever leaves the process.

Usage:
  veil batch [CLIP] [options]        analyse a recorded clip into report.json / .csv / .svg / .png
  veil eval --labels FILE CLIP       compare noise-free counts with hand counts (camera placement check)
  veil run --config site.yaml        supervise live cameras, serve the WebSocket feed and dashboard
  veil aggregate --config city.yaml  the city side: district totals from a fleet of boxes over MQTT

Run \`veil <command> --help\` for its options.

Exit codes: 0 done; 1 the work failed (a damaged clip, a detector that cannot start, an unreadable ledger); 2 a usage,
config or setup mistake (a flag, a config field, a path or its permissions, the privacy ledger's place); 3 veil eval:
a line outside its tolerance.

Detector backends (--backend): ${BACKEND_CHOICES.join(', ')}. 'auto' takes the first that loads, in the order
tensorflow-gpu → tensorflow → wasm → cpu, and the log says which it chose and why. The native backends are optional:
  GPU:  ${NATIVE_INSTALL_COMMAND['tensorflow-gpu']}   (needs CUDA; its install downloads libtensorflow)
  CPU:  ${NATIVE_INSTALL_COMMAND.tensorflow}
`;

export async function main(argv: string[], signals: StopSignals): Promise<number> {
  const [name, ...rest] = argv;
  const command = name === undefined ? undefined : COMMANDS[name];
  if (!command?.handlesStopSignals) signals.releaseSignals();
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(MAIN_HELP);
    return name ? 0 : 2;
  }
  if (!command) {
    process.stderr.write(`veil: unknown command "${name}". Commands: ${Object.keys(COMMANDS).join(', ')}. See \`veil --help\`.\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(command.help);
    return 0;
  }
  try {
    return await command.run(rest, signals.stop);
  } catch (error) {
    if (error instanceof UsageError || error instanceof ConfigError || error instanceof PrivacyConfigError || error instanceof PathError || error instanceof MqttConnectionError) {
      process.stderr.write(`veil ${name}: ${error.message}\n`);
      return 2;
    }
    const errno = errnoOf(error);
    if (errno) {
      // An errno error nothing closer to its cause explained: its path and a fix, never Node's raw text.
      process.stderr.write(`veil ${name}: ${describeFsError(errno)}\n`);
      if (process.env.VEIL_DEBUG && errno.stack) process.stderr.write(`${errno.stack}\n`);
      return 1;
    }
    if (error instanceof Error) {
      process.stderr.write(`veil ${name}: ${error.message}\n`);
      if (process.env.VEIL_DEBUG && error.stack) process.stderr.write(`${error.stack}\n`);
      return 1;
    }
    throw error;
  }
}
