/**
 * The takeover watch's rule, event by event as mqtt.js emits them, on a clock the test steps: three short error-free
 * connections in a row, each followed at once by the next, and it says so once; a connection that lasts, or an error
 * on the connection or between two, starts the count again. The bound is 2 × reconnectSeconds, at least 10 s.
 */
import { describe, expect, it } from 'vitest';
import { takeoverWatch } from '../../../streams/mqtt/takeoverWatch.ts';

function setUp(reconnectSeconds: number) {
  let nowMs = 0;
  const watch = takeoverWatch(reconnectSeconds, () => nowMs);
  /** One connection that lasts `seconds`, then closes; returns what connected() said when it opened. */
  const connection = (seconds: number, { failed = false } = {}) => {
    const said = watch.connected();
    nowMs += seconds * 1000;
    if (failed) watch.failed();
    watch.closed();
    return said;
  };
  return { watch, connection };
}

describe('the takeover watch', () => {
  it('says so at the connection that follows the third short one, and only once', () => {
    const { connection } = setUp(5);
    // Two boxes at reconnectSeconds 5: each connection lasts about 5 s.
    expect([connection(5), connection(5), connection(5), connection(5), connection(5), connection(5)]).toEqual([false, false, false, true, false, false]);
  });

  it('a connection that lasts past the bound (2 × reconnectSeconds, at least 10 s) starts the count again', () => {
    const { connection } = setUp(0.2);
    expect([connection(1), connection(1), connection(10), connection(1), connection(1), connection(1), connection(1)]).toEqual([false, false, false, false, false, false, true]);
    const slow = setUp(30);
    expect([slow.connection(59), slow.connection(59), slow.connection(59), slow.connection(59)]).toEqual([false, false, false, true]);
  });

  it('an error on the connection, or a failed attempt between two, is no takeover', () => {
    const { watch, connection } = setUp(5);
    expect([connection(1), connection(1, { failed: true }), connection(1), connection(1)]).toEqual([false, false, false, false]);
    // The broker away: the attempt after the close is refused.
    watch.failed();
    expect([connection(1), connection(1), connection(1)]).toEqual([false, false, false]);
    expect(connection(1)).toBe(true);
  });
});
