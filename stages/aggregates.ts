/**
 * The exact (noise-free) aggregates of one window, as the window stage closes it. These never leave the process:
 * only their noised, post-processed release does (see stages/release.ts).
 */
import type { CountedClass } from '../models/detection.ts';

export interface OccupancyStats {
  /** Mean number of objects of this class inside the zone over the window's analysed frames. */
  meanOccupancy: number;
  /** Largest number seen inside the zone in any one analysed frame of the window. */
  peakOccupancy: number;
}

export interface CrossingCounts {
  forward: number;
  backward: number;
}

export interface WindowAggregate {
  /** Window bounds: clip seconds in batch mode, Unix epoch seconds in live mode (see `clock`). */
  startSeconds: number;
  endSeconds: number;
  clock: 'clip' | 'wall';
  framesAnalysed: number;
  /** zone name → class → occupancy. Every configured zone and counted class is present, zeros included. */
  zones: Record<string, Record<CountedClass, OccupancyStats>>;
  /** line name → class → crossings by direction. Every configured line and counted class is present. */
  lines: Record<string, Record<CountedClass, CrossingCounts>>;
}
