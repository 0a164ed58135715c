/**
 * Zone occupancy: how many objects of each class stand inside each zone in one frame. A zone is a polygon in
 * normalised coordinates, so one config holds at any decode size. An object is "in" a zone when its reference
 * point — the bottom-centre of its box, where it meets the ground — is inside the polygon.
 *
 *   (0,0) ───────────── x ──────────── (1,0)
 *     │    ┌───────────┐                  │
 *     │    │  zone     │   ┌─┐            │
 *     y    │   ┌─┐     │   │ │ ← outside  │
 *     │    │   │●│ ← in│   └●┘            │
 *     │    └───────────┘                  │
 *   (0,1) ─────────────────────────────── (1,1)      ● = bottom-centre of the box
 */
import { z } from 'zod';
import { COUNTED_CLASSES, bottomCentre, type Box, type CountedClass } from '../models/detection.ts';

const NORMALISED = 'coordinates are normalised: use 0–1 (0 = left/top, 1 = right/bottom)';
const unit = z.number().min(0, NORMALISED).max(1, NORMALISED);

/** A zone as a config file or a report holds it; checked where it enters. */
/** Below this area (a fraction of the frame: 0.01 % ≈ 0.03 × 0.03 of it) a zone cannot hold a standing object. */
const MIN_ZONE_AREA = 1e-4;

type Point = readonly [number, number];

/** Twice the signed area of the triangle a, b, c: > 0 anticlockwise, 0 collinear (the orientation test). */
function cross(a: Point, b: Point, c: Point): number {
  return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
}

/** Whether c, known collinear with a–b, lies on the segment a–b. */
function onSegment(a: Point, b: Point, c: Point): boolean {
  return Math.min(a[0], b[0]) <= c[0] && c[0] <= Math.max(a[0], b[0]) && Math.min(a[1], b[1]) <= c[1] && c[1] <= Math.max(a[1], b[1]);
}

/** Whether segments a–b and c–d meet, touching included (the standard orientation test, e.g. CLRS §33.1). */
function segmentsMeet(a: Point, b: Point, c: Point, d: Point): boolean {
  const [d1, d2, d3, d4] = [cross(c, d, a), cross(c, d, b), cross(a, b, c), cross(a, b, d)];
  if (((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0))) return true;
  return (d1 === 0 && onSegment(c, d, a)) || (d2 === 0 && onSegment(c, d, b)) || (d3 === 0 && onSegment(a, b, c)) || (d4 === 0 && onSegment(a, b, d));
}

const showPoint = (p: Point) => `[${p[0]}, ${p[1]}]`;

/**
 * What makes a polygon unusable as a zone, in words, or undefined when it is a simple polygon with an inside: two
 * of its edges that share no corner meet (a bow-tie), or its area (shoelace formula) is below MIN_ZONE_AREA. An
 * outline that doubles back along an edge always meets itself, so it is caught as a crossing (or, for 3 points, as
 * having no area).
 */
export function polygonProblem(polygon: readonly Point[]): string | undefined {
  const n = polygon.length;
  const at = (i: number) => polygon[((i % n) + n) % n]!;
  for (let i = 0; i < n; i++) {
    // Edges that share no corner must not meet at all.
    for (let j = i + 2; j < n - (i === 0 ? 1 : 0); j++) {
      if (segmentsMeet(at(i), at(i + 1), at(j), at(j + 1))) {
        return `crosses itself: the edge ${showPoint(at(i))}–${showPoint(at(i + 1))} meets the edge ${showPoint(at(j))}–${showPoint(at(j + 1))} (a bow-tie). List the corners in order around the zone, clockwise or anticlockwise.`;
      }
    }
  }
  // After the crossing check: a bow-tie's two lobes cancel in the shoelace sum, and "crosses itself" is its fix.
  let twiceArea = 0;
  for (let i = 0; i < n; i++) twiceArea += at(i)[0] * at(i + 1)[1] - at(i + 1)[0] * at(i)[1];
  if (Math.abs(twiceArea) / 2 < MIN_ZONE_AREA) {
    return `has no area (${(Math.abs(twiceArea) / 2).toPrecision(2)} of the frame): its points lie on one line or repeat. Give at least 3 corners that enclose the area to count.`;
  }
  return undefined;
}

export const zoneSchema = z.strictObject({
  name: z.string().regex(/^[\w.-]{1,64}$/, 'names are 1–64 letters, digits, "_", "-" or "."'),
  /** Vertices in order, normalised [x, y]. */
  polygon: z.array(z.tuple([unit, unit], { error: 'a point is [x, y] with both in 0–1, e.g. [0.5, 0.62]' })).min(3, 'a zone polygon needs at least 3 points [x, y]'),
  /** The zone's real ground area, for densities per m². */
  areaSquareMetres: z.number().positive('the real ground area of the zone, in m², must be positive').optional(),
}).superRefine((zone, ctx) => {
  // Occupancy of a zone with no inside, or an inside that depends on how a crossing outline is read, would spend
  // budget on a count nobody meant: refused at config time, naming the zone.
  const problem = polygonProblem(zone.polygon);
  if (problem) ctx.addIssue({ code: 'custom', path: ['polygon'], message: `zone "${zone.name}" ${problem}` });
});
export type Zone = z.infer<typeof zoneSchema>;

export const WHOLE_FRAME_ZONE: Zone = { name: 'frame', polygon: [[0, 0], [1, 0], [1, 1], [0, 1]] };

export type ClassCounts = Record<CountedClass, number>;

export function zeroCounts(): ClassCounts {
  return Object.fromEntries(COUNTED_CLASSES.map((name) => [name, 0])) as ClassCounts;
}

/** Even-odd ray casting; points on the frame's bottom edge (y = 1) count as inside the whole-frame zone. */
export function pointInPolygon(x: number, y: number, polygon: Array<[number, number]>): boolean {
  let inside = false;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const [xi, yi] = polygon[i]!;
    const [xj, yj] = polygon[j]!;
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

export function countInZones(objects: ReadonlyArray<{ cocoClass: CountedClass; box: Box }>, zones: readonly Zone[]): Record<string, ClassCounts> {
  const counts: Record<string, ClassCounts> = {};
  for (const zone of zones) counts[zone.name] = zeroCounts();
  for (const object of objects) {
    const { x, y } = bottomCentre(object.box);
    // A box touching the bottom edge has its reference point at y = 1, on the polygon's edge: nudge it inside.
    const groundY = Math.min(y, 1 - 1e-9);
    for (const zone of zones) if (pointInPolygon(x, groundY, zone.polygon)) counts[zone.name]![object.cocoClass] += 1;
  }
  return counts;
}
