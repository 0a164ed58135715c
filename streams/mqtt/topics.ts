/**
 * The fleet's MQTT topic scheme, one place for both ends (the box that publishes, `veil aggregate` that subscribes):
 *
 *   veil/v1/{site}/{camera}/window   a released or withheld window, QoS 1, not retained; payload = the feed's
 *                                    `{v:1, type:'window', window}` message (streams/feedMessages.ts)
 *   veil/v1/{site}/{camera}/status   the camera's state, QoS 1, retained (and the box's last will: offline)
 *   veil/v1/{site}/{camera}/eval     a `veil eval` run's error figures only (federated evaluation), QoS 1, retained
 *
 * `site` names a box's site (its config's `mqtt.site`), `camera` a camera id. Both are checked by ID_PATTERN, so a
 * topic segment can never hold MQTT's wildcards (`+`, `#`) or a level separator (`/`). The version level lets a
 * later message format live beside this one on the same broker.
 */

export const TOPIC_ROOT = 'veil/v1';

/** What a site or camera id may be: 1–64 letters, digits, "_", "-" or "." (the site config's camera id rule). */
export const ID_PATTERN = /^[\w.-]{1,64}$/;

export const TOPIC_KINDS = ['window', 'status', 'eval'] as const;
export type TopicKind = (typeof TOPIC_KINDS)[number];

/**
 * The topic of one camera's messages of one kind. Throws when `site` or `camera` is not an id (ID_PATTERN): a
 * wildcard or "/" in it would publish where no subscriber looks, or to every subscriber.
 */
export function cameraTopic(site: string, camera: string, kind: TopicKind): string {
  for (const [name, value] of [['site', site], ['camera', camera]] as const) {
    if (!ID_PATTERN.test(value)) throw new Error(`MQTT ${name} id "${value}" is not 1–64 letters, digits, "_", "-" or "."`);
  }
  return `${TOPIC_ROOT}/${site}/${camera}/${kind}`;
}

/** The subscription that receives `kind` from every camera of every site (or of one `site`). */
export function kindFilter(kind: TopicKind, site = '+'): string {
  return `${TOPIC_ROOT}/${site}/+/${kind}`;
}

/** Splits a camera topic into its parts; undefined for anything else (another scheme, a version, a kind). */
export function parseCameraTopic(topic: string): { site: string; camera: string; kind: TopicKind } | undefined {
  const parts = topic.split('/');
  if (parts.length !== 5 || `${parts[0]}/${parts[1]}` !== TOPIC_ROOT) return undefined;
  const [, , site, camera, kind] = parts as [string, string, string, string, string];
  if (!ID_PATTERN.test(site) || !ID_PATTERN.test(camera) || !(TOPIC_KINDS as readonly string[]).includes(kind)) return undefined;
  return { site, camera, kind: kind as TopicKind };
}
