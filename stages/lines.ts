/**
 * Counting lines: turns confirmed tracks' movement into crossing events — which line, which class, which
 * direction — and nothing else. No track, time or position leaves this module.
 *
 * Example:
 *   const counter = new LineCounter([{ name: 'north-gate', from: [0.1, 0.6], to: [0.9, 0.6] }]);
 *   for (const update of trackerUpdates) crossings.push(...counter.update(update));
 *   // → [{ line: 'north-gate', cocoClass: 'car', direction: 'forward' }, ...]
 */
import { z } from 'zod';
import type { CountedClass } from '../models/detection.ts';
import type { Point, TrackedObject, TrackHandle, TrackerUpdate } from './track.ts';

/**
 * What one track can add to one line's counts over its whole life, re-acquisitions included: one crossing, in one
 * direction. The privacy stage uses this as the per-line sensitivity of a crossing count (m).
 *
 * Why it holds: a track's memory of a line has one `counted` flag, set at its first countable crossing and never
 * cleared while the track lives; a re-acquired track keeps its handle, hence its memory (see MAX_COAST_SECONDS in
 * stages/track.ts). Proved by test/stages/lines.test.ts ("counts a track once per line however often it jitters")
 * and test/stages/track.test.ts ("a track re-acquired after an occlusion keeps its counted lines").
 */
export const MAX_CROSSINGS_PER_TRACK_PER_LINE = 1;

const normalisedCoordinate = z.number().min(0).max(1);
const normalisedPoint = z.tuple([normalisedCoordinate, normalisedCoordinate]);

// Shorter than 1 % of the frame a line has no usable orientation, and zero length has none at all.
const MIN_LINE_LENGTH = 0.01;

function lineLength({ from, to }: { from: readonly number[]; to: readonly number[] }): number {
  return Math.hypot((to[0] ?? 0) - (from[0] ?? 0), (to[1] ?? 0) - (from[1] ?? 0));
}

function tooShortMessage(line: { name: string; from: readonly number[]; to: readonly number[] }): string {
  const length = lineLength(line);
  return (
    `counting line "${line.name}": from [${line.from.join(', ')}] and to [${line.to.join(', ')}] are ` +
    `${length === 0 ? 'the same point' : 'almost the same point'}; a line needs two points at least ` +
    `${MIN_LINE_LENGTH} apart (normalised) to have a direction — move one of its ends`
  );
}

export const countingLineSchema = z
  .strictObject({
    name: z.string().min(1),
    /** Where the line starts, [x, y] normalised (0 = left/top edge, 1 = right/bottom edge). */
    from: normalisedPoint,
    /** Where it ends. Walking from `from` to `to`, crossing from your left to your right is `forward`. */
    to: normalisedPoint,
  })
  .superRefine((line, context) => {
    if (!(lineLength(line) >= MIN_LINE_LENGTH)) context.addIssue({ code: 'custom', message: tooShortMessage(line), path: ['to'] });
  });
export type CountingLine = z.infer<typeof countingLineSchema>;

export const lineCounterOptionsSchema = z.strictObject({
  /**
   * How far past the line (normalised distance) the reference point must get before it is on the other side.
   * A box's bottom edge jitters by a few percent of the box between frames; without this band an object standing
   * on the line would count on every frame.
   */
  hysteresisBand: z.number().min(0).max(0.2).default(0.015),
  /**
   * How far beyond either end of the line a crossing still counts. None by default: two lines that share an end (one
   * per lane) must split the crossings between them, and any margin counts an object crossing near the shared end
   * on both.
   */
  segmentMargin: z.number().min(0).max(0.2).default(0),
});
export type LineCounterOptions = z.input<typeof lineCounterOptionsSchema>;

export type CrossingDirection = 'forward' | 'backward';

export interface LineCrossing {
  line: string;
  cocoClass: CountedClass;
  direction: CrossingDirection;
}

type Side = -1 | 1;

/** What one line remembers about one track. */
interface LineMemory {
  line: LineGeometry;
  /** Last side the reference point was clearly on (outside the band); undefined until it has left the band once. */
  side: Side | undefined;
  /** The reference point last seen, wherever it was: the start of the path's next step. */
  lastPoint: Point | undefined;
  /**
   * Where (distance along the line from `from`) the path last met the line since it was clearly on `side`: the real
   * path's crossing, not the chord from the last point on one side to the first on the other.
   */
  lastMeetingAlong: number | undefined;
  counted: boolean;
  /** Whether the track has come within the hysteresis band of the segment (see LineCounter.tracksReaching). */
  reached: boolean;
}

/**
 * One line's geometry. Orientation, in image coordinates (y grows downwards):
 *
 *                    left-hand side   (signedDistance < 0)
 *        . . . . . . . . . . . . . . . . . . . . . .   <- edge of the hysteresis band
 *   from o------------------------------------------> to
 *        . . . . . . . . . . . . . . . . . . . . . .   <- edge of the hysteresis band
 *                    right-hand side  (signedDistance > 0)
 *
 *   forward  = from the left-hand side to the right-hand side  (for the line drawn: moving down the frame)
 *   backward = from the right-hand side to the left-hand side  (moving up the frame)
 *
 * "Left" and "right" are as seen by someone walking from `from` to `to` on the image as displayed; reversing the
 * two points swaps forward and backward. The crossing point must lie on the segment, give or take the margin:
 *
 *   margin |<------------- from ... to ------------->| margin
 */
class LineGeometry {
  readonly name: string;
  readonly #from: Point;
  /** Unit vector from `from` to `to`. */
  readonly #along: Point;
  readonly #length: number;

  constructor(line: CountingLine) {
    const [fromX, fromY] = line.from;
    const [toX, toY] = line.to;
    this.#length = lineLength(line);
    if (!(this.#length >= MIN_LINE_LENGTH)) throw new RangeError(tooShortMessage(line));
    this.name = line.name;
    this.#from = { x: fromX, y: fromY };
    this.#along = { x: (toX - fromX) / this.#length, y: (toY - fromY) / this.#length };
  }

  /** Distance from the (infinite) line: negative on the left-hand side, positive on the right-hand side. */
  signedDistance(point: Point): number {
    // 2-D cross product of the line's direction with (point − from); y grows downwards, so positive is the right.
    return this.#along.x * (point.y - this.#from.y) - this.#along.y * (point.x - this.#from.x);
  }

  /**
   * Where the step start → end meets the (infinite) line, as a distance along it from `from` (normalised units);
   * undefined when both ends are on the same side. A point exactly on the line counts as the right-hand side.
   */
  meetingAlong(start: Point, end: Point): number | undefined {
    const startDistance = this.signedDistance(start);
    const endDistance = this.signedDistance(end);
    if (startDistance >= 0 === endDistance >= 0) return undefined;
    const fraction = startDistance / (startDistance - endDistance);
    const x = start.x + fraction * (end.x - start.x);
    const y = start.y + fraction * (end.y - start.y);
    return this.projectionAlong({ x, y });
  }

  /** Distance along the line from `from` of the point's projection onto it (normalised units). */
  projectionAlong(point: Point): number {
    return (point.x - this.#from.x) * this.#along.x + (point.y - this.#from.y) * this.#along.y;
  }

  /** Whether a point `along` the line (see meetingAlong) is on the segment, give or take `margin`. */
  withinSegment(along: number, margin: number): boolean {
    return along >= -margin && along <= this.#length + margin;
  }

  /** The rate at which `velocity` moves a point towards the right-hand side (positive) or the left (negative). */
  normalSpeed(velocity: Point): number {
    return this.#along.x * velocity.y - this.#along.y * velocity.x;
  }
}

export class LineCounter {
  readonly #lines: LineGeometry[];
  readonly #options: z.output<typeof lineCounterOptionsSchema>;
  /** Per live track, one memory per line. Emptied as tracks end. */
  readonly #memories = new Map<TrackHandle, LineMemory[]>();
  /** Per line, how many tracks have reached it so far (a count: which tracks is forgotten with the memories). */
  readonly #tracksReaching = new Map<string, number>();

  constructor(lines: readonly CountingLine[], options: LineCounterOptions = {}) {
    this.#options = lineCounterOptionsSchema.parse(options);
    const seen = new Set<string>();
    for (const { name } of lines) {
      if (seen.has(name)) {
        throw new Error(`counting line "${name}" is defined twice; counts are kept per name — rename one of them`);
      }
      seen.add(name);
    }
    this.#lines = lines.map((line) => new LineGeometry(line));
  }

  /** How many tracks the counter holds state for: only live ones, since ended tracks are forgotten. */
  get tracksRemembered(): number {
    return this.#memories.size;
  }

  /**
   * Per line name, how many confirmed tracks have come within its hysteresis band on the segment (or crossed it)
   * since the counter started. One object that passes the line as two tracks (a lost and re-found identity) counts
   * two here: divided by a hand count of the objects that crossed, this is the track fragmentation `veil eval`
   * reports, the measured figure behind the privacy unit (a track, not a person).
   */
  tracksReaching(): Record<string, number> {
    return Object.fromEntries(this.#lines.map((line) => [line.name, this.#tracksReaching.get(line.name) ?? 0]));
  }

  /** Feeds one frame's tracker output; returns the crossings completed in that frame. */
  update({ tracks, ended, leftFrame = [] }: TrackerUpdate): LineCrossing[] {
    // The last step of a track that drove out of the frame, from its last detection to beyond the edge.
    const crossings = leftFrame.flatMap((track) => this.#follow(track, this.#memories.get(track.handle) ?? []));
    for (const handle of ended) this.#memories.delete(handle);
    for (const track of tracks) crossings.push(...this.#follow(track, this.#memories.get(track.handle) ?? this.#startRemembering(track)));
    return crossings;
  }

  /** Moves the track's memories of every line to where it is now; returns the crossings that completes. */
  #follow(track: TrackedObject, memories: LineMemory[]): LineCrossing[] {
    return memories.flatMap((memory) => {
      const direction = this.#observe(memory, track.referencePoint, track.velocity);
      return direction === undefined ? [] : [{ line: memory.line.name, cocoClass: track.cocoClass, direction }];
    });
  }

  /**
   * First sight of a confirmed track: its memories start from where it was born, so that a crossing made while the
   * track was still tentative is not lost.
   */
  #startRemembering(track: TrackedObject): LineMemory[] {
    const memories = this.#lines.map(
      (line): LineMemory => ({ line, side: undefined, lastPoint: undefined, lastMeetingAlong: undefined, counted: false, reached: false }),
    );
    for (const memory of memories) this.#observe(memory, track.originReferencePoint, track.velocity);
    this.#memories.set(track.handle, memories);
    return memories;
  }

  /** Counts the track among those that reached the line, the first time it is in the band on the segment or crosses it. */
  #noteReach(memory: LineMemory, point: Point, inBand: boolean): void {
    const { line } = memory;
    if (memory.reached) return;
    const inBandOnSegment = inBand && line.withinSegment(line.projectionAlong(point), 0);
    const metOnSegment = memory.lastMeetingAlong !== undefined && line.withinSegment(memory.lastMeetingAlong, 0);
    if (!inBandOnSegment && !metOnSegment) return;
    memory.reached = true;
    this.#tracksReaching.set(line.name, (this.#tracksReaching.get(line.name) ?? 0) + 1);
  }

  /**
   * Moves one track's memory of one line to `point`; returns a direction when that completes a countable crossing:
   * the point is now clearly on the other side, the path (step by step, not the chord) last met the line within the
   * segment, the track has not crossed this line before, and its motion coming into this frame (`velocity`) goes
   * the same way. A step against the track's own motion is a jump to another object (an identity switch onto the
   * car behind), not a crossing: the new side is taken without counting, so the object's real crossing still counts.
   */
  #observe(memory: LineMemory, point: Point, velocity: Point): CrossingDirection | undefined {
    const { line } = memory;
    if (memory.lastPoint !== undefined) memory.lastMeetingAlong = line.meetingAlong(memory.lastPoint, point) ?? memory.lastMeetingAlong;
    memory.lastPoint = point;
    const distance = line.signedDistance(point);
    const inBand = Math.abs(distance) <= this.#options.hysteresisBand;
    this.#noteReach(memory, point, inBand);
    if (inBand) return undefined;
    const side: Side = distance > 0 ? 1 : -1;
    const previousSide = memory.side;
    const meetingAlong = memory.lastMeetingAlong;
    memory.side = side;
    memory.lastMeetingAlong = undefined;
    if (previousSide === undefined || previousSide === side || meetingAlong === undefined || memory.counted) return undefined;
    if (!line.withinSegment(meetingAlong, this.#options.segmentMargin)) return undefined;
    if (line.normalSpeed(velocity) * side <= 0) return undefined;
    memory.counted = true;
    return side === 1 ? 'forward' : 'backward';
  }
}
