/**
 * `veil run` stopped at every phase of its life, as service managers and terminals stop it: SIGTERM to the process
 * (systemd, Docker, supervisord) or SIGINT to its process group (Ctrl-C). Each time it must exit 0 within 10 s of
 * the signal (issue 13), leave no process of its group behind (an orphaned Veil holds the port and the ledger) and
 * leave a ledger that SQLite's own integrity check passes. Real child processes, the real detector, real ffmpeg.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { useLiveSandbox } from '../helpers/liveChildren.ts';
import { startVeilRun, writeSiteConfig, type VeilRun } from '../helpers/liveVeil.ts';
import { eventually, withinSeconds } from '../helpers/liveWait.ts';
import { FOOTAGE, REPO_ROOT } from '../helpers/paths.ts';

/** The bound issue 13 sets, from the signal to the exit of every process veil started. */
const STOP_WITHIN_SECONDS = 10;
/** Reaching a phase means loading the model first: seconds when idle, more beside other test files. */
const PHASE_TIMEOUT_SECONDS = 90;
/** How the README's systemd unit starts Veil: the bin itself, so that the service manager's signal reaches it. */
const SERVICE_COMMAND = [path.join(REPO_ROOT, 'node_modules', '.bin', 'veil')];

const sandbox = useLiveSandbox('veil-lifecycle-');

async function startOneCamera(name: string, command: string[], cwd?: string): Promise<{ veil: VeilRun; ledger: string }> {
  const stateDir = path.join(sandbox(), `state-${name}`);
  const configFile = await writeSiteConfig(sandbox(), `${name}.yaml`, {
    stateDir,
    detector: { workers: 1 },
    feed: { port: 0 },
    cameras: [{ id: 'yard', source: { file: FOOTAGE.parkinglot, loop: true }, fps: 2, windowSeconds: 2, maxWidth: 320 }],
  });
  return { veil: startVeilRun(configFile, { home: sandbox(), newLedger: true, command, cwd }), ledger: path.join(stateDir, 'privacy-ledger') };
}

// The log is read before asking whether veil still runs: a quick phase may log its line and exit between two polls.
const logged = (veil: VeilRun, message: string) => eventually(`veil to log "${message}"`, PHASE_TIMEOUT_SECONDS, () => {
  if (veil.log().some((entry) => entry.message === message)) return true;
  if (!veil.child.running()) throw new Error(`veil exited before "${message}":\n${veil.stderr()}`);
  return false;
});

/**
 * Waits for the exit and for every process of veil's group to be gone, both within STOP_WITHIN_SECONDS. Under npx the
 * child is npm, which reports its child's Ctrl-C by dying of SIGINT itself; Veil's own clean exit is then its last log.
 */
async function expectCleanStop(veil: VeilRun, ledger: string, startedBy: 'bin' | 'npx' = 'bin') {
  const exit = await withinSeconds('veil to exit after the stop signal', STOP_WITHIN_SECONDS, veil.child.exited);
  if (startedBy === 'bin') expect(exit, veil.stderr()).toEqual({ code: 0, signal: null });
  // Both ways out end in exit code 0: the clean one, and the deadline's (a model load that outlasts 8 s).
  expect(veil.log().at(-1)?.message, veil.stderr()).toMatch(/^stopped cleanly$|^shutdown is taking too long/);
  await eventually('no process left in veil’s group', STOP_WITHIN_SECONDS, () => !veil.child.groupAlive());
  const database = new Database(ledger, { readonly: true, fileMustExist: true });
  try {
    expect(database.pragma('integrity_check', { simple: true })).toBe('ok');
  } finally {
    database.close();
  }
  expect(veil.stderr()).not.toMatch(/^\s+at .*:\d+:\d+\)?$/m);
}

describe('veil run, stopped at each phase, exits 0 within 10 s with the ledger intact', () => {
  it('during model load (SIGTERM to the bin, as the systemd unit starts it)', async () => {
    const { veil, ledger } = await startOneCamera('model-load', SERVICE_COMMAND);
    await logged(veil, 'loading the detector');
    veil.child.signal('SIGTERM');
    await expectCleanStop(veil, ledger);
    expect(veil.log().some((entry) => entry.message.includes('listening'))).toBe(false);
  });

  it('while the camera starts (SIGTERM)', async () => {
    const { veil, ledger } = await startOneCamera('camera-start', SERVICE_COMMAND);
    await logged(veil, 'camera starting');
    veil.child.signal('SIGTERM');
    await expectCleanStop(veil, ledger);
  });

  it('while streaming, started with npx and stopped with Ctrl-C (SIGINT to the process group, as a terminal sends it)', async () => {
    const { veil, ledger } = await startOneCamera('streaming', ['npx', '--no-install', 'veil'], REPO_ROOT);
    await logged(veil, 'camera streaming');
    veil.child.signalGroup('SIGINT');
    await expectCleanStop(veil, ledger, 'npx');
  });

  it('during shutdown: a second signal while stopping changes nothing', async () => {
    const { veil, ledger } = await startOneCamera('shutdown', SERVICE_COMMAND);
    await logged(veil, 'camera streaming');
    veil.child.signal('SIGTERM');
    await logged(veil, 'stopping');
    veil.child.signal('SIGINT');
    await expectCleanStop(veil, ledger);
  });
});
