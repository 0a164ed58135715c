/**
 * The fleet's MQTT topic scheme, one place for both ends (the box that publishes, `veil aggregate` that subscribes):
 *
 *   veil/v1/{site}/{camera}/window   a released or withheld window, QoS 1, not retained; payload = the feed's
 *                                    `{v:1, type:'window', window}` message (streams/feedMessages.ts)
 *   veil/v1/{site}/{camera}/status   the camera's state, QoS 1, retained (and the box's last will: offline)
 *   veil/v1/{site}/{camera}/eval     a `veil eval` run's error figures only (federated evaluation), QoS 1, retained
 *
 * Secure aggregation of a district's boxes (stages/privacy/secureAggregation*.ts, docs/privacy.md), QoS 1, not retained:
 *
 *   veil/v1/{fleet}/secagg/{district}/{kind}/{box}   a box's message of a round: advertise, shares, masked, unmask
 *   veil/v1/{fleet}/secagg/{district}/{kind}         the aggregator's: roster, sharers, survivors, result
 *
 * and, retained, the district settings a box runs its rounds under (pipeline/districtSettings.ts), so the aggregator
 * can compare them with city.yaml before any round:
 *
 *   veil/v1/{fleet}/secagg/{district}/settings/{box}
 *
 * `fleet` is the district config's `fleet` (default `city`), the same on every box of the district whatever their
 * `mqtt.site`; `box` is the box's `mqtt.site` (pipeline/secureAggregationDistrict.ts).
 *
 * Each box publishes under its own id, so a broker ACL can let box u write only `veil/v1/+/secagg/+/+/u` (mosquitto:
 * `pattern write veil/v1/+/secagg/+/+/%u`): that is what stops anyone from advertising keys in another box's name.
 * These topics have 6 or 7 levels, camera topics 5, so no camera id (not even "secagg") can collide with them.
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
  checkIds({ site, camera });
  return `${TOPIC_ROOT}/${site}/${camera}/${kind}`;
}

function checkIds(ids: Record<string, string>): void {
  for (const [name, value] of Object.entries(ids)) {
    if (!ID_PATTERN.test(value)) throw new Error(`MQTT ${name} id "${value}" is not 1–64 letters, digits, "_", "-" or "."`);
  }
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

export const SECURE_AGGREGATION_LEVEL = 'secagg';
export const SECURE_AGGREGATION_BOX_KINDS = ['advertise', 'shares', 'masked', 'unmask'] as const;
export const SECURE_AGGREGATION_AGGREGATOR_KINDS = ['roster', 'sharers', 'survivors', 'result'] as const;
export type SecureAggregationBoxKind = (typeof SECURE_AGGREGATION_BOX_KINDS)[number];
export type SecureAggregationAggregatorKind = (typeof SECURE_AGGREGATION_AGGREGATOR_KINDS)[number];

/** The topic of a box's secure-aggregation message. Throws when site, district or box is not an id (ID_PATTERN). */
export function secureAggregationBoxTopic(site: string, district: string, kind: SecureAggregationBoxKind, box: string): string {
  checkIds({ site, district, box });
  return `${TOPIC_ROOT}/${site}/${SECURE_AGGREGATION_LEVEL}/${district}/${kind}/${box}`;
}

/** The topic of the aggregator's secure-aggregation message. Throws when site or district is not an id. */
export function secureAggregationAggregatorTopic(site: string, district: string, kind: SecureAggregationAggregatorKind): string {
  checkIds({ site, district });
  return `${TOPIC_ROOT}/${site}/${SECURE_AGGREGATION_LEVEL}/${district}/${kind}`;
}

/**
 * The subscription for one district's secure-aggregation messages of one kind: from every box (`box` kinds) or from
 * the aggregator.
 */
export function secureAggregationFilter(site: string, district: string, kind: SecureAggregationBoxKind | SecureAggregationAggregatorKind): string {
  checkIds({ site, district });
  const fromBoxes = (SECURE_AGGREGATION_BOX_KINDS as readonly string[]).includes(kind);
  return `${TOPIC_ROOT}/${site}/${SECURE_AGGREGATION_LEVEL}/${district}/${kind}${fromBoxes ? '/+' : ''}`;
}

/** The levels of a secure-aggregation topic whose ids are well formed (kind unchecked); undefined for any other topic. */
function secureAggregationLevels(topic: string): { site: string; district: string; kind: string; box?: string } | undefined {
  const parts = topic.split('/');
  if ((parts.length !== 6 && parts.length !== 7) || `${parts[0]}/${parts[1]}` !== TOPIC_ROOT || parts[3] !== SECURE_AGGREGATION_LEVEL) return undefined;
  const [, , site, , district, kind, box] = parts as [string, string, string, string, string, string, string | undefined];
  if (!ID_PATTERN.test(site) || !ID_PATTERN.test(district) || (box !== undefined && !ID_PATTERN.test(box))) return undefined;
  return box === undefined ? { site, district, kind } : { site, district, kind, box };
}

/**
 * Splits a round's secure-aggregation topic into its parts (`box` only on a box's topic); undefined for anything
 * else (a box's settings too), a box kind without a box, or an aggregator kind with one.
 */
export function parseSecureAggregationTopic(topic: string): { site: string; district: string; kind: SecureAggregationBoxKind | SecureAggregationAggregatorKind; box?: string } | undefined {
  const levels = secureAggregationLevels(topic);
  if (!levels) return undefined;
  const { site, district, kind, box } = levels;
  if (box === undefined) {
    return (SECURE_AGGREGATION_AGGREGATOR_KINDS as readonly string[]).includes(kind) ? { site, district, kind: kind as SecureAggregationAggregatorKind } : undefined;
  }
  return (SECURE_AGGREGATION_BOX_KINDS as readonly string[]).includes(kind) ? { site, district, kind: kind as SecureAggregationBoxKind, box } : undefined;
}

/** The topic level of a box's district settings, beside its round kinds. */
const SECURE_AGGREGATION_SETTINGS_KIND = 'settings';

/** The topic of box `box`'s district settings (retained). Throws when site, district or box is not an id. */
export function secureAggregationSettingsTopic(site: string, district: string, box: string): string {
  checkIds({ site, district, box });
  return `${TOPIC_ROOT}/${site}/${SECURE_AGGREGATION_LEVEL}/${district}/${SECURE_AGGREGATION_SETTINGS_KIND}/${box}`;
}

/**
 * Every box's district settings, in every fleet and district: the aggregator listens to all of them, so a box that
 * writes another `district` or `fleet` than city.yaml is heard too (and named by its box id).
 */
export const SECURE_AGGREGATION_SETTINGS_FILTER = `${TOPIC_ROOT}/+/${SECURE_AGGREGATION_LEVEL}/+/${SECURE_AGGREGATION_SETTINGS_KIND}/+`;

/** Splits a box's settings topic into its parts; undefined for any other topic. */
export function parseSecureAggregationSettingsTopic(topic: string): { site: string; district: string; box: string } | undefined {
  const levels = secureAggregationLevels(topic);
  return levels?.box !== undefined && levels.kind === SECURE_AGGREGATION_SETTINGS_KIND ? { site: levels.site, district: levels.district, box: levels.box } : undefined;
}
