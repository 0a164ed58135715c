/** The secure-aggregation topics: their levels as docs and topics.ts state them, and no overlap with camera topics. */
import { describe, expect, it } from 'vitest';
import { parseCameraTopic, parseSecureAggregationTopic, secureAggregationAggregatorTopic, secureAggregationBoxTopic, secureAggregationFilter } from '../../../streams/mqtt/topics.ts';

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

  it('never overlaps a camera topic, even for a camera named "secagg"', () => {
    expect(parseCameraTopic('veil/v1/city/secagg/centre/roster')).toBeUndefined();
    expect(parseSecureAggregationTopic('veil/v1/city/secagg/window')).toBeUndefined();
  });
});
