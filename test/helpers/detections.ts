/** What a person checks in a detector's answer on a frame they have looked at. */
import { COCO_CLASS_CATEGORY, type Box, type Category, type Detection } from '../../models/detection.ts';

/** The detections of `category` that count at `countingScore` (a clear sighting). */
export function counted(detections: Detection[], category: Category, countingScore: number): Detection[] {
  return detections.filter((d) => d.score >= countingScore && COCO_CLASS_CATEGORY[d.cocoClass] === category);
}

/** Whether a hand-measured point (normalised) lies in the box. */
export function contains(box: Box, point: { x: number; y: number }): boolean {
  return point.x >= box.x && point.x <= box.x + box.width && point.y >= box.y && point.y <= box.y + box.height;
}
