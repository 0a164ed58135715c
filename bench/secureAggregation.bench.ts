/**
 * Secure aggregation's cost and noise, per district size: runs whole rounds of the real box and aggregator state
 * machines in one process (no broker: the broker's share is a handful of small messages per box and phase) and
 * prints the CPU time of a round (all boxes and the aggregator, one core) and the district total's noise s.d. against
 * one release's σ.
 *
 *   npm run bench:secagg -- --boxes 3,10,30 --rounds 50 --coordinates 16
 */
import { parseArgs } from 'node:util';
import { noiseShares, planDistributedNoise } from '../stages/privacy/distributedNoise.ts';
import { rational, toNumber } from '../stages/privacy/rational.ts';
import { runRoundInMemory } from '../test/stages/privacy/secureAggregationInMemory.ts';

const { values: options } = parseArgs({
  options: {
    boxes: { type: 'string', default: '3,10,30' },
    rounds: { type: 'string', default: '50' },
    coordinates: { type: 'string', default: '16' },
  },
});
const rounds = Number(options.rounds);
const coordinates = Number(options.coordinates);
// Δ₂² = 1 at ρ = 1/200: one release has σ = 10.
const sensitivity = { l1: 1, l2Squared: 1 };
const cost = { pureEpsilon: rational(0n), zcdpRho: rational(1n, 200n) };

console.log('boxes  ms/round  ms/box  total s.d. / σ  (rounds × values)');
for (const boxCount of options.boxes.split(',').map(Number)) {
  const plan = planDistributedNoise({ sensitivity, cost, boxes: boxCount, dropoutsTolerated: 0, coordinates });
  const boxes = Array.from({ length: boxCount }, (_, index) => `box-${index}`);
  const parameters = { district: 'bench', boxes, threshold: Math.floor(boxCount / 2) + 1, coordinates, minimumInputs: plan.minimumInputs };
  const errors: number[] = [];
  let elapsedMs = 0;
  for (let round = 0; round < rounds; round += 1) {
    const inputs = new Map(boxes.map((box) => [box, noiseShares(plan)]));
    const started = performance.now();
    const { result } = await runRoundInMemory(parameters, `r-${round}`, inputs);
    elapsedMs += performance.now() - started;
    if (result.status !== 'released') throw new Error(`round ${round} withheld: ${result.reason}`);
    result.sum.forEach((value) => errors.push(Number(value)));
  }
  const sd = Math.sqrt(errors.reduce((sum, error) => sum + error * error, 0) / errors.length);
  const sigma = Math.sqrt(toNumber(plan.releaseVariance));
  console.log(`${String(boxCount).padStart(5)}  ${(elapsedMs / rounds).toFixed(1).padStart(8)}  ${(elapsedMs / rounds / boxCount).toFixed(2).padStart(6)}  ${(sd / sigma).toFixed(3).padStart(14)}  (${rounds} × ${coordinates})`);
}
