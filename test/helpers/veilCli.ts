/**
 * Runs the `veil` command as a user runs it: a separate Node process on pipeline/veil.mjs, inside a sandbox whose
 * HOME, XDG state/config/cache, TMPDIR and working directory are fresh empty folders. Whatever the run leaves on
 * disk is then in the sandbox, where a test can list it.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { VEIL_BIN } from './paths.ts';

export interface Sandbox {
  root: string;
  /** The working directory of runs (a relative `--out` lands here). */
  cwd: string;
  home: string;
  tmp: string;
  stateHome: string;
  /** Where a test puts the files it hands to veil (clips, configs); not part of what a run writes. */
  inputs: string;
  env: NodeJS.ProcessEnv;
  remove(): Promise<void>;
}

export async function createSandbox(): Promise<Sandbox> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'veil-test-'));
  const dirs = { cwd: path.join(root, 'work'), home: path.join(root, 'home'), tmp: path.join(root, 'tmp'), stateHome: path.join(root, 'state'), inputs: path.join(root, 'inputs') };
  const configHome = path.join(root, 'config');
  const cacheHome = path.join(root, 'cache');
  await Promise.all([...Object.values(dirs), configHome, cacheHome].map((dir) => mkdir(dir)));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    LANG: 'C.UTF-8',
    HOME: dirs.home,
    TMPDIR: dirs.tmp,
    XDG_STATE_HOME: dirs.stateHome,
    XDG_CONFIG_HOME: configHome,
    XDG_CACHE_HOME: cacheHome,
    // tsx caches Veil's compiled source under TMPDIR; off, so that the sandbox holds only what Veil itself wrote.
    TSX_DISABLE_CACHE: '1',
  };
  return { root, ...dirs, env, remove: () => rm(root, { recursive: true, force: true }) };
}

export interface VeilRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Added to (or, when undefined, removed from) the sandbox environment. */
  env?: NodeJS.ProcessEnv;
  /** A command that runs `node veil.mjs ...` under it, e.g. ['strace', '-f', ...]. */
  wrapper?: string[];
}

/** Runs `veil ARGS...` in the sandbox; never rejects on a non-zero exit (the exit code is part of the answer). */
export function runVeil(args: string[], sandbox: Sandbox, options: RunOptions = {}): Promise<VeilRun> {
  const [command, ...prefix] = [...(options.wrapper ?? []), process.execPath];
  const env = { ...sandbox.env, ...options.env };
  return new Promise((resolve, reject) => {
    execFile(command!, [...prefix, VEIL_BIN, ...args], { cwd: sandbox.cwd, env, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') reject(error);
      else resolve({ exitCode: error ? Number(error.code) : 0, stdout, stderr });
    });
  });
}

/** Every file under `dir`, as paths relative to it, sorted. */
export async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => !entry.isDirectory())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
    .sort();
}

/** Every file a run left in the sandbox outside `inputs/`, relative to the sandbox root. */
export async function writtenFiles(sandbox: Sandbox): Promise<string[]> {
  return (await listFiles(sandbox.root)).filter((file) => !file.startsWith(`inputs${path.sep}`));
}

/** Every folder a run made in the sandbox (beside the sandbox's own and outside `inputs/`), relative to its root, sorted. */
export async function writtenFolders(sandbox: Sandbox): Promise<string[]> {
  const own = new Set([sandbox.cwd, sandbox.home, sandbox.tmp, sandbox.stateHome, sandbox.inputs, path.join(sandbox.root, 'config'), path.join(sandbox.root, 'cache')]);
  const entries = await readdir(sandbox.root, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => path.join(entry.parentPath, entry.name))
    .filter((folder) => !own.has(folder) && !folder.startsWith(`${sandbox.inputs}${path.sep}`))
    .map((folder) => path.relative(sandbox.root, folder))
    .sort();
}

/** A Node or V8 stack frame line ("    at fn (file.ts:12:3)"): what a person should never see from the CLI. */
export const STACK_FRAME_LINE = /^\s+at .*:\d+:\d+\)?$/m;
