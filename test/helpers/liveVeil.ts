/**
 * `veil run` as an operator starts it: the real CLI in its own Node process, a site config file on disk, the feed
 * token in the environment, JSON logs on stderr. The test learns the port (the config asks for port 0) from the
 * "listening" log line, as a supervisor script would.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'yaml';
import { z } from 'zod';
import { VEIL_BIN } from './paths.ts';
import { spawnTracked, type TrackedChild } from './liveChildren.ts';
import { eventually } from './liveWait.ts';

/** Long enough for `veil run`'s minimum (16 characters). */
export const FEED_TOKEN = 'live-test-feed-token-4f9c2e';

const logEntrySchema = z.looseObject({ time: z.iso.datetime(), level: z.enum(['info', 'warn', 'error']), message: z.string() });
export type LogEntry = z.infer<typeof logEntrySchema>;

/**
 * Writes `site` as `dir/name` in YAML, the format the README shows; returns the file's path. A box's config (one with
 * cameras) gets the bundled detector tier unless it names one: what these tests expect of detections was measured
 * with it, and `auto` would choose by this machine's speed of the moment (test/pipeline/detectorTier tests `auto`).
 */
export async function writeSiteConfig(dir: string, name: string, site: Record<string, unknown>): Promise<string> {
  const file = path.join(dir, name);
  const detector = { model: 'lite_mobilenet_v2', ...(site.detector as Record<string, unknown> | undefined) };
  await writeFile(file, stringify('cameras' in site ? { ...site, detector } : site));
  return file;
}

export interface VeilRun {
  child: TrackedChild;
  /** Everything written on stderr so far. */
  stderr(): string;
  /** The JSON log lines so far, schema-checked; other stderr lines (a fatal error's message) are left out. */
  log(): LogEntry[];
  /** Resolves with `http://127.0.0.1:PORT` once the feed listens; rejects if veil exits first. */
  listening(timeoutSeconds: number): Promise<string>;
}

export interface VeilRunOptions {
  /** The sandbox's HOME and working directory. */
  home: string;
  newLedger: boolean;
  /**
   * How veil is started, before its arguments: default `node pipeline/veil.mjs`. The README's service unit runs the
   * bin itself (`node_modules/.bin/veil`), a terminal user `npx veil` (from `cwd`, the project folder).
   */
  command?: string[];
  cwd?: string;
}

export function startVeilRun(configFile: string, options: VeilRunOptions): VeilRun {
  return startVeil(['run', '--config', configFile, ...(options.newLedger ? ['--new-ledger'] : [])], options);
}

/** Any long-running veil command (`run`, `aggregate`) with JSON logs, started like startVeilRun's. */
export function startVeil(commandArgs: string[], options: Omit<VeilRunOptions, 'newLedger'>): VeilRun {
  const [command, ...prefix] = options.command ?? [process.execPath, VEIL_BIN];
  const args = [...prefix, ...commandArgs, '--log-format', 'json'];
  const env = { PATH: process.env.PATH, LANG: 'C.UTF-8', HOME: options.home, XDG_STATE_HOME: path.join(options.home, 'state'), VEIL_FEED_TOKEN: FEED_TOKEN };
  const child = spawnTracked(command!, args, { cwd: options.cwd ?? options.home, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.process.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text));

  const log = () =>
    stderr
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => logEntrySchema.parse(JSON.parse(line)));

  const listening = async (timeoutSeconds: number) => {
    const found = await eventually(`veil ${commandArgs[0]} to log that it is listening`, timeoutSeconds, () => {
      const entry = log().find((e) => e.message.includes('listening'));
      if (entry !== undefined) return { port: z.number().int().positive().parse(entry.port) };
      return child.running() ? undefined : { port: undefined };
    });
    if (found.port === undefined) throw new Error(`veil ${commandArgs[0]} exited before listening:\n${stderr}`);
    return `http://127.0.0.1:${found.port}`;
  };

  return { child, stderr: () => stderr, log, listening };
}
