/**
 * `veil aggregate`'s check of each box's published district settings (pipeline/districtSettings.ts) against
 * city.yaml, before any round: a box that runs other settings is named in the log (box, field, both values, where
 * each is written), on /healthz and in /metrics, and kept out of the district's rounds with the reason instead of
 * turning, unexplained, into a dropout (or worse, into an input whose noise the city misstates).
 *
 *   const check = createDistrictSettingsCheck({ districts, cityFile: 'city.yaml', log, metrics });
 *   client.on('message', (topic, payload) => check.receive(topic, payload));   // SECURE_AGGREGATION_SETTINGS_FILTER
 *   check.keptOut('old town', 'south');   // 'settings differ: epsilon', or undefined
 *   check.problems();                     // one entry per box and field that differ, for /healthz
 *
 * A box is heard under its own district's topic; one that writes another `district` or `fleet` than city.yaml
 * publishes under another topic, so it is matched by its box id among the city's districts. A box the district's
 * `boxes` do not list (a retired one whose settings are still retained) is not compared: the log says so once, with
 * the topic to clear. A box's settings cleared from the broker (an empty retained message) are forgotten, with their
 * problems.
 */
import type { FleetProblem } from '../streams/feedServer.ts';
import { decodeMessage } from '../streams/mqtt/secureAggregationWire.ts';
import { parseSecureAggregationSettingsTopic } from '../streams/mqtt/topics.ts';
import { districtSettings, districtSettingsDifferences, districtSettingsMessageSchema, settingsDifferenceText, settingsDifferReason, type DistrictSettings, type SettingsDifference } from './districtSettings.ts';
import type { FleetMetrics, MessageOutcome } from './fleetMetrics.ts';
import type { Logger } from './log.ts';
import type { DistrictSecureAggregation } from './secureAggregationDistrict.ts';

/** One securely aggregated district of city.yaml. */
export interface SecureDistrict {
  /** Its name in city.yaml (`districts[index].name`). */
  name: string;
  index: number;
  settings: DistrictSecureAggregation;
}

export interface DistrictSettingsCheckOptions {
  districts: readonly SecureDistrict[];
  /** The city config's path, as errors name it. */
  cityFile: string;
  log: Logger;
  metrics: FleetMetrics;
}

export interface DistrictSettingsCheck {
  /**
   * Takes one message from a box's settings topic: checks it (zod), compares it and logs what changed. Returns the
   * outcome to count (`rejected`: malformed, or a box speaking for another), or undefined for a topic that is no
   * box's settings or a box of no district of this city.
   */
  receive(topic: string, payload: Buffer): MessageOutcome | undefined;
  /** Why `box` is kept out of district `district`'s rounds (its settings differ from city.yaml), or undefined. */
  keptOut(district: string, box: string): string | undefined;
  /** Each field a box runs with another value than city.yaml, now. */
  problems(): FleetProblem[];
}

interface Checked {
  city: DistrictSettings;
  /** The section of city.yaml, for errors: `config city.yaml, districts[0].secureAggregation`. */
  cityField: string;
  /** By box: the fields its latest settings differ in ([] when they match). */
  boxes: Map<string, SettingsDifference[]>;
  /** Boxes heard on this district's topic that its `boxes` do not list (a retired box), each said once. */
  notListed: Set<string>;
}

/**
 * The check for the city's securely aggregated `districts`, with nothing heard yet: every box unchecked (and so not
 * kept out) until its settings arrive. Throws nothing; what it refuses it logs and counts.
 */
export function createDistrictSettingsCheck(options: DistrictSettingsCheckOptions): DistrictSettingsCheck {
  const { cityFile, log, metrics } = options;
  const checked = new Map<string, Checked>(
    options.districts.map((district) => [district.name, { city: districtSettings(district.settings), cityField: `config ${cityFile}, districts[${district.index}].secureAggregation`, boxes: new Map(), notListed: new Set() }]),
  );

  /** The city's districts a box's message is about: its topic's district, else those that list the box. */
  const districtsOf = (fleet: string, district: string, box: string): string[] => {
    const byTopic = [...checked].filter(([, entry]) => entry.city.fleet === fleet && entry.city.district === district);
    const matched = byTopic.length > 0 ? byTopic : [...checked].filter(([, entry]) => entry.city.boxes.includes(box));
    return matched.map(([name]) => name);
  };

  const record = (name: string, box: string, differences: SettingsDifference[]) => {
    const entry = checked.get(name)!;
    const before = entry.boxes.get(box);
    entry.boxes.set(box, differences);
    metrics.settingsDiffer.set({ district: name, box }, differences.length);
    // A retained message comes again at each reconnection: only a change is news.
    if (before && JSON.stringify(before) === JSON.stringify(differences)) return;
    if (differences.length === 0) {
      log.info('secure aggregation: the box\'s district settings match city.yaml', { district: name, box });
      return;
    }
    for (const difference of differences) {
      log.error(`secure aggregation: ${settingsDifferenceText(box, entry.city.district, difference, entry.cityField)}`, { district: name, box, field: difference.field, box_value: difference.box, city_value: difference.city });
    }
  };

  /**
   * A box the district does not list — retired, its settings still retained on the broker — has no settings to
   * compare: comparing would blame its `boxes` and send the operator to a site config that is gone. Said once, with
   * the way to clear them.
   */
  const notListed = (name: string, box: string, topic: string) => {
    const entry = checked.get(name)!;
    if (entry.notListed.has(box)) return;
    entry.notListed.add(box);
    log.warn(`secure aggregation: box "${box}" is not in district "${entry.city.district}"'s boxes (${entry.cityField}.boxes: ${entry.city.boxes.join(', ')}), so its settings retained on the broker are not compared. If the box was retired, clear them: mosquitto_pub -h BROKER -r -n -t ${topic}; if it should take part, add it to boxes in city.yaml and in every box's site config`, { district: name, box, topic });
  };

  return {
    receive(topic, payload) {
      const parsed = parseSecureAggregationSettingsTopic(topic);
      if (!parsed) return undefined;
      const names = districtsOf(parsed.site, parsed.district, parsed.box);
      if (names.length === 0) return undefined;
      if (payload.length === 0) {
        for (const name of names) {
          checked.get(name)!.notListed.delete(parsed.box);
          if (!checked.get(name)!.boxes.delete(parsed.box)) continue;
          metrics.settingsDiffer.remove({ district: name, box: parsed.box });
          log.info('secure aggregation: the box\'s district settings were cleared from the broker; it is no longer checked', { district: name, box: parsed.box });
        }
        return 'accepted';
      }
      const reject = (problem: string): MessageOutcome => {
        log.warn('secure aggregation: a box\'s district settings rejected', { topic, problem });
        return 'rejected';
      };
      const decoded = decodeMessage(districtSettingsMessageSchema, payload);
      if ('problem' in decoded) return reject(decoded.problem);
      const { box, settings } = decoded.message;
      if (box !== parsed.box) return reject(`settings naming box "${box}": a box speaks only for itself, on its own topic`);
      if (settings.fleet !== parsed.site || settings.district !== parsed.district) return reject(`settings of district "${settings.fleet}/${settings.district}" on another district's topic`);
      for (const name of names) {
        const { city } = checked.get(name)!;
        if (city.boxes.includes(box)) record(name, box, districtSettingsDifferences(city, settings));
        else notListed(name, box, topic);
      }
      return 'accepted';
    },
    keptOut(district, box) {
      const differences = checked.get(district)?.boxes.get(box);
      return differences && differences.length > 0 ? settingsDifferReason(differences) : undefined;
    },
    problems() {
      return [...checked].flatMap(([name, entry]) =>
        [...entry.boxes].flatMap(([box, differences]) =>
          differences.map((difference) => ({ message: settingsDifferenceText(box, entry.city.district, difference, entry.cityField), district: name, box, field: difference.field, boxValue: difference.box, cityValue: difference.city })),
        ),
      );
    },
  };
}
