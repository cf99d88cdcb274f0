// Triplet selection and triplet-loss arithmetic on a distance matrix: pure functions, no tfjs, so
// the definitions can be tested on hand-made matrices.
//
// Distances here are whatever the caller passes; the trainer passes squared euclidean distances
// between L2-normalised outputs, as FaceNet does (loss = [d(a,p) − d(a,n) + α]₊).
//
//  - semi-hard (FaceNet §3.2): for every anchor–positive pair of the mini-batch, a negative that is
//    farther from the anchor than the positive but still inside the margin:
//    d(a,p) < d(a,n) < d(a,p) + α. Of those, the closest one (the hardest semi-hard negative). A pair
//    with no such negative gives no triplet: it is either already satisfied (every negative beyond
//    the margin) or only has hard negatives (d(a,n) ≤ d(a,p)), which FaceNet avoids early on
//    because they lead to collapsed models.
//  - batch-hard (Hermans et al. 2017): per anchor, its farthest positive and its closest negative.
//
// Labels are integers; a negative label (< 0) marks a face that is nobody of the roster (a
// negative-pool face): it may serve as a negative for anyone but is never an anchor or a positive,
// since it has no known match.

export type Triplet = readonly [anchor: number, positive: number, negative: number];
export type Selection = 'semi-hard' | 'batch-hard';

/** A square distance matrix, row-major, n × n. */
export interface DistanceMatrix {
  n: number;
  d: ArrayLike<number>;
}

/** Squared euclidean distances between the rows of a row-major n × dim buffer. */
export function squaredDistances(x: ArrayLike<number>, n: number, dim: number): DistanceMatrix {
  const sq = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += x[i * dim + j]! * x[i * dim + j]!;
    sq[i] = s;
  }
  const d = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = i + 1; k < n; k++) {
      let dot = 0;
      for (let j = 0; j < dim; j++) dot += x[i * dim + j]! * x[k * dim + j]!;
      const v = Math.max(0, sq[i]! + sq[k]! - 2 * dot);
      d[i * n + k] = v;
      d[k * n + i] = v;
    }
  }
  return { n, d };
}

function checkShape(m: DistanceMatrix, labels: ArrayLike<number>): void {
  if (m.d.length !== m.n * m.n) throw new Error(`distance matrix has ${m.d.length} values, expected ${m.n}² = ${m.n * m.n}`);
  if (labels.length !== m.n) throw new Error(`${labels.length} labels for a ${m.n} × ${m.n} distance matrix`);
}

/** True when (a, p, n) meets the semi-hard definition d(a,p) < d(a,n) < d(a,p) + α. */
export function isSemiHard(m: DistanceMatrix, labels: ArrayLike<number>, t: Triplet, margin: number): boolean {
  const [a, p, n] = t;
  const dap = m.d[a * m.n + p]!;
  const dan = m.d[a * m.n + n]!;
  return a !== p && labels[a]! >= 0 && labels[a] === labels[p] && labels[n] !== labels[a] && dap < dan && dan < dap + margin;
}

/**
 * FaceNet's online semi-hard selection: every anchor–positive pair (ordered, a ≠ p) with its
 * closest negative n satisfying d(a,p) < d(a,n) < d(a,p) + α; pairs without one are skipped.
 * Returns the triplets and how many anchor–positive pairs the batch had.
 */
export function semiHardTriplets(m: DistanceMatrix, labels: ArrayLike<number>, margin: number): { triplets: Triplet[]; pairs: number } {
  checkShape(m, labels);
  const { n, d } = m;
  const triplets: Triplet[] = [];
  let pairs = 0;
  for (let a = 0; a < n; a++) {
    const la = labels[a]!;
    if (la < 0) continue;
    for (let p = 0; p < n; p++) {
      if (p === a || labels[p] !== la) continue;
      pairs++;
      const dap = d[a * n + p]!;
      let best = -1;
      let bestD = Infinity;
      for (let k = 0; k < n; k++) {
        if (labels[k] === la) continue;
        const dan = d[a * n + k]!;
        if (dan > dap && dan < dap + margin && dan < bestD) {
          best = k;
          bestD = dan;
        }
      }
      if (best >= 0) triplets.push([a, p, best]);
    }
  }
  return { triplets, pairs };
}

/**
 * Batch-hard selection: for every anchor with at least one positive and one negative, its farthest
 * positive and its closest negative (first index on ties). Returns the triplets and the anchors.
 */
export function batchHardTriplets(m: DistanceMatrix, labels: ArrayLike<number>): { triplets: Triplet[]; pairs: number } {
  checkShape(m, labels);
  const { n, d } = m;
  const triplets: Triplet[] = [];
  let anchors = 0;
  for (let a = 0; a < n; a++) {
    const la = labels[a]!;
    if (la < 0) continue;
    let p = -1;
    let neg = -1;
    for (let k = 0; k < n; k++) {
      if (k === a) continue;
      const v = d[a * n + k]!;
      if (labels[k] === la) {
        if (p < 0 || v > d[a * n + p]!) p = k;
      } else if (neg < 0 || v < d[a * n + neg]!) neg = k;
    }
    if (p < 0 || neg < 0) continue;
    anchors++;
    triplets.push([a, p, neg]);
  }
  return { triplets, pairs: anchors };
}

export function selectTriplets(selection: Selection, m: DistanceMatrix, labels: ArrayLike<number>, margin: number): { triplets: Triplet[]; pairs: number } {
  return selection === 'semi-hard' ? semiHardTriplets(m, labels, margin) : batchHardTriplets(m, labels);
}

/** Mean hinge [d(a,p) − d(a,n) + α]₊ over the triplets and the share with a positive loss. */
export function tripletLoss(m: DistanceMatrix, triplets: readonly Triplet[], margin: number): { loss: number; active: number } {
  if (triplets.length === 0) return { loss: 0, active: 0 };
  let s = 0;
  let active = 0;
  for (const [a, p, k] of triplets) {
    const l = m.d[a * m.n + p]! - m.d[a * m.n + k]! + margin;
    if (l > 0) {
      s += l;
      active++;
    }
  }
  return { loss: s / triplets.length, active };
}

/**
 * Mean triplet loss over every (anchor, positive, negative) with the anchor from one set (held-out
 * faces) and positive and negative from another (training faces): d is anchors × references,
 * row-major. The validation measure for early stopping: how well held-out photos fit the
 * training gallery, every triplet counted (zeros included), O(A·R log R) via sorted prefix sums.
 * Anchors whose label is < 0 or with no positive reference are skipped.
 */
export function crossTripletLoss(
  d: ArrayLike<number>,
  anchorLabels: ArrayLike<number>,
  refLabels: ArrayLike<number>,
  margin: number,
): { loss: number; active: number; triplets: number } {
  const A = anchorLabels.length;
  const R = refLabels.length;
  if (d.length !== A * R) throw new Error(`cross distance matrix has ${d.length} values, expected ${A} × ${R}`);
  let total = 0;
  let count = 0;
  let active = 0;
  for (let a = 0; a < A; a++) {
    const la = anchorLabels[a]!;
    if (la < 0) continue;
    const pos: number[] = [];
    const neg: number[] = [];
    for (let r = 0; r < R; r++) (refLabels[r] === la ? pos : neg).push(d[a * R + r]!);
    if (pos.length === 0 || neg.length === 0) continue;
    neg.sort((x, y) => x - y);
    const prefix = new Float64Array(neg.length + 1);
    for (let i = 0; i < neg.length; i++) prefix[i + 1] = prefix[i]! + neg[i]!;
    for (const dap of pos) {
      // Negatives with d(a,n) < d(a,p) + α contribute d(a,p) + α − d(a,n).
      const limit = dap + margin;
      let lo = 0;
      let hi = neg.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (neg[mid]! < limit) lo = mid + 1;
        else hi = mid;
      }
      total += lo * limit - prefix[lo]!;
      active += lo;
    }
    count += pos.length * neg.length;
  }
  return { loss: count ? total / count : 0, active: count ? active / count : 0, triplets: count };
}
