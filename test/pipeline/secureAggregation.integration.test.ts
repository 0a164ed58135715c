/**
 * Secure aggregation wired end to end on a real mosquitto: three `veil run` boxes (each its own process with the real
 * detector on a looping clip at 1 frame/s) contribute their crossings to district "centre", and a `veil aggregate`
 * child publishes the district total of each window on its feed, marked as securely aggregated with the s.d. the
 * test works out by hand from the district's ε (one release's σ, not √3 σ). A subscriber to `#` sees every message
 * on the broker: each box's contribution travels only masked. One box is SIGKILLed mid-stream; later rounds are
 * released by the other two, whose shares carry the district's full noise (dropoutsTolerated: 1).
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { districtSettingsMessageSchema } from '../../pipeline/districtSettings.ts';
import { useLiveSandbox } from '../helpers/liveChildren.ts';
import { startVeilRun, writeSiteConfig, type VeilRun } from '../helpers/liveVeil.ts';
import { eventually } from '../helpers/liveWait.ts';
import { oneReleaseSigma, secureTotals, startCity } from '../helpers/secureAggregationCity.ts';
import { FOOTAGE } from '../helpers/paths.ts';

const sandbox = useLiveSandbox('veil-secagg-live-');
const BOXES = ['east', 'north', 'south'];
const WINDOW_SECONDS = 6;
const DISTRICT_EPSILON = 0.6;
const DELTA = 1e-6;
/** What both ends write alike (docs/fleet.md). */
const DISTRICT = { district: 'centre', boxes: BOXES, dropoutsTolerated: 1, windowSeconds: WINDOW_SECONDS, epsilon: DISTRICT_EPSILON, delta: DELTA };
/** Three detector loads on a shared machine, then a handful of 6 s windows. */
const TEST_TIMEOUT_MS = 520_000;

async function startBox(box: string, brokerUrl: string): Promise<VeilRun> {
  const dir = path.join(sandbox(), box);
  await mkdir(dir, { recursive: true });
  const config = await writeSiteConfig(dir, 'site.yaml', {
    stateDir: 'state',
    detector: { workers: 1 },
    feed: { port: 0 },
    cameras: [
      {
        id: 'road',
        source: { file: FOOTAGE.overpass, loop: true },
        fps: 1,
        maxWidth: 320,
        lines: [{ name: 'across', from: [0, 0.6], to: [1, 0.6] }],
        privacy: { mechanism: 'discrete-gaussian', epsilon: 1, delta: DELTA, releases: [{ statistic: 'crossings', windowSeconds: WINDOW_SECONDS, share: 0.5 }] },
      },
    ],
    mqtt: { site: box, url: brokerUrl, reconnectSeconds: 0.5, keepaliveSeconds: 10, secureAggregation: { ...DISTRICT, phaseSeconds: 20 } },
  });
  return startVeilRun(config, { home: dir, newLedger: true });
}

describe('secure aggregation of district crossings between veil run boxes and veil aggregate', () => {
  it('publishes the district total with one release\'s noise, never a box\'s unmasked vector, and goes on without a killed box', async () => {
    const { broker, aggregator: city, feed } = await startCity(path.join(sandbox(), 'city'), { ...DISTRICT, phaseSeconds: 8 });
    const onBroker: Array<{ topic: string; payload: Buffer }> = [];
    const spy = await mqtt.connectAsync(broker.url, { clientId: 'spy', clean: true });
    spy.on('message', (topic, payload) => onBroker.push({ topic, payload }));
    await spy.subscribeAsync('#', { qos: 1 });

    const boxes = new Map<string, VeilRun>();
    for (const box of BOXES) boxes.set(box, await startBox(box, broker.url));
    await Promise.all([...boxes.values()].map((run) => run.listening(120)));

    // Δ₂ = 1: one line, a track crosses it once.
    const sigma = oneReleaseSigma(DISTRICT_EPSILON, DELTA, 1);
    const everyBox = await eventually('a district total of all three boxes', 240, () => secureTotals(feed).find((total) => total.cameras.released.length === 3));
    expect(everyBox.district).toBe('old town');
    expect(everyBox.secureAggregation).toMatchObject({ status: 'released', epsilon: DISTRICT_EPSILON, delta: DELTA });
    // Each of the 3 boxes adds variance σ²/(3 − 1) (one dropout tolerated): the sum's is 3σ²/2.
    expect(everyBox.secureAggregation!.standardDeviation).toBeCloseTo(sigma * Math.sqrt(3 / 2), 6);
    expect(everyBox.crossings.vehicle!.forward.standardDeviation).toBe(everyBox.secureAggregation!.standardDeviation);
    expect(Number.isInteger(everyBox.crossings.vehicle!.forward.value)).toBe(true);
    expect(everyBox.endSeconds - everyBox.startSeconds).toBe(WINDOW_SECONDS);

    // A power cut at one box, mid-stream.
    await boxes.get('east')!.child.kill();
    const killedAt = Date.now() / 1000;
    const withoutEast = await eventually('a later total released without the killed box', 120, () => {
      const later = secureTotals(feed).filter((total) => total.startSeconds > killedAt);
      const released = later.find((total) => total.secureAggregation?.status === 'released');
      // A failure names why the rounds since the kill were withheld.
      if (!released && later.length > 0) throw new Error(later.map((total) => total.secureAggregation?.withheldReason).join('; '));
      return released;
    });
    expect(withoutEast.cameras).toEqual({ released: ['north', 'south'], withheld: [], missing: ['east'] });
    // Two boxes' shares, each σ²/2: exactly one release's noise.
    expect(withoutEast.secureAggregation!.standardDeviation).toBeCloseTo(sigma, 6);

    // Every contribution on the broker was masked: read as signed 64-bit words (the protocol's arithmetic modulo
    // 2^64), an unmasked count plus noise would be small, a masked word is uniform (below 2^32 in size with
    // probability 2^-31 per word).
    const masked = onBroker.filter(({ topic }) => /^veil\/v1\/city\/secagg\/centre\/masked\/[a-z]+$/.test(topic));
    expect(new Set(masked.map(({ topic }) => topic.split('/').at(-1)))).toEqual(new Set(BOXES));
    for (const { payload } of masked) {
      const words = Buffer.from(JSON.parse(payload.toString('utf8')).values, 'base64');
      expect(words.length).toBe(4 * 8);
      for (let offset = 0; offset < words.length; offset += 8) {
        const word = words.readBigInt64BE(offset);
        expect(word < 0n ? -word : word).toBeGreaterThan(1n << 32n);
      }
    }
    // The only other messages about the district: keys, sealed shares, unmasking shares, the aggregator's phases and
    // each box's settings, which are the district's config and nothing else (the strict schema lets no count through).
    const districtKinds = new Set(onBroker.filter(({ topic }) => topic.includes('/secagg/')).map(({ topic }) => topic.split('/')[5]));
    expect(['advertise', 'masked', 'result', 'roster', 'shares', 'sharers', 'settings', 'survivors', 'unmask']).toEqual(expect.arrayContaining([...districtKinds]));
    const settings = onBroker.filter(({ topic }) => topic.split('/')[5] === 'settings');
    expect(new Set(settings.map(({ topic }) => topic.split('/').at(-1)))).toEqual(new Set(BOXES));
    for (const { payload } of settings) expect(districtSettingsMessageSchema.parse(JSON.parse(payload.toString('utf8'))).settings).toMatchObject({ ...DISTRICT, boxes: BOXES });
    // Every box runs the city's settings: the aggregator reported none.
    expect(city.log().filter((entry) => entry.level === 'error')).toEqual([]);
    expect(feed.problems).toEqual([]);
    await spy.endAsync();
    await broker.stop();
  }, TEST_TIMEOUT_MS);
});
