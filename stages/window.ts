/**
 * The window stage: folds per-frame occupancy and crossings into fixed windows of stream time,
 * [k·W, (k+1)·W). Windows are aligned to multiples of W (clip start in batch mode, the Unix epoch live, so a 900 s
 * window runs 08:00–08:15), and only windows that analysed at least one frame are emitted.
 *
 * Counts are kept per group of classes (`ClassGroups`): each class on its own, or categories (person, vehicle).
 * A group's peak is the peak of its per-frame sum, not the sum of its classes' peaks.
 */
import { COUNTED_CLASSES, type CountedClass } from '../models/detection.ts';
import type { CrossingCounts, OccupancyStats, WindowAggregate } from './aggregates.ts';
import type { LineCrossing } from './lines.ts';
import type { ClassCounts } from './zones.ts';

/** Output key → the classes summed into it. */
export type ClassGroups = Readonly<Record<string, readonly CountedClass[]>>;

/** Every counted class on its own (the default). */
export const CLASS_GROUPS: ClassGroups = Object.fromEntries(COUNTED_CLASSES.map((name) => [name, [name]]));

interface OpenWindow {
  index: number;
  framesAnalysed: number;
  lastFrameSeconds: number;
  occupancySums: Record<string, Record<string, number>>;
  occupancyPeaks: Record<string, Record<string, number>>;
  crossings: Record<string, Record<string, CrossingCounts>>;
}

function perName<T>(names: readonly string[], make: () => T): Record<string, T> {
  return Object.fromEntries(names.map((name) => [name, make()]));
}

export class WindowAccumulator {
  private open?: OpenWindow;
  /** The last window closed: a frame that belongs to it or earlier arrived too late, and must not reopen it. */
  private lastClosedIndex = -Infinity;
  /** Frames that arrived after their window was closed (live: the clock closed it while they were being detected). */
  framesTooLate = 0;
  /** Class → its group's key; classes in no group are not counted. */
  private readonly groupOf: ReadonlyMap<CountedClass, string>;

  constructor(
    private readonly windowSeconds: number,
    private readonly zoneNames: readonly string[],
    private readonly lineNames: readonly string[],
    private readonly clock: WindowAggregate['clock'],
    /** Where the input starts (an excerpt from mid-clip): the first window never claims time before it. */
    private readonly inputStartSeconds = 0,
    private readonly groups: ClassGroups = CLASS_GROUPS,
  ) {
    if (!(windowSeconds > 0)) throw new Error(`window length must be positive, got ${windowSeconds} s`);
    this.groupOf = new Map(Object.entries(groups).flatMap(([key, members]) => members.map((name) => [name, key] as const)));
  }

  private perGroup<T>(make: () => T): Record<string, T> {
    return perName(Object.keys(this.groups), make);
  }

  /** Adds one analysed frame; returns the window it closed, if the frame starts a new one. */
  add(ptsSeconds: number, occupancy: Record<string, ClassCounts>, crossings: readonly LineCrossing[]): WindowAggregate | undefined {
    const index = Math.floor(ptsSeconds / this.windowSeconds);
    if (index <= this.lastClosedIndex) {
      // Reopening would release the same window twice (and spend its budget twice).
      this.framesTooLate += 1;
      return undefined;
    }
    const closed = this.open && this.open.index !== index ? this.close() : undefined;
    const window = (this.open ??= this.start(index));
    window.framesAnalysed += 1;
    window.lastFrameSeconds = ptsSeconds;
    for (const zone of this.zoneNames) {
      for (const [key, members] of Object.entries(this.groups)) {
        const present = members.reduce((sum, name) => sum + (occupancy[zone]?.[name] ?? 0), 0);
        window.occupancySums[zone]![key]! += present;
        window.occupancyPeaks[zone]![key] = Math.max(window.occupancyPeaks[zone]![key]!, present);
      }
    }
    for (const crossing of crossings) {
      const line = window.crossings[crossing.line];
      if (!line) throw new Error(`crossing reported for unknown line "${crossing.line}"`);
      const key = this.groupOf.get(crossing.cocoClass);
      if (key !== undefined) line[key]![crossing.direction] += 1;
    }
    return closed;
  }

  /**
   * Closes the open window. At the end of a clip it ends at the clip's end rather than at the next boundary, so
   * a report never claims time it did not watch.
   */
  close(endSeconds?: number): WindowAggregate | undefined {
    const window = this.open;
    if (!window) return undefined;
    this.open = undefined;
    this.lastClosedIndex = window.index;
    const boundary = (window.index + 1) * this.windowSeconds;
    const startSeconds = Math.max(window.index * this.windowSeconds, this.inputStartSeconds);
    const zones: WindowAggregate['zones'] = {};
    for (const zone of this.zoneNames) {
      zones[zone] = this.perGroup<OccupancyStats>(() => ({ meanOccupancy: 0, peakOccupancy: 0 }));
      for (const key of Object.keys(this.groups)) {
        zones[zone]![key] = {
          meanOccupancy: window.occupancySums[zone]![key]! / window.framesAnalysed,
          peakOccupancy: window.occupancyPeaks[zone]![key]!,
        };
      }
    }
    return {
      startSeconds,
      endSeconds: endSeconds === undefined ? boundary : Math.min(boundary, Math.max(endSeconds, window.lastFrameSeconds)),
      windowSeconds: this.windowSeconds,
      clock: this.clock,
      framesAnalysed: window.framesAnalysed,
      zones,
      lines: window.crossings,
    };
  }

  /**
   * Closes the open window once `nowSeconds` has passed its end. Live, a camera that stalls sends no next frame to
   * close its window; this lets the window go out on time anyway.
   */
  closeIfEnded(nowSeconds: number): WindowAggregate | undefined {
    if (!this.open || nowSeconds < (this.open.index + 1) * this.windowSeconds) return undefined;
    return this.close();
  }

  private start(index: number): OpenWindow {
    return {
      index,
      framesAnalysed: 0,
      lastFrameSeconds: index * this.windowSeconds,
      occupancySums: perName(this.zoneNames, () => this.perGroup(() => 0)),
      occupancyPeaks: perName(this.zoneNames, () => this.perGroup(() => 0)),
      crossings: perName(this.lineNames, () => this.perGroup(() => ({ forward: 0, backward: 0 }))),
    };
  }
}
