/**
 * What happens to one camera's analysed frames, the same in batch and live mode:
 *
 *   detections ─▶ class filter ─▶ tracker ─┬─▶ zone occupancy ─┐
 *                                          ├─▶ line crossings ─┴─▶ window ─▶ WindowAggregate (exact; never published)
 *                                          └─▶ drift histograms (tracks' median score and size) ─▶ DriftWindow (exact; never published)
 *
 * The noise comes after, in the releaser: this chain only ever sees detections, never pixels.
 *
 * A frame the motion gate kept from the detector (`skipped`) is "no new evidence", not "nobody there": its picture
 * matched the last detected frame's, so that frame's occupancy stands for it too, no line was crossed, and the
 * tracker does not see it at all. A track is thus neither confirmed by evidence that was never looked at nor ended
 * for a detection that was never attempted; it ages in stream time as before, and the gate runs the detector often
 * enough (stages/motion.ts) that a track seen before a still stretch is matched again when the detector looks.
 */
import type { CountedClass } from '../models/detection.ts';
import type { AnalysedFrame } from '../streams/frame.ts';
import type { WindowAggregate } from '../stages/aggregates.ts';
import { LineCounter, type CountingLine } from '../stages/lines.ts';
import { Tracker } from '../stages/track.ts';
import { CLASS_GROUPS, WindowAccumulator, type ClassGroups } from '../stages/window.ts';
import { TrackDriftAccumulator, type DriftWindow } from '../stages/drift.ts';
import { countInZones, type ClassCounts, type Zone } from '../stages/zones.ts';

export interface AnalysisSettings {
  zones: Zone[];
  lines: CountingLine[];
  classes: CountedClass[];
  /** Every window length released (e.g. 60 s occupancy and 900 s crossings); windows of each are closed in step. */
  windowLengths: readonly number[];
  /** How classes are summed into released cells (default: each class on its own). */
  groups?: ClassGroups;
  /** Detections at or above it start and confirm tracks; lower ones only keep existing tracks alive. */
  scoreThreshold: number;
  /** Also fold the tracks into drift histograms per window of this length (stages/drift.ts); absent: no drift. */
  driftWindowSeconds?: number;
}

/** What one frame added: its zone occupancy, and the windows (of counts, of drift histograms) it closed. */
export interface FrameAdded {
  occupancy: Record<string, ClassCounts>;
  closed: WindowAggregate[];
  driftClosed: DriftWindow[];
}

export interface TrackingSummary {
  tracksConfirmed: number;
  tracksConfirmedByClass: Partial<Record<CountedClass, number>>;
  tracksReachingLine: Record<string, number>;
}

export class CameraAnalysis {
  private readonly tracker: Tracker;
  private readonly lineCounter: LineCounter;
  private readonly windows: WindowAccumulator[];
  private readonly counted: ReadonlySet<CountedClass>;
  /** The last detected frame's occupancy per zone: what a skipped frame repeats. */
  private lastOccupancy: Record<string, ClassCounts>;
  private readonly drift?: TrackDriftAccumulator;

  constructor(private readonly settings: AnalysisSettings, clock: WindowAggregate['clock'], inputStartSeconds = 0) {
    this.tracker = new Tracker({ highScoreThreshold: settings.scoreThreshold });
    this.lineCounter = new LineCounter(settings.lines);
    const zoneNames = settings.zones.map((z) => z.name);
    const lineNames = settings.lines.map((l) => l.name);
    this.windows = settings.windowLengths.map(
      (windowSeconds) => new WindowAccumulator(windowSeconds, zoneNames, lineNames, clock, inputStartSeconds, settings.groups ?? CLASS_GROUPS),
    );
    this.counted = new Set(settings.classes);
    this.lastOccupancy = countInZones([], settings.zones);
    if (settings.driftWindowSeconds !== undefined) this.drift = new TrackDriftAccumulator(settings.driftWindowSeconds);
  }

  /** Adds one frame; returns this frame's zone occupancy and the windows the frame closed (one per length at most). */
  add(frame: AnalysedFrame): FrameAdded {
    if (frame.skipped) {
      const occupancy = this.lastOccupancy;
      return { occupancy, closed: this.collect((windows) => windows.add(frame.ptsSeconds, occupancy, [])), driftClosed: this.drift?.add(frame.ptsSeconds, [], []) ?? [] };
    }
    const detections = frame.detections.filter((d) => this.counted.has(d.cocoClass));
    const update = this.tracker.update({ ...frame, detections });
    const crossings = this.lineCounter.update(update);
    // Objects the detector missed for a moment are still in view (see TrackerUpdate.coasting).
    const occupancy = countInZones([...update.tracks, ...(update.coasting ?? [])], this.settings.zones);
    this.lastOccupancy = occupancy;
    // The tracks of this update were all matched in this frame, so the tracker has their score.
    const sightings = update.tracks.map((track) => ({ handle: track.handle, box: track.box, score: this.tracker.matchedScore(track.handle)! }));
    const driftClosed = this.drift?.add(frame.ptsSeconds, sightings, update.ended) ?? [];
    return { occupancy, closed: this.collect((windows) => windows.add(frame.ptsSeconds, occupancy, crossings)), driftClosed };
  }

  /** Live: closes the drift window whose end has passed (see closeIfEnded). */
  closeDriftIfEnded(nowSeconds: number): DriftWindow[] {
    return this.drift?.closeIfEnded(nowSeconds) ?? [];
  }

  /** The end of the input: every live track ends, and the drift windows still open are closed. */
  finishDrift(endSeconds: number): DriftWindow[] {
    return this.drift?.finish(endSeconds) ?? [];
  }

  /**
   * Counts about the tracking so far, for `veil eval`'s track fragmentation: tracks confirmed, and per line the tracks
   * that reached it. Exact and never released.
   */
  trackingSummary(): TrackingSummary {
    return { tracksConfirmed: this.tracker.tracksConfirmed, tracksConfirmedByClass: this.tracker.tracksConfirmedByClass(), tracksReachingLine: this.lineCounter.tracksReaching() };
  }

  /** Live: closes the open windows whose end has passed, even when no frame came to close them. */
  closeIfEnded(nowSeconds: number): WindowAggregate[] {
    return this.collect((windows) => windows.closeIfEnded(nowSeconds));
  }

  /** Closes the open windows at the end of the input. */
  finish(endSeconds: number): WindowAggregate[] {
    return this.collect((windows) => windows.close(endSeconds));
  }

  private collect(step: (windows: WindowAccumulator) => WindowAggregate | undefined): WindowAggregate[] {
    return this.windows.flatMap((windows) => step(windows) ?? []);
  }
}
