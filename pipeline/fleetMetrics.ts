/**
 * What `veil aggregate` adds to /metrics, beside the process metrics every Veil serves: how many fleet messages it
 * received and what it did with each, whether it is connected to the broker, which boxes run other district settings
 * than city.yaml, and which cameras two boxes seem to publish as. Labels name topic kinds, outcomes, districts, box
 * ids and camera ids only.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

/** What the aggregator did with one message. */
export const MESSAGE_OUTCOMES = ['stored', 'redelivery', 'conflict', 'rejected', 'accepted', 'unknown'] as const;
export type MessageOutcome = (typeof MESSAGE_OUTCOMES)[number];

export function createFleetMetrics(registry: Registry) {
  const registers = [registry];
  return {
    messages: new Counter({
      name: 'veil_fleet_messages_total',
      help: 'Fleet messages received, by topic kind (window, status, eval, settings: a box\'s secure-aggregation district settings, unknown) and outcome: stored (a new window), redelivery (a window stored before), conflict (a window id stored with other values; the first kept), rejected (not a valid Veil message), accepted (a status, an evaluation or a box\'s settings, matching city.yaml or not), unknown (a status of a camera city.yaml does not name: not counted in health).',
      labelNames: ['kind', 'outcome'] as const,
      registers,
    }),
    settingsDiffer: new Gauge({
      name: 'veil_secure_aggregation_settings_differ',
      help: 'Per securely aggregated district (city.yaml name) and box: how many of its shared settings the box runs with another value than city.yaml (0: they match). Above 0 the box is kept out of the rounds; the log names the fields and values.',
      labelNames: ['district', 'box'] as const,
      registers,
    }),
    windowConflicts: new Gauge({
      name: 'veil_fleet_window_conflicts',
      help: 'Per camera (site/camera): windows that came with an id stored already but other values since its conflicts began, 0 once none came for the quiet spell (pipeline/windowConflicts.ts). Above 0, two boxes likely publish as one mqtt.site: the /healthz fleetProblems entry says so.',
      labelNames: ['camera'] as const,
      registers,
    }),
    brokerConnected: new Gauge({ name: 'veil_fleet_broker_connected', help: '1 while the aggregator is connected to the broker, else 0.', registers }),
  };
}

export type FleetMetrics = ReturnType<typeof createFleetMetrics>;
