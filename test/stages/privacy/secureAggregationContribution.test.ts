/**
 * A box's contribution to a district round against a real ledger on disk: charged like the camera's own release of
 * the statistic — on every contributing camera when the box sums several, all or none — refused when the footage's
 * budget is spent on any of them, and the values it returns are the exact counts plus noise of the box's share.
 */
import { describe, expect, it } from 'vitest';
import type { WindowAggregate } from '../../../stages/aggregates.ts';
import { planDistributedNoise } from '../../../stages/privacy/distributedNoise.ts';
import { crossingsVector, crossingsVectorSensitivity, prepareContribution } from '../../../stages/privacy/secureAggregationContribution.ts';
import { NO_COST } from '../../../stages/privacy/privacyLoss.ts';
import { planReleases, type PrivatePlan } from '../../../stages/privacy/settings.ts';
import { open, useScratchLedger } from './ledgerScratch.ts';

useScratchLedger();

const TRACKER = { maxCrossingsPerTrackPerLine: 1, maxClassesPerTrackPerWindow: 1, maxCoastSeconds: 3 };
/**
 * One line, crossings only, ε = 1 as a discrete Gaussian: the whole ε goes to crossings per 900 s. Planned inside each
 * test, not when the file loads: under mutation testing, planning at load would count as code run outside any test and
 * make Stryker run every test against each mutant of the plan.
 */
function planned() {
  const plan = planReleases({ epsilon: 1, mechanism: 'discrete-gaussian' }, { zoneCount: 0, lineCount: 1, tracker: TRACKER }) as PrivatePlan;
  const crossings = plan.statistics[0]!;
  const noise = planDistributedNoise({ sensitivity: crossings.sensitivity, cost: crossings.cost, boxes: 10, dropoutsTolerated: 0, coordinates: 4 });
  return { plan, crossings, noise };
}
const EXACT = [3n, 0n, 12n, 1n];
const START = 1_764_460_800;
/** A closed 900 s window from START with these crossings per line and class group. */
const windowWith = (lines: WindowAggregate['lines']): WindowAggregate => ({ startSeconds: START, endSeconds: START + 900, windowSeconds: 900, clock: 'wall', framesAnalysed: 9000, zones: {}, lines });

describe('a box\'s contribution to secure aggregation', () => {
  it('charges the window\'s crossings like the camera\'s own release, so a second use of the same span is refused', () => {
    const { plan, crossings, noise } = planned();
    const ledger = open(true);
    const request = { ledger, cameras: [{ camera: 'gate', policy: plan.policy, release: crossings }], startSeconds: START, endSeconds: START + 900, exact: EXACT, noise };
    const first = prepareContribution(request);
    if (!first.granted) throw new Error(`refused: ${first.reason}`);
    // The whole ε was spent on this span's instants; the next window starts fresh (crossings compose in parallel).
    expect(first.budgets[0]!.epsilonLeft).toBeCloseTo(0, 9);
    expect(prepareContribution(request)).toMatchObject({ granted: false, reason: 'span budget spent' });
    expect(prepareContribution({ ...request, startSeconds: START + 900, endSeconds: START + 1800 }).granted).toBe(true);
  });

  it('charges an occupancy statistic to every event its span meets, exactly as the camera\'s own release would', () => {
    const plan = planReleases({ epsilon: 1, mechanism: 'discrete-gaussian' }, { zoneCount: 1, lineCount: 0, tracker: TRACKER }) as PrivatePlan;
    const occupancy = plan.statistics.find((statistic) => statistic.charge === 'event')!;
    // The charge depends on the statistic's cost and kind alone; the noise plan only sets the shares' variance.
    const noise = planDistributedNoise({ sensitivity: { l1: 1, l2Squared: 1 }, cost: occupancy.cost, boxes: 10, dropoutsTolerated: 0, coordinates: 4 });
    const ledger = open(true);
    const span = { startSeconds: START, endSeconds: START + 900, policy: plan.policy };
    const own = ledger.spend({ ...span, camera: 'own-release', eventCost: occupancy.cost, instantCost: NO_COST });
    const contribution = prepareContribution({ ...span, ledger, cameras: [{ camera: 'gate', policy: plan.policy, release: occupancy }], exact: EXACT, noise });
    expect(contribution).toMatchObject({ granted: true, budgets: [own.budget] });
  });

  it('adds noise of the box\'s share only: over many windows the values spread by √v around the exact counts', () => {
    const { plan, crossings, noise } = planned();
    const ledger = open(true);
    const differences: number[] = [];
    for (let window = 0; window < 500; window += 1) {
      const contribution = prepareContribution({ ledger, cameras: [{ camera: 'gate', policy: plan.policy, release: crossings }], startSeconds: START + 900 * window, endSeconds: START + 900 * (window + 1), exact: EXACT, noise });
      if (!contribution.granted) throw new Error(`window ${window} refused: ${contribution.reason}`);
      contribution.values.forEach((value, index) => differences.push(Number(value - EXACT[index]!)));
    }
    // v = σ²/10 with σ² = Δ₂²/(2ρ); 2000 draws: the sample variance's standard error is ≈ v·√(2/2000) ≈ 3 % of v.
    const v = (1 / (2 * Number(crossings.cost.zcdpRho.numerator) / Number(crossings.cost.zcdpRho.denominator))) / 10;
    const variance = differences.reduce((sum, difference) => sum + difference * difference, 0) / differences.length;
    expect(Math.abs(variance / v - 1)).toBeLessThan(0.2);
  });

  it('refuses a vector of the wrong length before charging anything', () => {
    const { plan, crossings, noise } = planned();
    const ledger = open(true);
    const request = { ledger, cameras: [{ camera: 'gate', policy: plan.policy, release: crossings }], startSeconds: START, endSeconds: START + 900, exact: [1n], noise };
    expect(() => prepareContribution(request)).toThrow('the vector of camera "gate" has 1 values, a district vector 4');
    expect(() => prepareContribution({ ...request, cameras: [], exact: EXACT })).toThrow('at least one camera');
    expect(prepareContribution({ ...request, exact: EXACT }).granted).toBe(true);
  });

  it('lays a window\'s crossings out as the district vector: per group, forward then backward, summed over the lines', () => {
    const aggregate = windowWith({
      'north-gate': { person: { forward: 4, backward: 1 }, vehicle: { forward: 7, backward: 0 } },
      'south-gate': { person: { forward: 2, backward: 5 }, vehicle: { forward: 0, backward: 3 } },
      'car-park': { person: { forward: 100, backward: 100 }, vehicle: { forward: 100, backward: 100 } },
    });
    // person: 4 + 2 forward, 1 + 5 backward; vehicle: 7 + 0, 0 + 3. car-park is not in the district.
    expect(crossingsVector([{ aggregate, lines: ['north-gate', 'south-gate'] }], ['person', 'vehicle'])).toEqual([6n, 6n, 7n, 3n]);
    expect(() => crossingsVector([{ aggregate, lines: ['west-gate'] }], ['person'])).toThrow('the window has no crossings of line "west-gate" for "person"');
    // One track crossing both gates once each: +2 in one cell at worst, so L1 = 2 and L2² = 4.
    expect(crossingsVectorSensitivity(2, 1)).toEqual({ l1: 2, l2Squared: 4 });
    // A tracker that lets a track cross each line twice: 3 gates × 2 = 6 in one cell, L2² = 36.
    expect(crossingsVectorSensitivity(3, 2)).toEqual({ l1: 6, l2Squared: 36 });
  });
});

describe('a box that contributes several cameras', () => {

  it('sums every camera\'s lines into one vector', () => {
    const road = windowWith({ 'into-town': { person: { forward: 4, backward: 1 }, vehicle: { forward: 20, backward: 9 } }, 'out-of-town': { person: { forward: 50, backward: 50 }, vehicle: { forward: 50, backward: 50 } } });
    const bridge = windowWith({ across: { person: { forward: 3, backward: 8 }, vehicle: { forward: 0, backward: 2 } } });
    // road's into-town plus bridge's across: person 4 + 3, 1 + 8; vehicle 20 + 0, 9 + 2. out-of-town is not summed.
    expect(crossingsVector([{ aggregate: road, lines: ['into-town'] }, { aggregate: bridge, lines: ['across'] }], ['person', 'vehicle'])).toEqual([7n, 9n, 20n, 11n]);
    // Three lines over the two cameras, a person crossing each at most once (m = 1): L·m = 3 in one cell, L2² = 9.
    expect(crossingsVectorSensitivity(3, 1)).toEqual({ l1: 3, l2Squared: 9 });
  });

  it('charges the window to every contributing camera\'s ledger, and adds one noise share for the box', () => {
    const { plan, crossings, noise } = planned();
    const ledger = open(true);
    const cameras = ['road', 'bridge'].map((camera) => ({ camera, policy: plan.policy, release: crossings }));
    const contribution = prepareContribution({ ledger, cameras, startSeconds: START, endSeconds: START + 900, exact: EXACT, noise });
    if (!contribution.granted) throw new Error(`refused: ${contribution.reason}`);
    expect(contribution.values).toHaveLength(4);
    // Crossings at the whole ε: each camera's span is spent, another camera of the box is not.
    expect(contribution.budgets.map((budget) => budget.epsilonLeft)).toEqual([expect.closeTo(0, 9), expect.closeTo(0, 9)]);
    const own = (camera: string) => ledger.spend({ camera, startSeconds: START, endSeconds: START + 900, eventCost: NO_COST, instantCost: crossings.cost, policy: plan.policy });
    expect(own('road')).toMatchObject({ granted: false, reason: 'span budget spent' });
    expect(own('bridge')).toMatchObject({ granted: false, reason: 'span budget spent' });
    expect(own('gate').granted).toBe(true);
  });

  it('stays out of the round when one camera has no budget left, charging none of them', () => {
    const { plan, crossings, noise } = planned();
    const ledger = open(true);
    const own = (camera: string) => ledger.spend({ camera, startSeconds: START, endSeconds: START + 900, eventCost: NO_COST, instantCost: crossings.cost, policy: plan.policy });
    // bridge already released this window at the whole ε.
    expect(own('bridge').granted).toBe(true);
    const cameras = ['road', 'bridge'].map((camera) => ({ camera, policy: plan.policy, release: crossings }));
    expect(prepareContribution({ ledger, cameras, startSeconds: START, endSeconds: START + 900, exact: EXACT, noise })).toMatchObject({ granted: false, camera: 'bridge', reason: 'span budget spent' });
    // road was not charged: its own release of the window still has the whole ε.
    expect(own('road').granted).toBe(true);
  });
});
