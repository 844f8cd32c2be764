/**
 * Multi-dimensional linear rewards r_k(x,a) = ⟨θ_k, φ(x,a)⟩, k = 0..K−1 (e.g. helpfulness,
 * harmlessness): the ground truth, per-dimension Bradley–Terry oracles whose labels name their
 * dimension, and the per-dimension BT-MLE and Σ_k (the core's fitMLE and pairCovariance applied to
 * the labels of one dimension). Dimension 0 is the environment's own θ*.
 */
import { GshfInputError } from '../../math/errors.js';
import { Rng } from '../../math/rng.js';
import type { BanditEnv, PairData } from '../env.js';
import { fitMLE, type MLEOptions, type MLEResult } from '../mle.js';
import { PreferenceOracle } from '../oracle.js';
import { pairCovariance } from '../uncertainty.js';
import { concatColumns, drawDistinctPairs } from './pairs.js';

/** Preference pairs whose label i answers the question of dimension `dimension[i]`. */
export interface MultiPairData extends PairData {
  dimension: Int32Array;
}

export interface ObjectiveThetaOptions {
  /** Number of dimensions (≥ 1). */
  k: number;
  /** cos(θ_0, θ_j) for j ≥ 1: −1 fully conflicting, 0 unrelated, 1 the same objective. Default 0. */
  correlation?: number;
  /** ‖θ_j‖ for j ≥ 1 (default ‖θ*‖). */
  norm?: number;
  seed?: number | string;
}

/**
 * θ_0 = θ*, and θ_j (j ≥ 1) = norm·(ρ·u + √(1−ρ²)·v_j) with u = θ* / ‖θ*‖ and v_j a uniform unit
 * vector orthogonal to u (seeded), so cos(θ_0, θ_j) = ρ exactly.
 */
export function objectiveThetas(env: BanditEnv, opts: ObjectiveThetaOptions): Float64Array[] {
  const { k } = opts;
  const rho = opts.correlation ?? 0;
  if (!Number.isInteger(k) || k < 1)
    throw new GshfInputError(`objectiveThetas: k must be an integer ≥ 1, got ${k}`);
  if (!(rho >= -1 && rho <= 1))
    throw new GshfInputError(`objectiveThetas: correlation must be in [−1, 1], got ${rho}`);
  if (!env.thetaStar)
    throw new GshfInputError(`objectiveThetas: environment '${env.name}' has no theta_star`);
  const d = env.d;
  const t0 = Float64Array.from(env.thetaStar);
  const b0 = Math.hypot(...t0);
  const norm = opts.norm ?? b0;
  const u = t0.map((v) => v / b0);
  const rng = new Rng(`objective-thetas/${opts.seed ?? 0}`);
  const out = [t0];
  for (let j = 1; j < k; j++) {
    const v = new Float64Array(d);
    for (let i = 0; i < d; i++) v[i] = rng.normal();
    const proj = v.reduce((s, x, i) => s + x * u[i], 0);
    for (let i = 0; i < d; i++) v[i] -= proj * u[i];
    const nv = Math.hypot(...v);
    const s = Math.sqrt(Math.max(0, 1 - rho * rho));
    out.push(Float64Array.from(u, (ui, i) => norm * (rho * ui + (nv > 0 ? (s * v[i]) / nv : 0))));
  }
  return out;
}

/** One BT oracle per dimension (separate random streams), counting the labels spent on each. */
export class MultiObjectiveOracle {
  readonly oracles: PreferenceOracle[];

  constructor(env: BanditEnv, thetas: Float64Array[], rng: Rng, temperature = 1) {
    this.oracles = thetas.map(
      (t, k) => new PreferenceOracle(env, t, rng.fork(`dimension/${k}`), temperature),
    );
  }

  get k(): number {
    return this.oracles.length;
  }

  /** Labels answered so far, all dimensions. */
  get queries(): number {
    return this.oracles.reduce((s, o) => s + o.queries, 0);
  }

  /** Labels answered so far on dimension k. */
  queriesOn(k: number): number {
    return this.oracles[k].queries;
  }

  prefers(dimension: number, context: number, a1: number, a2: number): boolean {
    const o = this.oracles[dimension];
    if (!o)
      throw new GshfInputError(`MultiObjectiveOracle: dimension ${dimension} is not in 0..${this.k - 1}`);
    return o.prefers(context, a1, a2);
  }
}

/**
 * n labelled pairs with a1 ≠ a2: x ~ d0, a1 ~ π1, a2 ~ π2 (redrawn when equal, at most 50n draws),
 * pair i labelled on dimension dims(i, x, a1, a2) by its oracle (a rule may look at the pair).
 */
export function sampleMultiPairs(
  env: BanditEnv,
  policy1: ArrayLike<number>,
  policy2: ArrayLike<number>,
  n: number,
  oracle: MultiObjectiveOracle,
  dims: (i: number, context: number, a1: number, a2: number) => number,
  rng: Rng,
): MultiPairData {
  const out = {
    context: [] as number[],
    chosen: [] as number[],
    rejected: [] as number[],
    dimension: [] as number[],
  };
  drawDistinctPairs(env, policy1, policy2, n, rng, (i, c, a1, a2) => {
    const k = dims(i, c, a1, a2);
    const y = oracle.prefers(k, c, a1, a2);
    out.context.push(c);
    out.chosen.push(y ? a1 : a2);
    out.rejected.push(y ? a2 : a1);
    out.dimension.push(k);
  });
  return {
    context: Int32Array.from(out.context),
    chosen: Int32Array.from(out.chosen),
    rejected: Int32Array.from(out.rejected),
    dimension: Int32Array.from(out.dimension),
  };
}

export function concatMultiPairs(a: MultiPairData, b: MultiPairData): MultiPairData {
  return concatColumns(a, b);
}

/** The pairs labelled on dimension k. */
export function pairsOfDimension(data: MultiPairData, k: number): PairData {
  const idx: number[] = [];
  for (let i = 0; i < data.dimension.length; i++) if (data.dimension[i] === k) idx.push(i);
  return {
    context: Int32Array.from(idx, (i) => data.context[i]),
    chosen: Int32Array.from(idx, (i) => data.chosen[i]),
    rejected: Int32Array.from(idx, (i) => data.rejected[i]),
  };
}

/** Ridge BT-MLE of each dimension on its own labels (λ > 0 makes a dimension without labels θ̂ = 0). */
export function fitPerDimension(
  env: BanditEnv,
  data: MultiPairData,
  k: number,
  opts: MLEOptions,
): MLEResult[] {
  return Array.from({ length: k }, (_, j) => fitMLE(env, pairsOfDimension(data, j), opts));
}

/** Σ_k = λI + Σ_{i: dim i = k} Δφ_iΔφ_iᵀ for each dimension. */
export function perDimensionCovariance(
  env: BanditEnv,
  data: MultiPairData,
  k: number,
  lambda: number,
): Float64Array[] {
  return Array.from({ length: k }, (_, j) => pairCovariance(env, pairsOfDimension(data, j), lambda));
}

/** Σ_k w_k θ_k: the parameter of the scalarised reward Σ_k w_k r_k (rewards are linear in θ). */
export function combineThetas(thetas: ArrayLike<number>[], w: ArrayLike<number>): Float64Array {
  if (thetas.length !== w.length)
    throw new GshfInputError(`combineThetas: ${thetas.length} thetas but ${w.length} weights`);
  const d = thetas[0].length;
  const out = new Float64Array(d);
  thetas.forEach((t, k) => {
    for (let j = 0; j < d; j++) out[j] += w[k] * t[j];
  });
  return out;
}
