/**
 * The aggregator's bookkeeping of its boxes' settings, message by message, with the real logger and a real metrics
 * registry: what it says once and not again, which box speaks for which, a box heard under another district's
 * topic, a retired box the district no longer lists, and settings cleared from the broker. Messages are built as a box builds them.
 */
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { districtSettingsMessage } from '../../pipeline/districtSettings.ts';
import { createDistrictSettingsCheck } from '../../pipeline/districtSettingsCheck.ts';
import { createFleetMetrics } from '../../pipeline/fleetMetrics.ts';
import { createLogger } from '../../pipeline/log.ts';
import { districtSecureAggregationSchema } from '../../pipeline/secureAggregationDistrict.ts';
import { secureAggregationSettingsTopic } from '../../streams/mqtt/topics.ts';

const CITY = { district: 'centre', boxes: ['east', 'north', 'south'], dropoutsTolerated: 1, windowSeconds: 900, epsilon: 0.5 };
const district = (fields: Record<string, unknown> = {}) => districtSecureAggregationSchema.parse({ ...CITY, ...fields });

/** The check of a city whose district is CITY with `cityFields` written over it. */
function setUp(cityFields: Record<string, unknown> = {}) {
  const lines: Array<Record<string, unknown>> = [];
  const log = createLogger('json', (line) => lines.push(JSON.parse(line)));
  const registry = new Registry();
  const metrics = createFleetMetrics(registry);
  const check = createDistrictSettingsCheck({ districts: [{ name: 'old town', index: 2, settings: district(cityFields) }], cityFile: 'city.yaml', log, metrics });
  const send = (box: string, fields: Record<string, unknown> = {}, topicDistrict = 'centre') =>
    check.receive(secureAggregationSettingsTopic('city', topicDistrict, box), Buffer.from(JSON.stringify(districtSettingsMessage(box, district(fields)))));
  const differ = async () => Object.fromEntries(((await registry.getSingleMetric('veil_secure_aggregation_settings_differ')!.get()).values).map((value) => [value.labels.box, value.value]));
  return { lines, check, send, differ };
}

describe('the aggregator\'s check of its boxes\' settings', () => {
  it('an error per differing field, once: the same retained settings again (a reconnection) say nothing new', async () => {
    const { lines, check, send, differ } = setUp();
    expect(send('south', { epsilon: 0.6, delta: 1e-7 })).toBe('accepted');
    expect(send('south', { epsilon: 0.6, delta: 1e-7 })).toBe('accepted');
    expect(lines.map((line) => [line.level, line.field, line.box_value, line.city_value])).toEqual([
      ['error', 'epsilon', '0.6', '0.5'],
      ['error', 'delta', '1e-7', '0.000001'],
    ]);
    expect(lines[0]!.message).toContain('config city.yaml, districts[2].secureAggregation.epsilon');
    expect(check.keptOut('old town', 'south')).toBe('settings differ: epsilon, delta');
    expect(check.problems().map((problem) => problem.field)).toEqual(['epsilon', 'delta']);
    expect(await differ()).toEqual({ south: 2 });
  });

  it('a box that mends its config is let back in, and the log says so', async () => {
    const { lines, check, send, differ } = setUp();
    send('south', { epsilon: 0.6 });
    send('south');
    expect(lines.at(-1)).toMatchObject({ level: 'info', message: 'secure aggregation: the box\'s district settings match city.yaml', box: 'south' });
    expect(check.keptOut('old town', 'south')).toBeUndefined();
    expect(check.problems()).toEqual([]);
    expect(await differ()).toEqual({ south: 0 });
  });

  it('a box that writes another district id is heard under that topic and matched by its box id', () => {
    const { check, send } = setUp();
    expect(send('north', { district: 'center' }, 'center')).toBe('accepted');
    expect(check.problems()).toMatchObject([{ box: 'north', field: 'district', boxValue: 'center', cityValue: 'centre' }]);
  });

  it('a box of no district of this city is none of its business: not counted, not logged', () => {
    const { lines, check, send } = setUp();
    expect(send('harbour-1', { district: 'harbour', boxes: ['harbour-1', 'harbour-2'] }, 'harbour')).toBeUndefined();
    expect(check.receive('veil/v1/north/road/window', Buffer.from('{}'))).toBeUndefined();
    expect(lines).toEqual([]);
  });

  it('refuses a box speaking for another, and settings of another district on this district\'s topic', () => {
    const { lines, check } = setUp();
    const topic = secureAggregationSettingsTopic('city', 'centre', 'east');
    expect(check.receive(topic, Buffer.from(JSON.stringify(districtSettingsMessage('south', district()))))).toBe('rejected');
    expect(check.receive(topic, Buffer.from(JSON.stringify(districtSettingsMessage('east', district({ district: 'harbour' })))))).toBe('rejected');
    expect(check.receive(topic, Buffer.from('not json'))).toBe('rejected');
    expect(lines.map((line) => line.problem)).toEqual([
      'settings naming box "south": a box speaks only for itself, on its own topic',
      'settings of district "city/harbour" on another district\'s topic',
      'not JSON (8 bytes)',
    ]);
    expect(check.problems()).toEqual([]);
  });

  it('a retired box the district no longer lists is no mismatch: said once, with the topic to clear, and not counted as differing', async () => {
    // South was retired: city.yaml lists east and north only; south's last settings (listing all three) stay retained.
    const { lines, check, send, differ } = setUp({ boxes: ['east', 'north'] });
    expect(send('south')).toBe('accepted');
    expect(send('south')).toBe('accepted');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'warn', district: 'old town', box: 'south', topic: 'veil/v1/city/secagg/centre/settings/south' });
    expect(lines[0]!.message).toContain('box "south" is not in district "centre"\'s boxes (config city.yaml, districts[2].secureAggregation.boxes: east, north)');
    expect(lines[0]!.message).toContain('mosquitto_pub -h BROKER -r -n -t veil/v1/city/secagg/centre/settings/south');
    expect(lines[0]!.message).not.toContain('site config (mqtt.secureAggregation');
    expect(check.problems()).toEqual([]);
    expect(check.keptOut('old town', 'south')).toBeUndefined();
    expect(await differ()).toEqual({});
    // The listed boxes are still compared.
    send('east', { boxes: ['east', 'north'] });
    expect(lines.at(-1)).toMatchObject({ level: 'info', box: 'east', message: 'secure aggregation: the box\'s district settings match city.yaml' });
    // Cleared, then published again (the box brought back without being listed): said again.
    check.receive(secureAggregationSettingsTopic('city', 'centre', 'south'), Buffer.alloc(0));
    send('south');
    expect(lines.filter((line) => line.box === 'south')).toHaveLength(2);
  });

  it('settings cleared from the broker (an empty retained message) are forgotten with their problems', async () => {
    const { check, send, differ } = setUp();
    send('south', { epsilon: 0.6 });
    expect(check.receive(secureAggregationSettingsTopic('city', 'centre', 'south'), Buffer.alloc(0))).toBe('accepted');
    expect(check.problems()).toEqual([]);
    expect(check.keptOut('old town', 'south')).toBeUndefined();
    expect(await differ()).toEqual({});
  });
});
