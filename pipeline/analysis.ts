/**
 * What happens to one camera's analysed frames, the same in batch and live mode:
 *
 *   detections ─▶ class filter ─▶ tracker ─┬─▶ zone occupancy ─┐
 *                                          └─▶ line crossings ─┴─▶ window ─▶ WindowAggregate (exact; never published)
 *
 * The noise comes after, in the releaser: this chain only ever sees detections, never pixels.
 */
import type { CountedClass } from '../models/detection.ts';
import type { AnalysedFrame } from '../streams/frame.ts';
import type { WindowAggregate } from '../stages/aggregates.ts';
import { LineCounter, type CountingLine } from '../stages/lines.ts';
import { Tracker } from '../stages/track.ts';
import { WindowAccumulator } from '../stages/window.ts';
import { countInZones, type ClassCounts, type Zone } from '../stages/zones.ts';

export interface AnalysisSettings {
  zones: Zone[];
  lines: CountingLine[];
  classes: CountedClass[];
  windowSeconds: number;
  /** Detections at or above it start and confirm tracks; lower ones only keep existing tracks alive. */
  scoreThreshold: number;
}

export class CameraAnalysis {
  private readonly tracker: Tracker;
  private readonly lineCounter: LineCounter;
  private readonly windows: WindowAccumulator;
  private readonly counted: ReadonlySet<CountedClass>;

  constructor(private readonly settings: AnalysisSettings, clock: WindowAggregate['clock'], inputStartSeconds = 0) {
    this.tracker = new Tracker({ highScoreThreshold: settings.scoreThreshold });
    this.lineCounter = new LineCounter(settings.lines);
    this.windows = new WindowAccumulator(settings.windowSeconds, settings.zones.map((z) => z.name), settings.lines.map((l) => l.name), clock, inputStartSeconds);
    this.counted = new Set(settings.classes);
  }

  /** Adds one frame; returns this frame's zone occupancy and the window the frame closed, if any. */
  add(frame: AnalysedFrame): { occupancy: Record<string, ClassCounts>; closed?: WindowAggregate } {
    const detections = frame.detections.filter((d) => this.counted.has(d.cocoClass));
    const update = this.tracker.update({ ...frame, detections });
    const crossings = this.lineCounter.update(update);
    const occupancy = countInZones(update.tracks, this.settings.zones);
    return { occupancy, closed: this.windows.add(frame.ptsSeconds, occupancy, crossings) };
  }

  /** Live: closes the open window if its end has passed, even when no frame came to close it. */
  closeIfEnded(nowSeconds: number): WindowAggregate | undefined {
    return this.windows.closeIfEnded(nowSeconds);
  }

  /** Closes the open window at the end of the input. */
  finish(endSeconds: number): WindowAggregate | undefined {
    return this.windows.close(endSeconds);
  }
}
