/**
 * The persistent mosquitto a fleet test or benchmark runs: its config file and the probe that says it is up. Kept
 * apart from mosquitto.ts (which tracks the process for vitest) so that `npm run bench:fleet` runs the same broker.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const MOSQUITTO = '/usr/sbin/mosquitto';

/**
 * Writes `folder/mosquitto.conf` (creating the folder): listening on 127.0.0.1:`port` only, anonymous clients
 * allowed, persisting to `folder`. Returns the file's path.
 */
export async function writeMosquittoConfig(folder: string, port: number, extraConfig: string[] = []): Promise<string> {
  await mkdir(folder, { recursive: true });
  const configFile = path.join(folder, 'mosquitto.conf');
  await writeFile(configFile, [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous true',
    // Started as root, mosquitto would drop to its own user and could not write the test's folder.
    `user ${os.userInfo().username}`,
    'persistence true',
    `persistence_location ${folder}/`,
    // Write the in-memory database to disk on every change, so a SIGKILL loses nothing a client was told was stored.
    'autosave_interval 1',
    'autosave_on_changes true',
    'max_queued_messages 0',
    'log_dest none',
    ...extraConfig,
    '',
  ].join('\n'));
  return configFile;
}

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
export function brokerAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
