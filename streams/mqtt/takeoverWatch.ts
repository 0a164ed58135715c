/**
 * Notices a connection whose client id another client is using. A broker keeps one connection per client id and
 * closes the older one when a second connects under it (MQTT 3.1.1 §3.1.4, step 2); two boxes with one config (a
 * copied site.yaml: the same `mqtt.site`, so the same `{clientId}.{camera}`) then take the id from each other at
 * every reconnection, each connection lasting about one `reconnectSeconds`, for as long as both run.
 *
 * MQTT 3.1.1, which Veil speaks (streams/mqtt/connection.ts), gives the closed client no reason: mosquitto just
 * closes the socket, and mqtt.js emits 'close' without an 'error' (MQTT 5 would send DISCONNECT with reason 0x8E,
 * "session taken over"). So the sign is a pattern: TAKEN_OVER_AFTER times in a row, a connection closed without an
 * error shortly after it opened — within 2 × reconnectSeconds, and at least 10 s — and the next attempt connected at
 * once, without an error between. A broker that went away fails the next attempts (refused, unreachable), a
 * keepalive timeout is an error and comes after 1.5 × keepaliveSeconds, and a connection that lasts resets the count,
 * so none of them reads as a takeover. What it cannot tell from one: a broker restarted three times in a row, each
 * time back before the box's next attempt and within seconds of the box connecting; hence "may" in what the caller says.
 *
 *   reportTakeovers(client, { reconnectSeconds, clientId, where: 'config site.yaml, mqtt', site: 'south' },
 *                   (problem) => log.error(`MQTT connection taken over: ${problem}`));
 */
import type { MqttClient } from 'mqtt';

/** Short connections in a row, each closed without an error and followed at once by the next, that make a takeover likely. */
export const TAKEN_OVER_AFTER = 3;
/** The shortest "shortly after it opened", in seconds: a reconnection of a few hundred ms must not set the bound. */
const SHORT_CONNECTION_MIN_SECONDS = 10;

export interface TakeoverWatch {
  /**
   * The connection opened (mqtt.js 'connect'). True exactly once: when it ends the TAKEN_OVER_AFTER-th short
   * error-free connection in a row, each followed at once by the next, for the first time; the caller logs then.
   */
  connected(): boolean;
  /** A connection or an attempt failed with an error (mqtt.js 'error'): neither the connection nor the gap is a takeover's. */
  failed(): void;
  /** The connection closed (mqtt.js 'close'); a close of an attempt that never connected changes nothing. */
  closed(): void;
}

/** A watch for a client that reconnects every `reconnectSeconds`; `nowMs` is the clock (Date.now unless a test steps it). */
export function takeoverWatch(reconnectSeconds: number, nowMs: () => number = Date.now): TakeoverWatch {
  const shortMs = Math.max(2 * reconnectSeconds, SHORT_CONNECTION_MIN_SECONDS) * 1000;
  let openedAtMs: number | undefined;
  let failedWhileOpen = false;
  /** Whether the last connection closed short and error-free, and nothing failed since: undefined before any close. */
  let shortGap: boolean | undefined;
  let shortInARow = 0;
  let reported = false;
  return {
    connected() {
      openedAtMs = nowMs();
      failedWhileOpen = false;
      if (shortGap === undefined) return false;
      shortInARow = shortGap ? shortInARow + 1 : 0;
      shortGap = undefined;
      if (reported || shortInARow < TAKEN_OVER_AFTER) return false;
      reported = true;
      return true;
    },
    failed() {
      if (openedAtMs !== undefined) failedWhileOpen = true;
      else if (shortGap !== undefined) shortGap = false;
    },
    closed() {
      if (openedAtMs === undefined) return;
      shortGap = !failedWhileOpen && nowMs() - openedAtMs < shortMs;
      openedAtMs = undefined;
    },
  };
}

/** Where a connection's client id comes from, for the words: `{where}.site` and `{where}.clientId` are its settings. */
export interface TakeoverContext {
  reconnectSeconds: number;
  clientId: string;
  /** The connection's config section, e.g. `config site.yaml, mqtt`. */
  where: string;
  /** The box's `mqtt.site`, from which the default client id is made. */
  site: string;
}

/**
 * Calls `report` once, in words naming the client id and the settings to change, when `client`'s connections look
 * taken over by another client under the same id (takeoverWatch's rule).
 */
export function reportTakeovers(client: MqttClient, context: TakeoverContext, report: (problem: string) => void): void {
  const watch = takeoverWatch(context.reconnectSeconds);
  const { clientId, where, site } = context;
  client.on('connect', () => {
    if (!watch.connected()) return;
    report(`the broker closed this connection ${TAKEN_OVER_AFTER} times in a row within seconds of connecting, as it does when another client connects under the same client id "${clientId}". Another box may be running with a copy of this box's config (${where}.site "${site}" — a copied site.yaml?): give the other box a mqtt.site of its own (and where it takes part in secure aggregation, rename it in the district's boxes, in city.yaml and every box's site.yaml), or a different ${where}.clientId on each. Until then the two take the connection from each other at every reconnection`);
  });
  client.on('error', () => watch.failed());
  client.on('close', () => watch.closed());
}
