// Constant-velocity Kalman filter on a face box, state (cx, cy, w, h) plus their velocities.
//
// Width and height (rather than SORT's area and aspect ratio) keep every coordinate linear in the
// detector's output. With a diagonal process and measurement noise, F coupling each coordinate only
// to its own velocity and H observing the four positions, the 8×8 covariance stays block-diagonal
// for ever when it starts so: the filter is exactly four independent 2-state filters, one per
// coordinate, which is what this runs (no 8×8 matrix algebra, no inversions).
//
// Noise std is a fraction of the box height: a 300 px close-up jitters and moves more pixels per
// frame than a 30 px face in a wide shot, and the same fractions fit both.
import type { Box } from '../vision/types.ts';
import { resolveBlock, type KalmanConfig } from './options.ts';

/** Smallest width/height the filter reports or scales noise by, so a shrinking prediction stays a box. */
const MIN_SIDE = 1;

/** Position p, velocity v and their covariance [[pp, pv], [pv, vv]] of one coordinate. */
interface Axis {
  p: number;
  v: number;
  pp: number;
  pv: number;
  vv: number;
}

export interface PredictOptions {
  /**
   * Zero the width/height velocities first. A lost track's size must not keep growing or shrinking
   * from a zoom that may have ended; its position keeps moving.
   */
  freezeSize?: boolean;
}

export class BoxKalman {
  private readonly opts: KalmanConfig;
  /** cx, cy, w, h. */
  private readonly axes: [Axis, Axis, Axis, Axis];

  constructor(box: Box, options: Partial<KalmanConfig> = {}) {
    this.opts = resolveBlock('kalman', options);
    const s = scaleOf(box[3]);
    const pos = (this.opts.measurementNoise * s) ** 2;
    const vel = (this.opts.initialVelocityStd * s) ** 2;
    this.axes = toCenter(box).map((p) => ({ p, v: 0, pp: pos, pv: 0, vv: vel })) as [Axis, Axis, Axis, Axis];
  }

  /** The filtered box [x, y, w, h]. */
  get box(): Box {
    return fromState(this.axes.map((a) => a.p) as State);
  }

  /** Velocities of (cx, cy, w, h) in pixels per frame. */
  get velocity(): [number, number, number, number] {
    return this.axes.map((a) => a.v) as [number, number, number, number];
  }

  /** The box `dt` frames ahead, without changing the filter (the same arithmetic as predict()). */
  predictedBox(dt = 1, options: PredictOptions = {}): Box {
    return fromState(this.axes.map((a, k) => a.p + velocityFor(a, k, options) * dt) as State);
  }

  /** Advance the state by `dt` frames: the box moves by its velocity, the uncertainty grows. */
  predict(dt = 1, options: PredictOptions = {}): void {
    const s = scaleOf(this.axes[3].p);
    const qp = (this.opts.positionNoise * s) ** 2 * dt;
    const qv = (this.opts.velocityNoise * s) ** 2 * dt;
    this.axes.forEach((a, k) => {
      a.v = velocityFor(a, k, options);
      a.p += a.v * dt;
      // P ← F P Fᵀ + Q with F = [[1, dt], [0, 1]].
      a.pp += 2 * dt * a.pv + dt * dt * a.vv + qp;
      a.pv += dt * a.vv;
      a.vv += qv;
    });
  }

  /** Correct the state with a detected box. */
  update(box: Box): void {
    const r = (this.opts.measurementNoise * scaleOf(box[3])) ** 2;
    const z = toCenter(box);
    this.axes.forEach((a, k) => {
      const innovationVar = a.pp + r;
      const kp = a.pp / innovationVar;
      const kv = a.pv / innovationVar;
      const y = z[k]! - a.p;
      a.p += kp * y;
      a.v += kv * y;
      // P ← (I − K H) P, written out for the symmetric 2×2 case.
      const pp = a.pp;
      const pv = a.pv;
      a.pp = (1 - kp) * pp;
      a.pv = (1 - kp) * pv;
      a.vv -= kv * pv;
    });
  }
}

type State = [cx: number, cy: number, w: number, h: number];

function velocityFor(a: Axis, k: number, o: PredictOptions): number {
  return o.freezeSize && k >= 2 ? 0 : a.v;
}

function scaleOf(h: number): number {
  return Math.max(MIN_SIDE, h);
}

function toCenter(b: Box): State {
  return [b[0] + b[2] / 2, b[1] + b[3] / 2, b[2], b[3]];
}

function fromState([cx, cy, w0, h0]: State): Box {
  const w = Math.max(MIN_SIDE, w0);
  const h = Math.max(MIN_SIDE, h0);
  return [cx - w / 2, cy - h / 2, w, h];
}
