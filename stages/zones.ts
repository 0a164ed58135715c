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
export const zoneSchema = z.strictObject({
  name: z.string().regex(/^[\w.-]{1,64}$/, 'names are 1–64 letters, digits, "_", "-" or "."'),
  /** Vertices in order, normalised [x, y]. */
  polygon: z.array(z.tuple([unit, unit], { error: 'a point is [x, y] with both in 0–1, e.g. [0.5, 0.62]' })).min(3, 'a zone polygon needs at least 3 points [x, y]'),
  /** The zone's real ground area, for densities per m². */
  areaSquareMetres: z.number().positive('the real ground area of the zone, in m², must be positive').optional(),
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
