/** The WebSocket feed as a sink: each window goes to the clients watching its camera (streams/feedServer.ts). */
import { FEED_CLOSE_CODES, type FeedServer } from '../feedServer.ts';
import type { WindowSink } from './sink.ts';

/** Sends each window on the feed; closing closes the feed (clients get 1001 "going away"). */
export function feedSink(feed: FeedServer): WindowSink {
  return {
    name: 'WebSocket feed',
    publish: (window) => feed.publishWindow(window),
    close: () => feed.close(FEED_CLOSE_CODES.goingAway),
  };
}
