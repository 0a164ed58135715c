/**
 * The exact (noise-free) aggregates of one window, as the window stage closes it. These never leave the process:
 * only their noised, post-processed release does (see stages/release.ts).
 */
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
  /** The length of the series this window belongs to (the last window of a clip may end early). */
  windowSeconds: number;
  clock: 'clip' | 'wall';
  framesAnalysed: number;
  /**
   * zone name → class group → occupancy. Groups are the classes themselves or categories (stages/window.ts); every
   * configured zone and group is present, zeros included.
   */
  zones: Record<string, Record<string, OccupancyStats>>;
  /** line name → class group → crossings by direction. Every configured line and group is present. */
  lines: Record<string, Record<string, CrossingCounts>>;
}
