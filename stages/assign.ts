/**
 * Minimum-cost assignment of rows (tracks) to columns (detections): the Hungarian method with potentials
 * (Kuhn–Munkres, in the O(n²·m) shortest-augmenting-path form from Jonker–Volgenant / e-maxx).
 *
 * Why not greedy: greedy takes the single best pair first, which can leave a second track with only a bad partner
 * when two objects pass close together — exactly when a counting line needs identities to hold. The optimal
 * assignment costs a few microseconds for the tens of objects a camera frame holds.
 */

/**
 * Pairs rows with columns so that the summed cost is least, where a pair costing `maxCost` or more is not allowed.
 * Leaving a row unpaired is priced at `maxCost` (as ByteTrack's `lapjv(..., cost_limit)` does), so one good pair is
 * never traded for two mediocre ones only to pair more rows.
 *
 * @returns for each row, the index of its column, or -1 when it stays unpaired.
 */
export function assignMinimumCost(costs: readonly (readonly number[])[], maxCost: number): number[] {
  const rowCount = costs.length;
  const columnCount = costs[0]?.length ?? 0;
  if (rowCount === 0 || columnCount === 0) return new Array<number>(rowCount).fill(-1);
  const clamped = (row: number, column: number): number => Math.min(costs[row]?.[column] ?? maxCost, maxCost);

  // The algorithm below needs rows ≤ columns; solve the transposed problem otherwise.
  if (rowCount > columnCount) {
    const columnsToRows = solveRowsAtMostColumns(columnCount, rowCount, (c, r) => clamped(r, c));
    const rowsToColumns = new Array<number>(rowCount).fill(-1);
    columnsToRows.forEach((row, column) => {
      if (row >= 0 && clamped(row, column) < maxCost) rowsToColumns[row] = column;
    });
    return rowsToColumns;
  }
  return solveRowsAtMostColumns(rowCount, columnCount, clamped).map((column, row) =>
    column >= 0 && clamped(row, column) < maxCost ? column : -1,
  );
}

/**
 * Every row gets a column. Arrays are 1-based inside so that index 0 can stand for "the row being augmented";
 * indices are always in range, hence the non-null assertions.
 */
function solveRowsAtMostColumns(
  rowCount: number,
  columnCount: number,
  cost: (row: number, column: number) => number,
): number[] {
  const rowPotential = new Float64Array(rowCount + 1);
  const columnPotential = new Float64Array(columnCount + 1);
  const rowOfColumn = new Int32Array(columnCount + 1);
  const previousColumn = new Int32Array(columnCount + 1);

  for (let row = 1; row <= rowCount; row++) {
    rowOfColumn[0] = row;
    let column = 0;
    const slack = new Float64Array(columnCount + 1).fill(Infinity);
    const visited = new Uint8Array(columnCount + 1);
    // Grow a shortest-path tree from the new row until it reaches a free column.
    do {
      visited[column] = 1;
      const currentRow = rowOfColumn[column]!;
      let delta = Infinity;
      let nextColumn = 0;
      for (let candidate = 1; candidate <= columnCount; candidate++) {
        if (visited[candidate]) continue;
        const reduced = cost(currentRow - 1, candidate - 1) - rowPotential[currentRow]! - columnPotential[candidate]!;
        if (reduced < slack[candidate]!) {
          slack[candidate] = reduced;
          previousColumn[candidate] = column;
        }
        if (slack[candidate]! < delta) {
          delta = slack[candidate]!;
          nextColumn = candidate;
        }
      }
      for (let candidate = 0; candidate <= columnCount; candidate++) {
        if (visited[candidate]) {
          rowPotential[rowOfColumn[candidate]!]! += delta;
          columnPotential[candidate]! -= delta;
        } else {
          slack[candidate]! -= delta;
        }
      }
      column = nextColumn;
    } while (rowOfColumn[column] !== 0);
    // Flip the augmenting path back to the root.
    do {
      const previous = previousColumn[column]!;
      rowOfColumn[column] = rowOfColumn[previous]!;
      column = previous;
    } while (column !== 0);
  }

  const columnOfRow = new Array<number>(rowCount).fill(-1);
  for (let column = 1; column <= columnCount; column++) {
    const row = rowOfColumn[column]!;
    if (row > 0) columnOfRow[row - 1] = column - 1;
  }
  return columnOfRow;
}
