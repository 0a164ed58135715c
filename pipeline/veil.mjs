#!/usr/bin/env node
// The `veil` command. Veil runs from its TypeScript source through tsx, so there is no build step after npm install.
//
// SIGTERM and SIGINT are caught from the first instant, before the source is even compiled: a service manager may stop
// `veil run` at any moment, and it must still exit 0 with its ledger closed (issue 13). The command that handles them
// gets them as an AbortSignal; the others hand them back and die of them as usual.
import { register } from 'tsx/esm/api';

const STOP_SIGNALS = ['SIGTERM', 'SIGINT'];
const stop = new AbortController();
const catchStop = (signal) => stop.abort(signal);
for (const signal of STOP_SIGNALS) process.on(signal, catchStop);

const releaseSignals = () => {
  for (const signal of STOP_SIGNALS) process.off(signal, catchStop);
  // A signal that came while the command was loading is delivered again, now with its default effect.
  if (stop.signal.aborted) process.kill(process.pid, stop.signal.reason);
};

register();
const { main } = await import('./cli.ts');
const exitCode = await main(process.argv.slice(2), { stop: stop.signal, releaseSignals });
// Once a stopped `veil run` has shut down, exit at once: a second signal must not land while Node winds the event
// loop down (worker threads, sockets), where it would end the process by the signal instead of exit code 0.
if (stop.signal.aborted) process.exit(exitCode);
process.exitCode = exitCode;
