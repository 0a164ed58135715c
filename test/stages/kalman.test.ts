import { describe, expect, it } from 'vitest';
import { BoxKalmanFilter, type BoxMotionNoise } from '../../stages/kalman.ts';
import { boxStandingAt, seededRandom } from './trajectories.ts';

const noise: BoxMotionNoise = { measurementStdPerSize: 0.05, accelerationStdPerSize: 2, initialVelocityStdPerSize: 4 };

/** Feeds the filter the box of an object moving at `velocity` at each of `times`; returns the filter. */
function followConstantVelocity(times: number[], velocity: [number, number]): BoxKalmanFilter {
  const at = (t: number) => boxStandingAt(0.2 + velocity[0] * t, 0.3 + velocity[1] * t);
  const filter = new BoxKalmanFilter(at(times[0] ?? 0), noise);
  for (let i = 1; i < times.length; i++) {
    filter.predict((times[i] ?? 0) - (times[i - 1] ?? 0));
    filter.update(at(times[i] ?? 0));
  }
  return filter;
}

describe('BoxKalmanFilter', () => {
  it('learns a constant velocity and extrapolates it over the time actually elapsed', () => {
    const filter = followConstantVelocity([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0], [0.2, 0.1]);
    filter.predict(0.5);
    const expected = boxStandingAt(0.2 + 0.2 * 1.5, 0.3 + 0.1 * 1.5);
    expect(filter.box.x).toBeCloseTo(expected.x, 2);
    expect(filter.box.y).toBeCloseTo(expected.y, 2);
    expect(filter.box.width).toBeCloseTo(expected.width, 3);
  });

  it('handles irregular gaps between frames (dropped frames, odd clip rates)', () => {
    const irregular = followConstantVelocity([0, 0.1, 0.4, 0.5, 1.1, 1.2, 1.5, 2.0], [-0.15, 0.05]);
    irregular.predict(0.7);
    const expected = boxStandingAt(0.2 - 0.15 * 2.7, 0.3 + 0.05 * 2.7);
    expect(irregular.box.x).toBeCloseTo(expected.x, 2);
    expect(irregular.box.y).toBeCloseTo(expected.y, 2);
  });

  it('follows a 2 fps car that jumps 15 % of the frame per step', () => {
    const filter = followConstantVelocity([0, 0.5, 1.0, 1.5], [0, 0.3]);
    filter.predict(0.5);
    expect(filter.box.y).toBeCloseTo(boxStandingAt(0.2, 0.3 + 0.3 * 2).y, 2);
  });

  it('does not move when no time passes, and refuses time going backwards', () => {
    const filter = followConstantVelocity([0, 0.1, 0.2], [0.3, 0]);
    const before = filter.box;
    filter.predict(0);
    expect(filter.box).toEqual(before);
    expect(() => filter.predict(-0.1)).toThrow(/presentation order/);
    expect(() => filter.predict(Number.NaN)).toThrow(/dtSeconds/);
  });

  it('widens its gate the longer an object goes unseen', () => {
    const farBox = boxStandingAt(0.5, 0.3);
    const briefly = followConstantVelocity([0, 0.1, 0.2, 0.3, 0.4], [0, 0]);
    const longer = followConstantVelocity([0, 0.1, 0.2, 0.3, 0.4], [0, 0]);
    briefly.predict(0.1);
    longer.predict(2);
    expect(longer.mahalanobisSquared(farBox)).toBeLessThan(briefly.mahalanobisSquared(farBox) / 10);
  });

  it('is uncertain about a new track: a jump of 1.5 box heights in 0.5 s is inside the 95 % gate, 10 are not', () => {
    const height = 0.05;
    const filter = new BoxKalmanFilter(boxStandingAt(0.5, 0.3, 0.05, height), noise);
    filter.predict(0.5);
    const gate = 9.4877;
    expect(filter.mahalanobisSquared(boxStandingAt(0.5, 0.3 + 1.5 * height, 0.05, height))).toBeLessThan(gate);
    expect(filter.mahalanobisSquared(boxStandingAt(0.5, 0.3 + 10 * height, 0.05, height))).toBeGreaterThan(gate);
  });

  it('smooths detector jitter: the filtered centre is closer to the truth than the measurements', () => {
    const random = seededRandom(7);
    const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    const truthAt = (t: number) => boxStandingAt(0.1 + 0.1 * t, 0.5);
    const filter = new BoxKalmanFilter(truthAt(0), noise);
    let measurementError = 0;
    let filteredError = 0;
    for (let i = 1; i <= 100; i++) {
      const truth = truthAt(i * 0.1);
      const measured = { ...truth, x: truth.x + gaussian() * 0.05 * truth.width };
      filter.predict(0.1);
      filter.update(measured);
      if (i > 20) {
        measurementError += (measured.x - truth.x) ** 2;
        filteredError += (filter.box.x - truth.x) ** 2;
      }
    }
    expect(filteredError).toBeLessThan(measurementError * 0.7);
  });

  it('never predicts a box of negative size', () => {
    const filter = new BoxKalmanFilter({ x: 0.4, y: 0.4, width: 0.2, height: 0.2 }, noise);
    filter.predict(0.1);
    filter.update({ x: 0.45, y: 0.45, width: 0.1, height: 0.1 });
    filter.predict(10);
    expect(filter.box.width).toBeGreaterThan(0);
    expect(filter.box.height).toBeGreaterThan(0);
  });
});
