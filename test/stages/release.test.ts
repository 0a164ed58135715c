/**
 * The release stage with a real ledger on disk: what is charged, what is withheld, and that every number it
 * publishes carries noise of exactly the spread the release states. Expected spreads come from the discrete
 * Laplace's formula, computed here.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { COUNTED_CLASSES, type CountedClass } from '../../models/detection.ts';
import type { CrossingCounts, OccupancyStats, WindowAggregate } from '../../stages/aggregates.ts';
import { openLedger, type Ledger } from '../../stages/privacy/ledger.ts';
import { planReleases, type PrivacySettingsInput, type ReleaseStructureInput } from '../../stages/privacy/settings.ts';
import { createReleaser, releasedGroups, type ReleaserOptions } from '../../stages/release.ts';
import type { ReleasedWindow, StatisticTerms } from '../../stages/released.ts';

const TRACKER = { maxCrossingsPerTrackPerLine: 1, maxClassesPerTrackPerWindow: 3, maxCoastSeconds: 1 };
const ZONES = [{ name: 'pavement', areaSquareMetres: 8 }, { name: 'road' }];
const LINES = [{ name: 'door' }];

let directory: string;
let ledger: Ledger;

// Thousands of releases: on tmpfs each fsync is free. Durability is the ledger's own tests' business.
const SCRATCH = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();

beforeEach(() => {
  directory = mkdtempSync(join(SCRATCH, 'veil-release-'));
  ledger = openLedger(join(directory, 'ledger.sqlite'), { createIfMissing: true });
});

afterEach(() => {
  ledger.close();
  rmSync(directory, { recursive: true, force: true });
});

/** s.d. of the discrete Laplace with scale b: p = e^(−1/b), Var = 2p/(1 − p)². */
const laplaceDeviation = (scale: number) => Math.sqrt((2 * Math.exp(-1 / scale)) / (1 - Math.exp(-1 / scale)) ** 2);

interface Setup {
  privacy?: PrivacySettingsInput;
  classes?: readonly CountedClass[];
  zones?: ReleaserOptions['zones'];
  lines?: ReleaserOptions['lines'];
  windowSeconds?: number;
  options?: Partial<ReleaserOptions>;
}

function setUp({ privacy, classes = COUNTED_CLASSES, zones = ZONES, lines = LINES, windowSeconds, options = {} }: Setup = {}) {
  const structure: ReleaseStructureInput = { zoneCount: zones.length, lineCount: lines.length, windowSeconds, tracker: TRACKER };
  const plan = planReleases(privacy, structure);
  const groups = releasedGroups(plan.breakdown, classes);
  const releaser = createReleaser({ plan, camera: 'gate', zones, lines, groups, ledger, clockOffsetSeconds: 0, monotonic: false, ...options });
  /** A window of the given length at slot `index`, every cell `value` (mean: value + 0.25 over 4 frames). */
  const aggregate = (length: number, index: number, value = 7): WindowAggregate => ({
    startSeconds: index * length,
    endSeconds: (index + 1) * length,
    windowSeconds: length,
    clock: 'clip',
    framesAnalysed: 4,
    zones: Object.fromEntries(zones.map((zone) => [zone.name, Object.fromEntries(Object.keys(groups).map((key) => [key, { meanOccupancy: value + 0.25, peakOccupancy: value } satisfies OccupancyStats]))])),
    lines: Object.fromEntries(lines.map((line) => [line.name, Object.fromEntries(Object.keys(groups).map((key) => [key, { forward: value, backward: value } satisfies CrossingCounts]))])),
  });
  return { plan, releaser, aggregate, groups };
}

/** Every number a released window publishes, with the statistic it belongs to: the generic guard's walk. */
function publishedNumbers(window: ReleasedWindow): Array<{ path: string; value: number; statistic: keyof ReleasedWindow['privacy']['statistics'] }> {
  const found: Array<{ path: string; value: number; statistic: keyof ReleasedWindow['privacy']['statistics'] }> = [];
  const statisticOf = { meanOccupancy: 'meanOccupancy', peakOccupancy: 'peakOccupancy', forward: 'crossings', backward: 'crossings' } as const;
  const walk = (value: unknown, path: string[]) => {
    if (typeof value === 'number') {
      const leaf = path.at(-1)!;
      if (leaf === 'areaSquareMetres') return; // configuration, not data
      const statistic = statisticOf[leaf as keyof typeof statisticOf];
      if (!statistic) throw new Error(`released number at ${path.join('.')} belongs to no known statistic: the guard must learn it`);
      found.push({ path: path.join('.'), value, statistic });
    } else if (value && typeof value === 'object') {
      for (const [key, inner] of Object.entries(value)) walk(inner, [...path, key]);
    }
  };
  walk({ zones: window.zones, lines: window.lines }, []);
  return found;
}

describe('the release stage', () => {
  it('noises every published number with the s.d. its window states (the generic guard)', async () => {
    // Everything at once: zones and a line, class breakdown, occupancy and crossings at two window lengths each.
    const { releaser, aggregate } = setUp({
      privacy: {
        epsilon: 4,
        breakdown: 'class',
        releases: [
          { statistic: 'crossings', windowSeconds: 900, share: 0.3 },
          { statistic: 'crossings', windowSeconds: 3600, share: 0.2 },
          { statistic: 'peakOccupancy', windowSeconds: 60, share: 0.2 },
          { statistic: 'meanOccupancy', windowSeconds: 60, share: 0.2 },
          { statistic: 'peakOccupancy', windowSeconds: 3600, share: 0.1 },
        ],
      },
    });
    const exact = 7;
    const samples = new Map<string, { errors: number[]; terms: StatisticTerms }>();
    const ROUNDS = 3000;
    for (let index = 0; index < ROUNDS; index++) {
      // Let the test runner's own messages through now and then: this loop is synchronous work.
      if (index % 250 === 0) await new Promise((resolve) => setImmediate(resolve));
      for (const length of [60, 900, 3600]) {
        const window = releaser.release(aggregate(length, index, exact));
        expect(window.status, `window ${length} s #${index}`).toBe('released');
        for (const number of publishedNumbers(window)) {
          const terms = window.privacy.statistics[number.statistic];
          expect(terms, `${number.path}: no terms stated for ${number.statistic}`).toBeDefined();
          const exactValue = number.statistic === 'meanOccupancy' ? exact + 0.25 : exact;
          const key = `${length} s ${number.path}`;
          const entry = samples.get(key) ?? { errors: [], terms: terms! };
          entry.errors.push(number.value - exactValue);
          samples.set(key, entry);
        }
      }
    }
    // 3 lengths: 60 s → 2 zones × 6 classes × (peak, mean); 900 s and 3600 s → 1 line × 6 classes × 2 directions; 3600 s peaks.
    expect(samples.size).toBe(2 * 6 * 2 + 6 * 2 + 6 * 2 + 2 * 6);
    for (const [key, { errors, terms }] of samples) {
      const mean = errors.reduce((sum, e) => sum + e, 0) / errors.length;
      const deviation = Math.sqrt(errors.reduce((sum, e) => sum + (e - mean) ** 2, 0) / (errors.length - 1));
      expect(terms.standardDeviation, key).toBeGreaterThan(0);
      expect(Math.abs(deviation / terms.standardDeviation - 1), `${key}: empirical s.d. ${deviation} vs stated ${terms.standardDeviation}`).toBeLessThan(0.1);
      expect(Math.abs(mean), `${key}: noise is centred`).toBeLessThan((5 * terms.standardDeviation) / Math.sqrt(errors.length));
    }
  });

  it('states s.d. values that follow from the formula: crossings alone at ε = 1 on one line are Laplace(1)', () => {
    const { releaser, aggregate } = setUp({ zones: [], lines: [{ name: 'kerb' }] });
    const window = releaser.release(aggregate(900, 0));
    expect(window.privacy.statistics).toEqual({ crossings: { epsilon: 1, sensitivity: 1, standardDeviation: laplaceDeviation(1) } });
    expect(Object.keys(window.zones)).toEqual([]);
    expect(Object.keys(window.lines.kerb!.classes)).toEqual(['person', 'vehicle']);
  });

  it.each([
    // One zone, breakdown "class" (k = 3): mean occupancy Δ₁ = 100 + 3 − 1 = 102 steps = 1.02 objects, Δ₂ = √(100² + 2)
    // steps = √10002 / 100 objects; peak occupancy Δ₁ = 3, Δ₂ = √3 (docs/privacy.md, stages/privacy/sensitivity.ts).
    ['discrete-laplace', { meanOccupancy: 1.02, peakOccupancy: 3 }],
    ['discrete-gaussian', { meanOccupancy: Math.sqrt(10_002) / 100, peakOccupancy: Math.sqrt(3) }],
  ] as const)('states each statistic’s sensitivity in objects, L1 for Laplace and L2 for the Gaussian (%s)', (mechanism, expected) => {
    const { releaser, aggregate } = setUp({ privacy: { mechanism, breakdown: 'class' }, zones: [{ name: 'road' }], lines: [] });
    const { statistics } = releaser.release(aggregate(60, 0)).privacy;
    expect(statistics.meanOccupancy!.sensitivity).toBeCloseTo(expected.meanOccupancy, 12);
    expect(statistics.peakOccupancy!.sensitivity).toBeCloseTo(expected.peakOccupancy, 12);
  });

  it('noises backward crossings too: on a line-only release of 1000 each way, both directions vary', () => {
    const { releaser, aggregate } = setUp({ zones: [], lines: [{ name: 'kerb' }] });
    const forward = new Set<number>();
    const backward = new Set<number>();
    for (let index = 0; index < 10; index++) {
      const window = releaser.release(aggregate(900, index, 1000));
      forward.add(window.lines.kerb!.classes.vehicle!.forward);
      backward.add(window.lines.kerb!.classes.vehicle!.backward);
    }
    // Ten draws of Laplace(1) all equal has probability below 0.3^9.
    expect(forward.size).toBeGreaterThan(1);
    expect(backward.size).toBeGreaterThan(1);
  });

  it('releases unbiased values: nothing is clamped, so a zero count can be published negative', () => {
    const { releaser, aggregate } = setUp({ zones: [], lines: [{ name: 'kerb' }] });
    const values: number[] = [];
    for (let index = 0; index < 400; index++) values.push(releaser.release(aggregate(900, index, 0)).lines.kerb!.classes.vehicle!.backward);
    expect(values.some((value) => value < 0)).toBe(true);
  });

  it('withholds the same footage the second time: its span has spent its budget', () => {
    const { releaser, aggregate } = setUp({ zones: [], lines: [{ name: 'kerb' }] });
    const first = releaser.release(aggregate(900, 3));
    const again = releaser.release(aggregate(900, 3));
    expect(first.status).toBe('released');
    expect(again).toMatchObject({ status: 'withheld', withheldReason: 'span budget spent', zones: {}, lines: {}, privacy: { epsilon: 0, statistics: {} } });
    expect(again.privacy.budget.epsilonLeft).toBe(0);
  });

  it('grants 1000 repeats of one window exactly what the span allows: once at the whole ε', () => {
    const { releaser, aggregate } = setUp({ zones: [], lines: [{ name: 'kerb' }] });
    const statuses = Array.from({ length: 1000 }, () => releaser.release(aggregate(900, 0)).status);
    expect(statuses.filter((status) => status === 'released')).toHaveLength(1);
  });

  it('places clip windows in the camera clock: the same clip recorded at another time is other footage, an overlapping one is not', () => {
    const lineOnly = { zones: [], lines: [{ name: 'kerb' }] };
    const morning = setUp({ ...lineOnly, options: { clockOffsetSeconds: 1_700_000_000 } });
    const evening = setUp({ ...lineOnly, options: { clockOffsetSeconds: 1_700_000_000 + 43_200 } });
    const trimmed = setUp({ ...lineOnly, options: { clockOffsetSeconds: 1_700_000_000 + 300 } });
    expect(morning.releaser.release(morning.aggregate(900, 0)).status).toBe('released');
    expect(evening.releaser.release(evening.aggregate(900, 0)).status).toBe('released');
    // Starts 300 s later: its first window [300, 1200) overlaps the morning's [0, 900).
    expect(trimmed.releaser.release(trimmed.aggregate(900, 0))).toMatchObject({ status: 'withheld', withheldReason: 'span budget spent' });
  });

  it('live: refuses a window before what was already released (a clock set backwards)', () => {
    const { releaser, aggregate } = setUp({ zones: [], lines: [{ name: 'kerb' }], options: { monotonic: true } });
    expect(releaser.release(aggregate(900, 10)).status).toBe('released');
    expect(releaser.release(aggregate(900, 4))).toMatchObject({ status: 'withheld', withheldReason: 'clock went backwards' });
  });

  it('releases exact values in calibration runs, marked private: false, charging nothing', () => {
    const { releaser, aggregate } = setUp({ privacy: { epsilon: 'off' }, options: { ledger: undefined } });
    const window = releaser.release(aggregate(60, 0, 5));
    expect(window.privacy).toMatchObject({ private: false, mechanism: 'none', epsilon: 0 });
    expect(window.privacy.statistics.peakOccupancy).toEqual({ epsilon: 0, sensitivity: 0, standardDeviation: 0 });
    expect(window.zones.pavement!.classes.vehicle).toEqual({ meanOccupancy: 5.25, peakOccupancy: 5 });
  });

  it('refuses an aggregate that does not match what it was set up for, and a private plan without a ledger', () => {
    const { releaser, aggregate, plan, groups } = setUp();
    const wrongZones = { ...aggregate(60, 0), zones: { elsewhere: aggregate(60, 0).zones.pavement! } };
    expect(() => releaser.release(wrongZones)).toThrow(/does not match the releaser's zones \(missing: pavement, road; not configured: elsewhere\)/);
    expect(() => releaser.release(aggregate(30, 0))).toThrow(/no statistic is released in windows of 30 s \(the plan releases 60, 900 s\)/);
    expect(() => createReleaser({ plan, camera: 'gate', zones: ZONES, lines: LINES, groups, clockOffsetSeconds: 0, monotonic: false })).toThrow(/needs a ledger/);
  });

  it('groups classes into people and vehicles by default, and releases each class with breakdown "class"', () => {
    expect(releasedGroups('category', COUNTED_CLASSES)).toEqual({ person: ['person'], vehicle: ['bicycle', 'car', 'motorcycle', 'bus', 'truck'] });
    expect(releasedGroups('category', ['car', 'truck'])).toEqual({ vehicle: ['car', 'truck'] });
    expect(releasedGroups('class', ['person', 'bus'])).toEqual({ person: ['person'], bus: ['bus'] });
  });
});

describe('what a window holds, and what the releaser refuses', () => {
  it('states the window’s ε as the sum of its statistics’: peak and mean at 60 s, 1/4 of ε = 1 each over 2 windows', () => {
    // Defaults with zones and a line: peak and mean occupancy each take 1/4 of ε = 1. An event reaches ρ + coast =
    // 0 + 1 s, so it can touch ⌈1/60⌉ + 1 = 2 windows of 60 s: each statistic's ε is 1/4 / 2 = 0.125, the window's 0.25.
    const { releaser, aggregate } = setUp();
    const { privacy } = releaser.release(aggregate(60, 0));
    expect(privacy.statistics.peakOccupancy!.epsilon).toBe(0.125);
    expect(privacy.statistics.meanOccupancy!.epsilon).toBe(0.125);
    expect(privacy.epsilon).toBe(0.25);
  });

  it('builds zones only at a length that releases occupancy, and lines only at one that releases crossings', () => {
    const { releaser, aggregate } = setUp();
    const crossings = releaser.release(aggregate(900, 0));
    expect(crossings.zones).toEqual({});
    expect(Object.keys(crossings.lines)).toEqual(['door']);
    expect(Object.keys(crossings.privacy.statistics)).toEqual(['crossings']);
    const occupancy = releaser.release(aggregate(60, 0));
    expect(occupancy.lines).toEqual({});
    expect(Object.keys(occupancy.zones)).toEqual(['pavement', 'road']);
  });

  it('passes a zone’s area through, and states none for a zone configured without one', () => {
    const { releaser, aggregate } = setUp();
    const { zones } = releaser.release(aggregate(60, 0));
    expect(zones.pavement!.areaSquareMetres).toBe(8);
    expect('areaSquareMetres' in zones.road!).toBe(false);
  });

  it('calibration: releases at each length only the statistics configured for it, exact', () => {
    const { releaser, aggregate } = setUp({ privacy: { epsilon: 'off' }, options: { ledger: undefined } });
    const occupancy = releaser.release(aggregate(60, 0, 3));
    expect(Object.keys(occupancy.privacy.statistics).sort()).toEqual(['meanOccupancy', 'peakOccupancy']);
    expect(occupancy.lines).toEqual({});
    const crossings = releaser.release(aggregate(900, 0, 3));
    expect(Object.keys(crossings.privacy.statistics)).toEqual(['crossings']);
    expect(crossings.zones).toEqual({});
    expect(crossings.lines.door!.classes.person).toEqual({ forward: 3, backward: 3 });
  });

  it('names what is missing and what is not configured, each alone, for zones and lines', () => {
    const { releaser, aggregate } = setUp();
    const window = aggregate(60, 0);
    const { road: _road, ...pavementOnly } = window.zones;
    expect(() => releaser.release({ ...window, zones: pavementOnly })).toThrow(
      "window aggregate does not match the releaser's zones (missing: road; not configured: none): the sensitivity was derived for the configured zones only",
    );
    expect(() => releaser.release({ ...window, lines: { ...window.lines, gate: window.lines.door! } })).toThrow(
      "window aggregate does not match the releaser's lines (missing: none; not configured: gate): the sensitivity was derived for the configured lines only",
    );
    // Two lines it was not set up for: both named, comma-separated.
    expect(() => releaser.release({ ...window, lines: { ...window.lines, gate: window.lines.door!, yard: window.lines.door! } })).toThrow(
      "window aggregate does not match the releaser's lines (missing: none; not configured: gate, yard): the sensitivity was derived for the configured lines only",
    );
  });

  it('checks the class groups of line cells as well as zone cells', () => {
    const { releaser, aggregate } = setUp();
    const window = aggregate(900, 0);
    const { vehicle: _vehicle, ...personOnly } = window.lines.door!;
    expect(() => releaser.release({ ...window, lines: { door: personOnly } })).toThrow(
      "window aggregate does not match the releaser's class groups (missing: vehicle; not configured: none)",
    );
  });

  it('refuses an empty camera id and an empty set of class groups when it is created', () => {
    const { plan, groups } = setUp();
    const options = { plan, camera: 'gate', zones: ZONES, lines: LINES, groups, ledger, clockOffsetSeconds: 0, monotonic: false };
    expect(() => createReleaser({ ...options, camera: '' })).toThrow('createReleaser: a camera id is needed; the budget is kept per camera');
    expect(() => createReleaser({ ...options, groups: {} })).toThrow('createReleaser: no classes to release; configure at least one counted class');
  });
});
