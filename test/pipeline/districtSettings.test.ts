/**
 * A box's published district settings and their comparison with city.yaml's (docs/fleet.md): which fields differ,
 * written as the YAML had them, with what makes no difference (the order of `boxes`, a threshold left at its
 * default) kept apart from what does (the order of `classes`, any other number). Expected values are written here
 * from the docs' rules, not computed by the module.
 */
import { describe, expect, it } from 'vitest';
import { districtSettings, districtSettingsDifferences, districtSettingsMessage, districtSettingsMessageSchema, settingsDifferenceText, settingsDifferReason, SHARED_DISTRICT_FIELDS } from '../../pipeline/districtSettings.ts';
import { districtSecureAggregationSchema } from '../../pipeline/secureAggregationDistrict.ts';

/** A district as a config file writes it, parsed with the config's own schema (its defaults filled in). */
const written = (fields: Record<string, unknown>) => districtSecureAggregationSchema.parse({ district: 'centre', boxes: ['east', 'north', 'south'], dropoutsTolerated: 1, windowSeconds: 900, epsilon: 0.5, ...fields });
const CITY = districtSettings(written({}));

describe('the settings a box publishes', () => {
  it('are every shared field, with the defaults and the threshold as the rounds use them', () => {
    expect(districtSettingsMessage('north', written({}))).toEqual({
      type: 'settings',
      box: 'north',
      // threshold: more than half of 3 boxes is 2; the rest are the documented defaults.
      settings: { district: 'centre', fleet: 'city', boxes: ['east', 'north', 'south'], threshold: 2, dropoutsTolerated: 1, windowSeconds: 900, epsilon: 0.5, delta: 1e-6, linesPerBox: 1, classes: ['person', 'vehicle'] },
    });
    expect(SHARED_DISTRICT_FIELDS).toEqual(['district', 'fleet', 'boxes', 'threshold', 'dropoutsTolerated', 'windowSeconds', 'epsilon', 'delta', 'linesPerBox', 'classes']);
  });

  it('leave out what only one end has: a box\'s camera, lines and phase time are not the city\'s business', () => {
    const boxOnly = { ...written({}), camera: 'road', lines: ['into-town'], phaseSeconds: 20 };
    expect(Object.keys(districtSettingsMessage('north', boxOnly).settings).sort()).toEqual([...SHARED_DISTRICT_FIELDS].sort());
  });

  it('are the same whichever cameras a box contributes: its cameras list stays on the box', () => {
    const several = { ...written({ linesPerBox: 2 }), cameras: [{ camera: 'road', lines: ['into-town'] }, 'bridge'], phaseSeconds: 20 };
    expect(districtSettingsMessage('north', several).settings).toEqual(districtSettings(written({ linesPerBox: 2 })));
    expect(districtSettingsDifferences(districtSettings(written({ linesPerBox: 2 })), districtSettingsMessage('north', several).settings)).toEqual([]);
  });
});

describe('a settings message is checked like every fleet message', () => {
  const good = districtSettingsMessage('north', written({}));

  it('passes as published', () => {
    expect(districtSettingsMessageSchema.safeParse(JSON.parse(JSON.stringify(good))).success).toBe(true);
  });

  it.each([
    ['a field added (anything else would travel with it)', { ...good, counted: 12 }, 'counted'],
    ['a setting added', { ...good, settings: { ...good.settings, noise: 3 } }, 'noise'],
    ['a setting left out (no default is assumed for another box)', { ...good, settings: { ...good.settings, threshold: undefined } }, 'threshold'],
    ['an ε the config would refuse', { ...good, settings: { ...good.settings, epsilon: -1 } }, 'epsilon'],
    ['a box id that is no topic level', { ...good, box: 'north/gate' }, 'box'],
    ['another type', { ...good, type: 'advertise' }, 'type'],
  ])('refuses %s', (_, message, field) => {
    const parsed = districtSettingsMessageSchema.safeParse(message);
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues.map((issue) => issue.path.join('.') + ' ' + issue.message).join('; ')).toContain(field);
  });
});

describe('comparing a box\'s settings with the city\'s', () => {
  it('finds nothing when they are the same, however the box lists its boxes or writes the default threshold', () => {
    expect(districtSettingsDifferences(CITY, districtSettings(written({})))).toEqual([]);
    expect(districtSettingsDifferences(CITY, districtSettings(written({ boxes: ['south', 'east', 'north'], threshold: 2, fleet: 'city', delta: 0.000001 })))).toEqual([]);
  });

  it('names each field that differs, with both values as written, in the order of the docs\' list', () => {
    const box = districtSettings(written({ epsilon: 0.6, windowSeconds: 600, classes: ['vehicle'] }));
    expect(districtSettingsDifferences(CITY, box)).toEqual([
      { field: 'windowSeconds', box: '600', city: '900' },
      { field: 'epsilon', box: '0.6', city: '0.5' },
      { field: 'classes', box: '[vehicle]', city: '[person, vehicle]' },
    ]);
  });

  it('the order of classes is the vector\'s layout: swapped, they differ', () => {
    expect(districtSettingsDifferences(CITY, districtSettings(written({ classes: ['vehicle', 'person'] })))).toEqual([{ field: 'classes', box: '[vehicle, person]', city: '[person, vehicle]' }]);
  });

  it('a threshold written against the default, a box more or fewer, another district or fleet', () => {
    expect(districtSettingsDifferences(CITY, districtSettings(written({ threshold: 3 })))).toEqual([{ field: 'threshold', box: '3', city: '2' }]);
    // Four boxes move the default threshold too (more than half of 4 is 3, of 3 is 2), but nobody wrote it: only
    // boxes is named. Written against the default on either side, the threshold is named as well.
    const fourBoxes = ['east', 'north', 'south', 'west'];
    expect(districtSettingsDifferences(CITY, districtSettings(written({ boxes: fourBoxes })))).toEqual([{ field: 'boxes', box: '[east, north, south, west]', city: '[east, north, south]' }]);
    expect(districtSettingsDifferences(CITY, districtSettings(written({ boxes: fourBoxes, threshold: 4 })))).toEqual([
      { field: 'boxes', box: '[east, north, south, west]', city: '[east, north, south]' },
      { field: 'threshold', box: '4', city: '2' },
    ]);
    expect(districtSettingsDifferences(districtSettings(written({ threshold: 3 })), districtSettings(written({})))).toEqual([{ field: 'threshold', box: '2', city: '3' }]);
    expect(districtSettingsDifferences(CITY, districtSettings(written({ district: 'center', fleet: 'town' })))).toEqual([
      { field: 'district', box: 'center', city: 'centre' },
      { field: 'fleet', box: 'town', city: 'city' },
    ]);
  });

  it('numbers compare exactly: a δ or a line count off by a little is off', () => {
    expect(districtSettingsDifferences(CITY, districtSettings(written({ delta: 1e-7, linesPerBox: 2, dropoutsTolerated: 0 })))).toEqual([
      { field: 'dropoutsTolerated', box: '0', city: '1' },
      { field: 'delta', box: '1e-7', city: '0.000001' },
      { field: 'linesPerBox', box: '2', city: '1' },
    ]);
  });
});

describe('what a person reads', () => {
  it('the reason a box is kept out names the fields', () => {
    expect(settingsDifferReason([{ field: 'epsilon', box: '0.6', city: '0.5' }])).toBe('settings differ: epsilon');
    expect(settingsDifferReason([{ field: 'epsilon', box: '0.6', city: '0.5' }, { field: 'delta', box: '1e-7', city: '0.000001' }])).toBe('settings differ: epsilon, delta');
  });

  it('the error names the box, the field, both values and both places to fix it', () => {
    expect(settingsDifferenceText('south', 'centre', { field: 'epsilon', box: '0.6', city: '0.5' }, 'config city.yaml, districts[0].secureAggregation')).toBe(
      'district "centre": box "south" runs with epsilon 0.6, the city with 0.5: write the same in the box\'s site config (mqtt.secureAggregation.epsilon) or in config city.yaml, districts[0].secureAggregation.epsilon (then restart veil aggregate: it reads city.yaml at start); until then the aggregator keeps box "south" out of the district\'s rounds',
    );
  });
});
