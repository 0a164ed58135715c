/**
 * The district settings a box publishes when it starts contributing to a securely aggregated district total, and
 * their comparison with the city's (docs/fleet.md, "Secure aggregation of district totals"). Every party derives the
 * round parameters and each box's noise from the same settings (pipeline/secureAggregationDistrict.ts); a box that
 * wrote another ε or another class list in its site.yaml would still take part in the rounds, and the city would
 * state the wrong s.d. for the total. So each box says what it runs under, and `veil aggregate` compares it with
 * city.yaml field by field before any round:
 *
 *   const message = districtSettingsMessage('south', district);   // {type: 'settings', box: 'south', settings: {…}}
 *   districtSettingsDifferences(cityDistrict, message.settings);
 *   // [{ field: 'epsilon', box: '0.6', city: '0.5' }]
 *
 * Only configuration travels: no count, no noise, nothing about people or the camera's scene.
 */
import type { MqttClient } from 'mqtt';
import { z } from 'zod';
import { districtSecureAggregationSchema, districtSecureAggregationShape, districtThreshold, type DistrictSecureAggregation } from './secureAggregationDistrict.ts';
import { publishMessage } from '../streams/mqtt/secureAggregationWire.ts';
import { ID_PATTERN, secureAggregationSettingsTopic } from '../streams/mqtt/topics.ts';

/** The fields every box and city.yaml must write alike, in the order a report lists them. */
export const SHARED_DISTRICT_FIELDS = Object.keys(districtSecureAggregationShape) as Array<keyof DistrictSecureAggregation>;
export type SharedDistrictField = (typeof SHARED_DISTRICT_FIELDS)[number];

/**
 * The settings as a party runs them: every field present, the threshold as used (its default resolved), so a box
 * that leaves `threshold` out and a city that writes the default agree. Checked with the config's own rules.
 */
const districtSettingsSchema = districtSecureAggregationSchema.required();
export type DistrictSettings = z.output<typeof districtSettingsSchema>;

/**
 * What a box publishes, retained at QoS 1, on veil/v1/{fleet}/secagg/{district}/settings/{box} (streams/mqtt/topics.ts)
 * when it starts contributing; strict, so nothing else can travel with it.
 */
export const districtSettingsMessageSchema = z.strictObject({
  type: z.literal('settings'),
  box: z.string().regex(ID_PATTERN, 'a box id is 1–64 letters, digits, "_", "-" or "."'),
  settings: districtSettingsSchema,
});
export type DistrictSettingsMessage = z.output<typeof districtSettingsMessageSchema>;

/** The settings a party runs `district`'s rounds under, as a box publishes them (threshold resolved). */
export function districtSettings(district: DistrictSecureAggregation): DistrictSettings {
  const settings = Object.fromEntries(SHARED_DISTRICT_FIELDS.map((field) => [field, district[field]])) as DistrictSecureAggregation;
  return { ...settings, threshold: districtThreshold(district) } as DistrictSettings;
}

/** Box `box`'s settings message for `district` (its own mqtt.secureAggregation). */
export function districtSettingsMessage(box: string, district: DistrictSecureAggregation): DistrictSettingsMessage {
  return { type: 'settings', box, settings: districtSettings(district) };
}

/**
 * Publishes box `box`'s settings for `district`, retained at QoS 1, on its own settings topic; resolves at the
 * broker's PUBACK. Rejects when the broker refuses or the connection drops.
 */
export async function publishDistrictSettings(client: MqttClient, box: string, district: DistrictSecureAggregation): Promise<void> {
  await publishMessage(client, secureAggregationSettingsTopic(district.fleet, district.district, box), districtSettingsMessage(box, district), { retain: true });
}

/** One field a box runs with another value than the city: both values as a person would write them in YAML. */
export interface SettingsDifference {
  field: SharedDistrictField;
  box: string;
  city: string;
}

/**
 * How a field's value reads and compares. `boxes` is a set (the rounds sort it, so the order written does not
 * matter); `classes` is a list (its order is the vector's layout, stages/privacy/secureAggregationContribution.ts).
 */
function written(field: SharedDistrictField, value: DistrictSettings[SharedDistrictField]): string {
  if (!Array.isArray(value)) return String(value);
  const items: string[] = field === 'boxes' ? [...value].sort() : [...value];
  return `[${items.join(', ')}]`;
}

/**
 * The fields whose values differ between the city's settings and a box's, in SHARED_DISTRICT_FIELDS order; [] when
 * the box runs exactly the city's rounds and noise. Numbers compare exactly (0.5 and 0.50 are one number; 0.5 and
 * 0.5000001 are not: the noise each box adds would differ).
 */
export function districtSettingsDifferences(city: DistrictSettings, box: DistrictSettings): SettingsDifference[] {
  return SHARED_DISTRICT_FIELDS.flatMap((field) => {
    const [cityValue, boxValue] = [written(field, city[field]), written(field, box[field])];
    if (cityValue === boxValue || (field === 'threshold' && thresholdFollowsBoxes(city, box))) return [];
    return [{ field, box: boxValue, city: cityValue }];
  });
}

/**
 * True when both thresholds are the default for their own `boxes` (more than half), so they differ only because the
 * boxes do: the `boxes` difference is the one to fix, and a threshold nobody wrote is not a second field to write.
 */
function thresholdFollowsBoxes(city: DistrictSettings, box: DistrictSettings): boolean {
  const isDefault = (settings: DistrictSettings) => settings.threshold === districtThreshold({ ...settings, threshold: undefined });
  return isDefault(city) && isDefault(box);
}

/** Why a box is kept out of the district's rounds, e.g. "settings differ: epsilon, delta". */
export function settingsDifferReason(differences: readonly SettingsDifference[]): string {
  return `settings differ: ${differences.map((difference) => difference.field).join(', ')}`;
}

/**
 * One difference in words for an operator: which box, which field, both values, and where each is written, e.g.
 * `district "centre": box "south" runs with epsilon 0.6, the city with 0.5: write the same in … (districts[0]…)`.
 * The district named first is the city's, so a box that misspelt the district id reads as such, not as a box that
 * runs "centre" with district "center".
 * `cityField` is the city's section, e.g. `config city.yaml, districts[0].secureAggregation`.
 */
export function settingsDifferenceText(box: string, district: string, difference: SettingsDifference, cityField: string): string {
  const { field } = difference;
  return `district "${district}": box "${box}" runs with ${field} ${difference.box}, the city with ${difference.city}: write the same in the box's site config (mqtt.secureAggregation.${field}) or in ${cityField}.${field} (then restart veil aggregate: it reads city.yaml at start); until then the aggregator keeps box "${box}" out of the district's rounds`;
}
