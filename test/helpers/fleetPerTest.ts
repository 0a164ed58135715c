/**
 * For fleet tests that each start a broker and a `veil aggregate` of their own (so nothing retained leaks from one
 * test into the next): the broker, the aggregator and every MQTT client a test opens, all ended after each test.
 *
 *   const fleet = useFleetPerTest();
 *   fleet.started({ broker, aggregator });                 // what the test started
 *   const box = await fleet.connect('box-south', { clean: false, reconnectPeriod: 200 });
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterEach } from 'vitest';
import type { VeilRun } from './liveVeil.ts';
import type { Broker } from './mosquitto.ts';

export interface FleetPerTest {
  /** Records the broker and the aggregator the test started (either may come later), to be ended after it. */
  started(parts: { broker?: Broker; aggregator?: VeilRun }): void;
  broker(): Broker;
  aggregator(): VeilRun;
  /**
   * Connects a client to this test's broker as `clientId` (default: a clean session that does not reconnect, as a
   * box's round client), ended after the test.
   */
  connect(clientId: string, options?: IClientOptions): Promise<MqttClient>;
}

export function useFleetPerTest(): FleetPerTest {
  let broker: Broker | undefined;
  let aggregator: VeilRun | undefined;
  let connections: MqttClient[] = [];
  afterEach(async () => {
    await Promise.all(connections.map((client) => client.endAsync(true)));
    connections = [];
    await aggregator?.child.kill();
    await broker?.stop();
    broker = undefined;
    aggregator = undefined;
  });
  const startedFirst = <T>(part: T | undefined, what: string): T => {
    if (part === undefined) throw new Error(`useFleetPerTest: no ${what} started in this test yet`);
    return part;
  };
  return {
    started(parts) {
      broker = parts.broker ?? broker;
      aggregator = parts.aggregator ?? aggregator;
    },
    broker: () => startedFirst(broker, 'broker'),
    aggregator: () => startedFirst(aggregator, 'aggregator'),
    async connect(clientId, options = { clean: true, reconnectPeriod: 0 }) {
      const client = await mqtt.connectAsync(startedFirst(broker, 'broker').url, { clientId, ...options });
      connections.push(client);
      return client;
    },
  };
}
