// Platt scaling: P(y = 1 | f) = 1 / (1 + exp(A·f + B)), fitted by maximum likelihood on decision
// values f that the SVM did NOT train on (cross-validated ones; training decision values are
// over-confident because the SVM pushed exactly those points beyond the margin).
//
// Two refinements from the literature:
//  - Platt (1999): fit against smoothed targets t+ = (N+ + 1)/(N+ + 2), t− = 1/(N− + 2) rather than
//    1/0, a Bayesian prior that keeps a separable set from driving A to −∞.
//  - Lin, Lin & Weng (2007), "A note on Platt's probabilistic outputs for support vector machines":
//    Newton's method with backtracking line search, a tiny ridge on the Hessian, and every
//    log(1 + exp(·)) evaluated in the branch that cannot overflow.
//
// The sigmoid is monotone in f with the sign of −A. A score must never fall as the decision value
// rises, so a fit with A > 0 (decision values anti-correlated with the labels, i.e. a useless or
// broken classifier) is replaced by the best constant, A = 0.

export interface PlattParams {
  A: number;
  B: number;
}

export interface PlattFit extends PlattParams {
  /** Newton iterations taken. */
  iterations: number;
  /** Final negative log-likelihood (cross-entropy against the smoothed targets). */
  loss: number;
  /** True when the unconstrained fit came out increasing in −f and was replaced by a constant. */
  clamped: boolean;
}

export interface PlattOptions {
  maxIter: number;
  /** Stop when both gradient components are below this. */
  tolerance: number;
  /** Smallest line-search step before giving up. */
  minStep: number;
  /** Ridge added to the Hessian diagonal so it stays positive definite. */
  ridge: number;
}

const DEFAULTS: PlattOptions = { maxIter: 100, tolerance: 1e-5, minStep: 1e-10, ridge: 1e-12 };

/** Calibrated probability for decision value f; evaluated without overflow for any f. */
export function plattProbability(f: number, p: PlattParams): number {
  const z = p.A * f + p.B;
  return z >= 0 ? Math.exp(-z) / (1 + Math.exp(-z)) : 1 / (1 + Math.exp(z));
}

/** Fit A, B. `positive[i]` says whether sample i belongs to the class. */
export function fitPlatt(decision: ArrayLike<number>, positive: ArrayLike<boolean>, options: Partial<PlattOptions> = {}): PlattFit {
  const opts = { ...DEFAULTS, ...options };
  const n = decision.length;
  if (positive.length !== n) throw new Error(`${n} decision values but ${positive.length} labels`);
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(decision[i]!)) throw new Error(`decision value ${i} is not finite`);
  }
  const targets = smoothedTargets(positive);
  const fit = newton(decision, targets, opts);
  if (fit.A <= 0) return { ...fit, clamped: false };
  return { ...constantFit(decision, targets), iterations: fit.iterations, clamped: true };
}

/** Platt's targets: the MAP estimate under a uniform prior on the label probability. */
function smoothedTargets(positive: ArrayLike<boolean>): Float64Array {
  let nPos = 0;
  for (let i = 0; i < positive.length; i++) if (positive[i]) nPos++;
  const nNeg = positive.length - nPos;
  const hi = (nPos + 1) / (nPos + 2);
  const lo = 1 / (nNeg + 2);
  const t = new Float64Array(positive.length);
  for (let i = 0; i < positive.length; i++) t[i] = positive[i] ? hi : lo;
  return t;
}

/** Σ t·z + log(1 + e^−z) with z = A f + B, written per sign of z so nothing overflows. */
function loss(f: ArrayLike<number>, t: Float64Array, A: number, B: number): number {
  let s = 0;
  for (let i = 0; i < t.length; i++) {
    const z = A * f[i]! + B;
    s += z >= 0 ? t[i]! * z + Math.log1p(Math.exp(-z)) : (t[i]! - 1) * z + Math.log1p(Math.exp(z));
  }
  return s;
}

interface Derivatives {
  g1: number;
  g2: number;
  h11: number;
  h22: number;
  h21: number;
}

function derivatives(f: ArrayLike<number>, t: Float64Array, A: number, B: number, ridge: number): Derivatives {
  const d: Derivatives = { g1: 0, g2: 0, h11: ridge, h22: ridge, h21: 0 };
  for (let i = 0; i < t.length; i++) {
    const z = A * f[i]! + B;
    // p = P(y=1) = 1/(1+e^z), q = 1 − p; each computed from the non-overflowing exponential.
    let p: number;
    let q: number;
    if (z >= 0) {
      const e = Math.exp(-z);
      p = e / (1 + e);
      q = 1 / (1 + e);
    } else {
      const e = Math.exp(z);
      p = 1 / (1 + e);
      q = e / (1 + e);
    }
    const pq = p * q;
    const fi = f[i]!;
    d.h11 += fi * fi * pq;
    d.h22 += pq;
    d.h21 += fi * pq;
    const r = t[i]! - p;
    d.g1 += fi * r;
    d.g2 += r;
  }
  return d;
}

function newton(f: ArrayLike<number>, t: Float64Array, opts: PlattOptions): Omit<PlattFit, 'clamped'> {
  const { nPos, nNeg } = countTargets(t);
  let A = 0;
  let B = Math.log((nNeg + 1) / (nPos + 1));
  let value = loss(f, t, A, B);
  let it = 0;
  for (; it < opts.maxIter; it++) {
    const d = derivatives(f, t, A, B, opts.ridge);
    if (Math.abs(d.g1) < opts.tolerance && Math.abs(d.g2) < opts.tolerance) break;
    const det = d.h11 * d.h22 - d.h21 * d.h21;
    const dA = -(d.h22 * d.g1 - d.h21 * d.g2) / det;
    const dB = -(-d.h21 * d.g1 + d.h11 * d.g2) / det;
    const slope = d.g1 * dA + d.g2 * dB;
    const step = backtrack(f, t, A, B, dA, dB, value, slope, opts.minStep);
    if (step === null) break; // no decrease possible any more: as good as it gets numerically
    A = step.A;
    B = step.B;
    value = step.value;
  }
  return { A, B, iterations: it, loss: value };
}

/** Armijo backtracking along the Newton direction. */
function backtrack(
  f: ArrayLike<number>,
  t: Float64Array,
  A: number,
  B: number,
  dA: number,
  dB: number,
  value: number,
  slope: number,
  minStep: number,
): { A: number; B: number; value: number } | null {
  for (let step = 1; step >= minStep; step /= 2) {
    const nA = A + step * dA;
    const nB = B + step * dB;
    const v = loss(f, t, nA, nB);
    if (v < value + 1e-4 * step * slope) return { A: nA, B: nB, value: v };
  }
  return null;
}

/** Targets are only two distinct values: recover the class counts from them. */
function countTargets(t: Float64Array): { nPos: number; nNeg: number } {
  let nPos = 0;
  for (let i = 0; i < t.length; i++) if (t[i]! > 0.5) nPos++;
  return { nPos, nNeg: t.length - nPos };
}

/** Best A = 0 model: P ≡ mean target, the maximum-likelihood constant. */
function constantFit(f: ArrayLike<number>, t: Float64Array): Omit<PlattFit, 'clamped' | 'iterations'> {
  let mean = 0;
  for (let i = 0; i < t.length; i++) mean += t[i]!;
  mean = t.length > 0 ? mean / t.length : 0.5;
  const B = Math.log((1 - mean) / mean);
  return { A: 0, B, loss: loss(f, t, 0, B) };
}
