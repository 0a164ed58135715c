/**
 * `veil aggregate --config city.yaml`: the city side of a fleet. It subscribes to the broker under a persistent
 * session (fixed client id, clean session off, QoS 1), checks every message (streams/mqtt/fleetIntake.ts), stores
 * what it accepts (streams/aggregateStore.ts), totals districts per window (pipeline/districtTotals.ts) and serves
 * cameras, districts and the fleet accuracy table on the same feed and dashboard as a box (streams/feedServer.ts).
 *
 * Nothing is lost across a restart of the aggregator or the broker: a message is acknowledged only once it is in the
 * store (mqtt.js sends the PUBACK after handleMessage calls back, and the store writes synchronously), so the broker
 * holds every unacknowledged message for the session and redelivers it; a redelivered window is stored once.
 */
import path from 'node:path';
import type { IPublishPacket, MqttClient } from 'mqtt';
import { CameraStateRegistry } from '../streams/cameraState.ts';
import { openAggregateStore, type AggregateStore } from '../streams/aggregateStore.ts';
import { startRetention } from '../streams/retention.ts';
import { FEED_PROTOCOL_VERSION, type DistrictWindow, type EvalFigures, type ServerMessage } from '../streams/feedMessages.ts';
import { FEED_CLOSE_CODES, startFeedServer, type FleetProblem } from '../streams/feedServer.ts';
import { mqttClientOptions, openMqttClient, reportBrokerProblems, sideClientId } from '../streams/mqtt/connection.ts';
import { parseFleetMessage, type FleetMessage } from '../streams/mqtt/fleetIntake.ts';
import { SecureAggregationAggregatorClient } from '../streams/mqtt/secureAggregationAggregator.ts';
import { cameraTopic, kindFilter, parseCameraTopic, SECURE_AGGREGATION_SETTINGS_FILTER } from '../streams/mqtt/topics.ts';
import { DEFAULT_AGGREGATOR_CLIENT_ID, readAggregateConfig, type AggregateConfig } from './aggregateConfig.ts';
import { choiceFlag, parseFlags, UsageError } from './args.ts';
import { createDistrictSettingsCheck } from './districtSettingsCheck.ts';
import { districtWindow, secureDistrictWindow, type District } from './districtTotals.ts';
import { feedSettings } from './feedSettings.ts';
import { createFleetMetrics, type FleetMetrics, type MessageOutcome } from './fleetMetrics.ts';
import { prepareWritableDir } from './fsProblems.ts';
import { createLogger, type Logger } from './log.ts';
import { createVeilMetrics } from '../streams/metrics.ts';
import { roundParameters } from './secureAggregationDistrict.ts';
import { createCopiedBoxes } from './copiedBoxes.ts';
import { createWindowConflicts, type WindowConflicts } from './windowConflicts.ts';

export const AGGREGATE_HELP = `Usage: veil aggregate --config city.yaml [options]

The city side of a fleet of boxes: subscribes to the MQTT broker the boxes publish to, checks and stores every
released window, totals districts per window, and serves cameras, districts and the fleet accuracy table on a
WebSocket feed and dashboard (same token rules as veil run). See docs/fleet.md for city.yaml.

  --config FILE        the city config (YAML or JSON): broker, stateDir, feed, districts
  --accuracy           print the fleet accuracy table (the latest veil eval --publish of each camera) and exit
  --host HOST          override feed.host
  --port PORT          override feed.port (0: any free port; the log says which)
  --log-format F       text | json (default: the config's logFormat, json unless set)

Stops on SIGTERM or SIGINT, exit code 0; what the broker still holds for it arrives at the next start.
`;

const FLAGS = {
  config: { type: 'string' },
  accuracy: { type: 'boolean' },
  host: { type: 'string' },
  port: { type: 'string' },
  'log-format': { type: 'string' },
} as const;

const AGGREGATE_STORE_FILE = 'fleet.sqlite';
/** Every kind a box publishes: windows, camera states and federated-evaluation figures. */
const SUBSCRIPTIONS = [kindFilter('window'), kindFilter('status'), kindFilter('eval')];

/** The fleet accuracy table as text, one row per camera, line and category (what `--accuracy` prints). */
export function formatAccuracyTable(evals: readonly EvalFigures[]): string {
  if (evals.length === 0) return 'No camera has published an evaluation yet (veil eval --publish on a box).\n';
  const rows = [['camera', 'evaluated', 'clip', 'fps', 'line', 'category', 'error', 'tolerance', 'verdict']];
  for (const figures of evals) {
    const common = [figures.camera, figures.evaluatedAt.slice(0, 16).replace('T', ' '), `${Math.round(figures.clipSeconds)} s`, String(figures.fps)];
    for (const line of figures.lines) {
      rows.push([...common, line.line, line.category, `${line.error >= 0 ? '+' : ''}${line.error}`, `±${line.tolerance}`, line.withinTolerance ? 'OK' : 'OUTSIDE']);
    }
    if (figures.instants) {
      rows.push([...common, `${figures.instants.count} instants`, '', `${figures.instants.meanAbsoluteError.toFixed(2)} MAE`, '', '']);
    }
  }
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return `${rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()).join('\n')}\n`;
}

/** Where a fleet message goes once it is checked; `accept` throws when the store cannot be written. */
interface Intake {
  accept(message: FleetMessage): MessageOutcome;
  snapshot(): ServerMessage[];
}

/**
 * The cameras city.yaml names, as "site/camera": its districts' cameras, and every camera of a box (an `mqtt.site`)
 * that a securely aggregated district lists in its `boxes`. Only these count in /healthz.
 */
function namedCameras(city: AggregateConfig): (camera: string) => boolean {
  const cameras = new Set(city.districts.flatMap((district) => district.cameras.map((member) => member.camera)));
  const boxes = new Set(city.districts.flatMap((district) => district.secureAggregation?.boxes ?? []));
  return (camera) => cameras.has(camera) || boxes.has(camera.slice(0, camera.indexOf('/')));
}

function createIntake(city: AggregateConfig, store: AggregateStore, states: CameraStateRegistry, conflicts: WindowConflicts, send: (message: ServerMessage) => void, log: Logger): Intake {
  const districtsOf = new Map<string, District[]>();
  for (const district of city.districts) {
    for (const member of district.cameras) districtsOf.set(member.camera, [...(districtsOf.get(member.camera) ?? []), district]);
  }
  const members = (district: District) => district.cameras.map((member) => member.camera);
  const total = (district: District, span: { windowSeconds: number; startSeconds: number }) =>
    districtWindow(district, store.windowsAt(span, members(district)));
  const accuracy = (): ServerMessage => ({ v: FEED_PROTOCOL_VERSION, type: 'accuracy', cameras: store.evals() });
  const named = namedCameras(city);
  /** Cameras city.yaml does not name whose status was reported: a retained status comes at every reconnection. */
  const unknownReported = new Set<string>();

  return {
    accept(message) {
      if (message.kind === 'window') {
        const { window } = message;
        const outcome = store.putWindow(window);
        if (outcome === 'duplicate') {
          log.info('window received again (a redelivery): stored once', { camera: window.camera, window_s: window.windowSeconds, start: window.startSeconds });
          return 'redelivery';
        }
        if (outcome === 'conflict') {
          log.warn('window rejected: a different window with this id is stored already; the first one is kept', { camera: window.camera, window_s: window.windowSeconds, start: window.startSeconds });
          conflicts.record(window.camera, window.windowSeconds);
          return 'conflict';
        }
        send({ v: FEED_PROTOCOL_VERSION, type: 'window', window });
        for (const district of districtsOf.get(window.camera) ?? []) {
          const totalNow = total(district, window);
          send({ v: FEED_PROTOCOL_VERSION, type: 'district', district: totalNow });
          if (totalNow.complete) log.info('district window complete', { district: district.name, window_s: totalNow.windowSeconds, start: totalNow.startSeconds, withheld: totalNow.cameras.withheld.length });
        }
        return 'stored';
      }
      if (message.kind === 'status' && !named(message.camera)) {
        if (!unknownReported.has(message.camera)) {
          unknownReported.add(message.camera);
          const [site, camera] = message.camera.split('/') as [string, string];
          const topic = cameraTopic(site, camera, 'status');
          log.warn(`status of camera ${message.camera}, which city.yaml names in no district: an unknown camera, not counted in /healthz. If its box was retired, clear its retained status: mosquitto_pub -h BROKER -r -n -t ${topic} (docs/fleet.md, "Retiring a box"); if it belongs to the city, add it to a district's cameras`, { camera: message.camera, state: message.state, topic });
        }
        return 'unknown';
      }
      if (message.kind === 'cleared' && message.of === 'status') {
        unknownReported.delete(message.camera);
        if (states.remove(message.camera)) log.info('a camera\'s retained status was cleared from the broker: it is no longer in /healthz', { camera: message.camera });
        return 'accepted';
      }
      if (message.kind === 'status') {
        states.set(message.camera, message.state, message.detail);
      } else if (message.kind === 'eval') {
        store.putEval(message.figures);
        log.info('evaluation received', { camera: message.camera, lines: message.figures.lines.length });
        send(accuracy());
      }
      return 'accepted';
    },
    snapshot() {
      const districtTotals = city.districts.flatMap((district) =>
        store.recentSpans(members(district), city.districtReplayWindows).map((span): ServerMessage => ({ v: FEED_PROTOCOL_VERSION, type: 'district', district: total(district, span) })),
      );
      return [...districtTotals, accuracy()];
    },
  };
}

/**
 * Subscribes `client` and feeds every message to `intake`. A message is processed inside mqtt.js's handleMessage,
 * so its PUBACK goes out only after it is stored; a message that cannot be stored is not acknowledged (the broker
 * redelivers it on the next connection). A rejected message is acknowledged (redelivering it would not mend it).
 */
function consume(client: MqttClient, intake: Intake, metrics: FleetMetrics, log: Logger): void {
  client.handleMessage = (packet: IPublishPacket, done: (error?: Error) => void) => {
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    const kind = parseCameraTopic(packet.topic)?.kind ?? 'unknown';
    const parsed = parseFleetMessage(packet.topic, payload);
    if (!parsed.ok) {
      log.warn('message rejected', { topic: packet.topic, problem: parsed.problem });
      metrics.messages.inc({ kind, outcome: 'rejected' });
      done();
      return;
    }
    try {
      metrics.messages.inc({ kind, outcome: intake.accept(parsed.message) });
      done();
    } catch (error) {
      log.error('message not stored, so not acknowledged: the broker sends it again when the aggregator reconnects', { topic: packet.topic, error: (error as Error).message });
      done(error as Error);
    }
  };
  client.on('connect', (connack) => {
    metrics.brokerConnected.set(1);
    log.info('connected to the broker', { session_present: connack.sessionPresent });
    client.subscribe(SUBSCRIPTIONS, { qos: 1 }, (error) => {
      if (error) log.error('subscription refused by the broker: check its ACL for the aggregator', { error: error.message });
    });
  });
  client.on('offline', () => {
    metrics.brokerConnected.set(0);
    log.warn('broker unreachable: reconnecting; the broker keeps this session\'s messages meanwhile');
  });
}

/**
 * Runs the secure-aggregation rounds of every district that asks for them, on a connection of its own with a clean
 * session (a persistent one would replay old rounds' advertisements after a restart), and sends each round's result
 * on the feed as a district total, after storing it (a round's total is computed once, when it ends, and could not
 * be rebuilt after a restart). Each box's published district settings are compared with city.yaml
 * (pipeline/districtSettingsCheck.ts); a box whose settings differ is kept out of the rounds, and so is, round by
 * round, a box id two boxes advertise as (pipeline/copiedBoxes.ts). Returns what the feed replays to a new client
 * (each district's latest stored totals), the settings and copied-box problems now, and how to stop.
 */
function startSecureDistricts(city: AggregateConfig, cityFile: string, where: string, store: AggregateStore, send: (message: ServerMessage) => void, fleetMetrics: FleetMetrics, log: Logger): { recent(): ServerMessage[]; problems(): FleetProblem[]; close(): Promise<void> } {
  const districts = city.districts.flatMap((district, index) => (district.secureAggregation ? [{ name: district.name, index, settings: district.secureAggregation }] : []));
  if (districts.length === 0) return { recent: () => [], problems: () => [], close: async () => {} };
  const clientId = sideClientId(city.broker, DEFAULT_AGGREGATOR_CLIENT_ID, 'secagg');
  const client = openMqttClient({ ...city.broker, clientId, persistentSession: false }, { clientId, where });
  reportBrokerProblems(client, where, (problem) => log.error('secure aggregation: broker unreachable or refusing the aggregator', { problem }));
  const check = createDistrictSettingsCheck({ districts, cityFile, log, metrics: fleetMetrics });
  const copies = createCopiedBoxes({ log });
  client.on('message', (topic, payload) => {
    const outcome = check.receive(topic, payload);
    if (outcome) fleetMetrics.messages.inc({ kind: 'settings', outcome });
  });
  const listening = client.subscribeAsync(SECURE_AGGREGATION_SETTINGS_FILTER, { qos: 1 }).catch((error: Error) => {
    log.error('secure aggregation: the broker refused the subscription to the boxes\' district settings: check its ACL for the aggregator; settings that differ go unnoticed', { error: error.message });
  });
  const opened = districts.map((district) => {
    const settings = district.settings;
    return SecureAggregationAggregatorClient.open({
      client,
      site: settings.fleet,
      parameters: roundParameters(settings),
      phaseTimeoutMs: settings.phaseSeconds * 1000,
      log: (line) => log.warn(line),
      keptOut: (box) => check.keptOut(district.name, box),
      onCopiedBox: (box) => copies.record(district.name, box, settings.windowSeconds),
      onResult: (result, keptOut, missing) => {
        let total: DistrictWindow;
        try {
          total = secureDistrictWindow(district.name, settings, result, keptOut, missing);
        } catch (error) {
          log.warn('secure aggregation: a round that is no window of the district', { district: district.name, round: result.round, error: (error as Error).message });
          return;
        }
        // Stored before it is sent: a restart must still replay it, and nothing else could rebuild it.
        store.putSecureTotal(total);
        send({ v: FEED_PROTOCOL_VERSION, type: 'district', district: total });
        log.info(result.status === 'released' ? 'district total by secure aggregation' : 'district total withheld by secure aggregation', { district: district.name, round: result.round, boxes: result.status === 'released' ? result.boxes.length : 0, sd: total.secureAggregation?.standardDeviation, reason: total.secureAggregation?.withheldReason, kept_out: keptOut.length > 0 ? keptOut.map(({ box, reason }) => `${box}: ${reason}`).join('; ') : undefined });
      },
    }).catch((error: Error) => {
      log.error('secure aggregation: could not listen for the district\'s rounds', { district: district.name, error: error.message });
      return undefined;
    });
  });
  log.info('running secure aggregation', { districts: districts.map((district) => district.name).join(', '), client_id: clientId });
  return {
    recent: () => districts.flatMap((district) => store.secureTotals(district.name, city.districtReplayWindows).map((total): ServerMessage => ({ v: FEED_PROTOCOL_VERSION, type: 'district', district: total }))),
    problems: () => [...check.problems(), ...copies.problems()],
    async close() {
      await listening;
      for (const rounds of await Promise.all(opened)) await rounds?.close();
      await client.endAsync();
    },
  };
}

/** Runs until `stop` aborts, then returns 0; `--accuracy` prints the table and returns 0 at once. */
export async function aggregateCommand(argv: string[], stop: AbortSignal): Promise<number> {
  const { values } = parseFlags(argv, FLAGS, 'aggregate');
  if (!values.config) throw new UsageError('--config FILE is required: the city config with the broker and districts. See `veil aggregate --help`.');
  const city = await readAggregateConfig(values.config);
  const log = createLogger(choiceFlag(values['log-format'], 'log-format', ['text', 'json']) ?? city.logFormat, undefined, { timestamps: true });
  prepareWritableDir(city.stateDir, `stateDir (config ${values.config})`);
  const store = openAggregateStore(path.join(city.stateDir, AGGREGATE_STORE_FILE));
  if (values.accuracy) {
    process.stdout.write(formatAccuracyTable(store.evals()));
    store.close();
    return 0;
  }
  const running: Array<() => unknown> = [() => store.close()];
  try {
    const retention = startRetention({ store: 'aggregator store', retentionDays: city.retentionDays, prune: (cutoff) => store.pruneEndedBefore(cutoff), log });
    running.push(() => retention.stop());
    const feedOptions = feedSettings(city.feed, values);
    const where = `config ${values.config}, broker`;
    // Read before anything listens: a missing password variable or an unreadable TLS file stops the aggregator at
    // start, naming the field, rather than after its feed's port is bound. The connection itself opens last, once
    // the intake is ready for the messages its persistent session may deliver at once.
    mqttClientOptions(city.broker, { clientId: DEFAULT_AGGREGATOR_CLIENT_ID, where });
    const states = new CameraStateRegistry();
    const metrics = createVeilMetrics();
    const fleetMetrics = createFleetMetrics(metrics.registry);
    // The feed replays the intake's snapshot and the intake sends on the feed: it gets the feed once that exists,
    // before the broker connection that brings it anything to send.
    let send: (message: ServerMessage) => void = () => {};
    const conflicts = createWindowConflicts({ log, metrics: fleetMetrics });
    const intake = createIntake(city, store, states, conflicts, (message) => send(message), log);
    const secure = startSecureDistricts(city, values.config, where, store, (message) => send(message), fleetMetrics, log);
    running.push(() => secure.close());
    const feed = await startFeedServer({
      ...feedOptions,
      store,
      metrics,
      cameraStates: states,
      snapshot: () => [...intake.snapshot(), ...secure.recent()],
      fleetProblems: () => [...secure.problems(), ...conflicts.problems()],
      log,
    });
    running.push(() => feed.close(FEED_CLOSE_CODES.goingAway));
    send = (message) => feed.broadcast(message);
    log.info('feed, dashboard, /healthz and /metrics listening', { url: feed.url, port: feed.port });
    if (stop.aborted) return 0;

    const client = openMqttClient(city.broker, { clientId: DEFAULT_AGGREGATOR_CLIENT_ID, where });
    reportBrokerProblems(client, where, (problem) => log.error('broker unreachable or refusing the aggregator', { problem }));
    // Closed first on the way out: nothing arrives for a feed or store that is closing.
    running.push(() => client.endAsync());
    consume(client, intake, fleetMetrics, log);
    log.info('subscribing', { broker: city.broker.url, client_id: city.broker.clientId ?? DEFAULT_AGGREGATOR_CLIENT_ID, districts: city.districts.length });
    await new Promise((resolve) => {
      if (stop.aborted) resolve(undefined);
      else stop.addEventListener('abort', resolve, { once: true });
    });
    log.info('stopping', { signal: String(stop.reason) });
    return 0;
  } finally {
    for (const stopPart of running.reverse()) await stopPart();
    if (stop.aborted) log.info('stopped cleanly');
  }
}
