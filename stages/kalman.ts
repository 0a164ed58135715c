/**
 * A constant-velocity Kalman filter over one tracked box, SORT-style, that knows how much time passed between
 * frames. Veil samples at 2–10 fps, live mode drops frames and some clips store odd rates, so every prediction
 * takes the real gap in seconds (from the frames' ptsSeconds) instead of assuming "one step".
 *
 * State: the box's centre x, centre y, width and height (normalised frame coordinates) and the rate of change of
 * each, in units per second. Measurement: the detector's box, as the same four numbers.
 *
 * Why four independent 2-state filters instead of one 8×8 filter: with the constant-velocity model each axis only
 * moves with its own velocity (F is block-diagonal), the detector only observes positions (H picks one entry per
 * block), and process and measurement noise are diagonal across axes. A covariance that starts block-diagonal
 * therefore stays block-diagonal through every predict and update, so splitting the filter is exact, not an
 * approximation — and each block is a 2×2 matrix that fits in three numbers.
 *
 * Noise scales with the box's size (as in DeepSORT/ByteTrack): a detector's error on a box is a fraction of the
 * box, and a big near object moves more normalised units per second than a small far one.
 */
import type { Box } from '../models/detection.ts';

export interface BoxMotionNoise {
  /** Standard deviation of a detector's box centre or size, as a fraction of the box's size (DeepSORT: 1/20). */
  measurementStdPerSize: number;
  /** Standard deviation of unmodelled acceleration (braking, perspective), in box sizes per second squared. */
  accelerationStdPerSize: number;
  /** Standard deviation of a new track's unknown velocity, in box sizes per second. */
  initialVelocityStdPerSize: number;
}

// A box narrower than this (0.1 % of the frame) is degenerate; the floor keeps noise scales and sizes positive.
const MIN_BOX_SIZE = 1e-3;

/** Position p, velocity v and their covariance [[pp, pv], [pv, vv]] along one axis. */
interface AxisState {
  p: number;
  v: number;
  pp: number;
  pv: number;
  vv: number;
}

type Axes = [centreX: AxisState, centreY: AxisState, width: AxisState, height: AxisState];

function boxMeasurement(box: Box): [number, number, number, number] {
  return [box.x + box.width / 2, box.y + box.height / 2, box.width, box.height];
}

export class BoxKalmanFilter {
  readonly #noise: BoxMotionNoise;
  readonly #axes: Axes;

  /**
   * @param initialVelocity the centre's expected velocity (normalised units per second) when something is known of
   *   it, e.g. how objects there usually move; its uncertainty stays `initialVelocityStdPerSize`. Default: at rest.
   */
  constructor(initial: Box, noise: BoxMotionNoise, initialVelocity: { x: number; y: number } = { x: 0, y: 0 }) {
    this.#noise = noise;
    const z = boxMeasurement(initial);
    const v = [initialVelocity.x, initialVelocity.y, 0, 0];
    const axis = (index: number): AxisState => {
      const size = this.#sizeScale(index, initial);
      const positionStd = noise.measurementStdPerSize * size;
      const velocityStd = noise.initialVelocityStdPerSize * size;
      return { p: z[index] ?? 0, v: v[index] ?? 0, pp: positionStd ** 2, pv: 0, vv: velocityStd ** 2 };
    };
    this.#axes = [axis(0), axis(1), axis(2), axis(3)];
  }

  /** The filter's current estimate of the box. */
  get box(): Box {
    const [cx, cy, w, h] = this.#axes;
    const width = Math.max(w.p, MIN_BOX_SIZE);
    const height = Math.max(h.p, MIN_BOX_SIZE);
    return { x: cx.p - width / 2, y: cy.p - height / 2, width, height };
  }

  /**
   * The filter's current estimate of how fast the box moves, in normalised units per second: its centre (x, y) and
   * its size (width, height).
   */
  get velocity(): { centreX: number; centreY: number; width: number; height: number } {
    const [cx, cy, w, h] = this.#axes;
    return { centreX: cx.v, centreY: cy.v, width: w.v, height: h.v };
  }

  /** Advances the state by `dtSeconds`; zero leaves it unchanged (two frames with the same timestamp). */
  predict(dtSeconds: number): void {
    if (!(dtSeconds >= 0) || !Number.isFinite(dtSeconds)) {
      throw new RangeError(
        `BoxKalmanFilter.predict: dtSeconds must be a finite number ≥ 0, got ${dtSeconds}; ` +
          'frames must reach the tracker in presentation order',
      );
    }
    const box = this.box;
    this.#axes.forEach((axis, index) => {
      // Random-acceleration process noise (continuous white noise on acceleration, spectral density q):
      // Q = q · [[dt³/3, dt²/2], [dt²/2, dt]] — Bar-Shalom, "Estimation with Applications to Tracking", §6.2.
      const q = (this.#noise.accelerationStdPerSize * this.#sizeScale(index, box)) ** 2;
      const dt = dtSeconds;
      axis.p += axis.v * dt;
      axis.pp += 2 * dt * axis.pv + dt * dt * axis.vv + (q * dt ** 3) / 3;
      axis.pv += dt * axis.vv + (q * dt ** 2) / 2;
      axis.vv += q * dt;
    });
    // A shrinking box must not predict a negative size (SORT zeroes the area's velocity for the same reason).
    for (const sizeAxis of [this.#axes[2], this.#axes[3]]) {
      if (sizeAxis.p < MIN_BOX_SIZE) {
        sizeAxis.p = MIN_BOX_SIZE;
        sizeAxis.v = 0;
      }
    }
  }

  /** Corrects the state with a detector's box seen at the time the last `predict` reached. */
  update(measured: Box): void {
    const z = boxMeasurement(measured);
    this.#axes.forEach((axis, index) => {
      const r = this.#measurementVariance(index, measured);
      const innovation = (z[index] ?? 0) - axis.p;
      const s = axis.pp + r;
      const gainP = axis.pp / s;
      const gainV = axis.pv / s;
      axis.p += gainP * innovation;
      axis.v += gainV * innovation;
      // P ← (I − K H) P, written out for the 2×2 block.
      axis.vv -= gainV * axis.pv;
      axis.pv -= gainP * axis.pv;
      axis.pp -= gainP * axis.pp;
    });
  }

  /**
   * Squared Mahalanobis distance of a detector's box from the current prediction, over all four measured numbers:
   * χ²-distributed with 4 degrees of freedom when the box really is this object. It widens by itself with the
   * uncertainty — a new track (unknown velocity) or one not seen for a while accepts a far jump, a steady one doesn't.
   */
  mahalanobisSquared(measured: Box): number {
    const z = boxMeasurement(measured);
    let distanceSquared = 0;
    this.#axes.forEach((axis, index) => {
      const innovation = (z[index] ?? 0) - axis.p;
      distanceSquared += innovation ** 2 / (axis.pp + this.#measurementVariance(index, measured));
    });
    return distanceSquared;
  }

  #measurementVariance(index: number, measured: Box): number {
    return (this.#noise.measurementStdPerSize * this.#sizeScale(index, measured)) ** 2;
  }

  /** Horizontal axes (centre x, width) scale with the box's width, vertical ones with its height. */
  #sizeScale(index: number, box: Box): number {
    return Math.max(index % 2 === 0 ? box.width : box.height, MIN_BOX_SIZE);
  }
}
