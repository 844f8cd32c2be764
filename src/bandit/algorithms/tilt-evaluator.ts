/**
 * The inner kernel of the uncertainty enhancer (enhancers.ts): for the tilt
 *   π'_s(a|x) ∝ π1(a|x)·exp(s·z(x,a)),  z(x,a) = ⟨v, φ(x,a)⟩,
 * Γ(s) = β‖E_{x,a~π1}φ − E_{x,a~π'_s}φ‖_{Σ⁻¹} and η·E_x KL(π'_s‖π1) in one pass with one exp per action.
 *
 * This is where the bandit sweep spends most of its time (the bracketing search evaluates ~15 values
 * of s for each of ~24 directions, every online iteration), so it is written for speed:
 *  - the mean-feature accumulation runs feature-major within each context (one running sum per
 *    feature held in a register instead of a typed-array store per action and feature). The sums see
 *    the same terms in the same order as the action-major loop, so the result is bit-identical;
 *  - results are memoised per direction by s: the search re-evaluates the bracket end it keeps (s⋆)
 *    and, after doubling, s⋆/2 — both already computed;
 *  - with the native addon the pass runs in C (native/src/tilt.c, same arithmetic; exp/log may differ
 *    in the last ulp, which moves Γ and η·KL by ~1e-16 relative: the search only compares them).
 */
import { mahalanobisSq } from '../../math/linalg.js';
import type { BanditEnv } from '../env.js';
import { nativeOp, type NativeKernel } from '../../native/index.js';

export interface TiltValue {
  gamma: number;
  etaKL: number;
}

export class TiltEvaluator {
  /** z(x,a) = ⟨v, φ(x,a)⟩ of the current direction. */
  readonly z: Float64Array;
  private readonly mainLogp: Float64Array;
  private readonly ex: Float64Array;
  private readonly mean2: Float64Array;
  private readonly diff: Float64Array;
  private readonly scratch: Float64Array;
  private memo = new Map<number, TiltValue>();

  constructor(
    private readonly env: BanditEnv,
    mainLogp: ArrayLike<number>,
    private readonly L: Float64Array,
    private readonly mean1: ArrayLike<number>,
    private readonly beta: number,
    private readonly eta: number,
  ) {
    const A = env.offsets[env.nContexts];
    this.mainLogp = mainLogp instanceof Float64Array ? mainLogp : Float64Array.from(mainLogp);
    this.z = new Float64Array(A);
    this.ex = new Float64Array(A);
    this.mean2 = new Float64Array(env.d);
    this.diff = new Float64Array(env.d);
    this.scratch = new Float64Array(env.d);
  }

  /** Sets the tilt direction v (z = Fv) and forgets the memoised values of the previous one. */
  setDirection(v: ArrayLike<number>): void {
    const { d, features: F } = this.env;
    const z = this.z;
    for (let a = 0; a < z.length; a++) {
      let q = 0;
      for (let j = 0; j < d; j++) q += F[a * d + j] * v[j];
      z[a] = q;
    }
    this.memo.clear();
  }

  /** Γ and η·E_x KL(π'_s‖π1) of the tilt with strength s along the current direction. */
  evaluate(s: number): TiltValue {
    const hit = this.memo.get(s);
    if (hit) return hit;
    const { d } = this.env;
    const mean2 = this.mean2;
    mean2.fill(0);
    const tilt = nativeOp('tiltAccumulate');
    const klSum = tilt ? this.accumulateNative(tilt, s) : this.accumulate(s);
    const diff = this.diff;
    for (let j = 0; j < d; j++) diff[j] = this.mean1[j] - mean2[j];
    const value = {
      gamma: this.beta * Math.sqrt(mahalanobisSq(this.L, d, diff, this.scratch)),
      etaKL: this.eta * klSum,
    };
    this.memo.set(s, value);
    return value;
  }

  private accumulateNative(f: NativeKernel<'tiltAccumulate'>, s: number): number {
    const { offsets, weights, features, nContexts, d } = this.env;
    return f(offsets, weights, features, this.mainLogp, this.z, this.ex, nContexts, d, s, this.mean2);
  }

  /**
   * Adds E_{x,a~π'_s}φ into mean2 and returns E_x KL(π'_s‖π1). Per context:
   * A_c(s) = log Σ_a π1(a|x) e^{s z_a}, KL_c = s·E_{π'}[z] − A_c(s).
   */
  private accumulate(s: number): number {
    const { nContexts, offsets: off, weights: W } = this.env;
    const { mainLogp, z, ex } = this;
    let klSum = 0;
    for (let c = 0; c < nContexts; c++) {
      const w = W[c];
      if (w === 0) continue;
      const lo = off[c];
      const hi = off[c + 1];
      let m = -Infinity;
      for (let a = lo; a < hi; a++) {
        const l = mainLogp[a] + s * z[a];
        ex[a] = l;
        if (l > m) m = l;
      }
      let sum = 0;
      for (let a = lo; a < hi; a++) {
        const e = Math.exp(ex[a] - m);
        ex[a] = e;
        sum += e;
      }
      const logA = m + Math.log(sum);
      let ez = 0;
      for (let a = lo; a < hi; a++) {
        // ex[a] becomes w·π'(a|x), or exactly 0 for an action the feature sums must skip.
        const p = ex[a] / sum;
        if (p === 0) {
          ex[a] = 0;
          continue;
        }
        ez += p * z[a];
        ex[a] = w * p;
      }
      this.addMeanFeatures(lo, hi);
      const klc = s * ez - logA;
      klSum += w * (klc > 0 ? klc : 0);
    }
    return klSum;
  }

  /** mean2[j] += Σ_{a∈[lo,hi)} ex[a]·φ_j(a), terms added in action order (skipping ex[a] = 0). */
  private addMeanFeatures(lo: number, hi: number): void {
    const { d, features: F } = this.env;
    const { ex, mean2 } = this;
    for (let j = 0; j < d; j++) {
      let acc = mean2[j];
      for (let a = lo; a < hi; a++) {
        const wp = ex[a];
        if (wp !== 0) acc += wp * F[a * d + j];
      }
      mean2[j] = acc;
    }
  }
}
