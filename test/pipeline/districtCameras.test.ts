/**
 * What a box with several cameras sums for its district, and what that costs in noise: L counts every line summed on
 * the box, across cameras, and the district's noise is planned for (L·m)². The variances are worked out here by hand
 * from ε and δ (Bun & Steinke 2016, Prop. 1.3; σ² = Δ₂²/(2ρ)), not taken from the modules.
 */
import { describe, expect, it } from 'vitest';
import { contributingCameras } from '../../pipeline/districtCameras.ts';
import { districtNoise, districtSecureAggregationSchema } from '../../pipeline/secureAggregationDistrict.ts';
import { toNumber } from '../../stages/privacy/rational.ts';

const SITE = [
  { id: 'road', lines: [{ name: 'into-town' }, { name: 'out-of-town' }] },
  { id: 'bridge', lines: [{ name: 'across' }] },
];

describe('the lines a box sums across its cameras', () => {
  it('counts every line on every contributing camera against linesPerBox', () => {
    // road's two lines and bridge's one: L = 3 on this box.
    expect(contributingCameras({ cameras: ['road', 'bridge'], linesPerBox: 3 }, SITE)).toEqual({
      cameras: [
        { id: 'road', lines: ['into-town', 'out-of-town'] },
        { id: 'bridge', lines: ['across'] },
      ],
      problems: [],
    });
    const over = contributingCameras({ cameras: ['road', 'bridge'], linesPerBox: 1 }, SITE).problems;
    expect(over).toEqual([{ path: ['cameras'], message: expect.stringContaining('the box sums 3 lines (road: into-town, out-of-town; bridge: across), 2 more than linesPerBox = 1') }]);
  });

  it('keeps the single-camera form as it was: the only camera and all of its lines, or those named', () => {
    expect(contributingCameras({ linesPerBox: 2 }, [SITE[0]!]).cameras).toEqual([{ id: 'road', lines: ['into-town', 'out-of-town'] }]);
    expect(contributingCameras({ camera: 'road', lines: ['out-of-town'], linesPerBox: 1 }, SITE).cameras).toEqual([{ id: 'road', lines: ['out-of-town'] }]);
  });

  it('plans the district\'s noise for (L·m)² with L the lines summed on a box', () => {
    const district = (linesPerBox: number) => districtSecureAggregationSchema.parse({ district: 'centre', boxes: ['junction', 'north'], windowSeconds: 900, epsilon: 1, delta: 1e-6, linesPerBox });
    // ε = 1 at δ = 1e-6: √ρ = √(ln 1e6 + 1) − √(ln 1e6), ρ ≈ 0.0177. One line: σ² = 1/(2ρ); three lines, m = 1: 9/(2ρ).
    const logInverseDelta = Math.log(1e6);
    const rho = (Math.sqrt(logInverseDelta + 1) - Math.sqrt(logInverseDelta)) ** 2;
    expect(toNumber(districtNoise(district(1)).releaseVariance)).toBeCloseTo(1 / (2 * rho), 6);
    expect(toNumber(districtNoise(district(3)).releaseVariance)).toBeCloseTo(9 / (2 * rho), 6);
    // Two boxes, no dropout tolerated: each box adds half of it.
    expect(toNumber(districtNoise(district(3)).boxVariance)).toBeCloseTo(9 / (4 * rho), 6);
  });
});
