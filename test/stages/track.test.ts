import { describe, expect, it } from 'vitest';
import type { Detection } from '../../models/detection.ts';
import { LineCounter } from '../../stages/lines.ts';
import { MAX_CLASSES_PER_TRACK_PER_WINDOW, MAX_COAST_SECONDS, Tracker, type TrackHandle, type TrackerUpdate } from '../../stages/track.ts';
import { WindowAccumulator } from '../../stages/window.ts';
import { countInZones, WHOLE_FRAME_ZONE } from '../../stages/zones.ts';
import { COUNTED_CLASSES } from '../../models/detection.ts';
import { boxStandingAt, countCrossings, detection, sampleFrames, straightLine, track, type Trajectory } from './trajectories.ts';

/** Every distinct handle that appears in the updates, in order of first appearance. */
function handlesSeen(updates: TrackerUpdate[]): TrackHandle[] {
  return [...new Set(updates.flatMap((update) => update.tracks.map((t) => t.handle)))];
}

/** Replaces a trajectory's detections inside [fromSeconds, toSeconds) with `during(detection)`. */
function alteredBetween(
  trajectory: Trajectory,
  fromSeconds: number,
  toSeconds: number,
  during: (d: Detection) => Detection | undefined,
): Trajectory {
  return (t) => {
    const seen = trajectory(t);
    return seen !== undefined && t >= fromSeconds - 1e-9 && t < toSeconds - 1e-9 ? during(seen) : seen;
  };
}

describe('Tracker', () => {
  it('reports a track only once it is confirmed, then keeps one identity for it', () => {
    const updates = track(sampleFrames([straightLine([0.2, 0.3], [0.1, 0.05])], 5, 3));
    expect(updates.slice(0, 2).every((u) => u.tracks.length === 0)).toBe(true);
    expect(updates.slice(2).every((u) => u.tracks.length === 1)).toBe(true);
    expect(handlesSeen(updates)).toHaveLength(1);
  });

  it('follows a 2 fps car that moves 15 % of the frame per step, confirmed at its second frame (0.5 s on)', () => {
    const updates = track(sampleFrames([straightLine([0.5, 0.15], [0, 0.3])], 2, 2.5));
    expect(handlesSeen(updates)).toHaveLength(1);
    expect(updates.filter((u) => u.tracks.length === 1)).toHaveLength(updates.length - 1);
    const last = updates.at(-1)?.tracks[0];
    expect(last?.referencePoint.y).toBeCloseTo(0.15 + 0.3 * 2.5, 2);
  });

  it('keeps two objects moving side by side apart', () => {
    const left = straightLine([0.4, 0.1], [0, 0.25]);
    const right = straightLine([0.5, 0.1], [0, 0.25]);
    const updates = track(sampleFrames([left, right], 5, 3));
    const handles = handlesSeen(updates);
    expect(handles).toHaveLength(2);
    for (const update of updates.slice(2)) {
      const [a, b] = [...update.tracks].sort((p, q) => p.referencePoint.x - q.referencePoint.x);
      expect(a?.handle).toBe(handles[0]);
      expect(b?.handle).toBe(handles[1]);
    }
  });

  it('keeps two 2 fps cars in one lane apart when the follower drives into the leader\'s old place', () => {
    // Each step the follower reaches exactly where the leader was: a new track (predicted where it was seen) overlaps
    // the follower perfectly, and only the motion model says that the leader is the box further on.
    const leader = straightLine([0.5, 0.3], [0, 0.3]);
    const follower = straightLine([0.5, 0.15], [0, 0.3]);
    const updates = track(sampleFrames([leader, follower], 2, 2), new Tracker({ minHitsToConfirm: 1 }));
    expect(handlesSeen(updates)).toHaveLength(2);
    const handleAt = (update: TrackerUpdate | undefined, front: boolean) =>
      [...(update?.tracks ?? [])].sort((a, b) => b.referencePoint.y - a.referencePoint.y)[front ? 0 : 1]?.handle;
    for (const update of updates.slice(1)) {
      expect(handleAt(update, true)).toBe(handleAt(updates[0], true));
      expect(handleAt(update, false)).toBe(handleAt(updates[0], false));
    }
  });

  it('does not let a 2 fps lorry\'s track step back onto the one behind when its own is missed', () => {
    // Tall boxes (0.4 high) driving down at 0.24/s, 0.6 box heights a second: a step back onto a box a third of its
    // height behind where the lorry was last seen still overlaps the prediction (IoU 0.25), enough for a match on
    // overlap alone. The leader is missed from t = 3.5 s; the follower is first detected then, 0.12 behind.
    const lorry = (bottomAt0: number, from: number, to: number): Trajectory => (t) =>
      t >= from - 1e-9 && t < to - 1e-9 ? detection({ x: 0.35, y: bottomAt0 + 0.24 * t - 0.4, width: 0.3, height: 0.4 }, 'truck') : undefined;
    const leaderBottomAt3 = 0.2 + 0.24 * 3;
    const updates = track(sampleFrames([lorry(0.2, 0, 3.5), lorry(leaderBottomAt3 - 0.12 - 0.24 * 3.5, 3.5, 5)], 2, 4.5));
    const leaderHandle = updates[6]!.tracks[0]!.handle;
    const later = updates.slice(7).flatMap((update) => update.tracks);
    expect(later.length).toBeGreaterThan(0);
    for (const tracked of later) expect(tracked.handle).not.toBe(leaderHandle);
  });

  it('keeps identities through two objects whose paths cross', () => {
    const rightwards = straightLine([0.2, 0.5], [0.2, 0]);
    const leftwards = straightLine([0.8, 0.53], [-0.2, 0], 'car');
    const updates = track(sampleFrames([rightwards, leftwards], 5, 3));
    expect(handlesSeen(updates)).toHaveLength(2);
    const first = updates[2]?.tracks.find((t) => t.referencePoint.x < 0.5)?.handle;
    const last = updates.at(-1)?.tracks.find((t) => t.referencePoint.x > 0.5)?.handle;
    expect(first).toBeDefined();
    expect(last).toBe(first);
  });

  it('bridges a short loss: the same track is found again and not reported while unseen', () => {
    const flickering = alteredBetween(straightLine([0.2, 0.2], [0.1, 0.1]), 1, 1.6, () => undefined);
    const updates = track(sampleFrames([flickering], 5, 3));
    expect(handlesSeen(updates)).toHaveLength(1);
    expect(updates.flatMap((u) => u.ended)).toHaveLength(0);
    const unseen = updates.filter((_, i) => i / 5 >= 1 && i / 5 < 1.6 - 1e-9);
    expect(unseen.every((u) => u.tracks.length === 0)).toBe(true);
  });

  it('reports a confirmed track the detector missed as coasting, at its prediction, for two frames and at most a second', () => {
    // Walking right at 0.1 of the frame per second; missed at 1.0 s, then gone for good from 2.0 s (last seen 1.8 s).
    const walker = straightLine([0.2, 0.5], [0.1, 0], 'person');
    const missed: Trajectory = (t) => (Math.abs(t - 1) < 1e-9 || t > 2 - 1e-9 ? undefined : walker(t));
    const updates = track(sampleFrames([missed], 5, 3.4));
    const [handle] = handlesSeen(updates);
    const at = (seconds: number) => updates[Math.round(seconds * 5)]!;
    expect(at(1).tracks).toEqual([]);
    expect(at(1).coasting?.map((t) => t.handle)).toEqual([handle]);
    expect(at(1).coasting?.[0]?.referencePoint.x).toBeCloseTo(0.2 + 0.1 * 1, 2);
    // Seen frames are not coasting ones.
    expect(at(1.2).coasting).toEqual([]);
    // The first two frames it is missed (2.0 and 2.2 s), then no more: at 5 fps two frames are 0.4 s.
    for (const seconds of [2, 2.2]) expect(at(seconds).coasting?.map((t) => t.handle), `${seconds} s`).toEqual([handle]);
    for (const seconds of [2.4, 2.6, 3, 3.4]) expect(at(seconds).coasting, `${seconds} s`).toEqual([]);
    // At 1.25 frames/s (the slowest the motion gate lets a detector run) two frames are 1.6 s: the second is over.
    const slow = track(sampleFrames([(t) => (t > 2.5 ? undefined : walker(t))], 1.25, 5));
    expect(slow[4]!.coasting).toHaveLength(1);
    expect(slow[5]!.coasting).toEqual([]);

    // The second counts from the last high-score detection: low-score matches locate a track, they do not make its
    // prediction evidence. Faint (0.3) from 1 s, missed from 1.8 s: at 2 s, last matched 0.4 s before but last
    // confidently detected 1.2 s before (0.8 s), it is not reported.
    const fading: Trajectory = (t) => (t > 1.8 - 1e-9 ? undefined : t > 1 - 1e-9 ? { ...walker(t)!, score: 0.3 } : walker(t));
    const faded = track(sampleFrames([fading], 5, 3));
    expect(faded[8]!.tracks).toHaveLength(1);
    expect(faded[10]!.tracks).toEqual([]);
    expect(faded[10]!.coasting).toEqual([]);
  });

  it('does not report a coasting track that lies on an object matched in the same frame (one object followed twice)', () => {
    // Two boxes on one person from the start (the whole body and most of it), so two tracks; from 1 s the detector
    // keeps only the whole body. The smaller track's prediction lies inside the matched one: it is not a second person.
    const whole = straightLine([0.5, 0.6], [0.05, 0], 'person');
    const most: Trajectory = (t) => {
      const box = whole(t)!.box;
      return t < 1 - 1e-9 ? detection({ ...box, y: box.y + 0.02, height: box.height - 0.02 }, 'person') : undefined;
    };
    const updates = track(sampleFrames([whole, most], 5, 2));
    expect(handlesSeen(updates)).toHaveLength(2);
    expect(updates.slice(5).every((u) => u.tracks.length === 1 && u.coasting?.length === 0)).toBe(true);
    // Beside it instead, the second person is still there while the detector misses them.
    const beside: Trajectory = (t) => (t < 1 - 1e-9 ? straightLine([0.62, 0.6], [0.05, 0], 'person')(t) : undefined);
    const apart = track(sampleFrames([whole, beside], 5, 2));
    expect(apart[5]!.coasting).toHaveLength(1);
  });

  it('ends a track not matched for maxLostSeconds and reports its end once', () => {
    const vanishing = alteredBetween(straightLine([0.2, 0.2], [0.1, 0]), 1, 99, () => undefined);
    const updates = track(sampleFrames([vanishing], 5, 3), new Tracker({ maxLostSeconds: 0.5 }));
    const [handle] = handlesSeen(updates);
    const endings = updates.flatMap((u, i) => u.ended.map(() => i));
    // Last seen in frame 4 (0.8 s); frame 7 (1.4 s) is the first one more than 0.5 s later.
    expect(endings).toEqual([7]);
    expect(updates[7]?.ended).toEqual([handle]);
  });

  it('keeps an occluded object on its track with low-score detections (ByteTrack pass 2), up to maxLostSeconds', () => {
    // Half hidden (score 0.3) from 1 s to 3 s.
    const occluded = (score: number) =>
      alteredBetween(straightLine([0.1, 0.4], [0.15, 0]), 1, 3, (d) => ({ ...d, score }));

    const withLowScores = track(sampleFrames([occluded(0.3)], 5, 4), new Tracker({ maxLostSeconds: 2.5 }));
    expect(handlesSeen(withLowScores)).toHaveLength(1);
    expect(withLowScores.every((u, i) => i < 2 || u.tracks.length === 1)).toBe(true);

    const belowLowThreshold = track(sampleFrames([occluded(0.05)], 5, 4), new Tracker({ maxLostSeconds: 0.5 }));
    expect(handlesSeen(belowLowThreshold)).toHaveLength(2);

    // Low-score matches alone do not keep a track for ever: a static false positive flickering at 0.3 (a cone) ends
    // maxLostSeconds after its last high-score detection, and is not counted as present after that.
    const flickering = alteredBetween(straightLine([0.4, 0.4], [0, 0]), 1, 99, (d) => ({ ...d, score: 0.3 }));
    const lingering = track(sampleFrames([flickering], 5, 4), new Tracker({ maxLostSeconds: 1 }));
    expect(handlesSeen(lingering)).toHaveLength(1);
    // Last high-score detection at 0.8 s; 2.0 s (frame 10) is the first frame more than 1 s later.
    expect(lingering.flatMap((u, i) => u.ended.map(() => i))).toEqual([10]);
    expect(lingering.slice(10).every((u) => u.tracks.length === 0)).toBe(true);
  });

  it('confirms a track born from one high-score detection and continued by low-score ones', () => {
    const faintAfterBirth: Trajectory = (t) => {
      const seen = straightLine([0.3, 0.3], [0.1, 0.1])(t);
      return seen && { ...seen, score: t === 0 ? 0.9 : 0.3 };
    };
    const updates = track(sampleFrames([faintAfterBirth], 5, 2));
    expect(handlesSeen(updates)).toHaveLength(1);
    expect(updates.slice(2).every((u) => u.tracks.length === 1)).toBe(true);
  });

  it('does not let a lost track take over a much smaller object far away', () => {
    // A big near car waits at the bottom edge, then is gone; 1.5 s later a small far car appears at the top. After
    // that long unseen, the big track's motion gate spans the frame: only the size says it is another object.
    const waiting: Trajectory = (t) => (t < 1 ? detection(boxStandingAt(0.4, 1, 0.3, 0.3)) : undefined);
    const arriving: Trajectory = (t) => (t >= 2.4 ? detection(boxStandingAt(0.5, 0.12, 0.06, 0.06)) : undefined);
    const updates = track(sampleFrames([waiting, arriving], 5, 3.5), new Tracker({ maxLostSeconds: 2 }));
    expect(handlesSeen(updates)).toHaveLength(2);
  });

  it('ends a track gone longer than maxLostSeconds before it can match again', () => {
    // Last seen at 0.6 s and back at 1.8 s, 1.2 s later: the old track must end, and the object start a new one.
    const returning: Trajectory = (t) => (t > 0.7 && t < 1.7 ? undefined : straightLine([0.3, 0.5], [0.05, 0])(t));
    const updates = track(sampleFrames([returning], 5, 3), new Tracker({ maxLostSeconds: 1 }));
    expect(handlesSeen(updates)).toHaveLength(2);
    expect(updates.findIndex((u) => u.ended.length > 0)).toBe(9);
  });

  it('never starts a track from low-score detections', () => {
    const faint = (t: number) => ({ ...detection(boxStandingAt(0.5, 0.5 + 0.05 * t)), score: 0.3 });
    const updates = track(sampleFrames([faint], 5, 2));
    expect(updates.every((u) => u.tracks.length === 0)).toBe(true);
  });

  it('lets car/truck/bus continue one track and reports the class voted when it was confirmed', () => {
    const flipping: Trajectory = (t) => {
      const seen = straightLine([0.3, 0.3], [0.1, 0.05])(t);
      const step = Math.round(t * 5);
      return seen && { ...seen, cocoClass: step % 3 === 1 ? 'truck' : step % 5 === 4 ? 'bus' : 'car' };
    };
    const updates = track(sampleFrames([flipping], 5, 3));
    expect(handlesSeen(updates)).toHaveLength(1);
    expect(updates.at(-1)?.tracks[0]?.cocoClass).toBe('car');
  });

  it('counts the tracks it confirmed, per class they were confirmed as (eval divides them by labelled visits)', () => {
    const tracker = new Tracker();
    // Two cars and a person far apart for 3 s; a fourth object seen in one frame only is never confirmed.
    const once: Trajectory = (t) => (t < 0.1 ? detection(boxStandingAt(0.9, 0.9), 'bicycle') : undefined);
    track(sampleFrames([straightLine([0.1, 0.2], [0.05, 0]), straightLine([0.1, 0.6], [0.05, 0]), straightLine([0.7, 0.3], [0, 0.05], 'person'), once], 5, 3), tracker);
    expect(tracker.tracksConfirmedByClass()).toEqual({ car: 2, person: 1 });
    expect(tracker.tracksConfirmed).toBe(3);
  });

  it('counts a track under one class however often the detector flips, so a window sees it in one class only', () => {
    // Confirmed as a car (3 car detections), then called a truck in 2 of every 3 frames: a running vote would turn it
    // into a truck mid-window and put one vehicle into both classes' occupancy.
    const flipping: Trajectory = (t) => {
      const seen = straightLine([0.2, 0.3], [0.1, 0.05])(t);
      const step = Math.round(t * 5);
      return seen && { ...seen, cocoClass: step < 3 || step % 3 === 0 ? 'car' : 'truck' };
    };
    const updates = track(sampleFrames([flipping], 5, 6));
    expect(handlesSeen(updates)).toHaveLength(1);
    const windows = new WindowAccumulator(2, [WHOLE_FRAME_ZONE.name], [], 'clip');
    const closed = updates.map((update, index) => windows.add(index / 5, countInZones(update.tracks, [WHOLE_FRAME_ZONE]), []));
    const aggregates = [...closed, windows.close()].filter((w) => w !== undefined);
    expect(aggregates).toHaveLength(4);
    for (const aggregate of aggregates) {
      const occupancy = aggregate.zones[WHOLE_FRAME_ZONE.name]!;
      const classesSeen = COUNTED_CLASSES.filter((name) => (occupancy[name]?.peakOccupancy ?? 0) > 0);
      expect(classesSeen.length).toBeLessThanOrEqual(MAX_CLASSES_PER_TRACK_PER_WINDOW);
    }
    expect(MAX_CLASSES_PER_TRACK_PER_WINDOW).toBe(1);
  });

  it('re-acquires a track hidden for longer than a frame gap where its motion says it is, keeping its counted lines', () => {
    // A car hidden for 1.6 s while it crosses the line (a lorry in front): a new track born below the line would
    // count nothing; the re-acquired one completes the crossing, once.
    const car = straightLine([0.5, 0.45], [0, 0.1]);
    const hidden: Trajectory = (t) => (t > 1.1 && t < 2.7 ? undefined : car(t));
    const updates = track(sampleFrames([hidden], 5, 5));
    expect(handlesSeen(updates)).toHaveLength(1);
    const counter = new LineCounter([{ name: 'road', from: [0.1, 0.6], to: [0.9, 0.6] }]);
    expect(updates.flatMap((update) => counter.update(update))).toEqual([{ line: 'road', cocoClass: 'car', direction: 'forward' }]);
  });

  it('a track re-acquired after an occlusion keeps its counted lines: a person who crosses, hides and steps back adds one crossing', () => {
    // Down across the line, 2 s behind a pillar just below it, then back up across it: one track, one crossing.
    const walker: Trajectory = (t) => {
      if (t > 1.5 && t < 3.5) return undefined;
      const y = t <= 1.5 ? 0.45 + 0.12 * t : t < 4 ? 0.63 : 0.63 - 0.12 * (t - 4);
      return detection(boxStandingAt(0.5, y), 'person');
    };
    const counter = new LineCounter([{ name: 'kerb', from: [0.1, 0.6], to: [0.9, 0.6] }]);
    const crossings = countCrossings(sampleFrames([walker], 5, 6), counter);
    expect(crossings).toEqual([{ line: 'kerb', cocoClass: 'person', direction: 'forward' }]);
  });

  it('never re-acquires a track unseen for longer than MAX_COAST_SECONDS, nor one found far from its prediction', () => {
    const standing = straightLine([0.4, 0.5], [0, 0], 'person');
    const hiddenFor = (seconds: number): Trajectory => (t) => (t > 1 && t < 1 + seconds ? undefined : standing(t));
    const handlesWhenHidden = (seconds: number) => handlesSeen(track(sampleFrames([hiddenFor(seconds)], 5, seconds + 3))).length;
    expect(handlesWhenHidden(MAX_COAST_SECONDS - 0.4)).toBe(1);
    expect(handlesWhenHidden(MAX_COAST_SECONDS + 0.4)).toBe(2);
    expect(() => new Tracker({ maxLostSeconds: MAX_COAST_SECONDS + 1 })).toThrow(/maxLostSeconds/);
    // Back after 2 s, three box widths to the side of where it stood: another person.
    const elsewhere: Trajectory = (t) => (t > 1 && t < 3 ? undefined : t <= 1 ? standing(t) : detection(boxStandingAt(0.64, 0.5), 'person'));
    expect(handlesSeen(track(sampleFrames([elsewhere], 5, 5)))).toHaveLength(2);
  });

  it('starts no second track on a part of an object it already follows (head and shoulders inside the whole person)', () => {
    const walker = straightLine([0.3, 0.6], [0.05, 0], 'person');
    const upperBody: Trajectory = (t) => {
      const whole = walker(t)!.box;
      return t >= 1 ? detection({ x: whole.x + 0.01, y: whole.y, width: whole.width - 0.02, height: whole.height * 0.45 }, 'person', 0.6) : undefined;
    };
    expect(handlesSeen(track(sampleFrames([walker, upperBody], 5, 3)))).toHaveLength(1);
    // A second person beside the first is not a part of it.
    const beside = straightLine([0.36, 0.6], [0.05, 0], 'person');
    expect(handlesSeen(track(sampleFrames([walker, beside], 5, 3)))).toHaveLength(2);
  });

  it('starts a new track with the motion seen there before, so at 2 fps it follows its own car, not the one behind', () => {
    // One-way traffic at 0.6 of the frame per second down x = 0.5, sampled at 2 fps (0.3 per frame, two box heights).
    const carFrom = (startSeconds: number, startY: number): Trajectory => (t) =>
      t >= startSeconds && startY + 0.6 * (t - startSeconds) < 0.95 ? detection(boxStandingAt(0.5, startY + 0.6 * (t - startSeconds), 0.1, 0.15)) : undefined;
    const earlier = [0, 2, 4].map((start) => carFrom(start, 0.1));
    // At 8 s a car is first detected at y = 0.5 (0.8 half a second later); then a car behind it appears at 0.35, one
    // box height from where the first was: from rest, that is the nearer match.
    const first = carFrom(8, 0.5);
    const behind = carFrom(8.5, 0.35);
    const handleNear = (updates: TrackerUpdate[], seconds: number, y: number) =>
      updates[seconds * 2]?.tracks.find((t) => Math.abs(t.referencePoint.y - y) < 0.05)?.handle;
    const run = (trajectories: Trajectory[]) => track(sampleFrames(trajectories, 2, 9), new Tracker({ minHitsToConfirm: 1 }));

    const withHistory = run([...earlier, first, behind]);
    expect(handleNear(withHistory, 8.5, 0.8)).toBe(handleNear(withHistory, 8, 0.5));
    // The same two cars on an empty road, with nothing seen before them, swap identities.
    const withoutHistory = run([first, behind]);
    expect(handleNear(withoutHistory, 8.5, 0.35)).toBe(handleNear(withoutHistory, 8, 0.5));
  });

  it('narrows a new track\'s motion gate to how tracks moved where it is born: a 2 fps car does not jump to the next lane', () => {
    // The same one-way lane as above: cars at 0.6 of the frame per second straight down x = 0.5, boxes 0.1 wide.
    const carFrom = (startSeconds: number, startY: number, x = 0.5): Trajectory => (t) =>
      t >= startSeconds && startY + 0.6 * (t - startSeconds) < 0.95 ? detection(boxStandingAt(x, startY + 0.6 * (t - startSeconds), 0.1, 0.15)) : undefined;
    const earlier = [0, 1, 2, 3, 4, 5, 6].map((start) => carFrom(start, 0.1));
    // At 8 s a car is first seen at y = 0.5 and then missed; half a second later a car appears in the next lane, three
    // box widths to the side, level with where the first car would be (0.3 on).
    const seenOnce: Trajectory = (t) => (Math.abs(t - 8) < 1e-9 ? carFrom(8, 0.5)(t) : undefined);
    const nextLane = carFrom(8.5, 0.8, 0.8);
    const run = (trajectories: Trajectory[]) => track(sampleFrames(trajectories, 2, 8.5), new Tracker({ minHitsToConfirm: 1 }));
    const handleAt = (updates: TrackerUpdate[], x: number) => updates.at(-1 - (x === 0.5 ? 1 : 0))?.tracks.find((t) => Math.abs(t.referencePoint.x - x) < 0.03)?.handle;

    // Where every car went straight down, a car does not move three widths sideways in half a second: another track.
    const withHistory = run([...earlier, seenOnce, nextLane]);
    expect(handleAt(withHistory, 0.5)).toBeDefined();
    expect(handleAt(withHistory, 0.8)).toBeDefined();
    expect(handleAt(withHistory, 0.8)).not.toBe(handleAt(withHistory, 0.5));
    // With nothing seen before, the uninformed gate (4 box sizes/s either way) takes it as the same car.
    const withoutHistory = run([seenOnce, nextLane]);
    expect(handleAt(withoutHistory, 0.8)).toBeDefined();
    expect(handleAt(withoutHistory, 0.8)).toBe(handleAt(withoutHistory, 0.5));
  });

  it('never lets a person continue a car track', () => {
    const carThenPerson: Trajectory = (t) =>
      detection(boxStandingAt(0.5 + 0.02 * t, 0.5), t < 1.5 - 1e-9 ? 'car' : 'person');
    const updates = track(sampleFrames([carThenPerson], 5, 3));
    const handles = handlesSeen(updates);
    expect(handles).toHaveLength(2);
    const classes = updates.flatMap((u) => u.tracks.map((t) => [handles.indexOf(t.handle), t.cocoClass]));
    expect(new Set(classes.map(String))).toEqual(new Set(['0,car', '1,person']));
  });

  it('ends every track when time goes backwards (a live camera restarting its clock)', () => {
    const tracker = new Tracker();
    const updates = track(sampleFrames([straightLine([0.2, 0.2], [0.1, 0])], 5, 1), tracker);
    const [handle] = handlesSeen(updates);
    const restart = tracker.update({ index: 6, ptsSeconds: 0, detections: [detection(boxStandingAt(0.3, 0.2))] });
    expect(restart.ended).toEqual([handle]);
    expect(restart.tracks).toHaveLength(0);
  });

  it('gives nothing that identifies a track to JSON: the handle serialises to {} and no field holds an id', () => {
    const updates = track(sampleFrames([straightLine([0.2, 0.2], [0.1, 0]), straightLine([0.2, 0.6], [0.1, 0])], 5, 1));
    const last = updates.at(-1);
    expect(last?.tracks).toHaveLength(2);
    expect(JSON.stringify(last?.tracks.map((t) => t.handle))).toBe('[{},{}]');
    const keys = new Set<string>();
    JSON.parse(JSON.stringify(last), (key, value: unknown) => {
      if (key !== '' && !/^\d+$/.test(key)) keys.add(key);
      return value;
    });
    const geometry = ['x', 'y', 'width', 'height'];
    expect([...keys].sort()).toEqual(
      ['tracks', 'ended', 'leftFrame', 'coasting', 'handle', 'cocoClass', 'box', 'referencePoint', 'velocity', 'originReferencePoint', ...geometry].sort(),
    );
    expect(Reflect.ownKeys(last?.tracks[0]?.handle ?? { missing: true })).toEqual([]);
  });

  it('rejects contradictory options with the field to fix', () => {
    expect(() => new Tracker({ lowScoreThreshold: 0.6, highScoreThreshold: 0.5 })).toThrow(/lowScoreThreshold/);
  });
});
