/**
 * Greedy non-maximum suppression, per category: a car box and a truck box on the same vehicle are one object
 * (the detector often hesitates between the two), a person and a bicycle they ride are two.
 */
import { COCO_CLASS_CATEGORY, type Box, type Detection } from './detection.ts';

export function intersectionOverUnion(a: Box, b: Box): number {
  const overlapWidth = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const overlapHeight = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  if (overlapWidth <= 0 || overlapHeight <= 0) return 0;
  const overlap = overlapWidth * overlapHeight;
  return overlap / (a.width * a.height + b.width * b.height - overlap);
}

export function suppressOverlaps(detections: Detection[], maxIou: number): Detection[] {
  const kept: Detection[] = [];
  for (const candidate of [...detections].sort((a, b) => b.score - a.score)) {
    const category = COCO_CLASS_CATEGORY[candidate.cocoClass];
    const duplicate = kept.some(
      (k) => COCO_CLASS_CATEGORY[k.cocoClass] === category && intersectionOverUnion(k.box, candidate.box) > maxIou,
    );
    if (!duplicate) kept.push(candidate);
  }
  return kept;
}
