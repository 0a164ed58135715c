/**
 * A real MQTT broker for fleet tests: Debian's mosquitto on 127.0.0.1, started by the test in its own folder, with
 * persistence on so that a broker killed and restarted keeps its queued QoS 1 messages and persistent sessions — what
 * a city's broker does. `.ci/run` installs mosquitto.
 */
import { existsSync } from 'node:fs';
import { spawnTracked, type TrackedChild } from './liveChildren.ts';
import { unusedPort } from './liveSource.ts';
import { eventually } from './liveWait.ts';
import { brokerAccepts, MOSQUITTO, writeMosquittoConfig } from './mosquittoConfig.ts';

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
  const port = await unusedPort();
  const configFile = await writeMosquittoConfig(folder, port, extraConfig);
  let child: TrackedChild | undefined;
  const start = async () => {
    child = spawnTracked(MOSQUITTO, ['-c', configFile], { stdio: 'ignore' });
    await eventually(`mosquitto on 127.0.0.1:${port}`, 10, () => brokerAccepts(port));
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
