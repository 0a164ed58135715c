/**
 * The declared sensitivities against brute force: build synthetic scenes, fold them through the real window stage
 * (stages/window.ts), and for every object compare the release vector with and without that object's whole track.
 * The largest change ever seen must stay within the declared bound, and crafted worst cases must reach it, so the
 * bound is neither broken nor needlessly loose.
 */
import { describe, expect, it } from 'vitest';
import { COUNTED_CLASSES, type CountedClass } from '../../../models/detection.ts';
import type { WindowAggregate } from '../../../stages/aggregates.ts';
import {
  quantiseMeanOccupancy,
  releaseSensitivity,
  type ReleaseSensitivity,
  type ReleaseStructure,
} from '../../../stages/privacy/sensitivity.ts';
import type { LineCrossing as Crossing } from '../../../stages/lines.ts';
import { CLASS_GROUPS, WindowAccumulator, type ClassGroups } from '../../../stages/window.ts';
import { zeroCounts } from '../../../stages/zones.ts';

interface Sighting {
  cocoClass: CountedClass;
  zones: string[];
}

interface SyntheticObject {
  /** Per analysed frame: where and as what the object was counted, or undefined when it was not seen. */
  sightings: Array<Sighting | undefined>;
  /** At most one per line (the tracker's bound), each at some frame. */
  crossings: Array<Crossing & { frame: number }>;
}

interface Scene {
  zones: string[];
  lines: string[];
  objects: SyntheticObject[];
}

const WINDOW_SECONDS = 1000;
const FRAME_SECONDS = 0.5;

function aggregate(scene: Scene, without?: SyntheticObject, groups: ClassGroups = CLASS_GROUPS): WindowAggregate {
  const accumulator = new WindowAccumulator(WINDOW_SECONDS, scene.zones, scene.lines, 'clip', 0, groups);
  const present = scene.objects.filter((object) => object !== without);
  const frames = scene.objects[0]!.sightings.length;
  for (let frame = 0; frame < frames; frame++) {
    const occupancy = Object.fromEntries(scene.zones.map((zone) => [zone, zeroCounts()]));
    for (const object of present) {
      const sighting = object.sightings[frame];
      for (const zone of sighting?.zones ?? []) occupancy[zone]![sighting!.cocoClass] += 1;
    }
    const crossings = present.flatMap((object) => object.crossings.filter((crossing) => crossing.frame === frame));
    expect(accumulator.add(frame * FRAME_SECONDS, occupancy, crossings)).toBeUndefined();
  }
  return accumulator.close()!;
}

/** The integer vector that the mechanisms add noise to, one list per statistic. */
function releaseVector(window: WindowAggregate) {
  const zones = Object.values(window.zones);
  return {
    meanOccupancySteps: zones.flatMap((zone) => Object.values(zone).map((cell) => Number(quantiseMeanOccupancy(cell.meanOccupancy, window.framesAnalysed)))),
    peakOccupancy: zones.flatMap((zone) => Object.values(zone).map((cell) => cell.peakOccupancy)),
    crossings: Object.values(window.lines).flatMap((line) => Object.values(line).flatMap((cell) => [cell.forward, cell.backward])),
  };
}

type Statistic = keyof ReleaseSensitivity;
const STATISTICS: Statistic[] = ['meanOccupancySteps', 'peakOccupancy', 'crossings'];

/** For each statistic, the largest L1 and L2² change that removing any one object's track causes. */
function bruteForceSensitivity(scene: Scene, groups: ClassGroups = CLASS_GROUPS): ReleaseSensitivity {
  const full = releaseVector(aggregate(scene, undefined, groups));
  const largest: ReleaseSensitivity = {
    meanOccupancySteps: { l1: 0, l2Squared: 0 },
    peakOccupancy: { l1: 0, l2Squared: 0 },
    crossings: { l1: 0, l2Squared: 0 },
  };
  for (const object of scene.objects) {
    const reduced = releaseVector(aggregate(scene, object, groups));
    for (const statistic of STATISTICS) {
      const differences = full[statistic].map((value, index) => Math.abs(value - reduced[statistic][index]!));
      largest[statistic].l1 = Math.max(largest[statistic].l1, differences.reduce((sum, d) => sum + d, 0));
      largest[statistic].l2Squared = Math.max(largest[statistic].l2Squared, differences.reduce((sum, d) => sum + d * d, 0));
    }
  }
  return largest;
}

/** xorshift32: reproducible scenes without touching any global random source. */
function seededGenerator(seed: number) {
  let state = seed >>> 0 || 1;
  const next = () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 2 ** 32;
  };
  return { below: (n: number) => Math.floor(next() * n), chance: (p: number) => next() < p };
}

function randomScene(seed: number, maxClassesPerObject: number): Scene {
  const random = seededGenerator(seed);
  const frames = 1 + random.below(30);
  const zones = Array.from({ length: 1 + random.below(4) }, (_, i) => `zone-${i}`);
  const lines = Array.from({ length: random.below(4) }, (_, i) => `line-${i}`);
  const objects = Array.from({ length: 1 + random.below(6) }, (): SyntheticObject => {
    const classes = Array.from({ length: 1 + random.below(maxClassesPerObject) }, () => COUNTED_CLASSES[random.below(COUNTED_CLASSES.length)]!);
    const firstFrame = random.below(frames);
    const lastFrame = firstFrame + random.below(frames - firstFrame);
    const sightings = Array.from({ length: frames }, (_, frame) =>
      frame < firstFrame || frame > lastFrame || random.chance(0.2)
        ? undefined
        : { cocoClass: classes[random.below(classes.length)]!, zones: zones.filter(() => random.chance(0.6)) },
    );
    const crossings = lines
      .filter(() => random.chance(0.5))
      .map((line) => ({
        line,
        frame: random.below(frames),
        cocoClass: classes[random.below(classes.length)]!,
        direction: random.chance(0.5) ? ('forward' as const) : ('backward' as const),
      }));
    return { sightings, crossings };
  });
  return { zones, lines, objects };
}

function structureOf(scene: Scene, maxClassesPerObjectPerWindow: number): ReleaseStructure {
  return {
    zoneCount: scene.zones.length,
    lineCount: scene.lines.length,
    maxCrossingsPerObjectPerLine: 1,
    maxClassesPerObjectPerWindow,
  };
}

describe('sensitivity against brute-force removal of one track', () => {
  it.each([1, 3, 6])('holds on 300 random scenes where an object takes up to %i classes in a window', (maxClasses) => {
    for (let seed = 1; seed <= 300; seed++) {
      const scene = randomScene(seed * 7919 + maxClasses, maxClasses);
      const declared = releaseSensitivity(structureOf(scene, maxClasses));
      const observed = bruteForceSensitivity(scene);
      for (const statistic of STATISTICS) {
        expect(observed[statistic].l1, `seed ${seed}, ${statistic} L1`).toBeLessThanOrEqual(declared[statistic].l1);
        expect(observed[statistic].l2Squared, `seed ${seed}, ${statistic} L2²`).toBeLessThanOrEqual(declared[statistic].l2Squared);
      }
    }
  });

  it('is reached for occupancy and crossings by an object in every zone, re-classified, crossing every line', () => {
    // Alone in the scene for 4 frames: car, truck, bus, car; standing in all three (overlapping) zones; crossing
    // both lines. Removing it empties every cell it touched.
    const zones = ['north', 'south', 'whole'];
    const classes: CountedClass[] = ['car', 'truck', 'bus', 'car'];
    const object: SyntheticObject = {
      sightings: classes.map((cocoClass) => ({ cocoClass, zones })),
      crossings: [
        { line: 'gate', frame: 1, cocoClass: 'truck', direction: 'forward' },
        { line: 'kerb', frame: 2, cocoClass: 'bus', direction: 'backward' },
      ],
    };
    const scene: Scene = { zones, lines: ['gate', 'kerb'], objects: [object] };
    const declared = releaseSensitivity(structureOf(scene, 3));
    const observed = bruteForceSensitivity(scene);
    expect(observed.peakOccupancy).toEqual(declared.peakOccupancy);
    expect(observed.crossings).toEqual(declared.crossings);
    // 100 steps per zone exactly (25 + 25 + 50: no rounding); the declared bound adds the rounding slack.
    expect(observed.meanOccupancySteps.l1).toBe(300);
  });

  it('needs its rounding slack: two classes can each round up by one step', () => {
    // Three frames. The removed object is a car in frame 0 and a truck in frames 1–2; another object is a car in
    // frame 1. Car: 2/3 → 1/3 object = 67 → 33 steps (34, not 33.3); truck: 2/3 → 0 = 67 → 0 steps (67, not 66.7).
    const removed: SyntheticObject = {
      sightings: [
        { cocoClass: 'car', zones: ['zone'] },
        { cocoClass: 'truck', zones: ['zone'] },
        { cocoClass: 'truck', zones: ['zone'] },
      ],
      crossings: [],
    };
    const other: SyntheticObject = { sightings: [undefined, { cocoClass: 'car', zones: ['zone'] }, undefined], crossings: [] };
    const scene: Scene = { zones: ['zone'], lines: [], objects: [removed, other] };
    const observed = bruteForceSensitivity(scene);
    expect(observed.meanOccupancySteps.l1).toBe(101);
    expect(releaseSensitivity(structureOf(scene, 2)).meanOccupancySteps.l1).toBe(101);
  });
});

describe('sensitivity of category cells (people, vehicles) against brute force', () => {
  // A track's category never changes (the tracker re-votes only within car/bus/truck and bicycle/motorcycle), so a
  // vehicle flipping between classes counts once per vehicle cell: k = 1 whatever it was called frame by frame.
  const CATEGORY_GROUPS: ClassGroups = { person: ['person'], vehicle: ['bicycle', 'car', 'motorcycle', 'bus', 'truck'] };
  const VEHICLES: CountedClass[] = ['car', 'truck', 'bus', 'motorcycle', 'bicycle'];

  it('holds with k = 1 on 300 random scenes of vehicles that change class every frame', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const scene = randomScene(seed * 104_729, 3);
      for (const object of scene.objects) {
        const vehicle = object.sightings.some((sighting) => sighting?.cocoClass !== 'person');
        object.sightings.forEach((sighting, frame) => {
          if (sighting) sighting.cocoClass = vehicle ? VEHICLES[(seed + frame) % VEHICLES.length]! : 'person';
        });
        for (const crossing of object.crossings) crossing.cocoClass = vehicle ? 'truck' : 'person';
      }
      const declared = releaseSensitivity(structureOf(scene, 1));
      const observed = bruteForceSensitivity(scene, CATEGORY_GROUPS);
      for (const statistic of STATISTICS) {
        expect(observed[statistic].l1, `seed ${seed}, ${statistic} L1`).toBeLessThanOrEqual(declared[statistic].l1);
        expect(observed[statistic].l2Squared, `seed ${seed}, ${statistic} L2²`).toBeLessThanOrEqual(declared[statistic].l2Squared);
      }
    }
  });
});

describe('releaseSensitivity', () => {
  it('adds zones and lines up: per zone S + k − 1 steps and k objects, per line m crossings', () => {
    // 2 zones, 3 lines, k = 3, m = 1, S = 100 steps per object.
    const sensitivity = releaseSensitivity({ zoneCount: 2, lineCount: 3, maxCrossingsPerObjectPerLine: 1, maxClassesPerObjectPerWindow: 3 });
    expect(sensitivity).toEqual({
      meanOccupancySteps: { l1: 2 * (100 + 3 - 1), l2Squared: 2 * (100 * 100 + 3 - 1) },
      peakOccupancy: { l1: 2 * 3, l2Squared: 2 * 3 },
      crossings: { l1: 3 * 1, l2Squared: 3 * 1 },
    });
  });

  it('scales crossings with the tracker bound m: L1 = lines·m, L2² = lines·m²', () => {
    // The example: 1 zone, 1 line, 1 class, 2 crossings per track; ℓ2² in objects = 1 (peak) + 1 (mean) + 4.
    const sensitivity = releaseSensitivity({ zoneCount: 1, lineCount: 1, maxCrossingsPerObjectPerLine: 2, maxClassesPerObjectPerWindow: 1 });
    expect(sensitivity.crossings).toEqual({ l1: 2, l2Squared: 4 });
    expect(sensitivity.peakOccupancy.l2Squared + sensitivity.meanOccupancySteps.l2Squared / 100 ** 2 + sensitivity.crossings.l2Squared).toBe(6);
  });

  it('refuses a structure that makes no sense, naming the field', () => {
    expect(() => releaseSensitivity({ zoneCount: 1, lineCount: 0, maxCrossingsPerObjectPerLine: 0, maxClassesPerObjectPerWindow: 1 })).toThrow(
      /maxCrossingsPerObjectPerLine must be an integer ≥ 1, got 0/,
    );
  });
});

describe('quantiseMeanOccupancy', () => {
  it('rounds the exact object-frame count half up onto 1/100 steps', () => {
    expect(quantiseMeanOccupancy(1 / 8, 8)).toBe(13n); // 12.5 steps → 13
    expect(quantiseMeanOccupancy(2 / 3, 3)).toBe(67n);
    expect(quantiseMeanOccupancy(1 / 3, 3)).toBe(33n);
    expect(quantiseMeanOccupancy(0, 0)).toBe(0n);
  });

  it('refuses a mean that is not a count over frames', () => {
    expect(() => quantiseMeanOccupancy(0.3, 2)).toThrow(/not a whole number of object-frames/);
  });

  it('refuses a negative mean, though −1 object over 1 frame is a whole (negative) count', () => {
    // Without the sign check this would release ⌊(2·100·(−1) + 1)/2⌋ truncated toward 0 = −99 steps.
    expect(() => quantiseMeanOccupancy(-1, 1)).toThrow(RangeError);
    expect(() => quantiseMeanOccupancy(-1, 1)).toThrow(/not a whole number of object-frames/);
  });
});
