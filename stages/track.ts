/**
 * Multi-object tracking over the analysed frames: SORT (a constant-velocity Kalman filter per track, optimal
 * assignment against the predicted boxes) with ByteTrack's second pass, which lets low-score detections — a car
 * half hidden behind a truck — keep an existing track alive instead of being thrown away.
 *
 *   frame ──▶ end tracks without a high-score detection for maxLostSeconds (their state is dropped)
 *         ──▶ predict every track to the frame's time (dt from ptsSeconds); end those predicted out of the frame
 *         ──▶ pass 1: high-score detections  ↔ tracks seen within 1 s   (Hungarian, IoU or Mahalanobis gate)
 *         ──▶ pass 2: low-score detections   ↔ those tracks left        (same gate)
 *         ──▶ pass 3: high-score detections  ↔ confirmed tracks unseen longer (re-acquisition: near the prediction)
 *         ──▶ end tentative tracks that found no detection
 *         ──▶ unmatched high-score detections start tentative tracks; tentative → confirmed after N hits
 *
 * Re-acquisition: a confirmed track hidden for up to MAX_COAST_SECONDS (behind a lorry, a pillar, a missed
 * detection or two) and found again where its motion says it should be continues under the same handle, so the
 * counting lines it has crossed stay counted and an occlusion adds neither a crossing nor a visit.
 *
 * Privacy: tracks live only in this object's memory. A track's identity is an opaque, empty, frozen object
 * (`TrackHandle`): consumers can tell two tracks apart by object identity, but there is no number or string to
 * log, serialise or publish — `JSON.stringify` of a handle is `{}` whatever the track.
 *
 * One deliberate departure from ByteTrack: pass 2 also serves tentative tracks, and its matches count as hits
 * towards confirmation. ByteTrack confirms from high-score detections only, which suits 30 fps video where a new
 * track gets many high-score chances a second. At 2–10 fps a distant or half-hidden vehicle often scores 0.3–0.5
 * for most of its few frames on screen (measured on the overpass clip: 2 of its 10 right-lane cars would be lost);
 * tracks are still born only from high-score detections, and every low-score match must pass the motion gate.
 *
 * Example:
 *   const tracker = new Tracker();
 *   for await (const frame of analysedFrames) {
 *     const { tracks, ended } = tracker.update(frame);
 *     lineCounter.update({ tracks, ended });
 *   }
 */
import { z } from 'zod';
import { bottomCentre, intersectionOverUnion, type Box, type CountedClass, type Detection } from '../models/detection.ts';
import type { AnalysedFrame } from '../streams/frame.ts';
import { assignMinimumCost } from './assign.ts';
import { BoxKalmanFilter } from './kalman.ts';

/**
 * The longest a confirmed track can go without a high-score detection and still continue as the same track
 * (re-acquisition; low-score matches keep it located but do not extend this), in seconds of stream time. A visit of ρ seconds can thus hold one track for up to ρ + MAX_COAST_SECONDS: the privacy stage adds
 * this to ρ when it counts the windows one visit can touch.
 *
 * Why it holds: `maxLostSeconds` cannot be set above it (the options schema), and every update first ends the tracks
 * whose last high-score detection is older, before any matching. Proved by test/stages/track.test.ts ("never re-acquires a track unseen for
 * longer than MAX_COAST_SECONDS"). Occupancy's count of a track the detector missed (`TrackerUpdate.coasting`)
 * stops at the latest COASTING_PRESENT_SECONDS (1 s) after its last high-score detection, inside this bound
 * (test/stages/track.test.ts, "reports a confirmed track the detector missed as coasting").
 */
export const MAX_COAST_SECONDS = 3;

/**
 * How many classes one track is counted under within one window (indeed over its whole life): one. The class is
 * voted over the detections that confirmed the track and then fixed, so a car the detector calls a truck for a
 * moment (or a person) is still counted as the car it was confirmed as, and a class flip cannot put one object into
 * two classes' occupancy or crossings.
 *
 * Why it holds: `TrackedObject.cocoClass` is read from `Track.countedClass`, which is set once, when the track is
 * confirmed. Proved by test/stages/track.test.ts ("counts a track under one class however often the detector flips").
 */
export const MAX_CLASSES_PER_TRACK_PER_WINDOW = 1;

export const trackerOptionsSchema = z
  .strictObject({
    /** Detections at or above this score are trusted: matched first, and the only ones that start tracks. */
    highScoreThreshold: z.number().gt(0).lt(1).default(0.5),
    /** Detections between this and `highScoreThreshold` may only continue a track (ByteTrack's pass 2). */
    lowScoreThreshold: z.number().gt(0).lt(1).default(0.1),
    /**
     * Matched frames a new track needs before it is reported: filters short-lived false positives (SORT: 3). A crossing
     * made before confirmation still counts (see `originReferencePoint`).
     */
    minHitsToConfirm: z.number().int().min(1).default(3),
    /**
     * Two matched frames at least this far apart also confirm a track. At 2 fps three frames take 1.5 s, and a car first detected
     * at the line is gone before it is confirmed; a detector's false positive seldom lasts half a second where the
     * motion model expects it. At 5 fps and more, minHitsToConfirm comes first.
     */
    minSecondsToConfirm: z.number().positive().default(0.5),
    /**
     * A confirmed track without a high-score detection for this long ends; until then it may be re-acquired. At most
     * MAX_COAST_SECONDS, the bound the privacy stage relies on.
     */
    maxLostSeconds: z.number().positive().max(MAX_COAST_SECONDS).default(MAX_COAST_SECONDS),
    /** Overlap between a predicted box and a detection that is enough to match them (ByteTrack: 0.2). */
    minIou: z.number().gt(0).lt(1).default(0.2),
    /**
     * Which point of the box is the object's position for zones and lines: the bottom centre, where it meets the
     * ground (side-on and oblique cameras), or the box centre (cameras looking straight down).
     */
    referencePoint: z.enum(['bottom-centre', 'centre']).default('bottom-centre'),
    /** See BoxMotionNoise in stages/kalman.ts. DeepSORT's 1/20 of the box. */
    measurementStdPerSize: z.number().positive().default(0.05),
    /**
     * A car driving towards the camera speeds up in the image as it nears: about 2.5 box heights/s² on the overpass
     * clip at the counting line. Much less and the filter loses it between 2 fps frames; much more and the gate lets
     * a track jump to the car in the next lane.
     */
    accelerationStdPerSize: z.number().positive().default(2),
    /**
     * Large on purpose: at 2 fps a car crossing a junction moves 1–2 box lengths between frames, so a new track's
     * second detection is far from its first and only a wide initial gate finds it. Where confirmed tracks have
     * moved before, a new track takes their velocity and its spread there instead (see MOTION_GRID).
     */
    initialVelocityStdPerSize: z.number().positive().default(4),
  })
  .refine((options) => options.lowScoreThreshold < options.highScoreThreshold, {
    message: 'lowScoreThreshold must be below highScoreThreshold (detections between the two feed ByteTrack pass 2)',
    path: ['lowScoreThreshold'],
  });
export type TrackerOptions = z.input<typeof trackerOptionsSchema>;
type ResolvedTrackerOptions = z.output<typeof trackerOptionsSchema>;

declare const trackHandleBrand: unique symbol;
/** A track's identity: compare with `===`, use as a Map key; it holds nothing and serialises to `{}`. */
export type TrackHandle = { readonly [trackHandleBrand]: true };

export interface Point {
  x: number;
  y: number;
}

/** One confirmed track as seen in one frame. Nothing here identifies the object beyond this process's memory. */
export interface TrackedObject {
  handle: TrackHandle;
  /** The class voted when the track was confirmed, fixed for its life (see MAX_CLASSES_PER_TRACK_PER_WINDOW). */
  cocoClass: CountedClass;
  /** The filtered box, normalised. */
  box: Box;
  /** The object's position now (see `referencePoint` in the options). */
  referencePoint: Point;
  /**
   * How the reference point was moving coming into this frame, in normalised units per second: the filter's
   * velocity before this frame's detection was applied. A counting line counts a crossing only in the direction of
   * this motion; after the detection, the velocity would follow a jump to another object.
   */
  velocity: Point;
  /**
   * Where the object was first detected, before the track was confirmed: a counting line that meets this track for
   * the first time measures its movement from here, so an object that crosses while still tentative is counted.
   */
  originReferencePoint: Point;
}

export interface TrackerUpdate {
  /** Confirmed tracks matched to a detection in this frame; tracks coasting on prediction alone are left out. */
  tracks: TrackedObject[];
  /** Confirmed tracks that ended in this frame: consumers must drop whatever they kept about them. */
  ended: TrackHandle[];
  /**
   * Those of `ended` that ended because their prediction left the frame, as predicted now (box and reference point
   * partly outside the frame): where they went after the last detection. A counting line near the edge they left
   * by was crossed on the way out, where no detector could see it.
   */
  leftFrame?: TrackedObject[];
  /**
   * Confirmed tracks the detector missed in this frame, for at most two frames in a row and at most a second after
   * their last high-score detection, predicted inside the frame, at their predicted place: objects still there that
   * the detector missed for a moment (a walker scoring below the low-score threshold, one half hidden by another).
   * Occupancy counts them, since the object is in view; counting lines do not follow them, since a prediction is no
   * evidence of a crossing. One that lies mostly inside an object matched in this frame is left out: that is the
   * matched one, followed twice.
   */
  coasting?: TrackedObject[];
}

/**
 * Which classes may continue each other's track. The detector often calls one van a car in one frame and a truck
 * in the next (and a bus is a big truck to it), and swaps bicycle and motorcycle the same way; but a person never
 * becomes a car, nor a car a bicycle — such a match would be another object, so it is forbidden.
 */
const ASSOCIATION_GROUP = {
  person: 'pedestrian',
  bicycle: 'two-wheeler',
  motorcycle: 'two-wheeler',
  car: 'motor-vehicle',
  bus: 'motor-vehicle',
  truck: 'motor-vehicle',
} as const satisfies Record<CountedClass, string>;

// χ² with 4 degrees of freedom at 95 %, DeepSORT's gate: a true match lands outside it one frame in twenty, and then
// usually still overlaps its prediction enough for the IoU rescue. At 99 % (13.28), a 2 fps track on the overpass
// clip took the car behind it in the next lane.
const MAHALANOBIS_GATE_CHI2_4DOF = 9.4877;

// The Mahalanobis gate of a track unseen for a second spans most of the frame; a box more than twice as big or small
// as the prediction is then another object (a new car far away, not the one that just left the frame near by).
const MAX_MOTION_MATCH_SIZE_RATIO = 2;

// Tracks unseen for longer than this match only by re-acquisition (pass 3): by then the motion gate has grown to most
// of the frame, so a high-score detection near the prediction is required instead.
const SHORT_LOSS_SECONDS = 1;

// An unmatched confirmed track still counts as in view (occupancy) for a frame or two the detector missed, and at
// most a second after its last high-score detection. Longer, its prediction is a guess: a walker's filter drifts off
// them within a second, and counting it was one walker counted twice (campus sample at 10 fps, where a second is ten
// frames). Only confident evidence counts for the time: a prediction carried on by low-score matches alone drifts
// onto the person next to it (the same sample at 5 fps).
const MAX_COASTING_FRAMES = 2;
const COASTING_PRESENT_SECONDS = 1;

// How far from its path a track may be re-acquired, in predicted box sizes (the larger of width and height). The path
// runs from where it was last seen to where constant velocity puts it now: a pedestrian who stops behind a pillar is
// found near its start, one who walks on near its end.
const REACQUIRE_RADIUS_BOX_SIZES = 1.5;

// The detector boxes only what it sees, so a detection is always inside the frame; a track whose predicted box is less
// than half inside has driven or walked out of it.
const MIN_VISIBLE_FRACTION = 0.5;

// A new detection lying mostly inside the box of an object tracked in this frame is a part of it (a head and shoulders,
// the cab of a lorry) that NMS kept because its overlap with the whole is small: it must not start a second track.
const PART_OF_TRACKED_OBJECT = 0.7;

// A new track starts with the velocity confirmed tracks have had where it is born (one-way traffic, a corridor): at
// 2 fps a new car's second detection is a box length on, and from rest the car behind looks just as likely. Its
// uncertainty is their spread there, not the uninformed initialVelocityStdPerSize: with that wide a gate, a car first
// seen near the bottom edge took the car in the next lane at its second frame (overpass, line 6 px above the bottom
// edge, 2 fps: 23 → 25 of 27). A coarse grid, slowly averaged: lanes and walkways, not individual paths.
const MOTION_GRID = 8;
const MOTION_LEARNING_RATE = 0.1;

// A confirmed track moving at least this fast (box sizes per second: a car crossing the picture, a walking person)
// is not matched to a detection more than REVERSAL_BOX_SIZES behind where it was last seen. Nothing that moves at
// speed turns back by a quarter of its length between two frames 0.1–0.5 s apart; the car behind it, or the next
// person in a queue, is there. At 2 fps such a step took tracks off cars about to leave the picture across a line
// near the edge (overpass near the bottom edge: 21 → 23 of 27), and the car it lost was not counted.
const MOVING_BOX_SIZES_PER_SECOND = 0.5;
const REVERSAL_BOX_SIZES = 0.25;

// Costs are in [0, 1) for allowed pairs (see #matchCost); 1 both forbids a pair and prices leaving a track unmatched.
const FORBIDDEN_COST = 1;

/** How confirmed tracks have moved through one grid cell: mean velocity (normalised units/s) and its spread. */
interface UsualMotion {
  x: number;
  y: number;
  /** Variance of the tracks' velocities about the mean, per axis, in (box sizes per second)². */
  spreadSquared: number;
  /** Velocities folded in so far (the prior counts as the first). */
  observations: number;
}

interface Track {
  handle: TrackHandle;
  filter: BoxKalmanFilter;
  group: (typeof ASSOCIATION_GROUP)[CountedClass];
  /** Per class: how many matched detections said so, and their summed score (the tie-breaker); until confirmation. */
  classVotes: Map<CountedClass, { hits: number; scoreSum: number }>;
  /** Voted from classVotes when the track is confirmed; never changes afterwards. */
  countedClass: CountedClass | undefined;
  /** The reference point's velocity after this frame's prediction, before its detection (see TrackedObject). */
  approachVelocity: Point;
  hits: number;
  confirmed: boolean;
  lastMatchedSeconds: number;
  /** Analysed frames since the track was last matched (0 in a frame that matched it). */
  framesMissed: number;
  /** When a high-score detection last matched: only those keep a track going past maxLostSeconds. */
  lastHighScoreSeconds: number;
  /** The score of the detection last matched. */
  lastScore: number;
  bornSeconds: number;
  /** The filtered box when it was last matched: where re-acquisition's path starts. */
  lastSeenBox: Box;
  originReferencePoint: Point;
}

export class Tracker {
  readonly #options: ResolvedTrackerOptions;
  #tracks: Track[] = [];
  #lastPtsSeconds: number | undefined;
  /** Tracks confirmed since the tracker started, per class they were confirmed as. */
  readonly #tracksConfirmed = new Map<CountedClass, number>();
  /** Per cell of a MOTION_GRID × MOTION_GRID grid over the frame: how confirmed tracks there have been moving. */
  readonly #usualMotion = new Map<number, UsualMotion>();

  constructor(options: TrackerOptions = {}) {
    this.#options = trackerOptionsSchema.parse(options);
  }

  /** How many tracks have been confirmed since the tracker started (a count, for `veil eval`'s fragmentation). */
  get tracksConfirmed(): number {
    return [...this.#tracksConfirmed.values()].reduce((sum, count) => sum + count, 0);
  }

  /** The same, per class the tracks were confirmed as (classes with none left out): eval's tracks per visit. */
  tracksConfirmedByClass(): Partial<Record<CountedClass, number>> {
    return Object.fromEntries(this.#tracksConfirmed);
  }

  /**
   * The score of the detection last matched to a live track (for the drift monitor, stages/drift.ts), or undefined
   * for a handle whose track has ended. Read it for the tracks of the latest update: for them it is this frame's.
   */
  matchedScore(handle: TrackHandle): number | undefined {
    return this.#tracks.find((track) => track.handle === handle)?.lastScore;
  }

  update(frame: AnalysedFrame): TrackerUpdate {
    const ended: TrackHandle[] = [];
    const dtSeconds = frame.ptsSeconds - (this.#lastPtsSeconds ?? frame.ptsSeconds);
    this.#lastPtsSeconds = frame.ptsSeconds;
    if (dtSeconds < 0) {
      // Time went backwards: a live camera restarted its clock. Nothing predicted across the jump can be trusted,
      // so every track ends rather than matching against a nonsense prediction.
      ended.push(...this.#endTracks(() => true));
    }
    // Ended before matching, not after: a track gone longer than maxLostSeconds must not grab a detection first.
    ended.push(
      ...this.#endTracks((track) => frame.ptsSeconds - track.lastHighScoreSeconds > this.#options.maxLostSeconds),
    );
    for (const track of this.#tracks) {
      track.filter.predict(Math.max(dtSeconds, 0));
      track.approachVelocity = this.#referenceVelocity(track.filter);
    }
    // A track predicted mostly out of the frame has left the scene: the detector only sees what is inside, and such a
    // track would otherwise take whatever appears nearest the edge it left by (the car behind, in the next lane).
    // Only a track seen within the last second is known to have left by that way; one coasting longer might have
    // stopped or turned anywhere, and its counting lines are left as they are.
    const leaving = (track: Track) => visibleFraction(track.filter.box) < MIN_VISIBLE_FRACTION;
    const seenLeaving = (track: Track) => track.confirmed && leaving(track) && frame.ptsSeconds - track.lastMatchedSeconds <= SHORT_LOSS_SECONDS;
    const leftFrame = this.#tracks.filter(seenLeaving).map((track) => this.#describe(track));
    ended.push(...this.#endTracks(leaving));

    const { highScoreThreshold, lowScoreThreshold } = this.#options;
    const high = frame.detections.filter((d) => d.score >= highScoreThreshold);
    const low = frame.detections.filter((d) => d.score >= lowScoreThreshold && d.score < highScoreThreshold);
    const recentlySeen = (track: Track) => frame.ptsSeconds - track.lastMatchedSeconds <= SHORT_LOSS_SECONDS;

    const matched = new Set<Track>();
    const recent = this.#tracks.filter(recentlySeen);
    const unmatchedHigh = this.#associate(recent, high, matched, frame.ptsSeconds, (t, d) => this.#matchCost(t, d));
    this.#associate(
      recent.filter((track) => !matched.has(track)),
      low,
      matched,
      frame.ptsSeconds,
      (t, d) => this.#matchCost(t, d),
    );
    const unclaimedHigh = this.#associate(
      this.#tracks.filter((track) => track.confirmed && !recentlySeen(track)),
      unmatchedHigh,
      matched,
      frame.ptsSeconds,
      reacquisitionCost,
    );

    // A tentative track that misses a frame was most likely a false positive: ByteTrack drops it at once.
    ended.push(...this.#endTracks((track) => !track.confirmed && !matched.has(track)));
    const matchedBoxes = [...matched].map((track) => ({ group: track.group, box: track.filter.box }));
    for (const detection of unclaimedHigh.filter((d) => !matchedBoxes.some((m) => m.group === ASSOCIATION_GROUP[d.cocoClass] && containedFraction(d.box, m.box) >= PART_OF_TRACKED_OBJECT))) {
      const track = this.#startTrack(detection, frame.ptsSeconds);
      this.#tracks.push(track);
      matched.add(track);
    }

    const tracks = this.#tracks
      .filter((track) => track.confirmed && matched.has(track))
      .map((track) => this.#describe(track));
    for (const track of this.#tracks) if (!matched.has(track)) track.framesMissed += 1;
    const seenBoxes = tracks.map((tracked) => ({ group: ASSOCIATION_GROUP[tracked.cocoClass], box: tracked.box }));
    const coasting = this.#tracks
      .filter((track) => track.confirmed && !matched.has(track) && track.framesMissed <= MAX_COASTING_FRAMES && frame.ptsSeconds - track.lastHighScoreSeconds <= COASTING_PRESENT_SECONDS)
      .filter((track) => !seenBoxes.some((seen) => seen.group === track.group && containedFraction(track.filter.box, seen.box) >= PART_OF_TRACKED_OBJECT))
      .map((track) => this.#describe(track));
    return { tracks, ended, leftFrame, coasting };
  }

  /**
   * Matches detections to tracks (optimal assignment), updates the matched tracks and adds them to `matched`.
   * @returns the detections left unmatched.
   */
  #associate(
    tracks: Track[],
    detections: Detection[],
    matched: Set<Track>,
    ptsSeconds: number,
    matchCost: (track: Track, detection: Detection) => number,
  ): Detection[] {
    const costs = tracks.map((track) => detections.map((detection) => matchCost(track, detection)));
    const columnOfRow = assignMinimumCost(costs, FORBIDDEN_COST);
    const taken = new Set<number>();
    columnOfRow.forEach((column, row) => {
      const track = tracks[row];
      const detection = detections[column];
      if (track === undefined || detection === undefined) return;
      taken.add(column);
      matched.add(track);
      const from = boxCentre(track.lastSeenBox);
      track.filter.update(detection.box);
      track.lastSeenBox = track.filter.box;
      if (track.confirmed) this.#learnMotion(track, from);
      this.#recordHit(track, detection, ptsSeconds);
    });
    return detections.filter((_, column) => !taken.has(column));
  }

  /**
   * How unlikely it is that `detection` is `track` now: in [0, 1) when they may match, FORBIDDEN_COST otherwise.
   *
   * Two kinds of evidence, and the stronger one sets the cost:
   *   - motion: the squared Mahalanobis distance from the Kalman prediction, as a fraction of the 95 % gate. It
   *     widens by itself where the filter is unsure — a new track whose velocity is unknown, a track unseen for a
   *     while, a big jump at 2 fps — and stays tight on a steady track;
   *   - overlap with the predicted box, cost 1 − IoU (SORT, ByteTrack): it rescues a match when the filter is
   *     overconfident, e.g. a car that brakes hard.
   * Neither may take a confirmed track moving at speed back behind where it was last seen (see reversesAtSpeed).
   * One scale for both matters: with overlap always ranked first, at 2 fps a new track (predicted where it was)
   * would take the car behind it, which has just driven into its old place, rather than its own car a box further.
   */
  #matchCost(track: Track, detection: Detection): number {
    if (ASSOCIATION_GROUP[detection.cocoClass] !== track.group) return FORBIDDEN_COST;
    if (track.confirmed && reversesAtSpeed(track, detection)) return FORBIDDEN_COST;
    const predicted = track.filter.box;
    const overlapCost = 1 - intersectionOverUnion(predicted, detection.box);
    const motionCost =
      sizeRatio(predicted, detection.box) <= MAX_MOTION_MATCH_SIZE_RATIO
        ? track.filter.mahalanobisSquared(detection.box) / MAHALANOBIS_GATE_CHI2_4DOF
        : FORBIDDEN_COST;
    const cost = Math.min(motionCost, overlapCost);
    return motionCost < 1 || overlapCost <= 1 - this.#options.minIou ? cost : FORBIDDEN_COST;
  }

  /** Counts a detection towards the track's confirmation and class (the filter is updated by the caller). */
  #recordHit(track: Track, detection: Detection, ptsSeconds: number): void {
    track.hits += 1;
    track.lastMatchedSeconds = ptsSeconds;
    track.framesMissed = 0;
    track.lastScore = detection.score;
    if (detection.score >= this.#options.highScoreThreshold) track.lastHighScoreSeconds = ptsSeconds;
    if (track.confirmed) return;
    const votes = track.classVotes.get(detection.cocoClass) ?? { hits: 0, scoreSum: 0 };
    votes.hits += 1;
    votes.scoreSum += detection.score;
    track.classVotes.set(detection.cocoClass, votes);
    const { minHitsToConfirm, minSecondsToConfirm } = this.#options;
    if (track.hits >= minHitsToConfirm || (track.hits >= 2 && ptsSeconds - track.bornSeconds >= minSecondsToConfirm - 1e-9)) {
      track.confirmed = true;
      track.countedClass = majorityClass(track.classVotes);
      this.#tracksConfirmed.set(track.countedClass, (this.#tracksConfirmed.get(track.countedClass) ?? 0) + 1);
    }
  }

  #startTrack(detection: Detection, ptsSeconds: number): Track {
    const track: Track = {
      handle: Object.freeze(Object.create(null)) as TrackHandle,
      filter: this.#newFilter(detection.box),
      group: ASSOCIATION_GROUP[detection.cocoClass],
      classVotes: new Map(),
      countedClass: undefined,
      approachVelocity: { x: 0, y: 0 },
      hits: 0,
      confirmed: false,
      lastMatchedSeconds: ptsSeconds,
      framesMissed: 0,
      lastHighScoreSeconds: ptsSeconds,
      lastScore: detection.score,
      bornSeconds: ptsSeconds,
      lastSeenBox: detection.box,
      originReferencePoint: this.#referencePoint(detection.box),
    };
    this.#recordHit(track, detection, ptsSeconds);
    return track;
  }

  /** Removes the tracks that `shouldEnd` picks; returns the handles of the confirmed ones (the only ones ever seen). */
  #endTracks(shouldEnd: (track: Track) => boolean): TrackHandle[] {
    const ending = this.#tracks.filter(shouldEnd);
    this.#tracks = this.#tracks.filter((track) => !shouldEnd(track));
    return ending.filter((track) => track.confirmed).map((track) => track.handle);
  }

  /**
   * Folds a confirmed track's velocity into the usual motion of the grid cells its last step went through, from
   * `from` to where it is now (exponential average; at 2 fps one step spans several cells): a scene-wide memory of
   * how things move where, with no track in it.
   */
  #learnMotion(track: Track, from: Point): void {
    const { centreX, centreY } = track.filter.velocity;
    const to = boxCentre(track.filter.box);
    const size = Math.max(track.filter.box.width, track.filter.box.height);
    const cells = new Set<number>();
    for (let step = 0; step <= MOTION_GRID; step++) {
      const cell = motionCell({ x: from.x + ((to.x - from.x) * step) / MOTION_GRID, y: from.y + ((to.y - from.y) * step) / MOTION_GRID });
      if (cell !== undefined) cells.add(cell);
    }
    for (const cell of cells) {
      // Mean and variance of the velocities seen, each new one weighted 1/n until that falls to MOTION_LEARNING_RATE
      // (a running average that becomes an exponential one, so a cell follows a change of traffic). The variance
      // starts from the uninformed prior as one pseudo-observation: one car does not make a cell certain.
      const known = this.#usualMotion.get(cell);
      if (known === undefined) {
        this.#usualMotion.set(cell, { x: centreX, y: centreY, spreadSquared: this.#options.initialVelocityStdPerSize ** 2, observations: 1 });
        continue;
      }
      const rate = Math.max(1 / (known.observations + 1), MOTION_LEARNING_RATE);
      const deviationSquared = ((centreX - known.x) ** 2 + (centreY - known.y) ** 2) / 2 / size ** 2;
      this.#usualMotion.set(cell, {
        x: known.x + rate * (centreX - known.x),
        y: known.y + rate * (centreY - known.y),
        spreadSquared: known.spreadSquared + rate * (deviationSquared - known.spreadSquared),
        observations: known.observations + 1,
      });
    }
  }

  /**
   * A new track's filter, at `box`, moving as objects usually do there (see #learnMotion), as uncertain as their
   * spread; where nothing has been seen yet, at rest with the uninformed spread (`initialVelocityStdPerSize`).
   */
  #newFilter(box: Box): BoxKalmanFilter {
    const cell = motionCell(boxCentre(box));
    const usual = cell === undefined ? undefined : this.#usualMotion.get(cell);
    if (usual === undefined) return new BoxKalmanFilter(box, this.#options);
    const spread = Math.min(Math.sqrt(usual.spreadSquared), this.#options.initialVelocityStdPerSize);
    return new BoxKalmanFilter(box, { ...this.#options, initialVelocityStdPerSize: spread }, usual);
  }

  #describe(track: Track): TrackedObject {
    const box = track.filter.box;
    if (track.countedClass === undefined) throw new Error('Tracker: a confirmed track has no class (internal error)');
    return {
      handle: track.handle,
      cocoClass: track.countedClass,
      box,
      referencePoint: this.#referencePoint(box),
      velocity: track.approachVelocity,
      originReferencePoint: track.originReferencePoint,
    };
  }

  /** The velocity of the reference point: the box centre's, plus half the height's growth for the bottom centre. */
  #referenceVelocity(filter: BoxKalmanFilter): Point {
    const { centreX, centreY, height } = filter.velocity;
    return { x: centreX, y: this.#options.referencePoint === 'bottom-centre' ? centreY + height / 2 : centreY };
  }

  #referencePoint(box: Box): Point {
    return this.#options.referencePoint === 'bottom-centre' ? bottomCentre(box) : boxCentre(box);
  }
}

/**
 * Pass 3's cost: how far a high-score detection's centre lies from the track's path while unseen — the segment from
 * its centre when last seen to its predicted centre now — as a fraction of the re-acquisition radius; FORBIDDEN_COST
 * beyond it, across association groups, or at a size more than MAX_MOTION_MATCH_SIZE_RATIO off the prediction.
 */
function reacquisitionCost(track: Track, detection: Detection): number {
  if (ASSOCIATION_GROUP[detection.cocoClass] !== track.group) return FORBIDDEN_COST;
  const predicted = track.filter.box;
  const found = detection.box;
  if (sizeRatio(predicted, found) > MAX_MOTION_MATCH_SIZE_RATIO) return FORBIDDEN_COST;
  const offset = distanceToSegment(boxCentre(found), boxCentre(track.lastSeenBox), boxCentre(predicted));
  const cost = offset / (REACQUIRE_RADIUS_BOX_SIZES * Math.max(predicted.width, predicted.height));
  return cost < 1 ? cost : FORBIDDEN_COST;
}

/**
 * Whether matching `detection` would have a confirmed track, moving at speed, step back against its own motion from
 * where it was last seen: behind it by more than REVERSAL_BOX_SIZES of its size, while its filtered speed is at
 * least MOVING_BOX_SIZES_PER_SECOND. Such a step is another object (the car behind), not this one reversing.
 */
function reversesAtSpeed(track: Track, detection: Detection): boolean {
  const { centreX, centreY } = track.filter.velocity;
  const speed = Math.hypot(centreX, centreY);
  const last = track.lastSeenBox;
  const size = Math.max(last.width, last.height);
  if (speed < MOVING_BOX_SIZES_PER_SECOND * size) return false;
  const from = boxCentre(last);
  const to = boxCentre(detection.box);
  const along = ((to.x - from.x) * centreX + (to.y - from.y) * centreY) / speed;
  return along < -REVERSAL_BOX_SIZES * size;
}

/** The usual-motion grid cell of a point, or undefined outside the frame. */
function motionCell({ x, y }: Point): number | undefined {
  if (!(x >= 0 && x < 1 && y >= 0 && y < 1)) return undefined;
  return Math.floor(y * MOTION_GRID) * MOTION_GRID + Math.floor(x * MOTION_GRID);
}

/** How many times bigger or smaller one box is than the other, on its worse side (1 for equal sizes). */
function sizeRatio(a: Box, b: Box): number {
  return Math.max(a.width / b.width, b.width / a.width, a.height / b.height, b.height / a.height);
}

function boxCentre(box: Box): Point {
  return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
}

/** Euclidean distance from `point` to the segment start–end. */
function distanceToSegment(point: Point, start: Point, end: Point): number {
  const dx = end.x - start.x;
  const dy = end.y - start.y;
  const lengthSquared = dx * dx + dy * dy;
  const fraction = lengthSquared === 0 ? 0 : Math.min(1, Math.max(0, ((point.x - start.x) * dx + (point.y - start.y) * dy) / lengthSquared));
  return Math.hypot(point.x - (start.x + fraction * dx), point.y - (start.y + fraction * dy));
}

/** The fraction of `inner`'s area that lies inside `outer`. */
function containedFraction(inner: Box, outer: Box): number {
  const width = Math.min(inner.x + inner.width, outer.x + outer.width) - Math.max(inner.x, outer.x);
  const height = Math.min(inner.y + inner.height, outer.y + outer.height) - Math.max(inner.y, outer.y);
  return width <= 0 || height <= 0 ? 0 : (width * height) / (inner.width * inner.height);
}

/** The fraction of the box's area inside the frame (normalised coordinates). */
function visibleFraction(box: Box): number {
  const insideWidth = Math.min(box.x + box.width, 1) - Math.max(box.x, 0);
  const insideHeight = Math.min(box.y + box.height, 1) - Math.max(box.y, 0);
  return insideWidth <= 0 || insideHeight <= 0 ? 0 : (insideWidth * insideHeight) / (box.width * box.height);
}

function majorityClass(votes: Map<CountedClass, { hits: number; scoreSum: number }>): CountedClass {
  let best: [CountedClass, { hits: number; scoreSum: number }] | undefined;
  for (const entry of votes) {
    const [, candidate] = entry;
    if (
      best === undefined ||
      candidate.hits > best[1].hits ||
      (candidate.hits === best[1].hits && candidate.scoreSum > best[1].scoreSum)
    ) {
      best = entry;
    }
  }
  if (best === undefined) throw new Error('Tracker: a track without any detection has no class (internal error)');
  return best[0];
}
