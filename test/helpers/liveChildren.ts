/**
 * Child processes of live tests (veil, ffmpeg sources), each in its own process group, all remembered so that one
 * call in afterAll ends every one of them — and their own children: `veil run` starts an ffmpeg per camera, and a
 * looping ffmpeg left behind would run for ever.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface TrackedChild {
  process: ChildProcess;
  pid: number;
  /** Resolves when the process has exited (never rejects). */
  exited: Promise<Exit>;
  running(): boolean;
  /** Sends `signal` to the process itself, not to its group: what a service manager does on stop. */
  signal(signal: NodeJS.Signals): void;
  /** Sends `signal` to the whole process group: what a terminal does on Ctrl-C. */
  signalGroup(signal: NodeJS.Signals): void;
  /** Whether any process of the child's group is still alive (its children included: an orphan would be). */
  groupAlive(): boolean;
  /** SIGKILLs the whole process group and waits for the exit. */
  kill(): Promise<Exit>;
}

const tracked = new Set<TrackedChild>();

export function spawnTracked(command: string, args: string[], options: SpawnOptions): TrackedChild {
  const child = spawn(command, args, { ...options, detached: true });
  if (child.pid === undefined) throw new Error(`could not start ${command} ${args.join(' ')}`);
  const pid = child.pid;
  let exit: Exit | undefined;
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      resolve(exit);
    });
  });
  const running = () => exit === undefined;
  const entry: TrackedChild = {
    process: child,
    pid,
    exited,
    running,
    signal: (signal) => {
      if (running()) process.kill(pid, signal);
    },
    signalGroup: (signal) => process.kill(-pid, signal),
    groupAlive: () => {
      try {
        process.kill(-pid, 0);
        return true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
        throw error;
      }
    },
    kill: async () => {
      // The group outlives its leader: a veil killed first may have left ffmpeg children in it.
      try {
        process.kill(-pid, 'SIGKILL');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
      }
      return exited;
    },
  };
  tracked.add(entry);
  return entry;
}

/** Ends every child started through spawnTracked, running or not (its group may still hold grandchildren). */
export async function killTrackedChildren(): Promise<void> {
  const all = [...tracked];
  tracked.clear();
  await Promise.all(all.map((child) => child.kill()));
}

/**
 * A scratch folder for a file of live tests, made before its tests and removed after them, once every child process
 * they started is gone. Returns a getter: the folder exists only once beforeAll has run.
 */
export function useLiveSandbox(prefix: string): () => string {
  let sandbox: string | undefined;
  beforeAll(async () => {
    sandbox = await mkdtemp(path.join(os.tmpdir(), prefix));
  });
  afterAll(async () => {
    await killTrackedChildren();
    if (sandbox) await rm(sandbox, { recursive: true, force: true });
  });
  return () => {
    if (!sandbox) throw new Error('useLiveSandbox: the sandbox exists only inside the tests (after beforeAll)');
    return sandbox;
  };
}
