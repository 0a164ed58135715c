import { describe, expect, it } from 'vitest';
import { aggregateConfigSchema } from '../../pipeline/aggregateConfig.ts';
import { ConfigError, parseConfig } from '../../pipeline/config.ts';

const base = { broker: { url: 'mqtt://127.0.0.1:1883' }, stateDir: 'city' };
const parse = (extra: Record<string, unknown>) => parseConfig(aggregateConfigSchema, { ...base, ...extra }, 'config city.yaml');

describe('city config', () => {
  it('reads districts of "site/camera" ids, with or without chosen lines and zones, and the feed\'s defaults', () => {
    const city = parse({ districts: [{ name: 'old town', cameras: ['north/gate', { camera: 'north/yard', lines: ['in'], zones: [] }] }] });
    expect(city.districts).toEqual([{ name: 'old town', cameras: [{ camera: 'north/gate' }, { camera: 'north/yard', lines: ['in'], zones: [] }] }]);
    expect(city.feed).toMatchObject({ host: '127.0.0.1', port: 8080, tokenEnv: 'VEIL_FEED_TOKEN' });
    expect(city.broker.persistentSession).toBe(true);
  });

  it.each([
    ['a camera without its site', { districts: [{ name: 'a', cameras: ['gate'] }] }, 'districts[0].cameras[0]'],
    ['a camera twice in a district', { districts: [{ name: 'a', cameras: ['n/gate', { camera: 'n/gate', lines: ['x'] }] }] }, 'counted twice'],
    ['two districts of one name', { districts: [{ name: 'a', cameras: ['n/g'] }, { name: 'a', cameras: ['n/h'] }] }, 'district "a" is named twice'],
    ['a session the broker forgets', { broker: { url: 'mqtt://127.0.0.1:1883', persistentSession: false } }, 'windows published while it is down are lost'],
    ['an empty district', { districts: [{ name: 'a', cameras: [] }] }, 'a district needs at least one camera'],
  ])('refuses %s, naming the field', (_, extra, problem) => {
    expect(() => parse(extra)).toThrow(ConfigError);
    expect(() => parse(extra)).toThrow(problem);
  });

  it('refuses a password written in the file at broker.passwordEnv, never echoing its value', () => {
    const attempt = () => parse({ broker: { url: 'mqtt://127.0.0.1:1883', username: 'city', password: 'hunter2-secret' } });
    expect(attempt).toThrow('broker.passwordEnv: a password must not be written in the file');
    let message = '';
    try {
      attempt();
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).not.toContain('hunter2');
  });

  const secure = { district: 'centre', boxes: ['east', 'north', 'south'], dropoutsTolerated: 1, windowSeconds: 60, epsilon: 0.5 };

  it('reads a district totalled by secure aggregation only, with the shared defaults', () => {
    const city = parse({ districts: [{ name: 'old town', secureAggregation: secure }] });
    expect(city.districts[0]).toEqual({ name: 'old town', cameras: [], secureAggregation: { ...secure, fleet: 'city', delta: 1e-6, linesPerBox: 1, classes: ['person', 'vehicle'], phaseSeconds: 10 } });
  });

  it.each([
    ['a secure-aggregation district id with a space', { ...secure, district: 'old town' }, 'districts[0].secureAggregation.district'],
    ['a threshold of half the boxes or less', { ...secure, boxes: ['a', 'b', 'c', 'd'], threshold: 2 }, 'threshold must be a whole number from 3'],
    ['as many dropouts tolerated as boxes', { ...secure, dropoutsTolerated: 3 }, 'dropoutsTolerated must be a whole number from 0 to 2'],
    // 2 boxes: the threshold is 2 (more than half), so no round survives a dropout that the noise was sized for.
    ['a dropout tolerated that the threshold cannot survive', { ...secure, boxes: ['east', 'north'] }, 'dropoutsTolerated 1: a round is released only when 2 of the 2 boxes answer (the threshold), so it survives at most 0 dropout(s)'],
    ['dropouts beyond a written threshold', { ...secure, boxes: ['a', 'b', 'c', 'd', 'e'], threshold: 4, dropoutsTolerated: 2 }, 'Set dropoutsTolerated: 1, or a lower threshold (3 at least), or add boxes'],
  ])('refuses %s, naming the field', (_, secureAggregation, problem) => {
    const extra = { districts: [{ name: 'old town', secureAggregation }] };
    expect(() => parse(extra)).toThrow(ConfigError);
    expect(() => parse(extra)).toThrow(problem);
  });

  it('says of a district left with one box only that it needs two, with no dropout advice (a retired box\'s partner)', () => {
    let message = '';
    try {
      parse({ districts: [{ name: 'old town', secureAggregation: { ...secure, boxes: ['east'], dropoutsTolerated: 0 } }] });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('districts[0].secureAggregation.boxes: secure aggregation needs at least 2 boxes');
    expect(message).not.toContain('dropoutsTolerated');
  });

  it('blames a malformed district id on that field alone, not on the boxes', () => {
    let message = '';
    try {
      parse({ districts: [{ name: 'old town', secureAggregation: { ...secure, district: 'bad id!' } }] });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('districts[0].secureAggregation.district');
    expect(message).toContain('an invalid setting:');
    expect(message).not.toContain('boxes');
  });
});
