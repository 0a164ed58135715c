/**
 * Where released windows go: one small interface, one file per destination (the release store, the WebSocket feed,
 * the MQTT broker, the batch report). A pipeline holds a list of sinks and hands every window to each in order:
 *
 *   const sinks = [releaseStoreSink(store), feedSink(feed), mqttSink];   // the store first: the others read it
 *   const publish = fanOut(sinks, log);
 *   publish(window);
 *   for (const sink of sinks.reverse()) await sink.close();
 *
 * Adding a destination is one file that returns a WindowSink.
 */
import type { ReleasedWindow } from '../../stages/released.ts';
import type { FeedLogger } from '../feedServer.ts';

export interface WindowSink {
  /** Names the sink in logs, e.g. "release store". */
  readonly name: string;
  /**
   * Takes one window, released or withheld, without waiting for slow I/O (a sink that sends over a network queues).
   * Throws when this sink refuses the window (e.g. a non-private window to a feed) or cannot take it.
   */
  publish(window: ReleasedWindow): void;
  /** Finishes what the sink owes (a report file, in-flight messages) and lets go of what it holds. */
  close(): Promise<void>;
}

/** What a sink logs with; pipeline/log.ts's Logger fits it. */
export type SinkLogger = FeedLogger;

/**
 * Hands each window to every sink in list order. One sink failing is logged with the sink's name and the window's
 * camera and does not keep the window from the sinks after it: a full disk must not silence the live feed.
 */
export function fanOut(sinks: readonly WindowSink[], log: SinkLogger): (window: ReleasedWindow) => void {
  return (window) => {
    for (const sink of sinks) {
      try {
        sink.publish(window);
      } catch (error) {
        log.error(`window not handed to the ${sink.name}`, { camera: window.camera, start: window.startSeconds, error: (error as Error).message });
      }
    }
  };
}
