// Optimal one-to-one assignment (Hungarian algorithm, minimum total cost) and box overlap.
import type { Box } from '../vision/types.ts';

/** A cost matrix as rows; every row has the same length. */
export type CostMatrix = readonly (readonly number[])[];

export interface AssignmentResult {
  /** [row, column] pairs, in row order. */
  matches: [row: number, col: number][];
  unmatchedRows: number[];
  unmatchedCols: number[];
}

/** Intersection over union of two [x, y, w, h] boxes; 0 for empty boxes. */
export function iou(a: Box, b: Box): number {
  const iw = Math.min(a[0] + a[2], b[0] + b[2]) - Math.max(a[0], b[0]);
  const ih = Math.min(a[1] + a[3], b[1] + b[3]) - Math.max(a[1], b[1]);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  const union = a[2] * a[3] + b[2] * b[3] - inter;
  return union > 0 ? inter / union : 0;
}

/** Cost 1 − IoU of every (track, detection) pair: rows are `rows`, columns `cols`. */
export function iouCost(rows: readonly Box[], cols: readonly Box[]): number[][] {
  return rows.map((r) => cols.map((c) => 1 - iou(r, c)));
}

/**
 * Minimum-cost assignment on a rectangular matrix: every row is matched when rows ≤ columns, every
 * column otherwise. Costs must be finite. O(n² m) with n = min(rows, cols).
 * Returns, for each row, its column or -1.
 */
export function minCostAssignment(cost: CostMatrix): number[] {
  const rows = cost.length;
  const cols = rows > 0 ? cost[0]!.length : 0;
  for (const r of cost) {
    if (r.length !== cols) throw new Error('cost matrix rows differ in length');
    for (const c of r) if (!Number.isFinite(c)) throw new Error('cost matrix holds a non-finite cost');
  }
  if (rows === 0 || cols === 0) return new Array<number>(rows).fill(-1);
  if (rows <= cols) return solve(rows, cols, pack(rows, cols, (i, j) => cost[i]![j]!));
  // More rows than columns: solve the transpose, so the short side is always the one fully matched.
  const colToRow = solve(cols, rows, pack(cols, rows, (i, j) => cost[j]![i]!));
  const out = new Array<number>(rows).fill(-1);
  colToRow.forEach((r, c) => (out[r] = c));
  return out;
}

/**
 * Gated assignment: a pair costing more than `maxCost` (or a non-finite cost) is never matched, and
 * leaving a row or a column unmatched costs maxCost / 2 each. So a pair is taken exactly when it is
 * cheaper than leaving both sides unmatched, and the total (matches + unmatched) is minimal: one
 * good match is never given up to make two poor ones.
 * `columns` gives the column count when the matrix has no rows (so all columns come back unmatched).
 */
export function assign(cost: CostMatrix, maxCost: number, columns?: number): AssignmentResult {
  const rows = cost.length;
  const cols = rows > 0 ? cost[0]!.length : (columns ?? 0);
  for (const r of cost) if (r.length !== cols) throw new Error('cost matrix rows differ in length');
  if (!(Number.isFinite(maxCost) && maxCost >= 0)) throw new Error(`maxCost must be a finite number ≥ 0, got ${maxCost}`);
  const allowed = (i: number, j: number) => {
    const c = cost[i]![j]!;
    return Number.isFinite(c) && c <= maxCost;
  };
  let rowToCol: number[];
  if (rows === 0 || cols === 0) {
    rowToCol = new Array<number>(rows).fill(-1);
  } else {
    // Square (rows + cols) matrix: [real costs | row i's "unmatched" slot] over
    // [column j's "unmatched" slot | free dummy pairs]. Forbidden cells cost more than any complete
    // assignment that avoids them (all-unmatched is always one), so they are never chosen.
    const n = rows + cols;
    let bound = n * maxCost;
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) if (allowed(i, j)) bound += Math.abs(cost[i]![j]!);
    const forbidden = 2 * bound + 1;
    const half = maxCost / 2;
    const at = (i: number, j: number): number => {
      if (i < rows && j < cols) return allowed(i, j) ? cost[i]![j]! : forbidden;
      if (i < rows) return j - cols === i ? half : forbidden;
      if (j < cols) return i - rows === j ? half : forbidden;
      return 0;
    };
    const full = solve(n, n, pack(n, n, at));
    rowToCol = full.slice(0, rows).map((j, i) => (j < cols && allowed(i, j) ? j : -1));
  }
  const matches: [number, number][] = [];
  const used = new Array<boolean>(cols).fill(false);
  const unmatchedRows: number[] = [];
  rowToCol.forEach((j, i) => {
    if (j >= 0) {
      matches.push([i, j]);
      used[j] = true;
    } else unmatchedRows.push(i);
  });
  const unmatchedCols = used.flatMap((u, j) => (u ? [] : [j]));
  return { matches, unmatchedRows, unmatchedCols };
}

/** Row-major n × m copy of a cost function. */
function pack(n: number, m: number, at: (i: number, j: number) => number): Float64Array {
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) out[i * m + j] = at(i, j);
  return out;
}

/**
 * Hungarian algorithm with row/column potentials (shortest augmenting paths), n ≤ m.
 * Adds rows one at a time; each step grows a Dijkstra-like tree over columns on reduced costs
 * c(i, j) − u(i) − v(j) ≥ 0 until it reaches a free column, then flips the path. Returns row → column.
 */
function solve(n: number, m: number, c: Float64Array): number[] {
  // 1-based columns with 0 as the virtual start column; rowOf[j] is the 1-based row on column j.
  const u = new Float64Array(n + 1);
  const v = new Float64Array(m + 1);
  const rowOf = new Int32Array(m + 1);
  const prev = new Int32Array(m + 1);
  const minv = new Float64Array(m + 1);
  const used = new Uint8Array(m + 1);
  for (let i = 1; i <= n; i++) {
    rowOf[0] = i;
    let j0 = 0;
    minv.fill(Infinity);
    used.fill(0);
    do {
      used[j0] = 1;
      const i0 = rowOf[j0]!;
      let delta = Infinity;
      let j1 = 0;
      for (let j = 1; j <= m; j++) {
        if (used[j]) continue;
        const cur = c[(i0 - 1) * m + j - 1]! - u[i0]! - v[j]!;
        if (cur < minv[j]!) {
          minv[j] = cur;
          prev[j] = j0;
        }
        if (minv[j]! < delta) {
          delta = minv[j]!;
          j1 = j;
        }
      }
      for (let j = 0; j <= m; j++) {
        if (used[j]) {
          u[rowOf[j]!] += delta;
          v[j] -= delta;
        } else minv[j] -= delta;
      }
      j0 = j1;
    } while (rowOf[j0] !== 0);
    // Flip the augmenting path back to the start column.
    do {
      const j1 = prev[j0]!;
      rowOf[j0] = rowOf[j1]!;
      j0 = j1;
    } while (j0 !== 0);
  }
  const out = new Array<number>(n).fill(-1);
  for (let j = 1; j <= m; j++) if (rowOf[j]! > 0) out[rowOf[j]! - 1] = j - 1;
  return out;
}
