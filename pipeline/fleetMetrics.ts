/**
 * What `veil aggregate` adds to /metrics, beside the process metrics every Veil serves: how many fleet messages it
 * received and what it did with each, and whether it is connected to the broker. Labels name topic kinds and
 * outcomes only.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

/** What the aggregator did with one message. */
export const MESSAGE_OUTCOMES = ['stored', 'redelivery', 'conflict', 'rejected', 'accepted'] as const;
export type MessageOutcome = (typeof MESSAGE_OUTCOMES)[number];

export function createFleetMetrics(registry: Registry) {
  const registers = [registry];
  return {
    messages: new Counter({
      name: 'veil_fleet_messages_total',
      help: 'Fleet messages received, by topic kind (window, status, eval, unknown) and outcome: stored (a new window), redelivery (a window stored before), conflict (a window id stored with other values; the first kept), rejected (not a valid Veil message), accepted (a status or an evaluation).',
      labelNames: ['kind', 'outcome'] as const,
      registers,
    }),
    brokerConnected: new Gauge({ name: 'veil_fleet_broker_connected', help: '1 while the aggregator is connected to the broker, else 0.', registers }),
  };
}

export type FleetMetrics = ReturnType<typeof createFleetMetrics>;
