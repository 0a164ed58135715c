/**
 * How much one person or vehicle can change a window's release, derived from how the pipeline counts rather than
 * guessed. Neighbouring inputs differ by one object's whole track: every frame it was seen in, every zone it stood
 * in, every line it crossed. The derivation is in docs/privacy.md; the bounds in brief, per window:
 *
 *   statistic (released unit)          one object changes it by, summed over all cells (L1)   and  Σ squares (L2²)
 *   mean occupancy (1/100 object)      per zone: S + k − 1, S = 100 steps                          S² + k − 1
 *   peak occupancy (objects)           per zone: k                                                 k
 *   crossings (crossings)              per line: m                                                 m²
 *
 * with k the number of classes one object can be counted under within a window and m the tracker's crossings per
 * object per line. Zones add up (one object may stand in several overlapping zones at once), lines add up.
 */

/**
 * Mean occupancy is released in hundredths of an object: the integer mechanisms need an integer statistic, and a
 * hundredth is finer than any reading of a window's mean needs. Rounding to the grid can move a cell by one more
 * step than the exact change; the bounds above include that (the "k − 1").
 */
export const MEAN_OCCUPANCY_STEPS_PER_OBJECT = 100;

export interface ReleaseStructure {
  zoneCount: number;
  lineCount: number;
  /** The tracker's bound: a track counts at most this often on one line, over its whole life (1 in Veil). */
  maxCrossingsPerObjectPerLine: number;
  /**
   * Under how many classes one object can be counted within one window: 1 if a track's class never changes, more
   * if it can be re-voted (Veil's tracker votes within car/bus/truck, so 3).
   */
  maxClassesPerObjectPerWindow: number;
}

/** One statistic's sensitivity over the whole window, in the statistic's released integer unit. */
export interface StatisticSensitivity {
  l1: number;
  l2Squared: number;
}

export interface ReleaseSensitivity {
  meanOccupancySteps: StatisticSensitivity;
  peakOccupancy: StatisticSensitivity;
  crossings: StatisticSensitivity;
}

function requireCount(name: keyof ReleaseStructure, value: number, minimum: number): void {
  if (!Number.isInteger(value) || value < minimum) {
    throw new RangeError(`release structure: ${name} must be an integer ≥ ${minimum}, got ${value}`);
  }
}

export function releaseSensitivity(structure: ReleaseStructure): ReleaseSensitivity {
  requireCount('zoneCount', structure.zoneCount, 0);
  requireCount('lineCount', structure.lineCount, 0);
  requireCount('maxCrossingsPerObjectPerLine', structure.maxCrossingsPerObjectPerLine, 1);
  requireCount('maxClassesPerObjectPerWindow', structure.maxClassesPerObjectPerWindow, 1);
  const { zoneCount: zones, lineCount: lines, maxCrossingsPerObjectPerLine: crossings } = structure;
  const classes = structure.maxClassesPerObjectPerWindow;
  const steps = MEAN_OCCUPANCY_STEPS_PER_OBJECT;
  return {
    meanOccupancySteps: { l1: zones * (steps + classes - 1), l2Squared: zones * (steps * steps + classes - 1) },
    peakOccupancy: { l1: zones * classes, l2Squared: zones * classes },
    crossings: { l1: lines * crossings, l2Squared: lines * crossings * crossings },
  };
}

/**
 * A window's mean occupancy on the release grid, rounded half up, computed from the integer object-frame count
 * behind it (mean × frames) so that the rounding is an exact function of that count. Rounding by float
 * arithmetic could break a tie one way in one dataset and the other way in its neighbour.
 */
export function quantiseMeanOccupancy(meanOccupancy: number, framesAnalysed: number): bigint {
  if (framesAnalysed === 0) return 0n;
  const objectFrames = Math.round(meanOccupancy * framesAnalysed);
  if (!(Math.abs(objectFrames - meanOccupancy * framesAnalysed) < 1e-6) || objectFrames < 0) {
    // No value in the message: it would put an exact aggregate into a log.
    throw new RangeError('a mean occupancy is not a whole number of object-frames over the frames analysed: the window stage must report Σ count / framesAnalysed');
  }
  const steps = BigInt(MEAN_OCCUPANCY_STEPS_PER_OBJECT);
  const frames = BigInt(framesAnalysed);
  return (2n * steps * BigInt(objectFrames) + frames) / (2n * frames);
}
