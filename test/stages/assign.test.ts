import { describe, expect, it } from 'vitest';
import { assignMinimumCost } from '../../stages/assign.ts';
import { seededRandom } from './trajectories.ts';

/** The least total cost over every way of pairing rows with distinct columns (unpaired rows cost `maxCost`). */
function bruteForceCost(costs: number[][], maxCost: number, row = 0, used = new Set<number>()): number {
  if (row === costs.length) return 0;
  let best = maxCost + bruteForceCost(costs, maxCost, row + 1, used);
  costs[row]?.forEach((cost, column) => {
    if (used.has(column) || cost >= maxCost) return;
    used.add(column);
    best = Math.min(best, cost + bruteForceCost(costs, maxCost, row + 1, used));
    used.delete(column);
  });
  return best;
}

function totalCost(costs: number[][], columnOfRow: number[], maxCost: number): number {
  return columnOfRow.reduce((sum, column, row) => sum + (column < 0 ? maxCost : (costs[row]?.[column] ?? NaN)), 0);
}

describe('assignMinimumCost', () => {
  it('finds the optimum where greedy fails: the best single pair is not part of it', () => {
    // Greedy takes (0,0) at 0.1 and leaves row 1 with column 1 at 0.95; optimal is 0.3 + 0.3.
    const costs = [
      [0.1, 0.3],
      [0.3, 0.95],
    ];
    expect(assignMinimumCost(costs, 1)).toEqual([1, 0]);
  });

  it('leaves rows unpaired rather than use a pair at or above maxCost', () => {
    expect(assignMinimumCost([[0.2, 1], [1, 1]], 1)).toEqual([0, -1]);
  });

  it('does not trade one good pair for two mediocre ones', () => {
    // Pairing both rows costs 0.8 + 0.8 = 1.6; one pair at 0.1 plus an unpaired row costs 0.1 + 1 = 1.1.
    expect(assignMinimumCost([[0.1, 0.8], [0.8, 1]], 1)).toEqual([0, -1]);
  });

  it('handles more rows than columns, more columns than rows, and empty inputs', () => {
    expect(assignMinimumCost([[0.5], [0.2], [0.9]], 1)).toEqual([-1, 0, -1]);
    expect(assignMinimumCost([[0.5, 0.2, 0.9]], 1)).toEqual([1]);
    expect(assignMinimumCost([], 1)).toEqual([]);
    expect(assignMinimumCost([[], []], 1)).toEqual([-1, -1]);
  });

  it('matches brute force on random matrices', () => {
    const random = seededRandom(42);
    for (let trial = 0; trial < 200; trial++) {
      const rows = 1 + Math.floor(random() * 5);
      const columns = 1 + Math.floor(random() * 5);
      const costs = Array.from({ length: rows }, () =>
        Array.from({ length: columns }, () => (random() < 0.3 ? 1 : random())),
      );
      const columnOfRow = assignMinimumCost(costs, 1);
      const pairedColumns = columnOfRow.filter((column) => column >= 0);
      expect(new Set(pairedColumns).size).toBe(pairedColumns.length);
      expect(totalCost(costs, columnOfRow, 1)).toBeCloseTo(bruteForceCost(costs, 1), 9);
    }
  });
});
