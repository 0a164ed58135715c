/**
 * A real MQTT broker for fleet tests: Debian's mosquitto on 127.0.0.1, started by the test in its own folder, with
 * persistence on so that a broker killed and restarted keeps its queued QoS 1 messages and persistent sessions — what
 * a city's broker does. `.ci/run` installs mosquitto.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { spawnTracked, type TrackedChild } from './liveChildren.ts';
import { unusedPort } from './liveSource.ts';
import { eventually } from './liveWait.ts';

const MOSQUITTO = '/usr/sbin/mosquitto';

export interface Broker {
  /** mqtt://127.0.0.1:PORT */
  url: string;
  port: number;
  /** Kills the broker with SIGKILL (no clean shutdown), as a crash or a pulled cable would. */
  kill(): Promise<void>;
  /** Stops the process without ending it (SIGSTOP): connections stay open and nothing is answered, as a hung broker. */
  freeze(): void;
  /** Starts it again on the same port with the same persistence folder. */
  restart(): Promise<void>;
  /** Stops it for good (SIGKILL; the test's folder is removed by its sandbox). */
  stop(): Promise<void>;
}

/**
 * Starts mosquitto listening on 127.0.0.1 only, anonymous clients allowed, persisting to `folder` (created).
 * Resolves once the port accepts connections. Throws when mosquitto is not installed, naming the package.
 */
export async function startMosquitto(folder: string, extraConfig: string[] = []): Promise<Broker> {
  if (!existsSync(MOSQUITTO)) throw new Error(`${MOSQUITTO} is missing: install Debian's mosquitto (apt-get install mosquitto; .ci/run does)`);
  await mkdir(folder, { recursive: true });
  const port = await unusedPort();
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
  let child: TrackedChild | undefined;
  const start = async () => {
    child = spawnTracked(MOSQUITTO, ['-c', configFile], { stdio: 'ignore' });
    await eventually(`mosquitto on 127.0.0.1:${port}`, 10, () => accepts(port));
  };
  await start();
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    kill: async () => {
      await child?.kill();
    },
    freeze: () => child?.signal('SIGSTOP'),
    restart: start,
    stop: async () => {
      await child?.kill();
    },
  };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
