/**
 * A box that contributes two of its cameras to one securely aggregated district total, on a real mosquitto with a real
 * `veil aggregate` child. Each box runs as `veil run` wires it, in this process: its site config read from a file, each
 * camera's releaser on the box's real SQLite ledger, then the box's district contribution (pipeline/
 * districtContribution.ts) fed the exact windows the test writes. Box "junction" sums road's line into-town and
 * bridge's line across (linesPerBox: 2); box "north" contributes its only camera in the single-camera form. The total
 * must be the test's own sum of those exact crossings plus noise, with the s.d. the test works out by hand for
 * Δ₂ = L·m = 2. Then bridge misses a window: junction sits that round out, says which camera was missing, and the
 * district's total names junction missing instead of holding road alone.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { contributingCameras } from '../../pipeline/districtCameras.ts';
import { startDistrictContributions, type DistrictContributions } from '../../pipeline/districtContribution.ts';
import { createLogger } from '../../pipeline/log.ts';
import { openPrivacy, type PrivacyRuntime } from '../../pipeline/privacySetup.ts';
import { readSiteConfig } from '../../pipeline/siteConfig.ts';
import type { CrossingCounts, WindowAggregate } from '../../stages/aggregates.ts';
import { useLiveSandbox } from '../helpers/liveChildren.ts';
import { writeSiteConfig, type LogEntry } from '../helpers/liveVeil.ts';
import { eventually } from '../helpers/liveWait.ts';
import { oneReleaseSigma, secureTotals, startCity, type City } from '../helpers/secureAggregationCity.ts';

const sandbox = useLiveSandbox('veil-secagg-multicam-');
const WINDOW_SECONDS = 60;
const EPSILON = 2;
const DELTA = 1e-6;
/** What both ends write alike: two boxes, no dropout tolerated, two lines summed per box. */
const DISTRICT = { district: 'centre', boxes: ['junction', 'north'], dropoutsTolerated: 0, windowSeconds: WINDOW_SECONDS, epsilon: EPSILON, delta: DELTA, linesPerBox: 2 };
/** The same with a third box and one dropout tolerated, so a round goes on without a box that sits it out. */
const DISTRICT_OF_THREE = { ...DISTRICT, boxes: ['junction', 'north', 'south'], dropoutsTolerated: 1 };
/** Windows of a fixed past hour: rounds need no clock but the window's start, and each ledger is new. */
const FIRST = 1_764_460_800;
const SECOND = FIRST + WINDOW_SECONDS;
const THIRD = SECOND + WINDOW_SECONDS;
const FOURTH = THIRD + WINDOW_SECONDS;
// ε 3 per event at δ 1e-6 is ρ ≈ 0.147; the district's ε 2 is ρ ≈ 0.068 (a share of 0.46), and the cameras' own
// crossings take 0.3: together under the whole ε.
const PRIVACY = { mechanism: 'discrete-gaussian', epsilon: 3, delta: DELTA, releases: [{ statistic: 'crossings', windowSeconds: WINDOW_SECONDS, share: 0.3 }] };
const line = (name: string, y: number) => ({ name, from: [0, y], to: [1, y] });
/** Box junction's cameras and what it sums of them: road's into-town (not out-of-town) and all of bridge, L = 2. */
const JUNCTION_CAMERAS = { road: ['into-town', 'out-of-town'], bridge: ['across'] };
const JUNCTION_SUMS = { cameras: [{ camera: 'road', lines: ['into-town'] }, 'bridge'] };

/**
 * Each camera's exact crossings in a window, [forward, backward] per class group. Every summed line adds at least 60
 * to every value, almost twice 6 s.d. of the total's noise (5.4), so a camera left out (or out-of-town summed in)
 * cannot pass for noise.
 */
const EXACT: Record<string, Record<string, { person: [number, number]; vehicle: [number, number] }>> = {
  road: { 'into-town': { person: [140, 125], vehicle: [120, 90] }, 'out-of-town': { person: [500, 500], vehicle: [500, 500] } },
  bridge: { across: { person: [130, 155], vehicle: [70, 85] } },
  gate: { in: { person: [200, 150], vehicle: [60, 80] } },
};

const running: Array<{ contributions: DistrictContributions; privacy: PrivacyRuntime }> = [];
let city: City | undefined;

afterEach(async () => {
  for (const box of running.splice(0)) {
    await box.contributions.close();
    box.privacy.close();
  }
  await city?.aggregator.child.kill();
  await city?.broker.stop();
});

/** Camera `camera`'s window from `start`, holding its EXACT crossings (all lines and groups present, as the window stage makes them). */
function windowOf(camera: string, start: number): WindowAggregate {
  const counts = ([forward, backward]: [number, number]): CrossingCounts => ({ forward, backward });
  const lines = Object.fromEntries(Object.entries(EXACT[camera]!).map(([name, { person, vehicle }]) => [name, { person: counts(person), vehicle: counts(vehicle) }]));
  return { startSeconds: start, endSeconds: start + WINDOW_SECONDS, windowSeconds: WINDOW_SECONDS, clock: 'wall', framesAnalysed: WINDOW_SECONDS * 2, zones: {}, lines };
}

interface Box {
  log: LogEntry[];
  /** A camera closes its window from `start`: released on its own first, then handed to the district, as `veil run` does. */
  close(camera: string, start: number): void;
}

/**
 * Box `box` of `district` with `cameras` (id → its lines' names) and `secureAggregation`'s box-only fields, started
 * as `veil run` starts it.
 */
async function startBox(box: string, district: { boxes: string[] }, cameras: Record<string, string[]>, boxOnly: Record<string, unknown>): Promise<Box> {
  const folder = path.join(sandbox(), district.boxes.join('-'), box);
  await mkdir(folder, { recursive: true });
  const file = await writeSiteConfig(folder, 'site.yaml', {
    stateDir: 'state',
    cameras: Object.entries(cameras).map(([id, lines]) => ({ id, source: { file: `${id}.mp4` }, lines: lines.map((name, index) => line(name, 0.5 + index / 10)), privacy: PRIVACY })),
    mqtt: { site: box, url: city!.broker.url, reconnectSeconds: 0.5, secureAggregation: { ...district, ...boxOnly, phaseSeconds: 30 } },
  });
  const site = await readSiteConfig(file);
  const entries: LogEntry[] = [];
  const log = createLogger('json', (text) => entries.push(JSON.parse(text) as LogEntry));
  const privacy = openPrivacy({ stateDir: site.stateDir!, createLedger: true, log });
  const releasers = new Map(site.cameras.map((camera) => [camera.id, privacy.releaserFor({ ...camera, source: `camera "${camera.id}"` }, { clockOffsetSeconds: 0, monotonic: true })]));
  const settings = site.mqtt!.secureAggregation!;
  const contributing = contributingCameras(settings, site.cameras).cameras.map((camera) => ({ ...camera, releaser: releasers.get(camera.id)! }));
  const contributions = startDistrictContributions({ box, district: settings, connection: site.mqtt!, cameras: contributing, log, where: `config ${file}, mqtt.secureAggregation` });
  running.push({ contributions, privacy });
  return {
    log: entries,
    close(camera, start) {
      const aggregate = windowOf(camera, start);
      contributions.contribute(camera, aggregate, releasers.get(camera)!.release(aggregate));
    },
  };
}

/** The sum of EXACT's `lines` (each "camera/line"), [forward, backward] for `group`. */
function sumOf(lines: string[], group: 'person' | 'vehicle'): [number, number] {
  return lines.reduce<[number, number]>(
    ([forward, backward], cameraLine) => {
      const [camera, name] = cameraLine.split('/') as [string, string];
      const [lineForward, lineBackward] = EXACT[camera]![name]![group];
      return [forward + lineForward, backward + lineBackward];
    },
    [0, 0],
  );
}

/**
 * Resolves once the aggregator has every box's district settings: a box publishes them once connected, after its
 * rounds' subscription (queued first on the same connection), so from then on it hears the other boxes' advertisements.
 */
const boxesListening = (count: number) => eventually(`${count} boxes' settings at the aggregator`, 30, () => city!.aggregator.log().filter((entry) => entry.message.includes('settings match city.yaml')).length === count);

const totalOf = async (start: number) => eventually(`the district total of the window from ${start}`, 60, () => secureTotals(city!.feed).find((total) => total.startSeconds === start));

describe('a box that contributes several cameras to one district total', () => {
  it('sums both cameras\' lines into its vector: the total is every summed line\'s exact crossings plus one release\'s noise', async () => {
    city = await startCity(path.join(sandbox(), 'city'), { ...DISTRICT, phaseSeconds: 10 });
    const junction = await startBox('junction', DISTRICT, JUNCTION_CAMERAS, JUNCTION_SUMS);
    const north = await startBox('north', DISTRICT, { gate: ['in'] }, {});
    await boxesListening(2);
    north.close('gate', FIRST);
    junction.close('road', FIRST);
    junction.close('bridge', FIRST);
    const total = await totalOf(FIRST);
    expect(total.secureAggregation).toMatchObject({ status: 'released', epsilon: EPSILON, delta: DELTA });
    expect(total.cameras).toEqual({ released: ['junction', 'north'], withheld: [], missing: [] });
    // Two lines per box, a track crossing each once: Δ₂ = L·m = 2. Two boxes, no dropout tolerated: each adds σ²/2,
    // the total carries exactly σ².
    const sd = oneReleaseSigma(EPSILON, DELTA, 2);
    expect(total.secureAggregation!.standardDeviation).toBeCloseTo(sd, 6);
    const summed = ['road/into-town', 'bridge/across', 'gate/in'];
    for (const group of ['person', 'vehicle'] as const) {
      const [forward, backward] = sumOf(summed, group);
      const released = total.crossings[group]!;
      expect(released.forward.standardDeviation).toBeCloseTo(sd, 6);
      // Within 6 s.d. of the exact sum: a draw beyond that has probability below 2·10⁻⁹.
      expect(Math.abs(released.forward.value - forward)).toBeLessThanOrEqual(6 * sd);
      expect(Math.abs(released.backward.value - backward)).toBeLessThanOrEqual(6 * sd);
    }
    expect(junction.log.filter((entry) => entry.level !== 'info')).toEqual([]);
    expect(city.feed.problems).toEqual([]);
    expect(city.aggregator.log().filter((entry) => entry.level === 'error')).toEqual([]);
  }, 120_000);

  it('sits a round out when one of its cameras did not close the window, naming it, so the total never lacks a camera silently', async () => {
    city = await startCity(path.join(sandbox(), 'city-of-three'), { ...DISTRICT_OF_THREE, phaseSeconds: 5 });
    const junction = await startBox('junction', DISTRICT_OF_THREE, JUNCTION_CAMERAS, JUNCTION_SUMS);
    const others = [await startBox('north', DISTRICT_OF_THREE, { gate: ['in'] }, {}), await startBox('south', DISTRICT_OF_THREE, { gate: ['in'] }, {})];
    await boxesListening(3);
    for (const box of others) box.close('gate', SECOND);
    // Bridge is down for the second window: road closes it and the next one, bridge neither.
    junction.close('road', SECOND);
    junction.close('road', THIRD);
    const satOut = junction.log.find((entry) => entry.message.includes('this box sits the round out'));
    expect(satOut).toMatchObject({ level: 'warn', round: `crossings-${SECOND}-${WINDOW_SECONDS}`, missing: 'bridge' });
    const total = await totalOf(SECOND);
    // One dropout tolerated: north's and south's inputs are released, junction is named missing rather than summed
    // with road alone.
    expect(total.secureAggregation?.status).toBe('released');
    expect(total.cameras).toEqual({ released: ['north', 'south'], withheld: [], missing: ['junction'] });
    const [forward] = sumOf(['gate/in', 'gate/in'], 'person');
    expect(Math.abs(total.crossings.person!.forward.value - forward)).toBeLessThanOrEqual(6 * total.secureAggregation!.standardDeviation!);
    // Bridge stays down for the third window too: junction sits that round out without saying it again; bridge back
    // for the fourth, junction contributes and says so once, with the two rounds it sat out.
    junction.close('road', FOURTH);
    junction.close('bridge', FOURTH);
    expect(junction.log.filter((entry) => entry.message.includes('sits the round out'))).toHaveLength(1);
    expect(junction.log.filter((entry) => entry.message.startsWith('district contribution resumed'))).toEqual([expect.objectContaining({ level: 'info', round: `crossings-${FOURTH}-${WINDOW_SECONDS}`, rounds_sat_out: 2 })]);
  }, 120_000);

  it('a round withheld because junction sat it out names junction missing, and the reason says it did not answer', async () => {
    city = await startCity(path.join(sandbox(), 'city-of-two'), { ...DISTRICT, phaseSeconds: 5 });
    const junction = await startBox('junction', DISTRICT, JUNCTION_CAMERAS, JUNCTION_SUMS);
    const north = await startBox('north', DISTRICT, { gate: ['in'] }, {});
    await boxesListening(2);
    north.close('gate', SECOND);
    junction.close('road', SECOND);
    junction.close('road', THIRD);
    const total = await totalOf(SECOND);
    // No dropout tolerated: north alone is too few, so the round is withheld; north answered, junction never did.
    expect(total.cameras).toEqual({ released: [], withheld: ['north'], missing: ['junction'] });
    expect(total.secureAggregation).toMatchObject({ status: 'withheld', withheldReason: '1 of 2 boxes answered phase "advertise"; 2 needed; no answer from junction' });
  }, 120_000);
});
