/**
 * The MQTT sink: a box's windows and camera states on the city's broker (topics: streams/mqtt/topics.ts).
 *
 *   windows  veil/v1/{site}/{camera}/window   QoS 1, in stored order, each the feed's {v:1,type:'window'} message
 *   states   veil/v1/{site}/{camera}/status   QoS 1, retained: the camera's latest state, or `offline` (last will)
 *
 * Each camera has its own connection, because MQTT gives a connection one last will and each camera's status topic
 * needs its own "offline". The client id is `{clientId}.{camera}`, stable across restarts, so the broker keeps each
 * camera's persistent session.
 *
 * Durability: the release store is the outbox. A window is sent only from the store (the store sink stores it first)
 * and marked there when the broker acknowledges it (PUBACK). While the broker is away nothing is handed to the client;
 * when it returns, and when Veil starts, every window still unacknowledged is sent again, oldest first. So an outage
 * or a restart of either side loses no window; a window whose PUBACK was lost is sent twice, and a subscriber drops
 * the copy by its id (streams/mqtt/windowId.ts).
 *
 *   const mqtt = startMqttPublisher({ connection, site: 'north', cameras: ['gate'], store, cameraStates, metrics, log, where });
 *   mqtt.publish(window);   // after the store sink stored it
 *   await mqtt.close();
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { MqttClient } from 'mqtt';
import type { VeilMetrics } from '../metrics.ts';
import type { CameraStateRegistry } from '../cameraState.ts';
import { cameraStatusMessage, encodeServerMessage, FEED_PROTOCOL_VERSION, OFFLINE_STATE } from '../feedMessages.ts';
import type { ReleaseStore } from '../releaseStore.ts';
import type { SinkLogger, WindowSink } from '../sinks/sink.ts';
import { openMqttClient, reportBrokerProblems, type MqttConnection } from './connection.ts';
import { reportTakeovers } from './takeoverWatch.ts';
import { cameraTopic } from './topics.ts';

/**
 * Windows sent and not yet acknowledged, per camera. mosquitto's default max_inflight_messages is 20; staying under
 * it keeps the broker from queueing on our behalf, and a backlog still drains at about 10 windows per round trip.
 */
const MAX_IN_FLIGHT = 10;
/** How long close() waits for the last PUBACKs (and the final status), and then for the goodbye, before it gives up. */
const CLOSE_WAIT_MS = 2_000;

export interface MqttPublisherOptions {
  connection: MqttConnection;
  /** This box's site id (ID_PATTERN), the topic level above the camera. */
  site: string;
  /** The cameras this box publishes; each gets its connection and status at once, windows or not. */
  cameras: readonly string[];
  /** The outbox: read for what to send, marked on each PUBACK. */
  store: ReleaseStore;
  cameraStates: CameraStateRegistry;
  metrics: VeilMetrics;
  log: SinkLogger;
  /** Where the connection was configured, for messages: e.g. `config site.yaml, mqtt`. */
  where: string;
  /** Where the password variable is looked up; process.env unless a test says otherwise. */
  env?: NodeJS.ProcessEnv;
}

export interface MqttPublisher extends WindowSink {
  /** Windows of `camera` the broker has not acknowledged yet (what an outage has left to send). */
  pending(camera: string): number;
}

/**
 * Opens one connection per camera and returns the sink. Connecting happens in the background: a broker that is down
 * at start only delays publishing. Throws MqttConnectionError (streams/mqtt/connection.ts) for a password variable
 * that is unset or a TLS file that cannot be read, and an Error for a site or camera id that cannot be a topic level.
 */
export function startMqttPublisher(options: MqttPublisherOptions): MqttPublisher {
  const baseClientId = options.connection.clientId ?? `veil-${options.site}`;
  const publishers = new Map(options.cameras.map((camera) => [camera, new CameraPublisher(camera, `${baseClientId}.${camera}`, options)]));
  const publisherOf = (camera: string) => {
    const publisher = publishers.get(camera);
    if (!publisher) throw new Error(`camera "${camera}" has no MQTT connection: it is not among the cameras the publisher was started with`);
    return publisher;
  };
  return {
    name: 'MQTT broker',
    publish(window) {
      publisherOf(window.camera).windowStored();
    },
    pending: (camera) => publisherOf(camera).pending(),
    async close() {
      await Promise.all([...publishers.values()].map((publisher) => publisher.close()));
    },
  };
}

/** One camera's connection: its windows from the store in order, its state retained, its last will. */
class CameraPublisher {
  private readonly client: MqttClient;
  private readonly windowTopic: string;
  private readonly statusTopic: string;
  /** Row ids handed to the client and not yet acknowledged. */
  private readonly inFlight = new Set<number>();
  /** The highest row id handed to the client on this connection; rows above it are still to send. */
  private sentThroughRowId = 0;
  /** Every publish the broker has not answered yet (window or status); close() waits for them, within bounds. */
  private readonly sends = new Set<Promise<void>>();
  private readonly stopWatchingStates: () => void;
  /**
   * True from mqtt.js's 'connect' (CONNACK received and its own in-flight messages re-sent) to the connection's
   * close. Sending only then keeps the store's order: a window handed over earlier would queue behind mqtt.js's
   * re-sends and then be read from the store a second time.
   */
  private ready = false;
  /** Set by close(): what is not yet sent stays in the store for the next start. */
  private closing = false;

  constructor(
    private readonly camera: string,
    clientId: string,
    private readonly options: MqttPublisherOptions,
  ) {
    this.windowTopic = cameraTopic(options.site, camera, 'window');
    this.statusTopic = cameraTopic(options.site, camera, 'status');
    const known = options.cameraStates.get(camera);
    // Fixed when the connection opens (MQTT carries the will in CONNECT), so `since` says when the box last connected.
    const will = encodeServerMessage({ v: FEED_PROTOCOL_VERSION, type: 'status', camera, state: OFFLINE_STATE, since: new Date().toISOString(), restarts: known?.restarts ?? 0 });
    this.client = openMqttClient(options.connection, {
      clientId,
      where: options.where,
      will: { topic: this.statusTopic, payload: will, qos: 1, retain: true },
      ...(options.env ? { env: options.env } : {}),
    });
    options.metrics.mqttConnected.set({ camera }, 0);
    this.updatePending();
    this.client.on('connect', () => this.onConnect());
    this.client.on('close', () => this.onClose());
    reportBrokerProblems(this.client, options.where, (problem) => options.log.error('MQTT broker unreachable or refusing this box', { camera, problem }));
    reportTakeovers(this.client, { reconnectSeconds: options.connection.reconnectSeconds, clientId, where: options.where, site: options.site }, (problem) =>
      options.log.error(`MQTT connection of camera "${camera}" taken over: ${problem}`, { camera, client_id: clientId }),
    );
    this.stopWatchingStates = options.cameraStates.onChange((state) => {
      if (state.camera === camera) this.publishState();
    });
  }

  /** The store sink has stored a new window of this camera: send it, behind whatever is still waiting. */
  windowStored(): void {
    this.updatePending();
    this.sendFromStore();
  }

  pending(): number {
    return this.options.store.unacknowledgedCount(this.camera);
  }

  async close(): Promise<void> {
    this.closing = true;
    this.stopWatchingStates();
    const client = this.client;
    const acknowledged = await Promise.race([Promise.all(this.sends).then(() => true), delay(CLOSE_WAIT_MS, false)]);
    // A clean DISCONNECT keeps the retained `stopped` (the broker publishes the will only for a connection that ends
    // without one). With the broker away, or silent, there is nobody to say goodbye to: what it did not acknowledge
    // stays in the store for the next start.
    const goodbye = acknowledged && this.ready;
    this.ready = false;
    await Promise.race([client.endAsync(!goodbye).catch(() => undefined), delay(CLOSE_WAIT_MS, undefined)]);
  }

  private onConnect(): void {
    this.options.log.info('MQTT broker connected', { camera: this.camera, topic: this.windowTopic, pending: this.pending() });
    this.ready = true;
    this.options.metrics.mqttConnected.set({ camera: this.camera }, 1);
    // mqtt.js emits 'connect' only after it has re-sent (and had acknowledged) what was in flight when the connection
    // dropped, so whatever is unacknowledged now was never acknowledged at all: read the store from its start.
    this.inFlight.clear();
    this.sentThroughRowId = 0;
    this.publishState();
    this.sendFromStore();
  }

  private onClose(): void {
    this.options.metrics.mqttConnected.set({ camera: this.camera }, 0);
    if (!this.ready) return;
    this.ready = false;
    this.options.log.warn('MQTT broker connection lost: windows wait in the release store until it returns', { camera: this.camera, pending: this.pending() });
  }

  /** The camera's current state, retained, so a subscriber that connects later learns it at once. */
  private publishState(): void {
    const state = this.options.cameraStates.get(this.camera);
    if (state === undefined || !this.ready) return;
    this.send(this.statusTopic, encodeServerMessage(cameraStatusMessage(state)), true, () => {});
  }

  /** Publishes at QoS 1; `settled` hears the PUBACK (no error) or the client giving the message up (an error). */
  private send(topic: string, payload: string, retain: boolean, settled: (error: Error | undefined) => void): void {
    let resolve!: () => void;
    const sent = new Promise<void>((done) => (resolve = done));
    this.sends.add(sent);
    // mqtt.js may call back at once (a client already disconnecting), so `sent` must exist before publish is called.
    this.client.publish(topic, payload, { qos: 1, retain }, (error) => {
      this.sends.delete(sent);
      resolve();
      settled(error);
    });
  }

  /**
   * Hands the client the next unacknowledged windows, oldest first, up to MAX_IN_FLIGHT; only while connected. It
   * runs inside the client's events, so a store that cannot be read or written is logged, never thrown: the rows stay
   * unacknowledged and are tried again on the next window, connection or start.
   */
  private sendFromStore(): void {
    if (!this.ready || this.closing) return;
    const room = MAX_IN_FLIGHT - this.inFlight.size;
    if (room <= 0) return;
    try {
      for (const { rowId, window } of this.options.store.unacknowledged(this.camera, this.sentThroughRowId, room)) {
        this.sentThroughRowId = rowId;
        this.inFlight.add(rowId);
        this.send(this.windowTopic, encodeServerMessage({ v: FEED_PROTOCOL_VERSION, type: 'window', window }), false, (error) => this.settled(rowId, error));
      }
      this.updatePending();
    } catch (error) {
      this.options.log.error('MQTT backlog not sent: the release store could not be read', { camera: this.camera, error: (error as Error).message });
    }
  }

  /** The broker acknowledged the row (no error), or the client gave it up (closed): then it is sent again later. */
  private settled(rowId: number, error: Error | undefined): void {
    this.inFlight.delete(rowId);
    if (!error) {
      try {
        this.options.store.acknowledge(rowId);
        this.options.metrics.mqttWindowsPublished.inc({ camera: this.camera });
      } catch (failure) {
        this.options.log.error('MQTT acknowledgement not recorded in the release store: the window will be sent again', { camera: this.camera, error: (failure as Error).message });
      }
    }
    this.sendFromStore();
  }

  private updatePending(): void {
    this.options.metrics.mqttWindowsPending.set({ camera: this.camera }, this.pending());
  }
}
