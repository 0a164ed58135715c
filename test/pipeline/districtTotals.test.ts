/**
 * District totals from real released windows (the release stage with a real ledger): each total is worked out
 * here by hand from the windows — the values summed, the s.d. as √(Σσ²) over every value summed.
 */
import { describe, expect, it } from 'vitest';
import { districtWindow, type District } from '../../pipeline/districtTotals.ts';
import type { ReleasedWindow } from '../../stages/released.ts';
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
