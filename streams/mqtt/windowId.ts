/**
 * The identity of a released window across the fleet, which makes MQTT's at-least-once delivery idempotent for a
 * subscriber: a window the broker delivers twice (sent again after an outage, or after the box restarted before the
 * PUBACK arrived) has the same id both times, and a subscriber keeps the first.
 *
 * A camera releases each series (window length) in windows that never go back in time (the releaser is monotonic),
 * so site, camera, window length and start name one window; nothing about its content is needed.
 */
import type { ReleasedWindow } from '../../stages/released.ts';

/** `{site}/{camera}/{windowSeconds}s/{startSeconds}`, e.g. `north/gate/60s/1764064800`. */
export function windowId(site: string, window: Pick<ReleasedWindow, 'camera' | 'windowSeconds' | 'startSeconds'>): string {
  return `${site}/${window.camera}/${window.windowSeconds}s/${window.startSeconds}`;
}
