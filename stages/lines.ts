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
 * What one tracked object can add to one line's counts, over its whole life: one crossing, in one direction.
 * The privacy stage uses this as the per-line sensitivity of a crossing count.
 */
export const maxCrossingsPerObjectPerLine = 1;

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
  /** How far beyond either end of the line a crossing still counts: boxes are noisy near the ends too. */
  segmentMargin: z.number().min(0).max(0.2).default(0.02),
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
  /** The last reference point seen on that side: where the crossing path starts. */
  lastPointOnSide: Point | undefined;
  counted: boolean;
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

  /** Whether the path start → end (on opposite sides) meets the line within the segment, give or take `margin`. */
  crossesWithinSegment(start: Point, end: Point, margin: number): boolean {
    const startDistance = this.signedDistance(start);
    const fraction = startDistance / (startDistance - this.signedDistance(end));
    const crossingX = start.x + fraction * (end.x - start.x);
    const crossingY = start.y + fraction * (end.y - start.y);
    const alongLine = (crossingX - this.#from.x) * this.#along.x + (crossingY - this.#from.y) * this.#along.y;
    return alongLine >= -margin && alongLine <= this.#length + margin;
  }
}

export class LineCounter {
  readonly #lines: LineGeometry[];
  readonly #options: z.output<typeof lineCounterOptionsSchema>;
  /** Per live track, one memory per line. Emptied as tracks end. */
  readonly #memories = new Map<TrackHandle, LineMemory[]>();

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

  /** Feeds one frame's tracker output; returns the crossings completed in that frame. */
  update({ tracks, ended }: TrackerUpdate): LineCrossing[] {
    for (const handle of ended) this.#memories.delete(handle);
    const crossings: LineCrossing[] = [];
    for (const track of tracks) {
      for (const memory of this.#memories.get(track.handle) ?? this.#startRemembering(track)) {
        const direction = this.#observe(memory, track.referencePoint);
        if (direction !== undefined) crossings.push({ line: memory.line.name, cocoClass: track.cocoClass, direction });
      }
    }
    return crossings;
  }

  /**
   * First sight of a confirmed track: its memories start from where it was born, so that a crossing made while the
   * track was still tentative is not lost.
   */
  #startRemembering(track: TrackedObject): LineMemory[] {
    const memories = this.#lines.map(
      (line): LineMemory => ({ line, side: undefined, lastPointOnSide: undefined, counted: false }),
    );
    for (const memory of memories) this.#observe(memory, track.originReferencePoint);
    this.#memories.set(track.handle, memories);
    return memories;
  }

  /** Moves one track's memory of one line to `point`; returns a direction when that completes a countable crossing. */
  #observe(memory: LineMemory, point: Point): CrossingDirection | undefined {
    const { line } = memory;
    const distance = line.signedDistance(point);
    if (Math.abs(distance) <= this.#options.hysteresisBand) return undefined;
    const side: Side = distance > 0 ? 1 : -1;
    const previousSide = memory.side;
    const pathStart = memory.lastPointOnSide;
    memory.side = side;
    memory.lastPointOnSide = point;
    if (previousSide === undefined || previousSide === side || pathStart === undefined) return undefined;
    if (memory.counted || !line.crossesWithinSegment(pathStart, point, this.#options.segmentMargin)) return undefined;
    memory.counted = true;
    return side === 1 ? 'forward' : 'backward';
  }
}
