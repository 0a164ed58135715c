/**
 * Greedy non-maximum suppression, per category: a car box and a truck box on the same vehicle are one object
 * (the detector often hesitates between the two), a person and a bicycle they ride are two.
 */
import { COCO_CLASS_CATEGORY, intersectionOverUnion, type Detection } from './detection.ts';

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
