/** The secure-aggregation topics: their levels as docs and topics.ts state them, and no overlap with camera topics. */
import { describe, expect, it } from 'vitest';
import { parseCameraTopic, parseSecureAggregationSettingsTopic, parseSecureAggregationTopic, secureAggregationAggregatorTopic, secureAggregationBoxTopic, secureAggregationFilter, secureAggregationSettingsTopic, SECURE_AGGREGATION_SETTINGS_FILTER } from '../../../streams/mqtt/topics.ts';

describe('secure aggregation topics', () => {
  it('a box speaks on its own topic, the aggregator on the district\'s, and each parses back', () => {
    expect(secureAggregationBoxTopic('city', 'centre', 'masked', 'gate-1')).toBe('veil/v1/city/secagg/centre/masked/gate-1');
    expect(secureAggregationAggregatorTopic('city', 'centre', 'roster')).toBe('veil/v1/city/secagg/centre/roster');
    expect(parseSecureAggregationTopic('veil/v1/city/secagg/centre/masked/gate-1')).toEqual({ site: 'city', district: 'centre', kind: 'masked', box: 'gate-1' });
    expect(parseSecureAggregationTopic('veil/v1/city/secagg/centre/roster')).toEqual({ site: 'city', district: 'centre', kind: 'roster' });
  });

  it('subscriptions: one level more for box kinds (the box id), none for the aggregator\'s', () => {
    expect(secureAggregationFilter('city', 'centre', 'shares')).toBe('veil/v1/city/secagg/centre/shares/+');
    expect(secureAggregationFilter('city', 'centre', 'result')).toBe('veil/v1/city/secagg/centre/result');
  });

  it('refuses ids that would be wildcards or levels, and topics of the wrong shape', () => {
    expect(() => secureAggregationBoxTopic('city', 'centre', 'masked', '+')).toThrow('MQTT box id "+" is not 1–64 letters');
    expect(() => secureAggregationAggregatorTopic('city', 'a/b', 'roster')).toThrow('MQTT district id "a/b"');
    expect(parseSecureAggregationTopic('veil/v1/city/secagg/centre/roster/gate-1')).toBeUndefined();
    expect(parseSecureAggregationTopic('veil/v1/city/secagg/centre/masked')).toBeUndefined();
    expect(parseSecureAggregationTopic('veil/v1/city/secagg/centre/window/gate-1')).toBeUndefined();
  });

  it('a box\'s settings: under its own box id (the ACL pattern veil/v1/+/secagg/+/+/%u covers it), apart from the round kinds', () => {
    const topic = secureAggregationSettingsTopic('city', 'centre', 'gate-1');
    expect(topic).toBe('veil/v1/city/secagg/centre/settings/gate-1');
    expect(parseSecureAggregationSettingsTopic(topic)).toEqual({ site: 'city', district: 'centre', box: 'gate-1' });
    // A round's client never takes a settings message for one of its phases, nor the reverse.
    expect(parseSecureAggregationTopic(topic)).toBeUndefined();
    expect(parseSecureAggregationSettingsTopic('veil/v1/city/secagg/centre/advertise/gate-1')).toBeUndefined();
    expect(parseSecureAggregationSettingsTopic('veil/v1/city/secagg/centre/settings')).toBeUndefined();
    expect(SECURE_AGGREGATION_SETTINGS_FILTER).toBe('veil/v1/+/secagg/+/settings/+');
    expect(() => secureAggregationSettingsTopic('city', 'centre', '#')).toThrow('MQTT box id "#" is not 1–64 letters');
  });

  it('never overlaps a camera topic, even for a camera named "secagg"', () => {
    expect(parseCameraTopic('veil/v1/city/secagg/centre/roster')).toBeUndefined();
    expect(parseSecureAggregationTopic('veil/v1/city/secagg/window')).toBeUndefined();
  });
});
