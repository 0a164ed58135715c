import { describe, expect, it } from 'vitest';
import type { Box, CountedClass } from '../../models/detection.ts';
import { countInZones, pointInPolygon, WHOLE_FRAME_ZONE, zeroCounts, zoneSchema, type Zone } from '../../stages/zones.ts';

/**
 *   (0,0) ──────────────────────────── x
 *     │   square           L-shape
 *     │   ┌──────┐         ┌──┐
 *     │   │      │         │  │  ← the notch (0.5–0.9, 0.2–0.5) is outside
 *     │   │      │         │  └─────┐
 *     │   └──────┘         │        │
 *     │                    └────────┘
 *     y
 */
const square: Zone = { name: 'square', polygon: [[0.2, 0.2], [0.6, 0.2], [0.6, 0.6], [0.2, 0.6]] };
const lShape: Array<[number, number]> = [[0.3, 0.2], [0.5, 0.2], [0.5, 0.5], [0.9, 0.5], [0.9, 0.8], [0.3, 0.8]];

/** A box whose bottom-centre (its reference point) is at (x, groundY). */
function standingAt(x: number, groundY: number, width = 0.1, height = 0.3): Box {
  return { x: x - width / 2, y: groundY - height, width, height };
}

const object = (cocoClass: CountedClass, box: Box) => ({ cocoClass, box });

describe('pointInPolygon', () => {
  it('tells inside from outside for a square', () => {
    expect(pointInPolygon(0.4, 0.4, square.polygon)).toBe(true);
    expect(pointInPolygon(0.1, 0.4, square.polygon)).toBe(false);
    expect(pointInPolygon(0.4, 0.7, square.polygon)).toBe(false);
    expect(pointInPolygon(0.7, 0.3, square.polygon)).toBe(false);
  });

  it('handles a concave polygon: the notch of an L is outside', () => {
    expect(pointInPolygon(0.4, 0.3, lShape)).toBe(true);
    expect(pointInPolygon(0.8, 0.7, lShape)).toBe(true);
    expect(pointInPolygon(0.7, 0.3, lShape)).toBe(false);
  });

  it('does not depend on the winding direction', () => {
    const reversed = [...lShape].reverse();
    for (const [x, y] of [[0.4, 0.3], [0.8, 0.7], [0.7, 0.3], [0.95, 0.9]] as const) {
      expect(pointInPolygon(x, y, reversed)).toBe(pointInPolygon(x, y, lShape));
    }
  });

  it('handles a triangle, the smallest zone the config accepts', () => {
    const triangle: Array<[number, number]> = [[0.5, 0.1], [0.9, 0.9], [0.1, 0.9]];
    expect(pointInPolygon(0.5, 0.5, triangle)).toBe(true);
    expect(pointInPolygon(0.2, 0.3, triangle)).toBe(false);
  });
});

describe('countInZones', () => {
  it('counts by the bottom-centre of the box, where the object meets the ground', () => {
    // Standing below the square with its head inside it: the feet are outside, so not in the zone.
    const headInside = object('person', standingAt(0.4, 0.75, 0.1, 0.4));
    // Standing inside the square with most of its box above it: the feet are inside, so in the zone.
    const feetInside = object('person', standingAt(0.3, 0.55, 0.1, 0.5));
    expect(countInZones([headInside], [square]).square!.person).toBe(0);
    expect(countInZones([feetInside], [square]).square!.person).toBe(1);
  });

  it('counts per class, with every counted class present (zeros included), per zone', () => {
    const counts = countInZones(
      [object('person', standingAt(0.3, 0.5)), object('person', standingAt(0.4, 0.5)), object('car', standingAt(0.5, 0.5)), object('truck', standingAt(0.8, 0.9))],
      [square, WHOLE_FRAME_ZONE],
    );
    expect(counts.square).toEqual({ ...zeroCounts(), person: 2, car: 1 });
    expect(counts.frame).toEqual({ ...zeroCounts(), person: 2, car: 1, truck: 1 });
    expect(Object.keys(counts.square!).sort()).toEqual(['bicycle', 'bus', 'car', 'motorcycle', 'person', 'truck']);
  });

  it('counts an object in each of two overlapping zones', () => {
    const overlapping: Zone = { name: 'overlap', polygon: [[0.5, 0.5], [0.9, 0.5], [0.9, 0.9], [0.5, 0.9]] };
    const counts = countInZones([object('bicycle', standingAt(0.55, 0.55))], [square, overlapping]);
    expect(counts.square!.bicycle).toBe(1);
    expect(counts.overlap!.bicycle).toBe(1);
  });

  it('gives all-zero counts for every zone when nothing is seen', () => {
    expect(countInZones([], [square, WHOLE_FRAME_ZONE])).toEqual({ square: zeroCounts(), frame: zeroCounts() });
  });

  describe('the whole-frame zone', () => {
    it('counts a box touching the bottom edge of the frame (reference point at y = 1)', () => {
      const atBottomEdge = object('car', { x: 0.3, y: 0.7, width: 0.2, height: 0.3 });
      expect(atBottomEdge.box.y + atBottomEdge.box.height).toBe(1);
      expect(countInZones([atBottomEdge], [WHOLE_FRAME_ZONE]).frame!.car).toBe(1);
    });

    it('counts boxes touching the left and right edges and the top-left corner', () => {
      const left = object('person', { x: 0, y: 0.2, width: 0.1, height: 0.3 });
      const right = object('person', { x: 0.9, y: 0.2, width: 0.1, height: 0.3 });
      const tiny = object('person', { x: 0, y: 0, width: 0.01, height: 0.01 });
      expect(countInZones([left, right, tiny], [WHOLE_FRAME_ZONE]).frame!.person).toBe(3);
    });

    it('counts a box that fills the whole frame', () => {
      expect(countInZones([object('bus', { x: 0, y: 0, width: 1, height: 1 })], [WHOLE_FRAME_ZONE]).frame!.bus).toBe(1);
    });
  });

  it('a zone drawn along the bottom edge also counts objects standing on that edge', () => {
    const pavement: Zone = { name: 'pavement', polygon: [[0, 0.8], [1, 0.8], [1, 1], [0, 1]] };
    expect(countInZones([object('person', standingAt(0.5, 1))], [pavement]).pavement!.person).toBe(1);
  });
});

describe('zoneSchema refuses zones with no inside or an ambiguous one', () => {
  const parse = (polygon: Array<[number, number]>) => zoneSchema.safeParse({ name: 'plaza', polygon });
  const problem = (polygon: Array<[number, number]>) => {
    const result = parse(polygon);
    return result.success ? undefined : result.error.issues.map((issue) => issue.message).join('; ');
  };

  it('accepts simple polygons, convex or not, in either winding', () => {
    for (const polygon of [square.polygon, lShape, [...lShape].reverse(), WHOLE_FRAME_ZONE.polygon, [[0.1, 0.1], [0.9, 0.1], [0.5, 0.9]] as Array<[number, number]>]) {
      expect(problem(polygon)).toBeUndefined();
    }
  });

  it('refuses a bow-tie, naming the zone and the two edges that cross', () => {
    // The square's corners with the last two swapped: edges (0.6,0.2)–(0.2,0.6) and (0.6,0.6)–(0.2,0.2) cross at (0.4,0.4).
    expect(problem([[0.2, 0.2], [0.6, 0.2], [0.2, 0.6], [0.6, 0.6]])).toMatch(/zone "plaza" crosses itself: the edge \[0\.6, 0\.2\]–\[0\.2, 0\.6\] meets the edge \[0\.6, 0\.6\]–\[0\.2, 0\.2\]/);
    // A figure eight that touches itself at one point (0.5, 0.5) without a proper crossing.
    expect(problem([[0.2, 0.2], [0.5, 0.5], [0.8, 0.2], [0.8, 0.8], [0.5, 0.5], [0.2, 0.8]])).toMatch(/crosses itself/);
  });

  it('refuses a crossing whichever way round the two edges turn, naming the first pair', () => {
    // Edge 0 runs right along y = 0.5; edge 2 runs from (0.9, 0.9) up to (0.5, 0.1), crossing it at (0.7, 0.5) with
    // the turns the other way round from the bow-tie's above (orientation signs −, +, +, − against +, −, −, +).
    expect(problem([[0.1, 0.5], [0.9, 0.5], [0.9, 0.9], [0.5, 0.1], [0.1, 0.9]])).toMatch(/zone "plaza" crosses itself: the edge \[0\.1, 0\.5\]–\[0\.9, 0\.5\] meets the edge \[0\.9, 0\.9\]–\[0\.5, 0\.1\]/);
  });

  /** Every listing of the same outline: each corner first, in both windings. */
  const listings = (polygon: Array<[number, number]>) =>
    [polygon, [...polygon].reverse()].flatMap((winding) => winding.map((_, first) => [...winding.slice(first), ...winding.slice(0, first)]));

  it('refuses a corner that touches an edge it does not belong to (a T), however the outline is listed', () => {
    // (0.5, 0.1) lies inside the bottom edge (0.1, 0.1)–(0.9, 0.1): each listing puts it at another end of the pair checked.
    for (const polygon of listings([[0.1, 0.1], [0.9, 0.1], [0.9, 0.5], [0.5, 0.1], [0.1, 0.5]])) expect(problem(polygon)).toMatch(/crosses itself/);
  });

  it('refuses two lobes that touch at one corner, whichever way they open', () => {
    // The corner (0.5, 0.5) is visited twice; its edges all leave it to the right (or left, down, up), so it is
    // the same end, the smaller (or larger) x or y, of every edge that meets there.
    const lobes = (towards: (dx: number, dy: number) => [number, number]): Array<[number, number]> =>
      [[0, 0], [0.4, -0.4], [0.4, -0.1], [0, 0], [0.4, 0.1], [0.4, 0.4]].map(([dx, dy]) => towards(dx!, dy!));
    const round = (value: number) => Math.round(value * 10) / 10;
    for (const towards of [
      (dx: number, dy: number): [number, number] => [round(0.5 + dx), round(0.5 + dy)],
      (dx: number, dy: number): [number, number] => [round(0.5 - dx), round(0.5 + dy)],
      (dx: number, dy: number): [number, number] => [round(0.5 + dy), round(0.5 + dx)],
      (dx: number, dy: number): [number, number] => [round(0.5 + dy), round(0.5 - dx)],
    ]) {
      const polygon = lobes(towards);
      const [first, second, , , third] = [polygon[0]!, polygon[1]!, polygon[2]!, polygon[3]!, polygon[2]!];
      const show = ([x, y]: [number, number]) => `[${x}, ${y}]`;
      // The first pair of edges that share no corner in the list: edge 0 (corner 0 → 1) and edge 2 (corner 2 → 3).
      expect(problem(polygon)).toBe(`zone "plaza" crosses itself: the edge ${show(first)}–${show(second)} meets the edge ${show(third)}–${show(first)} (a bow-tie). List the corners in order around the zone, clockwise or anticlockwise.`);
    }
  });

  it('accepts concave zones whose corners lie in line with, or beside, edges they do not touch', () => {
    // A notch in the bottom edge: the two pieces of that edge lie on one line, apart.
    expect(problem([[0.1, 0.1], [0.4, 0.1], [0.4, 0.5], [0.6, 0.5], [0.6, 0.1], [0.9, 0.1], [0.9, 0.9], [0.1, 0.9]])).toBeUndefined();
    // The same notch in the left edge.
    expect(problem([[0.1, 0.1], [0.1, 0.4], [0.5, 0.4], [0.5, 0.6], [0.1, 0.6], [0.1, 0.9], [0.9, 0.9], [0.9, 0.1]])).toBeUndefined();
    // A dart: its inner corner (0.4, 0.5) lies within the boxes of the edges (0.1, 0.1)–(0.9, 0.5) and
    // (0.9, 0.5)–(0.1, 0.9), off their lines; every listing puts it at another end of the pairs checked.
    for (const polygon of listings([[0.1, 0.1], [0.9, 0.5], [0.1, 0.9], [0.4, 0.5]])) expect(problem(polygon)).toBeUndefined();
  });

  it('says how small a zone with too little area is, on the path of its polygon', () => {
    // Shoelace by hand: the right triangle with legs 0.01 has area 0.01 · 0.01 / 2 = 5e-5.
    const result = parse([[0.2, 0.2], [0.21, 0.2], [0.2, 0.21]]);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map(({ path, message }) => ({ path, message }))).toEqual([
      { path: ['polygon'], message: 'zone "plaza" has no area (0.000050 of the frame): its points lie on one line or repeat. Give at least 3 corners that enclose the area to count.' },
    ]);
  });

  it('refuses zones with no area: points on one line, repeated points, a sliver below 0.01 % of the frame', () => {
    expect(problem([[0.1, 0.1], [0.5, 0.5], [0.9, 0.9]])).toMatch(/zone "plaza" has no area/);
    expect(problem([[0.3, 0.3], [0.3, 0.3], [0.3, 0.3]])).toMatch(/has no area/);
    // Shoelace by hand: a 0.5 × 0.0001 rectangle has area 0.00005 < 0.0001.
    expect(problem([[0.2, 0.5], [0.7, 0.5], [0.7, 0.5001], [0.2, 0.5001]])).toMatch(/has no area/);
  });

  it('refuses a zone whose outline doubles back along an edge', () => {
    // Back from (0.8, 0.2) to (0.5, 0.2): the edge from there down touches the first edge at (0.5, 0.2).
    expect(problem([[0.2, 0.2], [0.8, 0.2], [0.5, 0.2], [0.5, 0.8]])).toMatch(/crosses itself: the edge \[0\.2, 0\.2\]–\[0\.8, 0\.2\] meets the edge \[0\.5, 0\.2\]–\[0\.5, 0\.8\]/);
  });
});

describe('pointInPolygon on slanted edges', () => {
  // The triangle's sides run from (0.5, 0.1) to (0.9, 0.9) and (0.1, 0.9): at y = 0.5 they are at x = 0.3 and
  // x = 0.7 (halfway down, halfway out), and at y = 0.3 at x = 0.4 and x = 0.6.
  const triangle: Array<[number, number]> = [[0.5, 0.1], [0.9, 0.9], [0.1, 0.9]];

  it.each([
    [0.31, 0.5, true], [0.29, 0.5, false], [0.69, 0.5, true], [0.71, 0.5, false],
    [0.41, 0.3, true], [0.39, 0.3, false], [0.59, 0.3, true], [0.61, 0.3, false],
  ])('(%f, %f) inside: %s', (x, y, inside) => {
    expect(pointInPolygon(x, y, triangle)).toBe(inside);
    expect(pointInPolygon(x, y, [...triangle].reverse())).toBe(inside);
  });

  it('a rhombus with no horizontal or vertical edge: just inside and just outside each side', () => {
    // Sides from (0.5, 0.2) to (0.8, 0.5) to (0.5, 0.8) to (0.2, 0.5): at y = 0.35 they are at x = 0.35 and x = 0.65.
    const rhombus: Array<[number, number]> = [[0.5, 0.2], [0.8, 0.5], [0.5, 0.8], [0.2, 0.5]];
    expect([0.34, 0.36, 0.64, 0.66].map((x) => pointInPolygon(x, 0.35, rhombus))).toEqual([false, true, true, false]);
    expect([0.34, 0.36, 0.64, 0.66].map((x) => pointInPolygon(x, 0.65, rhombus))).toEqual([false, true, true, false]);
  });
});

describe('zoneSchema messages', () => {
  const zone = (fields: Record<string, unknown>) => zoneSchema.safeParse({ ...square, ...fields });
  const problem = (fields: Record<string, unknown>) => zone(fields).error?.issues[0]?.message;

  it('accepts names of letters, digits, "_", "-" and "." up to 64 long, and says what a name may hold otherwise', () => {
    expect(zone({ name: 'north-gate_2.a' }).success).toBe(true);
    expect(zone({ name: 'x'.repeat(64) }).success).toBe(true);
    for (const name of ['', 'x'.repeat(65), 'north gate', 'gate!', '!gate']) {
      expect(problem({ name })).toMatch(/names are 1–64 letters, digits/);
    }
  });

  it('says a point is [x, y] in 0–1, that a polygon needs 3 points, and that an area is positive', () => {
    expect(problem({ polygon: [[0.1, 0.1], [0.2, 0.2], [0.3]] })).toMatch(/a point is \[x, y\] with both in 0–1/);
    expect(problem({ polygon: [[0.1, 0.1], [1.2, 0.2], [0.3, 0.4]] })).toMatch(/coordinates are normalised: use 0–1/);
    expect(problem({ polygon: [[0.1, 0.1], [0.2, -0.2], [0.3, 0.4]] })).toMatch(/coordinates are normalised: use 0–1/);
    expect(problem({ polygon: [[0.1, 0.1], [0.2, 0.2]] })).toMatch(/at least 3 points/);
    expect(problem({ areaSquareMetres: 0 })).toMatch(/area of the zone, in m², must be positive/);
    expect(zone({ areaSquareMetres: 12.5 }).success).toBe(true);
  });

  it('refuses a key it does not know', () => {
    expect(zone({ colour: 'red' }).success).toBe(false);
  });
});
