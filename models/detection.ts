/**
 * What a detector returns, and how COCO's classes map to the two categories Veil counts.
 * Nothing here refers to pixels or tensors: a detection is a class, a score and a box.
 */

export type Category = 'person' | 'vehicle';

/** The COCO classes Veil can count, each with the category it is summed into. */
export const COCO_CLASS_CATEGORY = {
  person: 'person',
  bicycle: 'vehicle',
  car: 'vehicle',
  motorcycle: 'vehicle',
  bus: 'vehicle',
  truck: 'vehicle',
} as const satisfies Record<string, Category>;

export type CountedClass = keyof typeof COCO_CLASS_CATEGORY;
export const COUNTED_CLASSES = Object.keys(COCO_CLASS_CATEGORY) as CountedClass[];

/** The classes (of `among`, default all) that are summed into `category`. */
export function classesOf(category: Category, among: readonly CountedClass[] = COUNTED_CLASSES): CountedClass[] {
  return among.filter((name) => COCO_CLASS_CATEGORY[name] === category);
}

/** An axis-aligned box in normalised frame coordinates: 0 is the left/top edge, 1 the right/bottom. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Detection {
  cocoClass: CountedClass;
  score: number;
  box: Box;
}

/** Where an object meets the ground: the reference point for zones and counting lines. */
export function bottomCentre(box: Box): { x: number; y: number } {
  return { x: box.x + box.width / 2, y: box.y + box.height };
}

export function intersectionOverUnion(a: Box, b: Box): number {
  const overlapWidth = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const overlapHeight = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  if (overlapWidth <= 0 || overlapHeight <= 0) return 0;
  const overlap = overlapWidth * overlapHeight;
  return overlap / (a.width * a.height + b.width * b.height - overlap);
}
