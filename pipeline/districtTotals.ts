/**
 * District totals: what `veil aggregate` makes of the windows its cameras release. For one window (a length and a
 * start), per released class, the released values of the district's cameras — of the lines and zones each camera's
 * entry names, all of them when it names none — are summed as released (unbiased, unclamped), and each total
 * carries the s.d. of a sum of independent draws, √(Σσ²) (stages/privacy/figures.ts).
 *
 *   const total = districtWindow(district, [gateWindow, yardWindow]);   // both of 60 s starting at t
 *   total.crossings.vehicle.forward   // { value: 41, standardDeviation: 1.9 }
 */
import { figure, sumFigures, type Figure } from '../stages/privacy/figures.ts';
import type { ReleasedClass, ReleasedWindow } from '../stages/released.ts';
import { sumStandardDeviation } from '../stages/privacy/distributedNoise.ts';
import type { ResultMessage } from '../stages/privacy/secureAggregationMessages.ts';
import type { DistrictWindow } from '../streams/feedMessages.ts';
import { districtNoise, roundWindow, type DistrictSecureAggregation } from './secureAggregationDistrict.ts';

/** One camera of a district: its fleet id ("site/camera") and, optionally, which of its lines and zones count. */
export interface DistrictMember {
  camera: string;
  lines?: string[];
  zones?: string[];
}

export interface District {
  name: string;
  cameras: DistrictMember[];
}

type Cells = Map<ReleasedClass, Figure[]>;

function add(cells: Cells, name: ReleasedClass, item: Figure): void {
  const list = cells.get(name);
  if (list) list.push(item);
  else cells.set(name, [item]);
}

function summed(cells: Cells): Partial<Record<ReleasedClass, Figure>> {
  return Object.fromEntries([...cells].map(([name, figures]) => [name, sumFigures(figures)]));
}

/** The names a member counts: those it lists that the window has, or every one the window has. */
function chosen<T>(record: Record<string, T>, names: string[] | undefined): T[] {
  return (names ?? Object.keys(record)).flatMap((name) => (record[name] === undefined ? [] : [record[name]]));
}

/**
 * The district's total for one window from the windows its cameras released or withheld for it (`windows`: all of
 * the same length and start, camera ids as in `district`; windows of other cameras are ignored). Throws when
 * `windows` is empty or mixes window lengths or starts: a total is of one window.
 */
export function districtWindow(district: District, windows: readonly ReleasedWindow[]): DistrictWindow {
  const first = windows[0];
  if (!first) throw new Error(`district "${district.name}": a total needs at least one camera's window`);
  if (windows.some((w) => w.windowSeconds !== first.windowSeconds || w.startSeconds !== first.startSeconds)) {
    throw new Error(`district "${district.name}": windows of different lengths or starts cannot be summed into one total`);
  }
  const byCamera = new Map(windows.map((w) => [w.camera, w]));
  const crossings = { forward: new Map() as Cells, backward: new Map() as Cells };
  const peak: Cells = new Map();
  const mean: Cells = new Map();
  const cameras: DistrictWindow['cameras'] = { released: [], withheld: [], missing: [] };
  for (const member of district.cameras) {
    const window = byCamera.get(member.camera);
    if (!window) {
      cameras.missing.push(member.camera);
      continue;
    }
    if (window.status === 'withheld') {
      cameras.withheld.push(member.camera);
      continue;
    }
    cameras.released.push(member.camera);
    const terms = window.privacy.statistics;
    for (const line of chosen(window.lines, member.lines)) {
      for (const [name, cell] of Object.entries(line.classes) as Array<[ReleasedClass, { forward: number; backward: number }]>) {
        add(crossings.forward, name, figure(cell.forward, terms.crossings));
        add(crossings.backward, name, figure(cell.backward, terms.crossings));
      }
    }
    for (const zone of chosen(window.zones, member.zones)) {
      for (const [name, cell] of Object.entries(zone.classes) as Array<[ReleasedClass, { peakOccupancy?: number; meanOccupancy?: number }]>) {
        if (cell.peakOccupancy !== undefined) add(peak, name, figure(cell.peakOccupancy, terms.peakOccupancy));
        if (cell.meanOccupancy !== undefined) add(mean, name, figure(cell.meanOccupancy, terms.meanOccupancy));
      }
    }
  }
  const forward = summed(crossings.forward);
  const backward = summed(crossings.backward);
  return {
    district: district.name,
    startSeconds: first.startSeconds,
    endSeconds: Math.max(...windows.map((w) => w.endSeconds)),
    windowSeconds: first.windowSeconds,
    clock: first.clock,
    complete: cameras.missing.length === 0,
    cameras,
    crossings: Object.fromEntries(Object.entries(forward).map(([name, item]) => [name, { forward: item, backward: backward[name as ReleasedClass]! }])),
    peakOccupancy: summed(peak),
    meanOccupancy: summed(mean),
  };
}

/**
 * A securely aggregated district's total for one window from its round's result (`veil aggregate`): the sum maps
 * back onto `classes` × [forward, backward] (the vector's layout, stages/privacy/secureAggregationContribution.ts),
 * each value with the s.d. of the sum of the noise shares it holds, √(inputs · v) (distributedNoise.ts). A withheld
 * round gives a total with no crossings and the reason. `keptOut`: the boxes the round refused and why, stated on
 * the total. `missing`: the boxes a withheld round went without (kept out or silent), named under `cameras.missing`,
 * the others under `withheld`; a released total names as missing every box whose input the sum lacks. Throws when
 * the round id is not a crossings window's.
 */
export function secureDistrictWindow(name: string, district: DistrictSecureAggregation, result: ResultMessage, keptOut: ReadonlyArray<{ box: string; reason: string }> = [], missing: readonly string[] = []): DistrictWindow {
  const window = roundWindow(result.round);
  if (!window) throw new Error(`district "${name}": round "${result.round}" is not a crossings window's`);
  const stated = { round: result.round, epsilon: district.epsilon, delta: district.delta, ...(keptOut.length > 0 ? { keptOut: keptOut.map((entry) => ({ ...entry })) } : {}) };
  const common = { district: name, startSeconds: window.startSeconds, endSeconds: window.startSeconds + window.windowSeconds, windowSeconds: window.windowSeconds, clock: 'wall' as const, complete: true, peakOccupancy: {}, meanOccupancy: {} };
  if (result.status === 'withheld') {
    return { ...common, cameras: { released: [], withheld: district.boxes.filter((box) => !missing.includes(box)), missing: district.boxes.filter((box) => missing.includes(box)) }, crossings: {}, secureAggregation: { ...stated, status: 'withheld', withheldReason: result.reason } };
  }
  const standardDeviation = sumStandardDeviation(districtNoise(district), result.boxes.length);
  const value = (index: number) => ({ value: Number(result.sum[index]), standardDeviation });
  const crossings = Object.fromEntries(district.classes.map((group, index) => [group, { forward: value(2 * index), backward: value(2 * index + 1) }]));
  return {
    ...common,
    cameras: { released: [...result.boxes], withheld: [], missing: district.boxes.filter((box) => !result.boxes.includes(box)) },
    crossings,
    secureAggregation: { ...stated, status: 'released', standardDeviation },
  };
}
