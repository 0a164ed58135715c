/**
 * District totals from real released windows (the release stage with a real ledger): each total is worked out
 * here by hand from the windows — the values summed, the s.d. as √(Σσ²) over every value summed.
 */
import { describe, expect, it } from 'vitest';
import { districtWindow, secureDistrictWindow, type District } from '../../pipeline/districtTotals.ts';
import type { ReleasedWindow } from '../../stages/released.ts';
import { districtWindowSchema } from '../../streams/feedMessages.ts';
import { CROSSINGS_WINDOW_SECONDS, releasedWindow } from '../streams/releasedWindowFixture.ts';

const CAMERAS = ['north/gate', 'north/yard', 'south/bridge'];
const occupancyWindows = (index = 0) => CAMERAS.map((camera) => releasedWindow({ camera, index, zoneCount: 2 }));
const crossingWindows = () => CAMERAS.map((camera) => releasedWindow({ camera, windowSeconds: CROSSINGS_WINDOW_SECONDS }));
const everything: District = { name: 'centre', cameras: CAMERAS.map((camera) => ({ camera })) };

const rootSumOfSquares = (values: number[]) => Math.sqrt(values.reduce((sum, value) => sum + value * value, 0));

describe('district totals', () => {
  it('sums every zone of every camera, with the s.d. of a sum of independent draws', () => {
    const windows = occupancyWindows();
    const total = districtWindow(everything, windows);
    const cells = windows.flatMap((w) => Object.values(w.zones).map((zone) => ({ zone, terms: w.privacy.statistics })));
    expect(total.peakOccupancy.person!.value).toBe(cells.reduce((sum, { zone }) => sum + zone.classes.person!.peakOccupancy!, 0));
    expect(total.peakOccupancy.person!.standardDeviation).toBeCloseTo(rootSumOfSquares(cells.map(({ terms }) => terms.peakOccupancy!.standardDeviation)), 12);
    expect(total.meanOccupancy.person!.value).toBeCloseTo(cells.reduce((sum, { zone }) => sum + zone.classes.person!.meanOccupancy!, 0), 9);
    // Six values of one σ each: √6 σ.
    expect(total.meanOccupancy.vehicle!.standardDeviation).toBeCloseTo(windows[0]!.privacy.statistics.meanOccupancy!.standardDeviation * Math.sqrt(6), 12);
    expect(total.crossings).toEqual({});
    expect(total).toMatchObject({ district: 'centre', complete: true, windowSeconds: 60, startSeconds: windows[0]!.startSeconds, cameras: { released: CAMERAS, withheld: [], missing: [] } });
  });

  it('counts only the lines and zones a member names', () => {
    const windows = [...occupancyWindows(), ...crossingWindows()];
    const district: District = { name: 'entrances', cameras: [{ camera: 'north/gate', zones: ['entrance'] }, { camera: 'north/yard', zones: [], lines: [] }] };
    const occupancy = districtWindow(district, windows.filter((w) => w.windowSeconds === 60));
    const gate = windows[0]!;
    expect(occupancy.peakOccupancy.person).toEqual({ value: gate.zones.entrance!.classes.person!.peakOccupancy, standardDeviation: gate.privacy.statistics.peakOccupancy!.standardDeviation });
    const crossings = districtWindow({ name: 'road', cameras: [{ camera: 'north/gate', lines: ['main-road'] }, { camera: 'south/bridge', lines: ['elsewhere'] }] }, windows.filter((w) => w.windowSeconds === CROSSINGS_WINDOW_SECONDS));
    const gateCrossings = windows.find((w) => w.camera === 'north/gate' && w.windowSeconds === CROSSINGS_WINDOW_SECONDS)!;
    expect(crossings.crossings.vehicle!.forward).toEqual({ value: gateCrossings.lines['main-road']!.classes.vehicle!.forward, standardDeviation: gateCrossings.privacy.statistics.crossings!.standardDeviation });
    expect(crossings.cameras.released).toEqual(['north/gate', 'south/bridge']);
  });

  it('names withheld and missing cameras, sums only what was released, and is complete only when no camera is missing', () => {
    const [gate] = occupancyWindows();
    const withheld = releasedWindow({ camera: 'north/yard', status: 'withheld' });
    expect(withheld.startSeconds).toBe(gate!.startSeconds);
    const total = districtWindow(everything, [gate!, withheld]);
    expect(total.cameras).toEqual({ released: ['north/gate'], withheld: ['north/yard'], missing: ['south/bridge'] });
    expect(total.complete).toBe(false);
    expect(total.peakOccupancy.person!.value).toBe(gate!.zones.entrance!.classes.person!.peakOccupancy! + gate!.zones['zone-1']!.classes.person!.peakOccupancy!);
    const all = districtWindow(everything, [gate!, withheld, occupancyWindows()[2]!]);
    expect(all.complete).toBe(true);
    expect(all.cameras.withheld).toEqual(['north/yard']);
  });

  it('refuses to sum windows of different starts or lengths, or none at all', () => {
    const mixed: ReleasedWindow[] = [occupancyWindows(0)[0]!, occupancyWindows(1)[1]!];
    expect(() => districtWindow(everything, mixed)).toThrow('district "centre": windows of different lengths or starts cannot be summed');
    expect(() => districtWindow(everything, [occupancyWindows()[0]!, crossingWindows()[1]!])).toThrow('different lengths');
    expect(() => districtWindow(everything, [])).toThrow('at least one camera');
  });
});

describe('district totals by secure aggregation', () => {
  const settings = { district: 'centre', fleet: 'city', boxes: ['east', 'north', 'south'], dropoutsTolerated: 1, windowSeconds: 60, epsilon: 0.5, delta: 1e-6, linesPerBox: 1, classes: ['person' as const, 'vehicle' as const] };
  // σ² = Δ₂²/(2ρ), Δ₂ = 1, ρ from (ε, δ) by Bun & Steinke 2016, Prop. 1.3 solved for √ρ; each box adds σ²/(3 − 1).
  const rootRho = Math.sqrt(Math.log(1e6) + 0.5) - Math.sqrt(Math.log(1e6));
  const boxVariance = 1 / (2 * rootRho * rootRho) / 2;

  it('maps the round\'s sum onto classes × [forward, backward] with √(inputs · v) on each value', () => {
    const total = secureDistrictWindow('old town', settings, { type: 'result', status: 'released', round: 'crossings-1764460800-60', sum: ['3', '4', '-1', '2'], boxes: ['north', 'south'] });
    const sd = Math.sqrt(2 * boxVariance);
    expect(total).toMatchObject({ district: 'old town', startSeconds: 1764460800, endSeconds: 1764460860, windowSeconds: 60, complete: true, cameras: { released: ['north', 'south'], withheld: [], missing: ['east'] } });
    expect(total.crossings.person!.forward.value).toBe(3);
    expect(total.crossings.person!.backward.value).toBe(4);
    expect(total.crossings.vehicle!.forward.value).toBe(-1);
    expect(total.crossings.vehicle!.backward.value).toBe(2);
    expect(total.crossings.vehicle!.backward.standardDeviation).toBeCloseTo(sd, 6);
    expect(total.secureAggregation).toMatchObject({ status: 'released', epsilon: 0.5, delta: 1e-6 });
    expect(total.secureAggregation!.standardDeviation).toBeCloseTo(sd, 6);
  });

  it('shows a withheld round as withheld, with its reason and no crossings', () => {
    const total = secureDistrictWindow('old town', settings, { type: 'result', status: 'withheld', round: 'crossings-1764460800-60', reason: '1 of 3 boxes answered phase "advertise"; 2 needed' });
    expect(total.crossings).toEqual({});
    expect(total.secureAggregation).toEqual({ round: 'crossings-1764460800-60', status: 'withheld', epsilon: 0.5, delta: 1e-6, withheldReason: '1 of 3 boxes answered phase "advertise"; 2 needed' });
  });

  it('names the boxes a withheld round went without as missing, the others as withheld', () => {
    const reason = '1 of 3 boxes answered phase "advertise"; 2 needed; no answer from east, south';
    const total = secureDistrictWindow('old town', settings, { type: 'result', status: 'withheld', round: 'crossings-1764460800-60', reason }, [], ['east', 'south']);
    expect(total.cameras).toEqual({ released: [], withheld: ['north'], missing: ['east', 'south'] });
  });

  it('names the boxes the round kept out and why, released or withheld, in a total the feed\'s schema accepts', () => {
    const keptOut = [{ box: 'east', reason: 'settings differ: epsilon' }];
    const released = secureDistrictWindow('old town', settings, { type: 'result', status: 'released', round: 'crossings-1764460800-60', sum: ['3', '4', '-1', '2'], boxes: ['north', 'south'] }, keptOut);
    expect(released.cameras.missing).toEqual(['east']);
    expect(districtWindowSchema.parse(released).secureAggregation!.keptOut).toEqual(keptOut);
    const withheld = secureDistrictWindow('old town', settings, { type: 'result', status: 'withheld', round: 'crossings-1764460800-60', reason: '1 of 2 boxes answered phase "advertise"; 2 needed; kept out: east (settings differ: epsilon)' }, keptOut);
    expect(districtWindowSchema.parse(withheld).secureAggregation!.keptOut).toEqual(keptOut);
    // None kept out: the field is left out, as before.
    expect(secureDistrictWindow('old town', settings, { type: 'result', status: 'released', round: 'crossings-1764460800-60', sum: ['0', '0', '0', '0'], boxes: ['east', 'north', 'south'] }).secureAggregation).not.toHaveProperty('keptOut');
  });
});
